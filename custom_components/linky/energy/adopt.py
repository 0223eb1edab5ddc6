"""Which days to take from another Linky tool's statistics (adoption). No HA import.

Other tools store a meter's energy as hourly statistics with a running sum: the ha-linky
add-on (and its Python port) writes `linky:<prm>` and `linky_prod:<prm>` (Wh, `state` the
hour's energy, `sum` from 0); MyElectricalData writes one series per tariff period,
`myelectricaldata:<pdl>_<period>_consumption`, whose hours add up. What the Energy dashboard
shows for an hour of such a series is the change of its sum, so that is what is adopted:
per UTC hour, the change of each source's sum (in Wh), added over the sources.

A local day becomes:
- DAILY when its only non-zero hour is its local midnight (the add-on stores older days as
  one bar at 00:00, the way this integration stores its daily days: no meter uses energy in
  that hour only);
- HOURLY when every UTC hour of the day has a row;
- nothing otherwise (part of a day, a negative change: a reset or a correction), reported.

Only days before this integration's own history are taken (`before`: the first stored day),
never today or later, and never before the retention limit; the days of both are compared
(`overlap_ratio`), which tells a wrong meter or a wrong unit before anything is written.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from ..localtime import local_date
from .hourly import day_hours, local_day_bounds
from .ledger import DayData, SeriesLedger

UNIT_WH: dict[str, float] = {"Wh": 1.0, "kWh": 1000.0, "MWh": 1_000_000.0}
"""Wh per unit of the energy units a source may use."""
NEGATIVE_WH = -1e-6
"""A change below this is a decrease of the sum (rounding noise is not)."""


class AdoptionUnitError(ValueError):
    """A source's unit is not an energy unit this module converts."""

    def __init__(self, statistic_id: str, unit: str | None) -> None:
        super().__init__(f"{statistic_id}: unit {unit!r} is not Wh, kWh or MWh")
        self.statistic_id = statistic_id
        self.unit = unit


@dataclass(frozen=True, slots=True)
class SourceRows:
    """One source statistic: its id, unit and rows `(start, sum)`, oldest first."""

    statistic_id: str
    unit: str | None
    rows: Sequence[tuple[datetime, float]]


@dataclass(frozen=True, slots=True)
class AdoptionPlan:
    """What adopting the sources would write into one series."""

    days: list[DayData]  # oldest first
    before: date | None  # only days before this one are taken (None: any past day)
    skipped: dict[str, list[date]] = field(default_factory=dict)  # reason -> days
    overlap_days: int = 0  # days both hold
    overlap_ratio: float | None = None  # their total / ours over those days

    @property
    def total_wh(self) -> float:
        """Energy of the days to write."""
        return sum(data.total_wh for data in self.days)

    @property
    def first_day(self) -> date | None:
        """Oldest day to write."""
        return self.days[0].day if self.days else None

    @property
    def last_day(self) -> date | None:
        """Newest day to write."""
        return self.days[-1].day if self.days else None


def hourly_changes(sources: Sequence[SourceRows]) -> tuple[dict[datetime, float], set[date]]:
    """Wh per UTC hour start, added over the sources, and the local days where a sum went
    down. Raises `AdoptionUnitError` for a unit that is not an energy unit."""
    hours: defaultdict[datetime, float] = defaultdict(float)
    negative: set[date] = set()
    for source in sources:
        factor = UNIT_WH.get(source.unit or "")
        if factor is None:
            raise AdoptionUnitError(source.statistic_id, source.unit)
        previous = 0.0
        for start, total in source.rows:
            hour = start.astimezone(UTC)
            change = (total - previous) * factor
            previous = total
            if change < NEGATIVE_WH:
                negative.add(local_date(hour))
            hours[hour] += change
    return dict(hours), negative


def plan_adoption(
    sources: Sequence[SourceRows],
    ledger: SeriesLedger,
    today: date,
    keep_from: date | None = None,
) -> AdoptionPlan:
    """The days of `sources` to write into the series `ledger` describes (see the module)."""
    hours, negative = hourly_changes(sources)
    per_day: defaultdict[date, dict[datetime, float]] = defaultdict(dict)
    for hour, wh in hours.items():
        per_day[local_date(hour)][hour] = wh
    before = ledger.first_day
    days: list[DayData] = []
    skipped: defaultdict[str, list[date]] = defaultdict(list)
    overlap_theirs = overlap_ours = 0.0
    overlap_days = 0
    for day, day_rows in sorted(per_day.items()):
        if (record := ledger.get(day)) is not None:
            overlap_days += 1
            overlap_theirs += sum(day_rows.values())
            overlap_ours += record.total_wh
            continue
        if day >= today or (before is not None and day >= before):
            skipped["after_own_history"].append(day)
            continue
        if keep_from is not None and day < keep_from:
            skipped["before_retention"].append(day)
            continue
        if day in negative:
            skipped["negative"].append(day)
            continue
        data = _day_data(day, day_rows)
        if data is None:
            skipped["partial"].append(day)
        else:
            days.append(data)
    return AdoptionPlan(
        days=days,
        before=before,
        skipped=dict(skipped),
        overlap_days=overlap_days,
        overlap_ratio=overlap_theirs / overlap_ours if overlap_ours > 0 else None,
    )


def _day_data(day: date, rows: dict[datetime, float]) -> DayData | None:
    """A day's rows as DAILY (energy only at local midnight), HOURLY (every hour has a
    row) or None (part of the day)."""
    midnight = local_day_bounds(day)[0]
    if rows.get(midnight, 0.0) > 0 and all(wh == 0 for h, wh in rows.items() if h != midnight):
        return DayData.daily(day, rows[midnight])
    expected = day_hours(day)
    if set(rows) != set(expected):
        return None
    return DayData.hourly(day, {hour: max(rows[hour], 0.0) for hour in expected})
