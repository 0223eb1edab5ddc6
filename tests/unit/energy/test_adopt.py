"""Which days another tool's statistics give (energy/adopt.py): sum changes per hour in Wh,
daily bars, complete days only, DST days, units, overlap with the meter's own days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from custom_components.linky.energy.adopt import (
    AdoptionUnitError,
    SourceRows,
    hourly_changes,
    plan_adoption,
)
from custom_components.linky.energy.hourly import day_hours, local_day_bounds
from custom_components.linky.energy.ledger import DayData, Resolution, SeriesLedger, plan_write

TODAY = date(2026, 11, 20)


def _source(hours_wh: list[tuple], unit: str = "Wh", name: str = "linky:1") -> SourceRows:
    rows, running = [], 0.0
    factor = {"Wh": 1.0, "kWh": 1000.0}[unit]
    for start, wh in hours_wh:
        running += wh / factor
        rows.append((start, running))
    return SourceRows(name, unit, rows)


def _hourly(day: date, wh: float = 100.0) -> list[tuple]:
    return [(hour, wh) for hour in day_hours(day)]


def test_both_dst_days_are_hourly_with_their_23_and_25_hours() -> None:
    march, october = date(2025, 3, 30), date(2025, 10, 26)
    plan = plan_adoption([_source(_hourly(march) + _hourly(october))], SeriesLedger(), TODAY)
    assert [(d.day, d.resolution, len(d.hours)) for d in plan.days] == [
        (march, Resolution.HOURLY, 23),
        (october, Resolution.HOURLY, 25),
    ]
    assert plan.total_wh == pytest.approx(4800.0)


def test_a_bar_at_local_midnight_is_a_daily_day_and_part_of_a_day_is_left_out() -> None:
    bar, partial = date(2024, 1, 10), date(2024, 1, 11)
    rows = [(local_day_bounds(bar)[0], 9000.0), *_hourly(partial)[:-2]]
    plan = plan_adoption([_source(rows)], SeriesLedger(), TODAY)
    assert [(d.day, d.resolution, d.total_wh) for d in plan.days] == [
        (bar, Resolution.DAILY, 9000.0)
    ]
    assert plan.skipped == {"partial": [partial]}


def test_only_days_before_the_own_history_not_today_not_before_retention() -> None:
    own = plan_write(SeriesLedger(), [DayData.daily(date(2024, 6, 1), 5000.0)]).ledger_after
    days = [date(2024, 5, 30), date(2024, 5, 31), date(2024, 6, 1), date(2024, 6, 2)]
    rows = [row for day in days for row in _hourly(day, 200.0)]
    plan = plan_adoption([_source(rows)], own, TODAY, keep_from=date(2024, 5, 31))
    assert [d.day for d in plan.days] == [date(2024, 5, 31)]
    assert plan.skipped == {
        "before_retention": [date(2024, 5, 30)],
        "after_own_history": [date(2024, 6, 2)],
    }
    assert plan.overlap_days == 1
    assert plan.overlap_ratio == pytest.approx(4800.0 / 5000.0)
    today = plan_adoption([_source(_hourly(TODAY))], SeriesLedger(), TODAY)
    assert today.days == []


def test_sources_are_added_and_converted_to_wh() -> None:
    day = date(2024, 2, 1)
    hc = _source(_hourly(day, 100.0), "kWh", "med:hc")
    hp = _source(_hourly(day, 250.0), "Wh", "med:hp")
    [data] = plan_adoption([hc, hp], SeriesLedger(), TODAY).days
    assert list(data.hours.values()) == pytest.approx([350.0] * 24)


def test_a_sum_that_goes_down_leaves_its_day_out_and_a_bad_unit_is_an_error() -> None:
    day = date(2024, 2, 1)
    rows = _hourly(day)
    rows[5] = (rows[5][0], -50.0)
    _, negative = hourly_changes([_source(rows)])
    assert negative == {day}
    assert plan_adoption([_source(rows)], SeriesLedger(), TODAY).skipped == {"negative": [day]}
    with pytest.raises(AdoptionUnitError):
        plan_adoption([SourceRows("x", "W", [])], SeriesLedger(), TODAY)


def test_the_first_row_counts_from_zero() -> None:
    """The first row's change is its own sum (what the Energy dashboard shows for it)."""
    day = date(2024, 2, 1) - timedelta(days=1)
    changes, _ = hourly_changes([_source(_hourly(day, 42.0))])
    assert changes[day_hours(day)[0]] == pytest.approx(42.0)
