"""Which days of a series are still to fetch, and how far the history import is. No HA import.

Two horizons bound what a meter can have: the *hourly* horizon (the load curve is kept 24
months, less when the user asked for less, and never before a known floor: the meter's
activation or the day hourly collection started) and the *daily* one (36 months). A day is
*done* when nothing more can be fetched for it: stored hour by hour, stored at all outside
the hourly horizon, before a floor, or given up after repeated attempts (floors and given-up
days are checked again after `RECHECK_DAYS`). Every other day of the horizons is a *gap*:
back-fill, late publications and holes are all the same thing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from ..conso.models import MeasureType
from ..conso.planner import history_start, minus_months
from ..energy.ledger import Resolution
from .state import SeriesState

RECENT_DAYS = 7
"""The daily refresh re-reads this many days; back-fill leaves them to it."""
RECHECK_DAYS = 30
"""A floor, or a day given up, is checked again after this many days: a floor found from
answers that were only transient, or a load curve published very late, is not lost."""


@dataclass(frozen=True, slots=True)
class HistoryDepth:
    """How far back a meter's history is imported (months, as in the options)."""

    daily_months: int = 36
    hourly_months: int = 24
    retention_years: int = 0  # nothing older is kept (0: no limit)


def _days(start: date, end: date) -> Iterator[date]:
    """The days of [start, end)."""
    day = start
    while day < end:
        yield day
        day += timedelta(days=1)


class GapPlanner:
    """Horizons, done days, gaps and progress of the series of one meter, on `today`."""

    def __init__(self, depth: HistoryDepth, today: date) -> None:
        self.depth = depth
        self.today = today

    @property
    def keep_from(self) -> date | None:
        """The oldest day the statistics keep (the data-retention option), if any."""
        years = self.depth.retention_years
        return minus_months(self.today, 12 * years) if years else None

    def hourly_horizon(self, state: SeriesState) -> date | None:
        """The oldest day the load curve may be asked for; None when it is not imported
        (disabled in the options, or hourly collection disabled at Enedis)."""
        if self.depth.hourly_months == 0 or state.curve_available is False:
            return None
        horizon = max(
            minus_months(self.today, self.depth.hourly_months),
            history_start(MeasureType.CONSUMPTION_LOAD_CURVE, self.today),
        )
        if self.keep_from is not None:
            horizon = max(horizon, self.keep_from)
        for floor, found_on in (
            (state.floor, state.floor_on),
            (state.curve_floor, state.curve_floor_on),
        ):
            if floor is not None and self.holds(found_on):
                horizon = max(horizon, floor)
        return horizon

    def daily_horizon(self, state: SeriesState) -> date:
        """The oldest day daily values may be asked for."""
        horizon = max(
            minus_months(self.today, self.depth.daily_months),
            history_start(MeasureType.CONSUMPTION_DAILY, self.today),
        )
        if self.keep_from is not None:
            horizon = max(horizon, self.keep_from)
        if state.floor is not None and self.holds(state.floor_on):
            return max(horizon, state.floor)
        return horizon

    def holds(self, found_on: date | None) -> bool:
        """Whether what was found on `found_on` (a floor, a day given up) still holds: it is
        checked again after `RECHECK_DAYS`."""
        return found_on is not None and (self.today - found_on).days < RECHECK_DAYS

    def is_done(self, state: SeriesState, day: date) -> bool:
        """Whether nothing more can be fetched for `day`."""
        return self._is_done(state, day, self.hourly_horizon(state), self.daily_horizon(state))

    def _is_done(
        self, state: SeriesState, day: date, hourly_from: date | None, daily_from: date
    ) -> bool:
        """`is_done` with the series' horizons computed once by the caller's loop."""
        if day in state.given_up and self.holds(state.given_up[day]):
            return True
        record = state.ledger.get(day)
        if hourly_from is not None and day >= hourly_from:
            return record is not None and record.resolution is Resolution.HOURLY
        return day < daily_from or record is not None

    def gap_days(self, state: SeriesState, *, include_recent: bool = False) -> list[date]:
        """Days to (re)fetch, newest first, leaving out the days already tried today (data
        may come late: they are tried again another day) and, unless `include_recent`, the
        days the daily refresh re-reads anyway."""
        end = self.today - timedelta(days=1 if include_recent else RECENT_DAYS)
        hourly_from, daily_from = self.hourly_horizon(state), self.daily_horizon(state)
        tried_today = {day for day, on in state.tried_on.items() if on == self.today}
        return [
            day
            for day in sorted(_days(min(daily_from, hourly_from or end), end), reverse=True)
            if day not in tried_today and not self._is_done(state, day, hourly_from, daily_from)
        ]

    def progress(self, states: list[SeriesState]) -> float:
        """Share (0..1) of the hourly history of `states` that is done."""
        done = total = 0
        end = self.today - timedelta(days=1)
        start = minus_months(self.today, self.depth.hourly_months)
        for state in states:
            hourly_from, daily_from = self.hourly_horizon(state), self.daily_horizon(state)
            if hourly_from is None:
                continue
            for day in _days(start, end):
                total += 1
                done += day < hourly_from or self._is_done(state, day, hourly_from, daily_from)
        return 1.0 if total == 0 else done / total
