"""Cost, revenue and per-period energy days from stored energy days. No Home Assistant import.

Derived series of a meter (`linky:<pdl>_<name>`):

- `consumption_cost` (EUR): energy only, priced per hour by the tariff engine.
- `fixed_cost` (EUR): subscription + per-kWh taxes; only when the tariff has any.
- `production_revenue` (EUR): injected energy times the dated buy-back price.
- `consumption_<bucket>` (kWh): energy of each HP/HC or Tempo bucket (none for Base).

Money goes through the ledger in milli-euros (the ledger's "Wh") so that rows come out in
euros (its "kWh"). Days stored DAILY (one row at local midnight) get an energy cost only
with a Base contract (price x kWh); with HP/HC or Tempo the split of the day is unknown, so
those days are left out of `consumption_cost` and the bucket series (the fixed cost and the
revenue, which do not depend on the hour, are still written). Days of a Tempo period whose
colours are not known yet are left out too and listed as pending.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
import hashlib
import json
import math
from typing import Final

from .hourly import day_hours
from .ledger import DayData, Resolution
from .pricing import TariffEngine
from .tariffs import OPTION_BUCKETS, Bucket, ColourLookup, ContractOption, Tariff

HASH_VERSION: Final = 1
"""Bump to recompute every cost series after a change of the computation itself."""

SERIES_COST: Final = "consumption_cost"
SERIES_FIXED: Final = "fixed_cost"
SERIES_REVENUE: Final = "production_revenue"
MONEY_SERIES: Final = (SERIES_COST, SERIES_FIXED, SERIES_REVENUE)
_MILLI: Final = 1000.0  # euros go through the ledger as milli-euros


def bucket_series(bucket: Bucket) -> str:
    """The series name of a bucket's energy, e.g. `consumption_hp`."""
    return f"consumption_{bucket.value}"


BUCKET_SERIES: Final = tuple(bucket_series(b) for b in Bucket if b is not Bucket.BASE)
ALL_SERIES: Final = (*MONEY_SERIES, *BUCKET_SERIES)


def tariff_hash(tariff: Tariff | None, series: Iterable[str]) -> str | None:
    """What the derived series were computed with (None: no tariff, no derived series)."""
    if tariff is None:
        return None
    payload = json.dumps(
        {"v": HASH_VERSION, "tariff": tariff.as_dict(), "series": sorted(series)}, sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(slots=True)
class Computed:
    """Derived days by series name, and the consumption days waiting for Tempo colours."""

    days: dict[str, list[DayData]] = field(default_factory=dict)
    pending: set[date] = field(default_factory=set)

    def add(self, name: str, data: DayData) -> None:
        """Add a derived day."""
        self.days.setdefault(name, []).append(data)


def _spread(data: DayData) -> dict[datetime, float]:
    """A DAILY day's total spread evenly over its hours (exact for anything that does not
    depend on the hour: Base prices, subscription, taxes, buy-back)."""
    hours = day_hours(data.day)
    return dict.fromkeys(hours, data.total_wh / len(hours))


def _as_day(data: DayData, values: Mapping[datetime, float], scale: float) -> DayData:
    """`values` (EUR or Wh by hour) as a derived day of the same resolution as `data`."""
    if data.resolution is Resolution.DAILY:
        return DayData.daily(data.day, math.fsum(values.values()) * scale)
    return DayData.hourly(data.day, {hour: values[hour] * scale for hour in data.hours})


def compute_days(
    tariff: Tariff,
    colour_of: ColourLookup,
    consumption: Iterable[DayData],
    production: Iterable[DayData],
) -> Computed:
    """Price stored energy days with `tariff` (see the module docstring for what is left out)."""
    engine = TariffEngine(tariff, colour_of)
    with_fixed = any(
        p.subscription_monthly is not None or p.tax_per_kwh is not None for p in tariff.periods
    )
    out = Computed()
    for data in consumption:
        period = tariff.period_at(data.day)
        if period is None:
            continue
        hourly = data.resolution is Resolution.HOURLY
        result = engine.compute(dict(data.hours) if hourly else _spread(data))
        if with_fixed:
            out.add(SERIES_FIXED, _as_day(data, result.fixed_cost, _MILLI))
        if result.missing_colours:
            if hourly:
                out.pending.add(data.day)
            continue
        if not hourly and period.option is not ContractOption.BASE:
            continue
        out.add(SERIES_COST, _as_day(data, result.total_energy_cost, _MILLI))
        if hourly and period.option is not ContractOption.BASE:
            for bucket in OPTION_BUCKETS[period.option]:
                out.add(bucket_series(bucket), _as_day(data, result.energy_wh[bucket], 1.0))
    for data in production:
        if tariff.buyback_price_at(data.day) is None:
            continue
        hours = dict(data.hours) if data.resolution is Resolution.HOURLY else _spread(data)
        result = engine.compute({}, hours)
        out.add(SERIES_REVENUE, _as_day(data, result.production_revenue, _MILLI))
    return out


def tempo_days_needed(tariff: Tariff, days: Iterable[DayData]) -> set[date]:
    """Tempo days whose colours pricing the HOURLY `days` needs (a local day D covers the
    end of Tempo day D-1 and the start of D)."""
    needed: set[date] = set()
    for data in days:
        period = tariff.period_at(data.day)
        if (
            data.resolution is Resolution.HOURLY
            and period is not None
            and period.option is ContractOption.TEMPO
        ):
            needed.add(date.fromordinal(data.day.toordinal() - 1))
            needed.add(data.day)
    return needed
