"""Insight from history: max power share and typical peak hours. No Home Assistant import.

- `max_power_share`: a day's max power (VA, from the Linky's daily max power) as a share of
  the subscribed power (kVA x 1000). 1.0 means the subscription was reached.
- `typical_peak_hours`: from hourly consumption (Wh by UTC hour start), the local
  (Europe/Paris) hours of day that are usually the heaviest over the last days: the top-k
  hours by average consumption, and how often each hour was its day's heaviest. Hours are
  local wall-clock hours 0-23: the repeated October hour adds a second sample to hour 2, the
  skipped March hour has none that day.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
import math

from ..conso.models import MaxPower
from ..energy.hourly import day_hours, local_day_bounds
from ..localtime import PARIS, local_date


@dataclass(frozen=True, slots=True)
class PowerShare:
    """A day's max power and its share of the subscribed power."""

    day: date
    va: int
    at: datetime
    share: float


def max_power_share(record: MaxPower, subscribed_kva: float) -> PowerShare:
    """The share of the subscribed power reached by `record`. Raises ValueError on a
    non-positive subscription."""
    if not subscribed_kva > 0:
        raise ValueError(f"subscribed power must be positive, got {subscribed_kva}")
    return PowerShare(record.day, record.va, record.at, record.va / (subscribed_kva * 1000))


def yesterday_max_power_share(
    records: Iterable[MaxPower], today: date, subscribed_kva: float
) -> PowerShare | None:
    """The share for the local day before `today`, or None when it is not known yet (the
    Linky data arrive the next day, sometimes later)."""
    yesterday = today - timedelta(days=1)
    for record in records:
        if record.day == yesterday:
            return max_power_share(record, subscribed_kva)
    return None


@dataclass(frozen=True, slots=True)
class PeakHours:
    """Typical peak hours over `days` local days (those with data in the window).

    `hours`: the top hours by average Wh, heaviest first (ties: earlier hour first).
    `average_wh`: average Wh of each local hour with data. `max_hour_counts`: for each local
    hour, on how many days it was the day's heaviest hour (days with all their hours only).
    """

    hours: tuple[int, ...]
    average_wh: dict[int, float]
    max_hour_counts: dict[int, int]
    days: int


def typical_peak_hours(
    hourly: Mapping[datetime, float], today: date, days: int = 30, top: int = 3
) -> PeakHours:
    """Typical peak hours over the `days` local days before `today` (today excluded)."""
    if days < 1 or top < 1:
        raise ValueError("days and top must be at least 1")
    window_start, _ = local_day_bounds(today - timedelta(days=days))
    window_end, _ = local_day_bounds(today)
    samples: defaultdict[int, list[float]] = defaultdict(list)
    by_day: defaultdict[date, list[tuple[datetime, float]]] = defaultdict(list)
    for start, wh in hourly.items():
        if start.tzinfo is None:
            raise ValueError(f"naive hour start {start}")
        utc = start.astimezone(UTC)
        if window_start <= utc < window_end:
            local = utc.astimezone(PARIS)
            samples[local.hour].append(float(wh))
            by_day[local.date()].append((utc, float(wh)))
    average = {hour: math.fsum(values) / len(values) for hour, values in sorted(samples.items())}
    ranked = sorted(average, key=lambda hour: (-average[hour], hour))
    counts: Counter[int] = Counter()
    for day, rows in by_day.items():
        if len(rows) == len(day_hours(day)):
            heaviest = max(rows, key=lambda row: (row[1], -row[0].timestamp()))
            counts[heaviest[0].astimezone(PARIS).hour] += 1
    return PeakHours(tuple(ranked[:top]), average, dict(sorted(counts.items())), len(by_day))


def complete_hourly_days(hourly: Mapping[datetime, float]) -> dict[datetime, float]:
    """The rows of the local days that have every one of their hours (daily-resolution
    days, a single row at midnight, and partial days are left out)."""
    by_day: defaultdict[date, dict[datetime, float]] = defaultdict(dict)
    for start, wh in hourly.items():
        by_day[local_date(start)][start] = wh
    return {
        start: wh
        for day, rows in by_day.items()
        if len(rows) == len(day_hours(day))
        for start, wh in rows.items()
    }
