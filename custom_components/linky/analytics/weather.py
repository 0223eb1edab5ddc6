"""Outdoor temperature by local day, for the weather-aware insights. No Home Assistant import.

The daily mean of a local day (Europe/Paris, 23, 24 or 25 hours) is the mean of the hourly
means of its hours (the recorder's long-term statistics of the temperature sensor). A day
with fewer than 75 % of its hours known has no mean: a sensor that was offline half the day
would give the temperature of the hours it was up, not of the day.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
import math
from typing import Final

from ..energy.hourly import day_hours
from ..localtime import local_date

MIN_HOURS_SHARE: Final = 0.75


def daily_means(hourly: Mapping[datetime, float]) -> dict[date, float]:
    """The daily mean temperature of every local day that has enough hourly means."""
    per_day: dict[date, list[float]] = {}
    for start, value in hourly.items():
        if math.isfinite(value):
            per_day.setdefault(local_date(start), []).append(value)
    return {
        day: math.fsum(values) / len(values)
        for day, values in sorted(per_day.items())
        if len(values) >= MIN_HOURS_SHARE * len(day_hours(day))
    }
