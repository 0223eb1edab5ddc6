"""A day's energy spread over its hours in a meter's usual shape (`energy/day_profile.py`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
import math

import pytest

from custom_components.linky.energy.day_profile import DayProfile
from custom_components.linky.energy.hourly import day_hours
from custom_components.linky.localtime import PARIS


def _day(day: date, watts_by_local_hour: dict[int, float], default: float = 100.0) -> dict:
    return {
        hour: watts_by_local_hour.get(hour.astimezone(PARIS).hour, default)
        for hour in day_hours(day)
    }


def test_the_shares_are_the_mean_of_each_local_hour() -> None:
    # two days: 46 Wh at local 20:00 and 2 Wh in each of the 23 others (shares 0.5, 1/46),
    # then a flat day (1/24): the mean share of 20:00 is (0.5 + 1/24) / 2
    evening = _day(date(2026, 1, 12), {20: 46.0}, default=2.0)
    flat = _day(date(2026, 1, 13), {})
    profile = DayProfile.of([evening, flat])
    assert math.fsum(profile.shares) == pytest.approx(1.0)
    assert profile.shares[20] == pytest.approx((0.5 + 1 / 24) / 2)
    assert profile.shares[3] == pytest.approx((1 / 46 + 1 / 24) / 2)


def test_days_without_energy_or_without_days_give_a_flat_profile() -> None:
    assert DayProfile.of([]) == DayProfile.flat()
    assert DayProfile.of([_day(date(2026, 1, 12), {}, default=0.0)]) == DayProfile.flat()


@pytest.mark.parametrize(
    ("day", "hours"), [(date(2026, 1, 12), 24), (date(2026, 3, 29), 23), (date(2026, 10, 25), 25)]
)
def test_a_spread_day_has_the_day_hours_and_sums_to_the_total(day: date, hours: int) -> None:
    profile = DayProfile.of([_day(date(2026, 1, 12), {20: 300.0, 3: 50.0})])
    spread = profile.spread(day, 12_345.0)
    assert list(spread) == day_hours(day)
    assert len(spread) == hours
    assert math.fsum(spread.values()) == pytest.approx(12_345.0, rel=1e-12)
    by_local = {hour.astimezone(PARIS).hour: wh for hour, wh in spread.items()}
    assert by_local[20] == pytest.approx(3 * by_local[12])  # 300 W against 100 W
    assert by_local[3] == pytest.approx(by_local[12] / 2)


def test_the_repeated_october_hour_takes_its_share_twice() -> None:
    day = date(2026, 10, 25)
    spread = DayProfile.flat().spread(day, 2500.0)
    assert set(spread.values()) == {100.0}  # 25 hours alike
    twice = [h for h in spread if h.astimezone(PARIS).hour == 2]
    assert twice == [datetime(2026, 10, 25, 0, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC)]
    assert twice[1] - twice[0] == timedelta(hours=1)
