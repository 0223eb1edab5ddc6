"""Splits a wanted date range into calls the API accepts. Pure functions, no HA import.

Rules (spec section 3.3): `dateDebut < dateFin <= today` (Europe/Paris date, passed in by
the caller), at most 7 days per load-curve call and 365 days otherwise, and no older than
24 months (load curves) or 36 months (daily energy, max power) before today. Enedis allows
15 more days of history; they are deliberately not used.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from .models import DateRange, MeasureType

LOAD_CURVE_MAX_DAYS = 7
DAILY_MAX_DAYS = 365
LOAD_CURVE_HISTORY_MONTHS = 24
DAILY_HISTORY_MONTHS = 36


def history_start(measure: MeasureType, today: date) -> date:
    """The oldest day the API serves for `measure` when asked on `today`."""
    months = LOAD_CURVE_HISTORY_MONTHS if measure.is_load_curve else DAILY_HISTORY_MONTHS
    return minus_months(today, months)


def max_span_days(measure: MeasureType) -> int:
    """The longest range (in days) one call may ask for."""
    return LOAD_CURVE_MAX_DAYS if measure.is_load_curve else DAILY_MAX_DAYS


def plan_requests(
    measure: MeasureType,
    start: date,
    end: date,
    today: date,
    *,
    newest_first: bool = False,
) -> list[DateRange]:
    """Legal request ranges covering `[start, end)` clamped to `[history_start, today)`.

    Chunks are aligned on the clamped end, so only the oldest one may be shorter than the
    maximum span. They are returned oldest first, or newest first when asked (back-fill).
    Returns [] when nothing in the range may be requested.
    """
    low = max(start, history_start(measure, today))
    high = min(end, today)
    span = timedelta(days=max_span_days(measure))
    chunks: list[DateRange] = []
    while high > low:
        chunk_start = max(low, high - span)
        chunks.append(DateRange(start=chunk_start, end=high))
        high = chunk_start
    if not newest_first:
        chunks.reverse()
    return chunks


def minus_months(day: date, months: int) -> date:
    """`day` moved back by whole months, clamped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
