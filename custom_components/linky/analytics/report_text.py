"""The texts of the insights: the weekly report and one line per finding, in English and in
French ("fr"; any other language gets English). No Home Assistant import.

Numbers follow the language: English "1,234.5 kWh", "€12.50", "+12%"; French "1 234,5 kWh"
(a narrow no-break space between thousands), "12,50 €", "+12 %". Energies have one decimal,
money two, percentages none; times are Europe/Paris local times.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from ..energy.tariffs import Bucket
from ..localtime import PARIS
from .anomalies import Finding, FindingKind, Limit
from .weekly import Change, MeterWeek, WeekFigures, WeeklyReport


@dataclass(frozen=True, slots=True)
class _Words:
    """Everything language dependent."""

    decimal: str
    thousands: str
    euro_before: bool
    percent: str  # between the number and "%"
    weekdays: tuple[str, ...]
    months: tuple[str, ...]
    texts: Mapping[str, str]


_EN: Final = _Words(
    ".",
    ",",
    True,
    "",
    ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    {
        "title": "Linky weekly report {week} ({span})",
        "meter": "Meter {name}",
        "total": "Total of {count} meters",
        "consumption": "Consumption: **{kwh}**",
        "cost": "cost {eur}",
        "vs_previous": "vs previous week ({week}): {change}",
        "vs_year_before": "vs same week last year ({week}): {change}",
        "no_previous": "vs previous week: not comparable (missing or incomplete)",
        "no_year_before": "vs same week last year: not comparable (missing or incomplete)",
        "weather": "; weather-corrected {change} (weather explains {weather})",
        "split": "Split: {parts}",
        "max_power": "Max power: {kva} on {day} at {time}",
        "baseload": "Night baseload: {w} (median of the nights)",
        "production": "Production: {kwh}",
        "self_consumption": "self-consumed {kwh}",
        "revenue": "revenue {eur}",
        "anomalies": "Anomalies:",
        "incomplete": "Incomplete week: missing days {days}",
        "incomplete_total": "Incomplete week for: {meters}",
        "baseload_high": "Night baseload high on {day}: {value} vs {expected} expected",
        "baseload_drift": "Night baseload creeping up ({day}): {value} vs {expected} usual",
        "unusual_day": "Unusual day on {day}: {value} vs {expected} expected",
        "daily_kwh": "Daily consumption limit exceeded on {day}: {value} (limit {expected})",
        "weekly_eur": "Weekly cost limit exceeded (week ending {day}): {value} (limit {expected})",
        "max_power_limit": "Max power limit exceeded on {day}: {value} (limit {expected})",
        "threshold": "Limit exceeded on {day}: {value} (limit {expected})",
    },
)
_FR: Final = _Words(
    ",",
    "\u202f",
    False,
    " ",
    ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."),
    (
        "janv.",
        "févr.",
        "mars",
        "avr.",
        "mai",
        "juin",
        "juil.",
        "août",
        "sept.",
        "oct.",
        "nov.",
        "déc.",
    ),
    {
        "title": "Bilan hebdomadaire Linky {week} ({span})",
        "meter": "Compteur {name}",
        "total": "Total des {count} compteurs",
        "consumption": "Consommation : **{kwh}**",
        "cost": "coût {eur}",
        "vs_previous": "par rapport à la semaine précédente ({week}) : {change}",
        "vs_year_before": "par rapport à la même semaine l'an dernier ({week}) : {change}",
        "no_previous": "par rapport à la semaine précédente : non comparable "
        "(absente ou incomplète)",
        "no_year_before": "par rapport à l'an dernier : non comparable (absente ou incomplète)",
        "weather": " ; corrigé de la météo {change} (la météo explique {weather})",
        "split": "Répartition : {parts}",
        "max_power": "Puissance max : {kva} le {day} à {time}",
        "baseload": "Talon de nuit : {w} (médiane des nuits)",
        "production": "Production : {kwh}",
        "self_consumption": "autoconsommé {kwh}",
        "revenue": "revente {eur}",
        "anomalies": "Anomalies :",
        "incomplete": "Semaine incomplète : jours manquants {days}",
        "incomplete_total": "Semaine incomplète pour : {meters}",
        "baseload_high": "Talon de nuit élevé le {day} : {value} au lieu de {expected} attendus",
        "baseload_drift": "Talon de nuit en hausse progressive ({day}) : {value} "
        "pour {expected} habituels",
        "unusual_day": "Journée inhabituelle le {day} : {value} au lieu de {expected} attendus",
        "daily_kwh": "Seuil journalier dépassé le {day} : {value} (seuil {expected})",
        "weekly_eur": "Seuil de coût hebdomadaire dépassé (semaine finissant le {day}) : "
        "{value} (seuil {expected})",
        "max_power_limit": "Seuil de puissance dépassé le {day} : {value} (seuil {expected})",
        "threshold": "Seuil dépassé le {day} : {value} (seuil {expected})",
    },
)
_BUCKETS: Final[Mapping[str, Mapping[Bucket, str]]] = {
    "en": {
        Bucket.BASE: "Base",
        Bucket.HP: "Peak",
        Bucket.HC: "Off-peak",
        Bucket.BLUE_HP: "Blue peak",
        Bucket.BLUE_HC: "Blue off-peak",
        Bucket.WHITE_HP: "White peak",
        Bucket.WHITE_HC: "White off-peak",
        Bucket.RED_HP: "Red peak",
        Bucket.RED_HC: "Red off-peak",
    },
    "fr": {
        Bucket.BASE: "Base",
        Bucket.HP: "HP",
        Bucket.HC: "HC",
        Bucket.BLUE_HP: "Bleu HP",
        Bucket.BLUE_HC: "Bleu HC",
        Bucket.WHITE_HP: "Blanc HP",
        Bucket.WHITE_HC: "Blanc HC",
        Bucket.RED_HP: "Rouge HP",
        Bucket.RED_HC: "Rouge HC",
    },
}


_LIMIT_TEXTS: Final[Mapping[Limit, str]] = {
    Limit.DAILY_KWH: "daily_kwh",
    Limit.WEEKLY_EUR: "weekly_eur",
    Limit.MAX_POWER: "max_power_limit",
}


def _words(language: str) -> _Words:
    return _FR if _is_fr(language) else _EN


def _is_fr(language: str) -> bool:
    return language.lower().split("-")[0].split("_")[0] == "fr"


# --- numbers and dates ----------------------------------------------------------------------


def format_number(value: float, digits: int, language: str, *, sign: bool = False) -> str:
    """`value` with `digits` decimals, the language's separators, and "+" when asked."""
    words = _words(language)
    value = round(value, digits) or 0.0  # no "-0.0"
    text = f"{abs(value):,.{digits}f}"
    text = text.replace(",", "\0").replace(".", words.decimal).replace("\0", words.thousands)
    if value < 0:
        return "-" + text
    return "+" + text if sign else text


def format_kwh(value: float, language: str, *, sign: bool = False) -> str:
    """E.g. "123.4 kWh" / "123,4 kWh"."""
    return f"{format_number(value, 1, language, sign=sign)} kWh"


def format_eur(value: float, language: str) -> str:
    """E.g. "€12.50" / "12,50 €"."""
    number = format_number(value, 2, language)
    if not _words(language).euro_before:
        return f"{number} €"
    return f"-€{number[1:]}" if number.startswith("-") else f"€{number}"


def format_percent(value: float, language: str, *, sign: bool = True) -> str:
    """A whole percentage, signed unless asked not to, e.g. "+12%" / "+12 %"."""
    return f"{format_number(value, 0, language, sign=sign)}{_words(language).percent}%"


def format_day(day: date, language: str) -> str:
    """E.g. "Tue 24 Nov" / "mar. 24 nov."."""
    words = _words(language)
    return f"{words.weekdays[day.weekday()]} {day.day} {words.months[day.month - 1]}"


def format_time(at: datetime) -> str:
    """The local (Europe/Paris) wall-clock time, e.g. "19:12"."""
    return at.astimezone(PARIS).strftime("%H:%M")


def _span(first: date, last: date, language: str) -> str:
    months = _words(language).months
    end = f"{last.day} {months[last.month - 1]} {last.year}"
    if first.year != last.year:
        return f"{first.day} {months[first.month - 1]} {first.year} \u2013 {end}"
    if first.month != last.month:
        return f"{first.day} {months[first.month - 1]} \u2013 {end}"
    return f"{first.day}\u2013{end}"


def _value(value: float, unit: str, language: str) -> str:
    """A finding's value in its unit."""
    match unit:
        case "kWh":
            return format_kwh(value, language)
        case "EUR":
            return format_eur(value, language)
        case "W":
            return f"{format_number(value, 0, language)} W"
        case "VA":
            return f"{format_number(value / 1000, 1, language)} kVA"
        case _:
            return f"{format_number(value, 1, language)} {unit}".rstrip()


# --- texts ----------------------------------------------------------------------------------


def finding_text(finding: Finding, language: str) -> str:
    """One line telling `finding`: what, which day, the value against the expected one (or
    the limit)."""
    words = _words(language)
    key: str = finding.kind.value
    if finding.kind is FindingKind.THRESHOLD_EXCEEDED:
        key = _LIMIT_TEXTS.get(finding.limit, "threshold") if finding.limit else "threshold"
    return words.texts[key].format(
        day=format_day(finding.day, language),
        value=_value(finding.value, finding.unit, language),
        expected=_value(finding.expected, finding.unit, language),
    )


def render(
    report: WeeklyReport, language: str, names: Mapping[str, str] | None = None
) -> tuple[str, str]:
    """The report's title and Markdown body: one section per meter (named by `names[pdl]`,
    else its PDL), then the total when there are several."""
    words = _words(language)
    week = report.week
    title = words.texts["title"].format(week=week, span=_span(week.monday, week.sunday, language))
    sections = [_meter_section(meter, language, names or {}) for meter in report.meters]
    if len(report.meters) > 1:
        total = report.total
        lines = [
            f"### {words.texts['total'].format(count=total.meters)}",
            *_figure_lines(total, language),
        ]
        if not total.complete:
            meters = ", ".join((names or {}).get(pdl, pdl) for pdl in total.incomplete)
            lines.append(f"- ⚠️ {words.texts['incomplete_total'].format(meters=meters)}")
        sections.append("\n".join(lines))
    return title, "\n\n".join(sections)


def _meter_section(meter: MeterWeek, language: str, names: Mapping[str, str]) -> str:
    texts = _words(language).texts
    lines = [f"### {texts['meter'].format(name=names.get(meter.pdl, meter.pdl))}"]
    lines += _figure_lines(meter, language)
    if (power := meter.max_power) is not None:
        kva = f"{format_number(power.va / 1000, 1, language)} kVA"
        day = format_day(power.day, language)
        lines.append(f"- {texts['max_power'].format(kva=kva, day=day, time=format_time(power.at))}")
    if meter.baseload_w is not None:
        w = f"{format_number(meter.baseload_w, 0, language)} W"
        lines.append(f"- {texts['baseload'].format(w=w)}")
    if meter.findings:
        lines.append(f"- {texts['anomalies']}")
        lines += [f"  - {finding_text(finding, language)}" for finding in meter.findings]
    if not meter.complete:
        days = ", ".join(format_day(day, language) for day in meter.missing_days)
        lines.append(f"- ⚠️ {texts['incomplete'].format(days=days)}")
    return "\n".join(lines)


def _figure_lines(figures: WeekFigures, language: str) -> list[str]:
    texts = _words(language).texts
    first = texts["consumption"].format(kwh=format_kwh(figures.consumption_kwh, language))
    if figures.cost_eur is not None:
        first += f" · {texts['cost'].format(eur=format_eur(figures.cost_eur, language))}"
    lines = [f"- {first}"]
    for change, key in ((figures.vs_previous, "previous"), (figures.vs_year_before, "year_before")):
        lines.append(f"- {_change_line(change, key, language)}")
    if figures.split_kwh:
        labels = _BUCKETS["fr" if _is_fr(language) else "en"]
        whole = sum(figures.split_kwh.values())
        parts = " · ".join(
            f"{labels[bucket]} {format_kwh(kwh, language)}"
            + (f" ({format_percent(100 * kwh / whole, language, sign=False)})" if whole > 0 else "")
            for bucket, kwh in figures.split_kwh.items()
        )
        lines.append(f"- {texts['split'].format(parts=parts)}")
    if figures.production_kwh is not None:
        line = texts["production"].format(kwh=format_kwh(figures.production_kwh, language))
        if figures.self_consumption_kwh is not None:
            kwh = format_kwh(figures.self_consumption_kwh, language)
            line += f" · {texts['self_consumption'].format(kwh=kwh)}"
        if figures.revenue_eur is not None:
            line += f" · {texts['revenue'].format(eur=format_eur(figures.revenue_eur, language))}"
        lines.append(f"- {line}")
    return lines


def _change_line(change: Change | None, key: str, language: str) -> str:
    texts = _words(language).texts
    if change is None:
        return texts[f"no_{key}"]
    line = texts[f"vs_{key}"].format(
        week=change.week, change=_delta(change.delta_kwh, change.percent, language)
    )
    if change.weather_kwh is not None and change.corrected_kwh is not None:
        corrected = _delta(change.corrected_kwh, change.corrected_percent, language)
        weather = format_kwh(change.weather_kwh, language, sign=True)
        line += texts["weather"].format(change=corrected, weather=weather)
    return line


def _delta(kwh: float, percent: float | None, language: str) -> str:
    text = format_kwh(kwh, language, sign=True)
    return text if percent is None else f"{text} ({format_percent(percent, language)})"
