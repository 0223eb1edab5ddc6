"""What the insights of a meter look at after an import, and what they find. No Home
Assistant import.

`MeterHistory` is what is stored (the consumption of each stored local day, the hours of the
days stored hour by hour, the daily max power) and what the user told (the outdoor
temperature, the days to leave out: holidays, load shedding). From it:

- `find(history, limits, today, model)`: the findings of the recent days (the days of the
  last week that are stored): base load step and drift, unusual day (against the energy
  signature `model` when the meter has one), daily limits. The detectors are
  stateless (`anomalies.py`): the same history gives the same findings, so the caller tells
  each finding once by its key, and a restart neither repeats nor loses one.
- `baseload_figures(history, today)`: the latest night's base load and the median of the
  last 28 nights (the sensor).
- `week_due(now, reported, days_present)`: the ISO week whose report is due, if any: the last
  finished week, once its seven days are stored, or, when some are still missing 56 hours
  after its end (Sunday's data are due on Monday around 08:00, then 48 hours of retries), as
  an incomplete week.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
import statistics
from typing import Final

from ..conso.models import MaxPower
from ..energy.hourly import local_day_bounds
from ..localtime import local_date
from .anomalies import (
    WINDOW,
    Finding,
    WeatherModel,
    check_baseload,
    check_day,
    check_thresholds,
    night_baseloads,
)
from .robust import WeatherLine
from .weekly import IsoWeek, MeterWeek, Rows, build_meter_week

LOOKBACK_DAYS: Final = 7
"""Days before today whose findings are still worth telling (older ones are history)."""
HISTORY_DAYS: Final = 400
"""Days of history the detectors read (a year to learn the weather, the window before it)."""
REPORT_GRACE: Final = timedelta(hours=56)


@dataclass(frozen=True)
class MeterHistory:
    """What the detectors of one meter read (see the module docstring). The days stored
    hour by hour and their night base loads are derived once, when first asked."""

    days_kwh: Mapping[date, float]
    hourly_wh: Mapping[datetime, float]
    temperatures: Mapping[date, float] | None = None
    excluded: frozenset[date] = frozenset()
    max_power: Mapping[date, MaxPower] = field(default_factory=dict)

    @cached_property
    def hourly_days(self) -> frozenset[date]:
        """The days stored hour by hour."""
        return frozenset(local_date(hour) for hour in self.hourly_wh)

    @cached_property
    def nights(self) -> dict[date, float]:
        """The night base load (W) of every day stored hour by hour."""
        return night_baseloads(self.hourly_wh, sorted(self.hourly_days))


@dataclass(frozen=True, slots=True)
class Limits:
    """The user's limits (None: no limit)."""

    daily_kwh: float | None = None
    max_power_share: float = 0.9
    subscribed_kva: float | None = None


def days_to_check(history: MeterHistory, today: date) -> list[date]:
    """The stored days of the last `LOOKBACK_DAYS` days, oldest first."""
    first = today - timedelta(days=LOOKBACK_DAYS)
    return sorted(day for day in history.days_kwh if first <= day < today)


def find(
    history: MeterHistory, limits: Limits, today: date, model: WeatherModel | None = None
) -> list[Finding]:
    """The findings of the recent days (see the module docstring); `model`: the meter's
    energy signature, the unusual days' weather model when it has one."""
    nights = history.nights
    findings: list[Finding] = []
    for day in days_to_check(history, today):
        findings += check_baseload(nights, day, history.temperatures, history.excluded)
        if (
            unusual := check_day(
                history.days_kwh, day, history.temperatures, history.excluded, model
            )
        ) is not None:
            findings.append(unusual)
        power = history.max_power.get(day)
        findings += check_thresholds(
            day,
            day_kwh=history.days_kwh.get(day),
            daily_limit_kwh=limits.daily_kwh,
            max_power_va=None if power is None else power.va,
            subscribed_kva=limits.subscribed_kva,
            max_power_share=limits.max_power_share,
        )
    return findings


@dataclass(frozen=True, slots=True)
class BaseloadFigures:
    """The latest night's base load and the median of the 28 nights up to it (W)."""

    night: date
    watts: float
    median_28: float | None
    nights: int


def baseload_figures(history: MeterHistory, today: date) -> BaseloadFigures | None:
    """The base load sensor's figures (None: no night stored hour by hour yet)."""
    nights = {d: w for d, w in history.nights.items() if d < today}
    if not nights:
        return None
    last = max(nights)
    recent = [nights[d] for d in sorted(nights) if d not in history.excluded][-WINDOW:]
    return BaseloadFigures(
        night=last,
        watts=nights[last],
        median_28=statistics.median(recent) if len(recent) >= WINDOW else None,
        nights=len(recent),
    )


def last_finished_week(today: date) -> IsoWeek:
    """The last ISO week that ended before `today`."""
    return IsoWeek.of(today - timedelta(days=today.weekday() + 1))


def week_due(
    now: datetime,
    reported: IsoWeek | None,
    days_present: Collection[date],
    ready_days: Collection[date] | None = None,
) -> tuple[IsoWeek, bool] | None:
    """The week whose report is due and whether it is complete, or None (see the module
    docstring). Only the last finished week is ever due: a report is news, not history.

    `ready_days` (default: `days_present`) are the days stored as finely as they will be:
    with the hourly import on, a day stored only as a daily total (the hourly history not
    imported yet) has no HP/HC split nor cost yet, so the report waits for it, at most
    until the grace time; the week is complete then if every day is present at all."""
    week = last_finished_week(local_date(now))
    if reported is not None and reported >= week:
        return None
    ready = days_present if ready_days is None else ready_days
    if all(day in ready for day in week.days()):
        return week, True
    week_end = local_day_bounds(week.days()[-1])[1]
    if now >= week_end + REPORT_GRACE:
        return week, all(day in days_present for day in week.days())
    return None


@dataclass(frozen=True, slots=True)
class WeekInputs:
    """What every week of a meter's report is built with besides its rows: the daily max
    power, the nights' base load and, with temperatures, the kWh the weather explains."""

    max_power: Mapping[date, tuple[int, datetime]]
    nights: Mapping[date, float]
    model: Callable[[float], float] | None
    """The kWh a day takes at a daily mean temperature (None: no weather correction)."""
    temperatures: Mapping[date, float]

    @classmethod
    def of(cls, history: MeterHistory, signature: WeatherModel | None = None) -> WeekInputs:
        """From the history. The weather model is the meter's energy signature when it has
        one, else the weather line the detectors use (balance temperature learned) on the
        history's usable days."""
        temps = history.temperatures or {}
        model = signature.model if signature is not None and temps else None
        if model is None and temps:
            days = sorted(d for d in history.days_kwh if d not in history.excluded)
            if days:
                kwh = [history.days_kwh[d] for d in days]
                model = WeatherLine.fit_balance(kwh, [temps.get(d) for d in days]).expected
        return cls(
            max_power={day: (mp.va, mp.at) for day, mp in history.max_power.items()},
            nights=history.nights,
            model=model,
            temperatures=temps,
        )

    def expected_kwh(self, day: date) -> float | None:
        """The kWh the weather model expects on `day` (None: no temperature that day)."""
        if self.model is None or day not in self.temperatures:
            return None
        return self.model(self.temperatures[day])

    def build(
        self,
        pdl: str,
        week: IsoWeek,
        rows: Rows,
        days_present: Collection[date],
        findings: Iterable[Finding],
        *,
        previous: MeterWeek | None = None,
        year_before: MeterWeek | None = None,
    ) -> MeterWeek:
        """One week of the meter (see `weekly.build_meter_week`)."""
        return build_meter_week(
            pdl,
            week,
            rows,
            days_present=days_present,
            max_power=self.max_power,
            baseloads=self.nights,
            findings=findings,
            previous=previous,
            year_before=year_before,
            expected_kwh=None if self.model is None else self.expected_kwh,
        )
