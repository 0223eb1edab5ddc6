"""What is wrong in a household's consumption: a night base load that jumped or creeps up, a
day far above normal, a limit passed. No Home Assistant import.

Every detector reads what is stored (Wh per UTC hour, kWh per local day) and, when an
outdoor temperature source exists, the day's mean temperature, so that heating is expected
on a cold day or night rather than flagged. Each decides from scratch for a given day (no
hidden state): running it again after a restart gives the same findings. Days to leave out
of every baseline (load shedding by the integration, holidays the user flagged, incomplete
days) are passed in `excluded`.

- Night base load: per night, the 10th percentile of the hourly power between 01:00 and
  05:00 local time (W).
- Base load step: the night's robust z-score against the previous 28 nights (weather
  adjusted) above 3.5. Silent until 28 nights exist.
- Base load drift: a one-sided CUSUM of the last 28 nights' z-scores against the 28 nights
  before them; it fires when the sum crosses its limit.
- Unusual day: the day's kWh against what is expected for that weekday type and temperature;
  z above 3.5 and at least 2 kWh more. Silent until 28 days exist.
- Thresholds: kWh of a day, EUR of an ISO week, a day's max power above a share of the
  subscribed power.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
import statistics
from typing import Any, Final

from ..energy.hourly import day_hours
from ..localtime import PARIS
from .robust import Spread, WeatherLine, percentile

NIGHT_HOURS: Final = frozenset({1, 2, 3, 4})
NIGHT_PERCENTILE: Final = 0.10
WINDOW: Final = 28
"""Nights (or days) of history a decision needs, and uses."""
WEATHER_DAYS: Final = 365
"""How far back the weather dependence (the slope) is learned."""
Z_ALERT: Final = 3.5
MIN_EXCESS_KWH: Final = 2.0
CONFIRM_NIGHTS: Final = 2
"""High nights in a row that make a step."""
CUSUM_SLACK: Final = 1.0
CUSUM_LIMIT: Final = 8.0
CUSUM_CLIP: Final = 3.0
"""A night adds at most this z to the drift sum (one odd night is not a drift)."""
MIN_SCALE_W: Final = 4.0
MIN_SCALE_SHARE: Final = 0.03
"""The base load's scale is at least this share of its median."""
MIN_SCALE_KWH: Final = 0.8
BALANCE: Final = 16.0
"""Outdoor temperature (°C) below which heating is expected."""
DAY_HISTORY: Final = 9 * 7
"""Days whose same weekday type (weekday, weekend) give a day's expected level."""
MIN_SAME_TYPE_DAYS: Final = 8


class FindingKind(StrEnum):
    """The event types of the insights (stable: automations and blueprints use them)."""

    BASELOAD_HIGH = "baseload_high"
    BASELOAD_DRIFT = "baseload_drift"
    UNUSUAL_DAY = "unusual_day"
    THRESHOLD_EXCEEDED = "threshold_exceeded"


class Limit(StrEnum):
    """Which threshold a THRESHOLD_EXCEEDED finding is about."""

    DAILY_KWH = "daily_kwh"
    WEEKLY_EUR = "weekly_eur"
    MAX_POWER = "max_power"


@dataclass(frozen=True, slots=True)
class Finding:
    """Something to tell the user about a day: what was measured against what was expected
    (or the limit), in `unit`."""

    kind: FindingKind
    day: date
    value: float
    expected: float
    unit: str
    z: float | None = None
    limit: Limit | None = None

    @property
    def key(self) -> str:
        """Identifies the finding (the same finding is told once)."""
        return f"{self.kind}:{self.limit or ''}:{self.day.isoformat()}"

    def as_dict(self) -> dict[str, Any]:
        """JSON form (event data, storage)."""
        return {
            "kind": self.kind.value,
            "day": self.day.isoformat(),
            "value": round(self.value, 3),
            "expected": round(self.expected, 3),
            "unit": self.unit,
            "z": None if self.z is None else round(self.z, 2),
            "limit": None if self.limit is None else self.limit.value,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        """Inverse of `as_dict` (raises KeyError/ValueError)."""
        return cls(
            FindingKind(data["kind"]),
            date.fromisoformat(data["day"]),
            float(data["value"]),
            float(data["expected"]),
            str(data["unit"]),
            None if data.get("z") is None else float(data["z"]),
            None if data.get("limit") is None else Limit(data["limit"]),
        )


# --- night base load ------------------------------------------------------------------------


def night_baseload_w(hourly_wh: Mapping[datetime, float], day: date) -> float | None:
    """The base load of the night of `day` (its 01:00-05:00), in W; None when an hour is
    missing (a daily-only day, a hole)."""
    hours = [h for h in day_hours(day) if h.astimezone(PARIS).hour in NIGHT_HOURS]
    values = [hourly_wh[h] for h in hours if h in hourly_wh]
    if not values or len(values) < len(hours):
        return None
    return percentile(values, NIGHT_PERCENTILE)  # Wh in one hour = mean W


def night_baseloads(hourly_wh: Mapping[datetime, float], days: Sequence[date]) -> dict[date, float]:
    """The base load of every night of `days` that has all its hours."""
    result = {}
    for day in days:
        if (value := night_baseload_w(hourly_wh, day)) is not None:
            result[day] = value
    return result


@dataclass(frozen=True, slots=True)
class _Baseline:
    """What a series usually is and how much it varies, weather adjusted: the level is the
    median distance to the weather line (an offset), the spread is measured relative to
    what each day is expected to take, so that it grows with the heating (a cold day varies
    more in kWh than a mild one, in the same proportion)."""

    series: Mapping[date, float]
    temps: Mapping[date, float]
    line: WeatherLine
    level: float
    reference: float
    """The median expected value of the baseline's days (> 0), or 0: no relative spread."""
    spread: Spread

    @classmethod
    def of(
        cls,
        series: Mapping[date, float],
        temps: Mapping[date, float],
        line: WeatherLine,
        days: Sequence[date],
        floor: float,
    ) -> _Baseline:
        """The level and the spread of `days` around the weather line; `floor` is the
        smallest scale (at the reference level)."""
        lines = [line.expected(temps.get(d)) for d in days]
        residuals = [series[d] - x for d, x in zip(days, lines, strict=True)]
        level = statistics.median(residuals)
        reference = 0.0
        if line.slope > 0:
            reference = max(0.0, statistics.median(lines) + level)
        baseline = cls(series, temps, line, level, reference, Spread(0.0, 1.0))
        weights = [baseline.weight(x) for x in lines]
        deviations = [(r - level) / w for r, w in zip(residuals, weights, strict=True)]
        return cls(series, temps, line, level, reference, Spread.of(deviations, floor))

    def weight(self, line_value: float) -> float:
        """How many times the reference level a day's expected value is (1 without a
        weather line; at least a half)."""
        if not self.reference:
            return 1.0
        return max(line_value + self.level, self.reference / 2) / self.reference

    def expected(self, day: date) -> float:
        return self.line.expected(self.temps.get(day)) + self.level

    def z(self, day: date) -> float:
        line_value = self.line.expected(self.temps.get(day))
        deviation = (self.series[day] - line_value - self.level) / self.weight(line_value)
        return self.spread.z(deviation)


def _history(
    series: Mapping[date, float], before: date, excluded: frozenset[date], span: int
) -> list[date]:
    """The usable days of `series` in the `span` days before `before`, oldest first."""
    return [d for d in _days_before(before, span) if d in series and d not in excluded]


@lru_cache(maxsize=4096)
def _days_before(before: date, span: int) -> tuple[date, ...]:
    first = before - timedelta(days=span)
    return tuple(first + timedelta(days=n) for n in range(span))


def _weather_line(
    series: Mapping[date, float], days: Sequence[date], temps: Mapping[date, float] | None
) -> WeatherLine:
    """How `series` follows the outdoor temperature, learned on `days` (flat without a
    temperature source)."""
    if temps is None or not days:
        return WeatherLine(0.0, 0.0, BALANCE)
    return WeatherLine.fit([series[d] for d in days], [temps.get(d) for d in days], BALANCE)


def check_baseload(
    nights: Mapping[date, float],
    day: date,
    temperatures: Mapping[date, float] | None = None,
    excluded: frozenset[date] = frozenset(),
) -> list[Finding]:
    """The base load findings of the night of `day` (step, drift), if any."""
    if day not in nights or day in excluded:
        return []
    span = WEATHER_DAYS if temperatures is not None else 3 * WINDOW
    year = _history(nights, day, excluded, span)
    recent = [d for d in year if d >= day - timedelta(days=2 * WINDOW)][-WINDOW:]
    if len(recent) < WINDOW:
        return []
    temps: Mapping[date, float] = {} if temperatures is None else temperatures
    line = _weather_line(nights, year, temperatures)
    floor = max(MIN_SCALE_W, MIN_SCALE_SHARE * percentile([nights[d] for d in recent], 0.5))
    baseline = _Baseline.of(nights, temps, line, recent, floor)
    findings = []
    if _step_starts(baseline, recent, day):
        findings.append(
            Finding(
                FindingKind.BASELOAD_HIGH,
                day,
                nights[day],
                baseline.expected(day),
                "W",
                baseline.z(day),
            )
        )
    if (drift := _cusum(nights, day, temps=temps, year=year, line=line, floor=floor)) is not None:
        findings.append(drift)
    return findings


def _step_starts(baseline: _Baseline, recent: Sequence[date], day: date) -> bool:
    """Whether the night of `day` is the second of a run of high nights (z above the alert
    level against the nights before it, consecutive usable nights): one night alone is not
    a step (a computer or a heater left on once), and a run is told once."""
    if baseline.z(day) <= Z_ALERT:
        return False
    run = 1
    for night in reversed(recent):
        if baseline.z(night) <= Z_ALERT:
            break
        run += 1
        if run > CONFIRM_NIGHTS:
            return False
    return run == CONFIRM_NIGHTS


def _cusum(
    nights: Mapping[date, float],
    day: date,
    *,
    temps: Mapping[date, float],
    year: Sequence[date],
    line: WeatherLine,
    floor: float,
) -> Finding | None:
    """A drift finding when the CUSUM of the nights of the last 28 days (z-scores against
    the 28 nights before them, clipped) crosses its limit on `day`."""
    window_start = day - timedelta(days=WINDOW)
    reference = [d for d in year if window_start - timedelta(days=2 * WINDOW) <= d < window_start]
    reference = reference[-WINDOW:]
    if len(reference) < WINDOW:
        return None
    baseline = _Baseline.of(nights, temps, line, reference, floor)
    total = previous = 0.0
    for night in [*(d for d in year if d > window_start), day]:
        previous = total
        z = min(baseline.z(night), CUSUM_CLIP)
        total = max(0.0, total + z - CUSUM_SLACK)
    if total > CUSUM_LIMIT >= previous:
        return Finding(
            FindingKind.BASELOAD_DRIFT, day, nights[day], baseline.expected(day), "W", total
        )
    return None


# --- unusual days ---------------------------------------------------------------------------


def check_day(
    days_kwh: Mapping[date, float],
    day: date,
    temperatures: Mapping[date, float] | None = None,
    excluded: frozenset[date] = frozenset(),
) -> Finding | None:
    """An unusual-day finding when `day` took far more than expected for its weekday type
    and its temperature (z above 3.5 and at least 2 kWh more)."""
    if day not in days_kwh or day in excluded:
        return None
    span = WEATHER_DAYS if temperatures is not None else max(DAY_HISTORY, 2 * WINDOW)
    year = _history(days_kwh, day, excluded, span)
    weekend = day.weekday() >= 5
    first = day - timedelta(days=DAY_HISTORY)
    history = [d for d in year if d >= first and (d.weekday() >= 5) == weekend]
    recent = len(year) - bisect_left(year, day - timedelta(days=2 * WINDOW))
    if recent < WINDOW or len(history) < MIN_SAME_TYPE_DAYS:
        return None
    temps: Mapping[date, float] = {} if temperatures is None else temperatures
    line = _weather_line(days_kwh, year, temperatures)
    baseline = _Baseline.of(days_kwh, temps, line, history, MIN_SCALE_KWH)
    expected = baseline.expected(day)
    z = baseline.z(day)
    if z > Z_ALERT and days_kwh[day] - expected >= MIN_EXCESS_KWH:
        return Finding(FindingKind.UNUSUAL_DAY, day, days_kwh[day], expected, "kWh", z)
    return None


# --- thresholds -----------------------------------------------------------------------------


def check_thresholds(
    day: date,
    *,
    day_kwh: float | None = None,
    daily_limit_kwh: float | None = None,
    max_power_va: int | None = None,
    subscribed_kva: float | None = None,
    max_power_share: float = 1.0,
    week_eur: float | None = None,
    weekly_limit_eur: float | None = None,
) -> list[Finding]:
    """The limits `day` passed: its kWh, its max power (a share of the subscribed power),
    and, when `day` ends an ISO week (a Sunday), the week's cost."""
    findings = []
    if day_kwh is not None and daily_limit_kwh is not None and day_kwh > daily_limit_kwh:
        findings.append(
            Finding(
                FindingKind.THRESHOLD_EXCEEDED,
                day,
                day_kwh,
                daily_limit_kwh,
                "kWh",
                limit=Limit.DAILY_KWH,
            )
        )
    if max_power_va is not None and subscribed_kva:
        limit_va = subscribed_kva * 1000 * max_power_share
        if max_power_va > limit_va:
            findings.append(
                Finding(
                    FindingKind.THRESHOLD_EXCEEDED,
                    day,
                    max_power_va,
                    limit_va,
                    "VA",
                    limit=Limit.MAX_POWER,
                )
            )
    if (
        day.weekday() == 6
        and week_eur is not None
        and weekly_limit_eur is not None
        and week_eur > weekly_limit_eur
    ):
        findings.append(
            Finding(
                FindingKind.THRESHOLD_EXCEEDED,
                day,
                week_eur,
                weekly_limit_eur,
                "EUR",
                limit=Limit.WEEKLY_EUR,
            )
        )
    return findings
