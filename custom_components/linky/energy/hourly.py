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
from functools import lru_cache
from operator import itemgetter

from ..conso.models import EnergyInterval
from ..localtime import PARIS, local_date

HOUR = timedelta(hours=1)

type _Span = tuple[datetime, datetime, float]  # an interval: UTC start, UTC end, Wh
_NEVER = datetime.min.replace(tzinfo=UTC)


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """Return the UTC instants of the local midnight starting `day` and of the next one."""
    return _day_bounds(day)


def day_hours(day: date) -> list[datetime]:
    """Return the UTC hour starts of the local `day` (23, 24 or 25 of them)."""
    return list(_day_hours(day))


def utc_hour(start: datetime) -> datetime:
    """An hour start as UTC; raises ValueError when it is naive or not a whole UTC hour."""
    if start.tzinfo is None:
        raise ValueError(f"naive hour start {start}")
    utc = start.astimezone(UTC)
    if utc.minute or utc.second or utc.microsecond:
        raise ValueError(f"not a whole UTC hour: {start}")
    return utc


def split_by_local_day(intervals: Iterable[EnergyInterval]) -> dict[date, list[EnergyInterval]]:
    """Group intervals by the local date of their start, each group sorted by start."""
    by_start = sorted(
        ((interval.start.astimezone(UTC), interval) for interval in intervals), key=itemgetter(0)
    )
    days: dict[date, list[EnergyInterval]] = {}
    group: list[EnergyInterval] = []
    low = high = _NEVER  # bounds of the current day: none yet
    for start, interval in by_start:
        if not low <= start < high:
            day = local_date(start)
            low, high = _day_bounds(day)
            group = days.setdefault(day, [])
        group.append(interval)
    return days


def hourly_wh(intervals: Iterable[EnergyInterval]) -> dict[datetime, float]:
    """Sum interval energies per UTC hour start, sorted by hour.

    An interval that crosses an hour boundary is split pro rata of the time spent in each
    hour. Raises ValueError on an interval that does not end after it starts.
    """
    spans: list[_Span] = []
    for interval in intervals:
        start, end = interval.start.astimezone(UTC), interval.end.astimezone(UTC)
        if end <= start:
            raise ValueError(f"interval does not end after it starts: {interval}")
        spans.append((start, end, interval.wh))
    return _hourly_sums(spans)


def complete_day_hours(
    day: date, intervals: Iterable[EnergyInterval]
) -> dict[datetime, float] | None:
    """Return every UTC hour of the local `day` with its Wh, or None if the curve is incomplete.

    The intervals must tile the local day exactly: the first starts at local midnight, each
    next one starts where the previous one ends, the last ends at the next local midnight.
    Anything else (a hole, an overlap, a duplicate, an interval outside the day, no interval)
    gives None, so that an incomplete curve never replaces a daily total.
    """
    spans = sorted(
        (
            (interval.start.astimezone(UTC), interval.end.astimezone(UTC), interval.wh)
            for interval in intervals
        ),
        key=itemgetter(0),
    )
    cursor, end = _day_bounds(day)
    for start, stop, _ in spans:
        if start != cursor or stop <= cursor:
            return None
        cursor = stop
    if not spans or cursor != end:
        return None
    # A tiling of the day touches each of its hours, so every hour is a key, in order.
    return _hourly_sums(spans)


def _hourly_sums(spans: Iterable[_Span]) -> dict[datetime, float]:
    """Sum the Wh of spans that end after they start per UTC hour start, sorted by hour."""
    hours: defaultdict[datetime, float] = defaultdict(float)
    hour = next_hour = _NEVER  # the hour of the previous span's start: none yet
    for start, end, wh in spans:
        if not hour <= start < next_hour:
            hour = start.replace(minute=0, second=0, microsecond=0)
            next_hour = hour + HOUR
        if end <= next_hour:  # within one hour: the common case
            hours[hour] += wh
            continue
        duration = end - start
        low, high = hour, next_hour
        while low < end:
            hours[low] += wh * ((min(end, high) - max(start, low)) / duration)
            low, high = high, high + HOUR
    return dict(sorted(hours.items()))


@lru_cache(maxsize=4096)
def _day_bounds(day: date) -> tuple[datetime, datetime]:
    """`local_day_bounds`, computed once per day."""
    start = datetime.combine(day, time(), PARIS).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), PARIS).astimezone(UTC)
    return start, end


@lru_cache(maxsize=4096)
def _day_hours(day: date) -> tuple[datetime, ...]:
    """`day_hours`, computed once per day."""
    start, end = _day_bounds(day)
    return tuple(start + i * HOUR for i in range((end - start) // HOUR))
