"""Load-curve intervals to hourly energies keyed by UTC hour start. No Home Assistant import.

A local (Europe/Paris) day has 23, 24 or 25 UTC hours: its midnights are always whole UTC
hours because Paris offsets are whole hours, and the DST changes happen at night, never at
midnight. Every function here works on real instants, so the repeated October hour is two
distinct UTC hours. Instants are compared and subtracted in UTC: Python compares two
datetimes that share a tzinfo by their wall clocks, which is wrong across the October change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from ..conso.models import PARIS, EnergyInterval

HOUR = timedelta(hours=1)


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """Return the UTC instants of the local midnight starting `day` and of the next one."""
    start = datetime.combine(day, time(), PARIS).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), PARIS).astimezone(UTC)
    return start, end


def day_hours(day: date) -> list[datetime]:
    """Return the UTC hour starts of the local `day` (23, 24 or 25 of them)."""
    start, end = local_day_bounds(day)
    return [start + i * HOUR for i in range((end - start) // HOUR)]


def split_by_local_day(intervals: Iterable[EnergyInterval]) -> dict[date, list[EnergyInterval]]:
    """Group intervals by the local date of their start, each group sorted by start."""
    days: defaultdict[date, list[EnergyInterval]] = defaultdict(list)
    for interval in intervals:
        days[interval.start.astimezone(PARIS).date()].append(interval)
    return {day: sorted(group, key=_utc_start) for day, group in sorted(days.items())}


def hourly_wh(intervals: Iterable[EnergyInterval]) -> dict[datetime, float]:
    """Sum interval energies per UTC hour start, sorted by hour.

    An interval that crosses an hour boundary is split pro rata of the time spent in each
    hour. Raises ValueError on an interval that does not end after it starts.
    """
    hours: defaultdict[datetime, float] = defaultdict(float)
    for interval in intervals:
        start = interval.start.astimezone(UTC)
        end = interval.end.astimezone(UTC)
        duration = end - start
        if duration <= timedelta(0):
            raise ValueError(f"interval does not end after it starts: {interval}")
        hour = start.replace(minute=0, second=0, microsecond=0)
        while hour < end:
            overlap = min(end, hour + HOUR) - max(start, hour)
            hours[hour] += (
                interval.wh if overlap == duration else interval.wh * (overlap / duration)
            )
            hour += HOUR
    return dict(sorted(hours.items()))


def complete_day_hours(
    day: date, intervals: Iterable[EnergyInterval]
) -> dict[datetime, float] | None:
    """Return every UTC hour of the local `day` with its Wh, or None if the curve is incomplete.

    The intervals must tile the local day exactly: the first starts at local midnight, each
    next one starts where the previous one ends, the last ends at the next local midnight.
    Anything else (a hole, an overlap, a duplicate, an interval outside the day, no interval)
    gives None, so that an incomplete curve never replaces a daily total.
    """
    ordered = sorted(intervals, key=_utc_start)
    cursor, end = local_day_bounds(day)
    for interval in ordered:
        if _utc_start(interval) != cursor or interval.end.astimezone(UTC) <= cursor:
            return None
        cursor = interval.end.astimezone(UTC)
    if not ordered or cursor != end:
        return None
    # A tiling of the day touches each of its hours, so every hour is a key, in order.
    return hourly_wh(ordered)


def _utc_start(interval: EnergyInterval) -> datetime:
    """The interval start in UTC (a sort key that is right across DST changes)."""
    return interval.start.astimezone(UTC)
