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
- Unusual day: the day's kWh against what is expected for that weekday type and temperature
  (the meter's energy signature when it has one, `WeatherModel`; else a heating line learned
  on the year before the day); z above 3.5 and at least 2 kWh more. Silent until 28 days
  exist.
- Thresholds: kWh of a day, EUR of an ISO week, a day's max power above a share of the
  subscribed power.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
import statistics
from typing import Any, Final, Protocol

from ..energy.hourly import day_hours
from ..localtime import PARIS
from .degree_days import ModelKind
from .robust import Spread, WeatherLine, percentile
from .signature import Signature

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
MIN_PART_DAYS: Final = 7
"""Nights (without heating, or with) a part of the spread needs; fewer: a default."""
MIN_HEATING_SHARE: Final = 0.05
"""The spread of heated days is at least this share of their heating."""
DEFAULT_HEATING_SHARE: Final = 0.10
"""The share when too few heated days tell it."""
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


class Line(Protocol):
    """What a series takes at an outdoor temperature (`WeatherLine`, `WeatherModel`)."""

    @property
    def slope(self) -> float:
        """0: the series does not follow the weather."""
        ...

    def expected(self, temperature: float | None) -> float: ...

    def heating(self, temperature: float | None) -> float: ...


@dataclass(frozen=True, slots=True)
class WeatherModel:
    """A day's expected kWh given from outside: the meter's energy signature (`expected`: its
    kWh at a daily mean temperature, `base`: its kWh without heating nor cooling, for a day
    without a temperature; `weather`: whether it has heating or cooling at all)."""

    model: Callable[[float], float]
    base: float
    weather: bool

    @classmethod
    def of(cls, signature: Signature) -> WeatherModel:
        """The expectation of an energy signature."""
        weather = signature.kind is not ModelKind.INTERCEPT
        return cls(signature.expected_kwh, signature.base_kwh, weather)

    @property
    def slope(self) -> float:
        return 1.0 if self.weather else 0.0

    def expected(self, temperature: float | None) -> float:
        return self.base if temperature is None else self.model(temperature)

    def heating(self, temperature: float | None) -> float:
        """The part of `expected` the weather takes (heating or cooling)."""
        return max(0.0, self.expected(temperature) - self.base)


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
    median distance to the weather line (an offset); the spread grows with the heating, as
    `of_nights` or `of_days` measure it."""

    series: Mapping[date, float]
    temps: Mapping[date, float]
    line: Line
    level: float
    base_scale: float
    heating_share: float = 0.0
    """Nights: the spread also has this share of the heating the line expects."""
    reference: float = 0.0
    """Days: the spread is proportional to the expected kWh, `base_scale` at this level."""

    @classmethod
    def of_nights(
        cls,
        series: Mapping[date, float],
        temps: Mapping[date, float],
        line: WeatherLine,
        days: Sequence[date],
        floor: float,
    ) -> _Baseline:
        """Two parts: what the nights vary without heating (at least `floor`), plus a share
        of their heating, so that a base load step stands out on a mild night even when
        the cold nights around it vary by hundreds of W."""
        heating = [line.heating(temps.get(d)) for d in days]
        residuals = [series[d] - line.expected(temps.get(d)) for d in days]
        level = statistics.median(residuals)
        deviations = [r - level for r in residuals]
        mild = [v for v, h in zip(deviations, heating, strict=True) if h < floor]
        base = Spread.of(mild, floor).scale if len(mild) >= MIN_PART_DAYS else floor
        cold = [v / (base + h) for v, h in zip(deviations, heating, strict=True) if h >= floor]
        share = DEFAULT_HEATING_SHARE
        if len(cold) >= MIN_PART_DAYS:
            share = max(MIN_HEATING_SHARE, Spread.of(cold, 0.0).scale)
        return cls(series, temps, line, level, base, heating_share=share)

    @classmethod
    def of_days(
        cls,
        series: Mapping[date, float],
        temps: Mapping[date, float],
        line: Line,
        days: Sequence[date],
        floor: float,
    ) -> _Baseline:
        """Proportional: a day's spread is measured relative to what it is expected to
        take (a cold day varies more in kWh than a mild one, in the same proportion);
        `floor` is the smallest scale at the median expected level."""
        lines = [line.expected(temps.get(d)) for d in days]
        residuals = [series[d] - x for d, x in zip(days, lines, strict=True)]
        level = statistics.median(residuals)
        reference = max(0.0, statistics.median(lines) + level) if line.slope > 0 else 0.0
        unit = cls(series, temps, line, level, 1.0, reference=reference)
        deviations = [(r - level) / unit.weight(x) for r, x in zip(residuals, lines, strict=True)]
        scale = Spread.of(deviations, floor).scale
        return cls(series, temps, line, level, scale, reference=reference)

    def weight(self, line_value: float) -> float:
        """How many times the reference level a day's expected value is (1 without a
        reference; at least a half)."""
        if not self.reference:
            return 1.0
        return max(line_value + self.level, self.reference / 2) / self.reference

    def scale(self, day: date) -> float:
        """How much the series usually strays from what `day` is expected to take."""
        temperature = self.temps.get(day)
        proportional = self.base_scale * self.weight(self.line.expected(temperature))
        return proportional + self.heating_share * self.line.heating(temperature)

    def expected(self, day: date) -> float:
        return self.line.expected(self.temps.get(day)) + self.level

    def z(self, day: date) -> float:
        return (self.series[day] - self.expected(day)) / self.scale(day)


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
    return WeatherLine.fit_balance([series[d] for d in days], [temps.get(d) for d in days])


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
    baseline = _Baseline.of_nights(nights, temps, line, recent, floor)
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
    if (drift := _Drift(nights, temps, line, floor).finding(day, year)) is not None:
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


@dataclass(frozen=True, slots=True)
class _Drift:
    """The drift sum of a meter's nights: what every night's sum is computed from."""

    nights: Mapping[date, float]
    temps: Mapping[date, float]
    line: WeatherLine
    floor: float

    def finding(self, day: date, year: Sequence[date]) -> Finding | None:
        """A drift finding when the night of `day` puts the drift sum above its limit while
        the previous usable night's did not (each night's sum is computed as that night
        would see it, so a run is told once and a restart tells the same); `year` is the
        usable nights before `day`."""
        total = self.total(day, year)
        if total is None or total <= CUSUM_LIMIT:
            return None
        if year:
            previous = self.total(year[-1], year[:-1])
            if previous is not None and previous > CUSUM_LIMIT:
                return None
        reference = self.reference(day, year)
        assert reference is not None
        return Finding(
            FindingKind.BASELOAD_DRIFT, day, self.nights[day], reference.expected(day), "W", total
        )

    def reference(self, day: date, year: Sequence[date]) -> _Baseline | None:
        """The baseline of the 28 usable nights before the 28 days that end with `day`."""
        start = day - timedelta(days=WINDOW)
        nights = [d for d in year if start - timedelta(days=2 * WINDOW) <= d < start]
        if len(nights) < WINDOW:
            return None
        return _Baseline.of_nights(self.nights, self.temps, self.line, nights[-WINDOW:], self.floor)

    def total(self, day: date, year: Sequence[date]) -> float | None:
        """The one-sided CUSUM of the nights of the 28 days that end with `day` (z-scores
        against the 28 nights before them, clipped); None without enough reference nights."""
        baseline = self.reference(day, year)
        if baseline is None:
            return None
        start = day - timedelta(days=WINDOW)
        total = 0.0
        for night in [*(d for d in year if d > start), day]:
            total = max(0.0, total + min(baseline.z(night), CUSUM_CLIP) - CUSUM_SLACK)
        return total


# --- unusual days ---------------------------------------------------------------------------


def check_day(
    days_kwh: Mapping[date, float],
    day: date,
    temperatures: Mapping[date, float] | None = None,
    excluded: frozenset[date] = frozenset(),
    model: WeatherModel | None = None,
) -> Finding | None:
    """An unusual-day finding when `day` took far more than expected for its weekday type
    and its temperature (z above 3.5 and at least 2 kWh more). The weather part of the
    expectation is `model` (the energy signature) when given with temperatures, else a
    heating line learned on the year before `day`."""
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
    line: Line
    if model is not None and temperatures is not None:
        line = model
    else:
        line = _weather_line(days_kwh, year, temperatures)
    baseline = _Baseline.of_days(days_kwh, temps, line, history, MIN_SCALE_KWH)
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
