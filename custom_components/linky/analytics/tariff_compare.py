"""Tariff comparison: the user's own consumption replayed on Base, HP/HC and Tempo at the
regulated prices in force each day. No Home Assistant import.

Inputs: hourly Wh by aware UTC hour start, optionally Wh by local day for days that only have
a daily total. Each option is priced by the tariff engine (`energy.pricing.TariffEngine`)
with a `Tariff` built from the dated regulated grids (`energy.regulated`): a new period at
each grid's start and, for HP/HC, at each change of the user's off-peak windows. Nothing of
the price maths is redone here.

Definitions:
- The comparison covers the *compared hours*: the hourly hours that every option can price.
  An hour is left out of every option (and listed as missing) when it is before the first
  grid of an option, or when it belongs to a Tempo day whose colour is not known (colours are
  never guessed). So every option prices exactly the same kWh.
- Total = energy + subscription. The subscription is the grid's figure for the subscribed kVA
  (yearly / 12), else the caller's monthly figure for that option, prorated per hour by the
  engine (month / days in the month / hours in the day) over the compared hours only. An
  option whose subscription is not known on some compared day says so
  (`subscription_known`); its total then leaves out the subscription of those days.
- Daily-only days (no hourly data; a day with hourly data ignores its daily total) are
  priced on Base only (the split of the day is unknown) and reported apart: they are in no
  option's total and do not make the result incomplete.
- `incomplete`: some hour between the first and the last day with data is not compared:
  a hole in an hourly day, a day without any data, an unknown Tempo colour, no grid.
- Break-even off-peak share: the share s of the compared kWh in off-peak hours at which
  HP/HC costs the same as Base, with the period's average prices (each price weighted by the
  kWh of the days it was in force) and both subscriptions:
  E x ((1 - s) x HP + s x HC) + sub_HPHC = E x Base + sub_Base, so
  s = (E x (HP - Base) + sub_HPHC - sub_Base) / (E x (HP - HC)). Above it HP/HC is cheaper.
  It can fall outside [0, 1] (> 1: HP/HC never pays; < 0: it always does). Exact with one
  grid; an approximation when prices change and the share is not the same in each grid.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
import math
from typing import Any, Final

from ..energy.hourly import day_hours, utc_hour
from ..energy.pricing import TariffEngine, TariffResult
from ..energy.regulated import DEFAULT_TARIFFS, DefaultGrid
from ..energy.tariffs import (
    DEFAULT_OFFPEAK,
    Bucket,
    ContractOption,
    OffPeakWindow,
    Tariff,
    TariffError,
    TariffPeriod,
)
from ..energy.tempo_calendar import TempoColour, tempo_day_of
from ..localtime import local_date

OPTIONS: Final = (ContractOption.BASE, ContractOption.HPHC, ContractOption.TEMPO)
TEMPO_HP_HC: Final[Mapping[TempoColour, tuple[Bucket, Bucket]]] = {
    TempoColour.BLUE: (Bucket.BLUE_HP, Bucket.BLUE_HC),
    TempoColour.WHITE: (Bucket.WHITE_HP, Bucket.WHITE_HC),
    TempoColour.RED: (Bucket.RED_HP, Bucket.RED_HC),
}


@dataclass(frozen=True, slots=True)
class TariffSetup:
    """What the options are priced with.

    `offpeak`: the user's HP/HC off-peak windows by the local date they apply from; the
    earliest also applies before its date. `colours`: known Tempo colours by Tempo day.
    `subscriptions`: EUR/month by option, used where the grid has no figure for `kva`.
    `grids`: the dated regulated grids (default: the integration's table).
    """

    kva: int
    offpeak: Mapping[date, Sequence[OffPeakWindow]] = field(
        default_factory=lambda: {date.min: DEFAULT_OFFPEAK}
    )
    colours: Mapping[date, TempoColour] = field(default_factory=dict)
    subscriptions: Mapping[ContractOption, Decimal] = field(default_factory=dict)
    grids: Sequence[DefaultGrid] = DEFAULT_TARIFFS

    def tariff(self, option: ContractOption) -> Tariff:
        """The dated tariff of `option` for `kva`. Raises TariffError when no grid has it."""
        grids = sorted(
            (g for g in self.grids if g.option is option and self.kva in g.kva),
            key=lambda g: g.start,
        )
        if not grids:
            raise TariffError(
                "no_default",
                f"no {option} prices for {self.kva} kVA",
                option=option.value,
                kva=str(self.kva),
            )
        starts = {g.start for g in grids}
        if option is ContractOption.HPHC:
            starts |= {day for day in self.offpeak if day > grids[0].start}
        periods = []
        for start in sorted(starts):
            grid = [g for g in grids if g.start <= start][-1]
            yearly = grid.subscription_yearly.get(self.kva)
            periods.append(
                TariffPeriod(
                    start=start,
                    option=option,
                    prices=dict(grid.prices),
                    offpeak=self.windows_at(start)
                    if option is ContractOption.HPHC
                    else DEFAULT_OFFPEAK,
                    subscription_monthly=yearly / 12
                    if yearly is not None
                    else self.subscriptions.get(option),
                )
            )
        return Tariff(tuple(periods))

    def windows_at(self, day: date) -> tuple[OffPeakWindow, ...]:
        """The HP/HC off-peak windows in force on local `day`."""
        if not self.offpeak:
            return DEFAULT_OFFPEAK
        dated = sorted(self.offpeak.items())
        chosen = dated[0][1]
        for start, windows in dated:
            if start <= day:
                chosen = windows
        return tuple(chosen)


@dataclass(frozen=True, slots=True)
class OptionCost:
    """One option over the compared hours. EUR and kWh."""

    option: ContractOption
    energy_eur: float
    subscription_eur: float
    kwh: float
    subscription_known: bool
    difference_eur: float
    """total - the current option's total (negative: cheaper than the current contract)."""
    difference_pct: float | None

    @property
    def total_eur(self) -> float:
        """Energy + subscription."""
        return self.energy_eur + self.subscription_eur

    def as_dict(self) -> dict[str, Any]:
        """JSON form, money rounded to the cent."""
        return {
            "option": self.option.value,
            "total_eur": round(self.total_eur, 2),
            "energy_eur": round(self.energy_eur, 2),
            "subscription_eur": round(self.subscription_eur, 2),
            "subscription_known": self.subscription_known,
            "kwh": round(self.kwh, 3),
            "difference_eur": round(self.difference_eur, 2),
            "difference_pct": _round(self.difference_pct, 2),
        }


@dataclass(frozen=True, slots=True)
class BreakEven:
    """HP/HC against Base: the off-peak share at which they cost the same (see the module
    docstring), the actual share, and the average prices used (EUR/kWh)."""

    share: float | None
    offpeak_share: float | None
    base_price: float
    hp_price: float
    hc_price: float


@dataclass(frozen=True, slots=True)
class TempoCell:
    """One Tempo colour over the compared hours: Tempo days with compared hours, kWh."""

    days: int
    hp_kwh: float
    hc_kwh: float


@dataclass(frozen=True, slots=True)
class DailyOnly:
    """Days with a daily total only, priced on Base (energy + subscription)."""

    days: int
    kwh: float
    base_eur: float
    unpriced_days: tuple[date, ...] = ()


@dataclass(frozen=True, slots=True)
class TariffComparison:
    """Result of `compare_tariffs` (see the module docstring for the definitions)."""

    current: ContractOption
    options: Mapping[ContractOption, OptionCost]
    cheapest: ContractOption
    """The lowest total among the options whose subscription is known (all, if none is)."""
    first_day: date | None
    last_day: date | None
    kwh: float
    """kWh of the compared hours (every option prices exactly this)."""
    break_even: BreakEven | None
    tempo: Mapping[TempoColour, TempoCell]
    daily_only: DailyOnly
    missing_hours: tuple[datetime, ...]
    """Hours of the hourly days that are not compared: holes and excluded hours."""
    missing_days: tuple[date, ...]
    """Local days between the first and last day that have neither hourly nor daily data."""
    unknown_colour_days: tuple[date, ...]
    excluded_kwh: float
    """kWh of the input hours left out of every option (unknown colour, no grid)."""

    @property
    def incomplete(self) -> bool:
        """Whether some hour of the period is not compared."""
        return bool(self.missing_hours or self.missing_days)

    def as_dict(self) -> dict[str, Any]:
        """JSON form for action response data (money rounded to the cent)."""
        be = self.break_even
        return {
            "first_day": _iso(self.first_day),
            "last_day": _iso(self.last_day),
            "current_option": self.current.value,
            "cheapest_option": self.cheapest.value,
            "kwh": round(self.kwh, 3),
            "options": {o.value: cost.as_dict() for o, cost in self.options.items()},
            "hphc_break_even": None
            if be is None
            else {
                "offpeak_share": _round(be.share, 4),
                "actual_offpeak_share": _round(be.offpeak_share, 4),
                "base_price": round(be.base_price, 5),
                "hp_price": round(be.hp_price, 5),
                "hc_price": round(be.hc_price, 5),
            },
            "tempo": {
                colour.value: {
                    "days": cell.days,
                    "hp_kwh": round(cell.hp_kwh, 3),
                    "hc_kwh": round(cell.hc_kwh, 3),
                }
                for colour, cell in self.tempo.items()
            },
            "daily_only": {
                "days": self.daily_only.days,
                "kwh": round(self.daily_only.kwh, 3),
                "base_eur": round(self.daily_only.base_eur, 2),
                "unpriced_days": [d.isoformat() for d in self.daily_only.unpriced_days],
            },
            "incomplete": self.incomplete,
            "missing_hours": len(self.missing_hours),
            "missing_days": [d.isoformat() for d in self.missing_days],
            "unknown_tempo_days": [d.isoformat() for d in self.unknown_colour_days],
            "excluded_kwh": round(self.excluded_kwh, 3),
        }


def compare_tariffs(
    hourly: Mapping[datetime, float],
    setup: TariffSetup,
    current: ContractOption,
    daily: Mapping[date, float] | None = None,
) -> TariffComparison:
    """Replay `hourly` (Wh by UTC hour start) and `daily` (Wh by local day) on every option.

    Raises ValueError on an hour key that is not an aware whole hour, TariffError when an
    option has no grid for the subscribed kVA.
    """
    rows = {utc_hour(start): float(wh) for start, wh in hourly.items()}
    hourly_days = {local_date(start) for start in rows}
    tariffs = {option: setup.tariff(option) for option in OPTIONS}
    colours = setup.colours

    def colour_of(day: date) -> TempoColour | None:
        return colours.get(day)

    priced = {
        option: TariffEngine(tariff, colour_of).compute(rows) for option, tariff in tariffs.items()
    }
    compared = set(rows)
    for result in priced.values():
        compared &= result.total_energy_cost.keys()
    kwh = math.fsum(rows[h] for h in compared) / 1000

    costs: dict[ContractOption, tuple[float, float, float, bool]] = {}
    compared_days = {local_date(h) for h in compared}
    for option, result in priced.items():
        costs[option] = (
            math.fsum(result.total_energy_cost[h] for h in compared),
            math.fsum(result.fixed_cost[h] for h in compared),
            _kwh(result, compared),
            all(_period_sub(tariffs[option], day) for day in compared_days),
        )
    current_total = sum(costs[current][:2])
    options = {
        option: OptionCost(
            option=option,
            energy_eur=energy,
            subscription_eur=sub,
            kwh=option_kwh,
            subscription_known=known,
            difference_eur=energy + sub - current_total,
            difference_pct=(energy + sub - current_total) / current_total * 100
            if current_total
            else None,
        )
        for option, (energy, sub, option_kwh, known) in costs.items()
    }
    # an option whose subscription is not known would look cheaper than it is
    known = [option for option in OPTIONS if options[option].subscription_known] or OPTIONS
    cheapest = min(known, key=lambda option: options[option].total_eur)

    daily_rows = {day: float(wh) for day, wh in (daily or {}).items() if day not in hourly_days}
    all_days = hourly_days | daily_rows.keys()
    first, last = (min(all_days), max(all_days)) if all_days else (None, None)
    missing_days = tuple(day for day in _days(first, last) if day not in all_days)
    holes = [h for day in sorted(hourly_days) for h in day_hours(day) if h not in rows]
    missing_hours = tuple(sorted({*holes, *(set(rows) - compared)}))

    return TariffComparison(
        current=current,
        options=options,
        cheapest=cheapest,
        first_day=first,
        last_day=last,
        kwh=kwh,
        break_even=_break_even(tariffs, rows, compared, options, priced[ContractOption.HPHC]),
        tempo=_tempo_table(setup, priced[ContractOption.TEMPO], compared),
        daily_only=_daily_only(tariffs[ContractOption.BASE], daily_rows),
        missing_hours=missing_hours,
        missing_days=missing_days,
        unknown_colour_days=tuple(sorted(priced[ContractOption.TEMPO].missing_colours)),
        excluded_kwh=math.fsum(wh for h, wh in rows.items() if h not in compared) / 1000,
    )


def _kwh(result: TariffResult, hours: Iterable[datetime]) -> float:
    """kWh that `result` put in its buckets over `hours`."""
    per_bucket = result.energy_wh.values()
    return math.fsum(rows[h] for h in hours for rows in per_bucket if h in rows) / 1000


def _period_sub(tariff: Tariff, day: date) -> bool:
    period = tariff.period_at(day)
    return period is not None and period.subscription_monthly is not None


def _break_even(
    tariffs: Mapping[ContractOption, Tariff],
    rows: Mapping[datetime, float],
    compared: set[datetime],
    options: Mapping[ContractOption, OptionCost],
    hphc: TariffResult,
) -> BreakEven | None:
    day_kwh: defaultdict[date, float] = defaultdict(float)
    for h in compared:
        day_kwh[local_date(h)] += rows[h] / 1000
    energy = math.fsum(day_kwh.values())
    if energy <= 0:
        return None
    base_tariff, hphc_tariff = tariffs[ContractOption.BASE], tariffs[ContractOption.HPHC]

    def average(tariff: Tariff, bucket: Bucket) -> float:
        return (
            math.fsum(
                kwh * float(_period(tariff, day).prices[bucket]) for day, kwh in day_kwh.items()
            )
            / energy
        )

    base, hp, hc = (
        average(base_tariff, Bucket.BASE),
        average(hphc_tariff, Bucket.HP),
        average(hphc_tariff, Bucket.HC),
    )
    hc_kwh = math.fsum(hphc.energy_wh.get(Bucket.HC, {}).get(h, 0.0) for h in compared) / 1000
    extra_sub = (
        options[ContractOption.HPHC].subscription_eur
        - options[ContractOption.BASE].subscription_eur
    )
    share = (energy * (hp - base) + extra_sub) / (energy * (hp - hc)) if hp != hc else None
    return BreakEven(share, hc_kwh / energy, base, hp, hc)


def _period(tariff: Tariff, day: date) -> TariffPeriod:
    period = tariff.period_at(day)
    if period is None:  # pragma: no cover - compared days always have a period
        raise LookupError(day)
    return period


def _tempo_table(
    setup: TariffSetup, tempo: TariffResult, compared: set[datetime]
) -> dict[TempoColour, TempoCell]:
    days: dict[TempoColour, set[date]] = {colour: set() for colour in TempoColour}
    for h in compared:
        tempo_day = tempo_day_of(h)
        days[setup.colours[tempo_day]].add(tempo_day)

    def kwh(bucket: Bucket) -> float:
        rows = tempo.energy_wh.get(bucket, {})
        return math.fsum(rows.get(h, 0.0) for h in compared) / 1000

    return {
        colour: TempoCell(len(days[colour]), kwh(hp), kwh(hc))
        for colour, (hp, hc) in TEMPO_HP_HC.items()
    }


def _daily_only(tariff: Tariff, daily: Mapping[date, float]) -> DailyOnly:
    """Daily totals spread evenly over their hours (exact for Base prices and the
    subscription, which do not depend on the hour) and priced on Base."""
    priced = {day: wh for day, wh in daily.items() if tariff.period_at(day) is not None}
    spread = {
        hour: wh / len(hours)
        for day, wh in priced.items()
        for hours in (day_hours(day),)
        for hour in hours
    }
    result = TariffEngine(tariff).compute(spread)
    return DailyOnly(
        days=len(priced),
        kwh=math.fsum(priced.values()) / 1000,
        base_eur=math.fsum(result.total_energy_cost.values())
        + math.fsum(result.fixed_cost.values()),
        unpriced_days=tuple(sorted(set(daily) - priced.keys())),
    )


def _days(first: date | None, last: date | None) -> list[date]:
    if first is None or last is None:
        return []
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()
