"""Tariff engine: hourly energy to hourly energy per bucket, energy cost, subscription and
taxes, and production revenue. No Home Assistant import.

The tariff model (options, buckets, dated periods, off-peak windows) is in `tariffs`.

Maths: every input row is one UTC hour. Paris offsets are whole hours, so a UTC hour is one
local wall-clock hour, never split by midnight, by 06:00 or by a DST change. An hour that an
off-peak boundary cuts (e.g. 22:30) is split pro rata of the minutes on each side: the energy
is assumed flat within the hour. Everything is Decimal inside; floats only come out.
Unknown Tempo colours are never guessed: the hours of those days get no energy or cost rows
and their Tempo days are listed in `TariffResult.missing_colours` for a later recompute.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
import itertools
from typing import Final

from ..localtime import PARIS, local_date
from .hourly import HOUR, local_day_bounds, utc_hour
from .tariffs import (
    OPTION_BUCKETS,
    Bucket,
    ColourLookup,
    ColourUnknownError,
    ContractOption,
    NoTariffPeriodError,
    Tariff,
    TariffPeriod,
    _decimal,
    _minute_of_day,
)
from .tempo_calendar import TEMPO_DAY_START, TempoColour

_KWH: Final = Decimal(1000)
_ZERO: Final = Decimal(0)

_TEMPO_BUCKETS: Final[Mapping[tuple[TempoColour, bool], Bucket]] = {
    (TempoColour.BLUE, False): Bucket.BLUE_HP,
    (TempoColour.BLUE, True): Bucket.BLUE_HC,
    (TempoColour.WHITE, False): Bucket.WHITE_HP,
    (TempoColour.WHITE, True): Bucket.WHITE_HC,
    (TempoColour.RED, False): Bucket.RED_HP,
    (TempoColour.RED, True): Bucket.RED_HC,
}


@dataclass(slots=True)
class TariffResult:
    """Hourly output keyed by UTC hour start. Energy in Wh, money in EUR.

    `energy_wh` / `energy_cost` have one row per priced hour for every bucket of the period's
    option (0 when none of the hour fell in it). `fixed_cost` (subscription + per-kWh taxes)
    covers every consumption hour that a period covers, whatever its colour.
    `production_revenue` covers production hours with a buy-back price. Hours before the
    first period are in `unpriced_hours`; Tempo days without a colour in `missing_colours`.
    """

    energy_wh: dict[Bucket, dict[datetime, float]] = field(default_factory=dict)
    energy_cost: dict[Bucket, dict[datetime, float]] = field(default_factory=dict)
    total_energy_cost: dict[datetime, float] = field(default_factory=dict)
    fixed_cost: dict[datetime, float] = field(default_factory=dict)
    production_revenue: dict[datetime, float] = field(default_factory=dict)
    missing_colours: set[date] = field(default_factory=set)
    unpriced_hours: set[datetime] = field(default_factory=set)


class TariffEngine:
    """Prices hourly energy with a `Tariff` and an injected Tempo colour lookup."""

    def __init__(self, tariff: Tariff, colour_of: ColourLookup | None = None) -> None:
        self._tariff = tariff
        self._colour_of: ColourLookup = colour_of or _no_colour
        self._hours_in_day: dict[date, int] = {}

    def bucket_at(self, instant: datetime) -> Bucket:
        """The bucket of the aware `instant`.

        Raises NoTariffPeriodError before the first period, ColourUnknownError for a Tempo
        day whose colour is not known.
        """
        local = instant.astimezone(PARIS)
        period = self._period(local.date())
        bucket = self._classify(period, local.date(), _minute_of_day(local.time()))
        if isinstance(bucket, date):
            raise ColourUnknownError(bucket)
        return bucket

    def is_peak(self, instant: datetime) -> bool:
        """Whether the aware `instant` is in peak hours (never for BASE). Needs no colour."""
        local = instant.astimezone(PARIS)
        period = self._period(local.date())
        minute = _minute_of_day(local.time())
        if period.option is ContractOption.BASE:
            return False
        return not any(a <= minute < b for a, b in period.offpeak_ranges())

    def compute(
        self,
        consumption: Mapping[datetime, float | int | Decimal],
        production: Mapping[datetime, float | int | Decimal] | None = None,
    ) -> TariffResult:
        """Price hourly energies (Wh by aware UTC hour start). Raises ValueError on a key
        that is not an aware whole hour."""
        result = TariffResult()
        for start, wh in _sorted_hours(consumption):
            self._price_hour(result, start, _decimal(wh))
        for start, wh in _sorted_hours(production or {}):
            price = self._tariff.buyback_price_at(local_date(start))
            if price is not None:
                result.production_revenue[start] = float(_decimal(wh) / _KWH * price)
        return result

    def _period(self, day: date) -> TariffPeriod:
        period = self._tariff.period_at(day)
        if period is None:
            raise NoTariffPeriodError(f"no tariff period on {day}")
        return period

    def _price_hour(self, result: TariffResult, start: datetime, wh: Decimal) -> None:
        local = start.astimezone(PARIS)
        day = local.date()
        period = self._tariff.period_at(day)
        if period is None:
            result.unpriced_hours.add(start)
            return
        fixed = wh / _KWH * (period.tax_per_kwh or _ZERO)
        if period.subscription_monthly is not None:
            days_in_month = calendar.monthrange(day.year, day.month)[1]
            fixed += period.subscription_monthly / days_in_month / self._day_hours(day)
        result.fixed_cost[start] = float(fixed)

        first = _minute_of_day(local.time())
        energy = dict.fromkeys(OPTION_BUCKETS[period.option], _ZERO)
        for a, b in _pieces(first, first + 60, period):
            bucket = self._classify(period, day, a)
            if isinstance(bucket, date):
                result.missing_colours.add(bucket)
                return
            energy[bucket] += wh * (b - a) / 60
        total = _ZERO
        for bucket, bucket_wh in energy.items():
            cost = bucket_wh / _KWH * period.prices[bucket]
            total += cost
            result.energy_wh.setdefault(bucket, {})[start] = float(bucket_wh)
            result.energy_cost.setdefault(bucket, {})[start] = float(cost)
        result.total_energy_cost[start] = float(total)

    def _classify(self, period: TariffPeriod, day: date, minute: int) -> Bucket | date:
        """Bucket at `minute` of local `day`, or the Tempo day whose colour is missing."""
        offpeak = any(a <= minute < b for a, b in period.offpeak_ranges())
        match period.option:
            case ContractOption.BASE:
                return Bucket.BASE
            case ContractOption.HPHC:
                return Bucket.HC if offpeak else Bucket.HP
            case ContractOption.TEMPO:
                tempo_day = day if minute >= _minute_of_day(TEMPO_DAY_START) else day - _ONE_DAY
                colour = self._colour_of(tempo_day)
                if colour is None:
                    return tempo_day
                return _TEMPO_BUCKETS[colour, offpeak]

    def _day_hours(self, day: date) -> int:
        """Number of hours of local `day` (23, 24 or 25)."""
        hours = self._hours_in_day.get(day)
        if hours is None:
            start, end = local_day_bounds(day)
            hours = self._hours_in_day[day] = (end - start) // HOUR
        return hours


_ONE_DAY: Final = timedelta(days=1)


def _no_colour(_day: date) -> TempoColour | None:
    return None


def _pieces(first: int, last: int, period: TariffPeriod) -> Iterable[tuple[int, int]]:
    """Split minutes [first, last) of a day where the classification may change."""
    cuts = {a for r in period.offpeak_ranges() for a in r}
    if period.option is ContractOption.TEMPO:
        cuts.add(_minute_of_day(TEMPO_DAY_START))
    points = [first, *sorted(c for c in cuts if first < c < last), last]
    return itertools.pairwise(points)


def _sorted_hours(
    rows: Mapping[datetime, float | int | Decimal],
) -> list[tuple[datetime, float | int | Decimal]]:
    return sorted(((utc_hour(start), wh) for start, wh in rows.items()), key=lambda row: row[0])
