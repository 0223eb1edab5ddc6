"""Synthetic households of the insights benchmark: deterministic per seed, real instants
(DST days), and injected events visible in the truth and nowhere else."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from conso_emulator.households import Events, generate, night_truth
from conso_emulator.truth import PARIS
from custom_components.linky.analytics.anomalies import night_baseloads

SPRING = date(2025, 3, 30)  # 23 hours
AUTUMN = date(2025, 10, 26)  # 25 hours


def test_same_seed_same_household() -> None:
    first, second = generate(7, date(2025, 1, 1), 40), generate(7, date(2025, 1, 1), 40)
    assert first.hourly_wh == second.hourly_wh
    assert first.temperature == second.temperature
    assert (first.heating, first.base_w, first.away, first.profile) == (
        second.heating,
        second.base_w,
        second.away,
        second.profile,
    )
    assert generate(8, date(2025, 1, 1), 40).hourly_wh != first.hourly_wh


def test_heating_is_drawn_or_forced() -> None:
    drawn = {generate(seed, date(2025, 1, 1), 3).heating for seed in range(12)}
    assert drawn == {True, False}
    assert generate(3, date(2025, 1, 1), 40, heating=True).heating
    assert not generate(3, date(2025, 1, 1), 40, heating=False).heating


def test_dst_days_have_23_and_25_hours() -> None:
    for day in (SPRING, AUTUMN):
        household = generate(3, day - timedelta(days=3), 7)
        counts: dict[date, int] = {}
        for hour in household.hourly_wh:
            local = hour.astimezone(PARIS).date()
            counts[local] = counts.get(local, 0) + 1
            assert hour.minute == 0
            assert hour.utcoffset() == timedelta(0)
        assert counts[day] == (23 if day == SPRING else 25)
        assert {counts[d] for d in counts if d != day} == {24}
        assert set(night_baseloads(household.hourly_wh, household.days())) == set(household.days())


def test_daily_kwh_sums_the_hours() -> None:
    household = generate(5, date(2025, 1, 1), 10)
    daily = household.daily_kwh()
    assert sorted(daily) == household.days()
    assert sum(daily.values()) == pytest.approx(sum(household.hourly_wh.values()) / 1000)
    assert all(2 < kwh < 200 for kwh in daily.values())
    assert all(wh > 0 for wh in household.hourly_wh.values())


def test_a_base_load_step_is_in_the_truth_and_the_nights() -> None:
    step = date(2025, 2, 1)
    clean = generate(11, date(2025, 1, 1), 60, heating=False)
    stepped = generate(11, date(2025, 1, 1), 60, heating=False, events=Events(step_from=step))
    before = [d for d in clean.days() if d < step]
    after = [d for d in clean.days() if d >= step and d not in clean.away]
    truth = night_truth(stepped, clean.days())
    assert all(truth[d] == pytest.approx(clean.base_w) for d in before)
    assert all(truth[d] == pytest.approx(1.4 * clean.base_w) for d in after)
    hours_before = [h for h in clean.hourly_wh if h.astimezone(PARIS).date() < step]
    assert all(stepped.hourly_wh[h] == clean.hourly_wh[h] for h in hours_before)
    nights, stepped_nights = (night_baseloads(h.hourly_wh, after) for h in (clean, stepped))
    rise = sorted(stepped_nights[d] - nights[d] for d in after)
    assert rise[len(rise) // 2] == pytest.approx(0.4 * clean.base_w, rel=0.1)


def test_a_drift_grows_day_by_day() -> None:
    start = date(2025, 2, 1)
    household = generate(2, date(2025, 1, 1), 60, events=Events(drift_from=start))
    truth = night_truth(household, [start, start + timedelta(days=20)])
    assert truth[start + timedelta(days=20)] - truth[start] == pytest.approx(20.0)


def test_unusual_days_are_the_ratio_of_the_same_day() -> None:
    days = (date(2025, 1, 14), date(2025, 1, 20))
    clean = generate(4, date(2025, 1, 1), 30)
    unusual = generate(
        4, date(2025, 1, 1), 30, events=Events(unusual_days=days, unusual_ratios=(1.4, 2.0))
    )
    before, after = clean.daily_kwh(), unusual.daily_kwh()
    assert after[days[0]] == pytest.approx(1.4 * before[days[0]])
    assert after[days[1]] == pytest.approx(2.0 * before[days[1]])
    others = [d for d in clean.days() if d not in days]
    assert all(after[d] == pytest.approx(before[d]) for d in others)


def test_a_cold_snap_is_colder_and_heats_more() -> None:
    snap = (date(2025, 1, 10), date(2025, 1, 17))
    clean = generate(6, date(2025, 1, 1), 30, heating=True)
    cold = generate(6, date(2025, 1, 1), 30, heating=True, events=Events(cold_snap=snap))
    for day in clean.days():
        inside = snap[0] <= day < snap[1]
        assert cold.temperature[day] == pytest.approx(clean.temperature[day] - (9 if inside else 0))
    kwh, cold_kwh = clean.daily_kwh(), cold.daily_kwh()
    assert all(cold_kwh[d] > kwh[d] + 20 for d in clean.days() if snap[0] <= d < snap[1])


def test_holidays_are_days_away_with_less_consumption() -> None:
    household = generate(9, date(2025, 1, 1), 200)
    assert 5 <= len(household.away) <= 22
    assert household.away <= set(household.days())
    daily = household.daily_kwh()
    home = sorted(daily[d] for d in household.days() if d not in household.away)
    away = sorted(daily[d] for d in household.away)
    assert away[len(away) // 2] < home[len(home) // 2]
