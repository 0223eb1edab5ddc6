"""What the insights look at after an import (issue 11), without Home Assistant: which days
are checked, the base load sensor's figures, which week is due and when, the daily mean
temperature, the holidays' local days, and the insights options."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from custom_components.linky.analytics.anomalies import FindingKind, Limit, WeatherModel
from custom_components.linky.analytics.insights import (
    LOOKBACK_DAYS,
    Limits,
    MeterHistory,
    WeekInputs,
    baseload_figures,
    days_to_check,
    find,
    last_finished_week,
    week_due,
)
from custom_components.linky.analytics.isoweek import IsoWeek
from custom_components.linky.analytics.weather import daily_means
from custom_components.linky.conso.models import MaxPower
from custom_components.linky.energy.hourly import day_hours
from custom_components.linky.localtime import PARIS, days_touched
from custom_components.linky.options import InsightsOptions, LinkyOptions, OptionsError

TODAY = date(2026, 11, 23)  # a Monday
W47 = IsoWeek(2026, 47)  # 16 to 22 November


def _history(
    days: int, night_w: float = 200.0, *, step_from: date | None = None, **kwargs: object
) -> MeterHistory:
    """`days` hourly days before TODAY: flat nights at `night_w` (+ a little regular
    variation), 3 kWh more in the evening, +400 W from `step_from` on."""
    hourly: dict[datetime, float] = {}
    day_kwh: dict[date, float] = {}
    for n in range(days, 0, -1):
        day = TODAY - timedelta(days=n)
        base = night_w + 5 * (n % 3) + (400 if step_from and day >= step_from else 0)
        hours = {h: base + (1500 if h.astimezone(PARIS).hour == 19 else 0) for h in day_hours(day)}
        hourly.update(hours)
        day_kwh[day] = sum(hours.values()) / 1000
    return MeterHistory(days_kwh=day_kwh, hourly_wh=hourly, **kwargs)  # type: ignore[arg-type]


def test_days_to_check_are_the_stored_days_of_the_last_week() -> None:
    history = _history(40)
    days = days_to_check(history, TODAY)
    assert days == [TODAY - timedelta(days=n) for n in range(LOOKBACK_DAYS, 0, -1)]
    gap = MeterHistory({d: v for d, v in history.days_kwh.items() if d != days[2]}, {})
    assert days[2] not in days_to_check(gap, TODAY)


def test_find_reports_a_step_and_the_limits_of_recent_days_only() -> None:
    """A +400 W step three nights ago is found on a recent day; limits (daily kWh, max power
    share) are checked on the recent days only, not on the whole history."""
    step = TODAY - timedelta(days=3)
    power_day = TODAY - timedelta(days=2)
    old_day = TODAY - timedelta(days=20)
    history = _history(
        60,
        step_from=step,
        max_power={
            power_day: MaxPower(power_day, 5800, datetime(2026, 11, 21, 19, tzinfo=PARIS)),
            old_day: MaxPower(old_day, 5900, datetime(2026, 11, 3, 19, tzinfo=PARIS)),
        },
    )
    findings = find(history, Limits(daily_kwh=12.0, max_power_share=0.9, subscribed_kva=6), TODAY)
    kinds = {(f.kind, f.limit, f.day) for f in findings}
    assert any(
        kind in {FindingKind.BASELOAD_HIGH, FindingKind.BASELOAD_DRIFT} and day >= step
        for kind, _, day in kinds
    )
    assert (FindingKind.THRESHOLD_EXCEEDED, Limit.MAX_POWER, power_day) in kinds
    assert all(day >= TODAY - timedelta(days=LOOKBACK_DAYS) for _, _, day in kinds)
    over = {day for kind, limit, day in kinds if limit is Limit.DAILY_KWH}
    assert over == {d for d in days_to_check(history, TODAY) if history.days_kwh[d] > 12.0}
    assert over, "the step days take more than 12 kWh"
    assert find(history, Limits(), TODAY) == [
        f for f in findings if f.kind is not FindingKind.THRESHOLD_EXCEEDED
    ]


def test_nothing_is_found_before_28_nights() -> None:
    history = _history(20, step_from=TODAY - timedelta(days=3))
    assert find(history, Limits(), TODAY) == []


def test_baseload_figures() -> None:
    history = _history(40, excluded=frozenset({TODAY - timedelta(days=1)}))
    figures = baseload_figures(history, TODAY)
    assert figures is not None
    assert figures.night == TODAY - timedelta(days=1)
    assert figures.watts == pytest.approx(200 + 5 * (1 % 3))
    assert figures.nights == 28, "the excluded night is left out of the median"
    assert figures.median_28 == pytest.approx(205.0)
    assert baseload_figures(_history(10), TODAY).median_28 is None  # type: ignore[union-attr]
    assert baseload_figures(MeterHistory({TODAY - timedelta(days=1): 9.0}, {}), TODAY) is None


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_week_due_once_complete_or_after_its_grace_time() -> None:
    """The last finished week is due once its 7 days are stored; with a day missing, 56 h
    after its end (Wednesday 08:00 local), as incomplete; never twice, never an older one."""
    all_days = set(W47.days())
    assert last_finished_week(TODAY) == W47
    assert last_finished_week(date(2026, 11, 22)) == IsoWeek(2026, 46)
    assert week_due(_at("2026-11-23T09:00:00+01:00"), None, all_days) == (W47, True)
    assert week_due(_at("2026-11-23T09:00:00+01:00"), W47, all_days) is None
    assert week_due(_at("2026-11-23T09:00:00+01:00"), IsoWeek(2026, 46), all_days) == (W47, True)
    partial = all_days - {date(2026, 11, 22)}
    assert week_due(_at("2026-11-25T07:59:00+01:00"), None, partial) is None
    assert week_due(_at("2026-11-25T08:00:00+01:00"), None, partial) == (W47, False)
    # Days stored as daily totals only, while hourly ones are coming: wait, up to the grace.
    assert week_due(_at("2026-11-23T09:00:00+01:00"), None, all_days, partial) is None
    assert week_due(_at("2026-11-25T08:00:00+01:00"), None, all_days, partial) == (W47, True)
    assert week_due(_at("2026-11-23T09:00:00+01:00"), None, all_days, all_days) == (W47, True)
    # A week later, the next week is the one due (W47 is history), incomplete after its grace.
    assert week_due(_at("2026-11-30T09:00:00+01:00"), None, all_days) is None
    assert week_due(_at("2026-12-02T08:00:00+01:00"), None, all_days) == (IsoWeek(2026, 48), False)


def test_week_inputs_expect_more_on_cold_days() -> None:
    """With temperatures, the weather line of the history expects more on a cold day."""
    temps = {}
    days_kwh = {}
    for n in range(1, 120):
        day = TODAY - timedelta(days=n)
        temps[day] = 2.0 + (n % 15)
        days_kwh[day] = 8.0 + 1.5 * max(0.0, 16.0 - temps[day])
    inputs = WeekInputs.of(MeterHistory(days_kwh, {}, temperatures=temps))
    assert inputs.expected_kwh(TODAY - timedelta(days=1)) == pytest.approx(
        days_kwh[TODAY - timedelta(days=1)], rel=0.02
    )
    assert inputs.expected_kwh(TODAY) is None, "no temperature that day"
    assert WeekInputs.of(MeterHistory(days_kwh, {})).model is None
    # the meter's energy signature, when there is one, is the model
    signature = WeatherModel(lambda t: 2 * t, base=1.0, weather=True)
    signed = WeekInputs.of(MeterHistory(days_kwh, {}, temperatures=temps), signature)
    assert signed.expected_kwh(TODAY - timedelta(days=1)) == 2 * temps[TODAY - timedelta(days=1)]
    assert WeekInputs.of(MeterHistory(days_kwh, {}), signature).model is None


def test_daily_means_need_three_quarters_of_the_local_day() -> None:
    """The mean of the hourly means of a local day (23, 24 or 25 hours); fewer than 75 % of
    its hours known: no mean."""
    dst = date(2026, 10, 25)  # 25 hours
    hours = day_hours(dst)
    values = {h: float(i) for i, h in enumerate(hours)}
    assert daily_means(values) == {dst: pytest.approx(12.0)}
    assert daily_means(dict(list(values.items())[:18])) == {}, "18 of 25 hours"
    assert daily_means(dict([*list(values.items())[:18], (hours[-1], 24.0)])) == {
        dst: pytest.approx((sum(range(18)) + 24) / 19)
    }


def test_days_touched() -> None:
    start = datetime(2026, 12, 20, 23, 30, tzinfo=PARIS)
    assert days_touched(start, start + timedelta(hours=1)) == [
        date(2026, 12, 20),
        date(2026, 12, 21),
    ]
    assert days_touched(start, start + timedelta(minutes=30)) == [date(2026, 12, 20)]
    assert days_touched(start, start) == []


def test_insights_options_round_trip_and_limits() -> None:
    insights = InsightsOptions(
        holiday_entity="calendar.holidays",
        daily_limit_kwh=30.0,
        weekly_limit_eur=40.0,
        max_power_share=0.8,
        notify_entities=("notify.phone",),
        persistent_notification=True,
        muted=frozenset({"unusual_day"}),
    )
    options = LinkyOptions(insights=insights, temperature_entity="sensor.outdoor")
    assert LinkyOptions.parse(options.as_options()) == options
    assert not insights.tells("unusual_day")
    assert insights.tells("weekly_report")
    assert LinkyOptions.parse({}).insights is None
    with pytest.raises(OptionsError):
        InsightsOptions(max_power_share=1.5)
    with pytest.raises(OptionsError):
        InsightsOptions(daily_limit_kwh=0)
    broken = LinkyOptions.parse({"insights": {"muted": ["nope"]}})
    assert broken.insights is None
    assert broken.problems
    assert "insights" in broken.problems[0]
