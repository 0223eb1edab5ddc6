"""Local time of the Linky world (Europe/Paris) and the one way to read stored times.
No Home Assistant import.

Enedis labels days and intervals in Paris local time; every "today", "yesterday" and local
day of an instant in this integration comes from here. Persisted datetimes are ISO 8601 texts
with an offset; `parse_instant` is the one reader (naive texts are refused: they were never
written by this integration).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def local_date(instant: datetime) -> date:
    """The Paris calendar date of an aware instant."""
    return instant.astimezone(PARIS).date()


def parse_instant(text: object) -> datetime:
    """An aware datetime from its ISO text. Raises ValueError (or TypeError for a non-text)."""
    if not isinstance(text, str):
        raise TypeError(f"expected an ISO timestamp, got {type(text).__name__}")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone")
    return moment


def parse_optional_instant(text: object) -> datetime | None:
    """`parse_instant`, or None for a missing or unreadable value."""
    if text is None:
        return None
    try:
        return parse_instant(text)
    except TypeError, ValueError:
        return None


def parse_optional_day(text: object) -> date | None:
    """A date from its ISO text, or None for a missing or unreadable value."""
    if not isinstance(text, str):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def days_touched(start: datetime, end: datetime) -> list[date]:
    """The local days that the span [start, end) has at least a moment in (an empty or
    reversed span: none)."""
    if end <= start:
        return []
    first, last = local_date(start), local_date(end - timedelta(microseconds=1))
    return [date.fromordinal(n) for n in range(first.toordinal(), last.toordinal() + 1)]
