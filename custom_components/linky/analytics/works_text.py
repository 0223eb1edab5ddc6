"""The before/after report of works as Markdown, in English or French (`works.py` computes it).
No Home Assistant import.

It says plainly what it is: energy measured on the meter and corrected for the weather, not
a CEE document (standard CEE operations are paid on deemed savings).
"""

from __future__ import annotations

from datetime import date
from typing import Final

from .works import WorksSavings

_TEXT: Final = {
    "en": {
        "title": "Before/after works report: meter {pdl}",
        "works": "Works from {start} to {end} (left out).",
        "baseline": (
            "Baseline: the energy signature of {first} to {last} ({days} days used, model "
            "{kind}, fit quality {grade})."
        ),
        "reporting": "Reporting period: {first} to {last}, {days} days.",
        "expected": "Expected without the works, at the reporting period's temperatures",
        "actual": "Measured",
        "avoided": "Avoided energy",
        "interval": "90 % interval",
        "money": "At {price} EUR/kWh (your average energy price over the period)",
        "significant": "The saving is **significant**: at least twice its uncertainty.",
        "not_significant": (
            "The saving is **not significant**: its uncertainty is more than half of it "
            "(the weather and the household's habits vary more than that)."
        ),
        "increase": "Consumption went **up** once the weather is accounted for.",
        "note": (
            "This is evidence measured on the Linky meter and corrected for the weather "
            "(CalTRACK 2.0 daily method, ASHRAE Guideline 14 uncertainty widened for the "
            "model's form). It is not a CEE document: standard CEE operations are paid on "
            "deemed savings, whatever a meter shows. Other changes in the home over the "
            "period (occupants, appliances) count in it too."
        ),
        "kwh": "kWh",
    },
    "fr": {
        "title": "Rapport avant/après travaux : compteur {pdl}",
        "works": "Travaux du {start} au {end} (exclus).",
        "baseline": (
            "Référence : la signature énergétique du {first} au {last} ({days} jours "
            "utilisés, modèle {kind}, qualité {grade})."
        ),
        "reporting": "Période de suivi : du {first} au {last}, {days} jours.",
        "expected": "Attendu sans les travaux, aux températures de la période de suivi",
        "actual": "Mesuré",
        "avoided": "Énergie évitée",
        "interval": "Intervalle à 90 %",
        "money": "À {price} EUR/kWh (votre prix moyen de l'énergie sur la période)",
        "significant": "L'économie est **significative** : au moins deux fois son incertitude.",
        "not_significant": (
            "L'économie n'est **pas significative** : son incertitude dépasse la moitié de "
            "l'économie (la météo et les habitudes du foyer varient davantage)."
        ),
        "increase": "La consommation a **augmenté**, météo prise en compte.",
        "note": (
            "Ceci est une preuve mesurée sur le compteur Linky et corrigée de la météo "
            "(méthode quotidienne CalTRACK 2.0, incertitude selon ASHRAE Guideline 14 élargie "
            "de celle de la forme du modèle). Ce n'est pas un document CEE : les "
            "opérations standardisées CEE sont rémunérées sur des économies forfaitaires, "
            "quoi que montre un compteur. Les autres changements du foyer sur la période "
            "(occupants, appareils) y comptent aussi."
        ),
        "kwh": "kWh",
    },
}


def _language(language: str) -> dict[str, str]:
    return _TEXT["fr" if language.lower().startswith("fr") else "en"]


def _day(day: date, language: str) -> str:
    return day.strftime("%d/%m/%Y") if language.lower().startswith("fr") else day.isoformat()


def _number(value: float, language: str, digits: int = 0) -> str:
    text = f"{value:,.{digits}f}"
    if language.lower().startswith("fr"):
        return text.replace(",", "\u202f").replace(".", ",")
    return text


def render_works(result: WorksSavings, pdl: str, language: str) -> str:
    """The report (Markdown) in `language` (French for "fr*", else English)."""
    text = _language(language)
    baseline = result.baseline

    def day(value: date) -> str:
        return _day(value, language)

    lines = [
        f"# {text['title'].format(pdl=pdl)}",
        "",
        text["works"].format(start=day(result.works_start), end=day(result.works_end)),
        text["baseline"].format(
            first=day(result.baseline_first),
            last=day(result.baseline_last),
            days=baseline.days_used,
            kind=baseline.kind.value,
            grade=baseline.grade.value,
        ),
        text["reporting"].format(
            first=day(result.reporting_first),
            last=day(result.reporting_last),
            days=result.reporting_days,
        ),
        "",
        f"| | {text['kwh']} |",
        "|---|---|",
        f"| {text['expected']} | {_number(result.expected_kwh, language)} |",
        f"| {text['actual']} | {_number(result.actual_kwh, language)} |",
        f"| **{text['avoided']}** | **{_number(result.avoided_kwh, language)}** "
        f"({_number(100 * result.share, language, 1)} %) |",
        f"| {text['interval']} | {_number(result.avoided_low, language)} … "
        f"{_number(result.avoided_high, language)} |",
    ]
    eur = result.avoided_eur
    if eur is not None and result.price_eur_per_kwh is not None:
        price = _number(result.price_eur_per_kwh, language, 4)
        lines.append(f"| {text['money'].format(price=price)} | {_number(eur, language, 2)} EUR |")
    lines.append("")
    if result.significant:
        lines.append(text["increase"] if result.avoided_kwh < 0 else text["significant"])
    else:
        lines.append(text["not_significant"])
    lines += ["", f"_{text['note']}_", ""]
    return "\n".join(lines)
