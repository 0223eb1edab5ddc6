"""Insight from history: yesterday's max power share and typical peak hours (local hours,
DST days, window bounds, incomplete days)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from custom_components.linky.analytics.peaks import (
    PeakHours,
    PowerShare,
    max_power_share,
    typical_peak_hours,
    yesterday_max_power_share,
)
from custom_components.linky.conso.models import MaxPower
from custom_components.linky.energy.hourly import day_hours
from custom_components.linky.localtime import PARIS

TODAY = date(2026, 4, 10)  # the 30 days before include the spring change (2026-03-29)


def test_yesterday_max_power_share() -> None:
    at = datetime(2026, 4, 9, 19, 12, tzinfo=PARIS)
    records = [
        MaxPower(date(2026, 4, 8), 9100, datetime(2026, 4, 8, 8, tzinfo=PARIS)),
        MaxPower(date(2026, 4, 9), 7650, at),
    ]
    assert yesterday_max_power_share(records, TODAY, 9) == PowerShare(
        date(2026, 4, 9), 7650, at, 0.85
    )
    assert max_power_share(records[0], 9).share == pytest.approx(9100 / 9000)
    assert yesterday_max_power_share(records[:1], TODAY, 9) is None
    with pytest.raises(ValueError, match="positive"):
        max_power_share(records[0], 0)


def local_profile(local_hour: int) -> float:
    """Wh of a typical day: evening peak at 19:00, morning at 08:00, lunch at 13:00."""
    return {19: 3000.0, 8: 2000.0, 13: 1500.0}.get(local_hour, 500.0)


def test_typical_peak_hours() -> None:
    hourly: dict[datetime, float] = {}
    for offset in range(1, 31):
        day = TODAY - timedelta(days=offset)
        for start in day_hours(day):
            hourly[start] = local_profile(start.astimezone(PARIS).hour)
    odd_day = TODAY - timedelta(days=5)
    odd_seven = next(h for h in day_hours(odd_day) if h.astimezone(PARIS).hour == 7)
    hourly[odd_seven] = 4000.0  # one morning where 07:00 was the heaviest hour
    # Outside the window: today and 31 days ago, huge values that must not count.
    for day in (TODAY, TODAY - timedelta(days=31)):
        hourly[datetime.combine(day, time(3), PARIS)] = 1e6
    # A day with a missing hour counts for the averages but not for the max-hour counts.
    gap_day = TODAY - timedelta(days=10)
    del hourly[datetime.combine(gap_day, time(12), PARIS)]

    result = typical_peak_hours(hourly, TODAY)
    assert result.hours == (19, 8, 13)
    assert result.days == 30
    assert result.average_wh[7] == pytest.approx((29 * 500 + 4000) / 30)
    assert result.average_wh[3] == 500.0
    # 2026-03-29 has no 02:00 local hour: 29 samples, same average.
    assert result.average_wh[2] == 500.0
    assert result.max_hour_counts == {7: 1, 19: 28}
    assert typical_peak_hours(hourly, TODAY, top=1).hours == (19,)
    assert typical_peak_hours({}, TODAY) == PeakHours((), {}, {}, 0)


def test_autumn_repeated_hour_and_validation() -> None:
    today = date(2025, 10, 27)
    hours = day_hours(date(2025, 10, 26))  # 25 hours, local 02:00 twice
    hourly = {h: (1000.0 if i == 3 else 100.0) for i, h in enumerate(hours)}
    result = typical_peak_hours(hourly, today, days=1, top=2)
    assert result.average_wh[2] == pytest.approx((100 + 1000) / 2)  # the repeated hour
    assert result.hours == (2, 0)
    assert result.max_hour_counts == {2: 1}
    with pytest.raises(ValueError, match="at least 1"):
        typical_peak_hours(hourly, today, days=0)
    with pytest.raises(ValueError, match="naive"):
        typical_peak_hours({datetime(2025, 10, 26, 3): 1.0}, today)
