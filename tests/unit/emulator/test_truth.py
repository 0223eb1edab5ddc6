"""The synthetic ground truth: deterministic, fast, and shaped like real households."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
import statistics
import time

import pytest

from conso_emulator import HOME_PDL, PV_PDL, Emulator, Meter
from conso_emulator.truth import PARIS, DayTruth, generate_day

from .helpers import Clock

WINTER = [date(2026, 1, 12) + timedelta(days=n) for n in range(14)]
SUMMER = [date(2026, 7, 6) + timedelta(days=n) for n in range(14)]


def hours(truth: DayTruth, slots: list[int] | None = None) -> dict[int, int]:
    """Wh per local hour of the day (0-23)."""
    values = truth.consumption if slots is None else slots
    result: dict[int, int] = {}
    for index, wh in enumerate(values):
        hour = truth.slot_start(index).astimezone(PARIS).hour
        result[hour] = result.get(hour, 0) + wh
    return result


def test_same_pdl_and_day_give_the_same_truth() -> None:
    first = generate_day(Meter(HOME_PDL), date(2025, 2, 3))
    second = Emulator().truth.day(HOME_PDL, date(2025, 2, 3))
    assert first.consumption == second.consumption
    assert (first.max_power_va, first.max_power_at, first.step_minutes) == (
        second.max_power_va,
        second.max_power_at,
        second.step_minutes,
    )
    other = generate_day(Meter("12345678901234"), date(2025, 2, 3))
    assert other.consumption != first.consumption


def test_generating_a_year_is_fast() -> None:
    emu = Emulator(with_default_meters=False)
    emu.add_meter(Meter(PV_PDL, production=True, profile="pv"))
    started = time.perf_counter()
    for offset in range(3 * 365):
        emu.truth.day(PV_PDL, date(2023, 11, 1) + timedelta(days=offset))
    assert time.perf_counter() - started < 3 * 0.5
    cached = time.perf_counter()
    emu.truth.day(PV_PDL, date(2023, 11, 1))
    assert time.perf_counter() - cached < 0.001


def test_slot_counts_follow_dst() -> None:
    meter = Meter(HOME_PDL)
    assert len(generate_day(meter, date(2026, 3, 29)).consumption) == 138
    assert len(generate_day(meter, date(2026, 10, 25)).consumption) == 150
    day = generate_day(meter, date(2026, 10, 25))
    assert day.start == datetime(2026, 10, 24, 22, tzinfo=UTC)


def test_heating_household_shape(emu: Emulator) -> None:
    winter = [emu.truth.day(HOME_PDL, day) for day in WINTER]
    summer = [emu.truth.day(HOME_PDL, day) for day in SUMMER]
    winter_daily = statistics.mean(sum(day.consumption) for day in winter)
    summer_daily = statistics.mean(sum(day.consumption) for day in summer)
    assert winter_daily > 2.5 * summer_daily
    assert 30_000 < winter_daily < 90_000
    by_hour = [hours(day) for day in winter]
    evening = statistics.mean(h[19] for h in by_hour)
    afternoon = statistics.mean(h[15] for h in by_hour)
    night = statistics.mean(h[4] for h in by_hour)
    assert evening > 1.5 * afternoon
    assert night > 0
    assert min(min(day.consumption) for day in winter + summer) > 0  # baseload
    weekdays = [hours(day)[7] for day in summer if day.day.weekday() < 5]
    weekends = [hours(day)[7] for day in summer if day.day.weekday() >= 5]
    assert statistics.mean(weekdays) > statistics.mean(weekends)  # morning peak
    assert all(
        day.production == type(day.production)("l", [0] * len(day.production)) for day in winter
    )


def test_pv_producer_shape(emu: Emulator) -> None:
    summer = [emu.truth.day(PV_PDL, day) for day in SUMMER]
    winter = [emu.truth.day(PV_PDL, day) for day in WINTER]
    for day in summer + winter:
        produced = hours(day, list(day.production))
        assert produced[1] == produced[23] == 0
        assert all(not (c and p) for c, p in zip(day.consumption, day.production, strict=True))
    summer_daily = [sum(day.production) for day in summer]
    winter_daily = [sum(day.production) for day in winter]
    assert statistics.mean(summer_daily) > 3 * statistics.mean(winter_daily)
    assert min(summer_daily) < 0.5 * max(summer_daily)  # some cloudy days
    peak_hours = [
        max(hours(day, list(day.production)).items(), key=lambda i: i[1])[0] for day in summer
    ]
    assert statistics.median(peak_hours) in (12, 13, 14)


def test_daily_truth_is_the_sum_of_slots(emu: Emulator) -> None:
    day = date(2026, 11, 2)
    assert not emu.truth.is_missing(HOME_PDL, day)
    assert emu.truth.daily_wh(HOME_PDL, False, day) == sum(emu.truth.day(HOME_PDL, day).consumption)
    assert emu.truth.daily_wh(HOME_PDL, True, day) is None  # no production measured


def test_hourly_truth_needs_aware_bounds(emu: Emulator) -> None:
    with pytest.raises(ValueError, match="aware"):
        emu.truth.hourly_wh(HOME_PDL, False, datetime(2026, 1, 1), datetime(2026, 1, 2))


def test_emulator_refuses_naive_clocks() -> None:
    clock = Clock(datetime(2026, 1, 1, tzinfo=UTC))
    emu = Emulator(clock)
    clock.now = datetime(2026, 1, 2)
    with pytest.raises(ValueError, match="aware"):
        emu.now()


def test_meter_validation() -> None:
    with pytest.raises(ValueError, match="14 digits"):
        Meter("123")
    with pytest.raises(ValueError, match="profile"):
        Meter(HOME_PDL, profile="factory")
