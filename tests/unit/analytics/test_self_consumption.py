"""PV self-consumption: hand-computed hours and days (clamping, missing hours, DST day) and a
day of emulator data (Linky injection and grid consumption of the PV meter)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from conso_emulator import PV_PDL, Emulator
from custom_components.linky.analytics.self_consumption import (
    DayFigures,
    Figures,
    self_consumption,
)
from custom_components.linky.energy.hourly import day_hours, local_day_bounds
from custom_components.linky.localtime import PARIS

DAY = date(2026, 6, 15)


def hour(h: int) -> datetime:
    """UTC hour `h` of DAY."""
    return datetime.combine(DAY, time(h), UTC)


def test_hand_computed_hours_and_day() -> None:
    production = {hour(8): 1200, hour(9): 2000, hour(10): 300, hour(11): 0, hour(12): 900}
    injection = {hour(8): 500, hour(9): 1600, hour(10): 450, hour(11): 0}
    grid = {hour(8): 100, hour(9): 0, hour(10): 200, hour(11): 400, hour(13): 50}
    result = self_consumption(production, injection, grid)
    assert result.hours == {
        hour(8): Figures(1200, 500, 100, 700),
        hour(9): Figures(2000, 1600, 0, 400),
        hour(10): Figures(300, 450, 200, 0),  # the meter saw more than the PV sensor
        hour(11): Figures(0, 0, 400, 0),
    }
    assert result.clamped == {hour(10): 150}
    assert result.incomplete_hours == [hour(12), hour(13)]
    assert result.hours[hour(8)].self_consumption_rate == pytest.approx(700 / 1200)
    assert result.hours[hour(8)].self_sufficiency_rate == pytest.approx(700 / 800)
    assert result.hours[hour(11)].self_consumption_rate is None
    assert result.hours[hour(9)].self_sufficiency_rate == 1.0
    assert Figures(0, 0, 0, 0).self_sufficiency_rate is None
    day = result.days[DAY]
    assert day == DayFigures(3500, 2550, 700, 1100, complete=False)
    assert day.self_consumption_rate == pytest.approx(1100 / 3500)
    assert day.self_sufficiency_rate == pytest.approx(1100 / 1800)


def test_days_are_local_and_complete_across_dst() -> None:
    spring = date(2026, 3, 29)  # 23 hours
    hours = day_hours(spring)
    assert len(hours) == 23
    production = dict.fromkeys(hours, 100.0)
    injection = dict.fromkeys(hours, 40.0)
    grid = dict.fromkeys(hours, 10.0)
    # The hour before the local day (23:00 UTC on the 28th is 00:00 local on the 29th).
    before = hours[0] - timedelta(hours=1)
    for series in (production, injection, grid):
        series[before] = 1.0
    result = self_consumption(production, injection, grid)
    assert result.days[spring] == DayFigures(2300, 920, 230, 1380, complete=True)
    assert result.days[spring - timedelta(1)] == DayFigures(1, 1, 1, 0, complete=False)
    # Keys may be in any zone; they are UTC hours inside.
    local_keys = {h.astimezone(PARIS): wh for h, wh in production.items()}
    assert self_consumption(local_keys, injection, grid).days == result.days


def test_rejects_bad_rows() -> None:
    with pytest.raises(ValueError, match="naive"):
        self_consumption({datetime(2026, 1, 1): 1}, {}, {})
    with pytest.raises(ValueError, match="whole UTC hour"):
        self_consumption({hour(8) + timedelta(minutes=30): 1}, {}, {})
    with pytest.raises(ValueError, match="negative"):
        self_consumption({}, {hour(8): -1}, {})


def test_emulator_pv_day_matches_hand_computed_totals() -> None:
    emulator = Emulator(now=lambda: datetime(2026, 6, 25, 12, tzinfo=UTC))
    day = date(2026, 6, 16)
    start, end = local_day_bounds(day)
    injection = emulator.truth.hourly_wh(PV_PDL, True, start, end)
    grid = emulator.truth.hourly_wh(PV_PDL, False, start, end)
    assert len(injection) == len(grid) == 24  # published, whole day
    sunny = [h for h, wh in injection.items() if wh > 0]
    assert len(sunny) >= 4
    # The PV sensor saw the injected surplus plus 400 Wh used on site in each sunny hour
    # (the emulator exposes only what the meter measured).
    production = {h: wh + (400 if h in sunny else 0) for h, wh in injection.items()}
    result = self_consumption(production, injection, grid)

    injected_day = emulator.truth.daily_wh(PV_PDL, True, day)
    drawn_day = emulator.truth.daily_wh(PV_PDL, False, day)
    assert injected_day is not None
    assert drawn_day is not None
    self_consumed = 400 * len(sunny)
    figures = result.days[day]
    assert figures == DayFigures(
        production_wh=injected_day + self_consumed,
        injection_wh=injected_day,
        grid_wh=drawn_day,
        self_consumed_wh=self_consumed,
        complete=True,
    )
    assert figures.self_consumption_rate == pytest.approx(
        self_consumed / (injected_day + self_consumed)
    )
    assert figures.self_sufficiency_rate == pytest.approx(
        self_consumed / (self_consumed + drawn_day)
    )
    assert result.clamped == {}
    assert result.incomplete_hours == []
