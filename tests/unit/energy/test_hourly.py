"""Load-curve intervals to UTC hourly energies: DST days, interval lengths, incomplete days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
import json
from pathlib import Path

import pytest

from custom_components.linky.conso.models import EnergyInterval
from custom_components.linky.conso.parsing import parse_daily, parse_load_curve
from custom_components.linky.energy.hourly import (
    HOUR,
    complete_day_hours,
    day_hours,
    hourly_wh,
    local_day_bounds,
    split_by_local_day,
)
from custom_components.linky.localtime import PARIS

REAL = Path(__file__).parents[2] / "fixtures" / "real"
SPRING = date(2026, 3, 29)  # 02:00 -> 03:00: 23 hours
AUTUMN = date(2026, 10, 25)  # 03:00 -> 02:00: 25 hours
WINTER = date(2026, 1, 15)
SUMMER = date(2026, 7, 14)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def interval(start: datetime, minutes: int, wh: float) -> EnergyInterval:
    """An interval expressed in Europe/Paris, as the client returns them."""
    return EnergyInterval(
        start.astimezone(PARIS), (start + timedelta(minutes=minutes)).astimezone(PARIS), wh
    )


def curve(day: date, minutes: int, wh: float = 10.0) -> list[EnergyInterval]:
    """A complete load curve of the local `day` with intervals of `minutes`."""
    start, end = local_day_bounds(day)
    count = (end - start) // timedelta(minutes=minutes)
    return [interval(start + i * timedelta(minutes=minutes), minutes, wh) for i in range(count)]


@pytest.mark.parametrize(
    ("day", "start", "end"),
    [
        (WINTER, utc(2026, 1, 14, 23), utc(2026, 1, 15, 23)),
        (SUMMER, utc(2026, 7, 13, 22), utc(2026, 7, 14, 22)),
        (SPRING, utc(2026, 3, 28, 23), utc(2026, 3, 29, 22)),
        (AUTUMN, utc(2026, 10, 24, 22), utc(2026, 10, 25, 23)),
    ],
)
def test_local_day_bounds_are_utc_local_midnights(
    day: date, start: datetime, end: datetime
) -> None:
    """The bounds are the UTC instants of local midnight and of the next local midnight."""
    assert local_day_bounds(day) == (start, end)
    assert all(bound.tzinfo is UTC for bound in local_day_bounds(day))


@pytest.mark.parametrize(("day", "count"), [(WINTER, 24), (SUMMER, 24), (SPRING, 23), (AUTUMN, 25)])
def test_day_hours_count_and_continuity(day: date, count: int) -> None:
    """A local day has 23, 24 or 25 consecutive UTC hours, from local midnight."""
    hours = day_hours(day)
    assert len(hours) == count
    assert hours[0] == local_day_bounds(day)[0]
    assert all(b - a == timedelta(hours=1) for a, b in pairwise(hours))
    assert hours[-1] + timedelta(hours=1) == local_day_bounds(day)[1]


def test_day_hours_autumn_has_the_repeated_local_hour_twice() -> None:
    """The October change repeats 02:00 local: two distinct UTC hours with the same label."""
    labels = [hour.astimezone(PARIS).strftime("%H:%M") for hour in day_hours(AUTUMN)]
    assert labels.count("02:00") == 2
    assert "02:00" not in [h.astimezone(PARIS).strftime("%H:%M") for h in day_hours(SPRING)]


def test_split_by_local_day_uses_the_local_date_of_the_start() -> None:
    """An interval starting 23:30 local is on that day, even if it ends the next day."""
    last = interval(datetime(2026, 1, 15, 23, 30, tzinfo=PARIS), 30, 1.0)
    first = interval(datetime(2026, 1, 16, 0, 0, tzinfo=PARIS), 30, 2.0)
    # 23:30 local on Jan 15 is 22:30 UTC: the UTC date is the same, but 00:00 local is not.
    assert split_by_local_day([first, last]) == {
        date(2026, 1, 15): [last],
        date(2026, 1, 16): [first],
    }


def test_split_by_local_day_sorts_the_repeated_hour_by_instant() -> None:
    """02:30 (summer time) comes before 02:00 (winter time) on the October day.

    Both are expressed in the same ZoneInfo, which Python compares by wall clock: sorting
    must use the instants.
    """
    summer_0230 = interval(utc(2026, 10, 25, 0, 30), 30, 1.0)
    winter_0200 = interval(utc(2026, 10, 25, 1, 0), 30, 2.0)
    assert winter_0200.start.tzinfo is summer_0230.start.tzinfo
    assert winter_0200.start < summer_0230.start  # the wall-clock trap
    assert split_by_local_day([winter_0200, summer_0230]) == {AUTUMN: [summer_0230, winter_0200]}


@pytest.mark.parametrize("minutes", [5, 10, 15, 30, 60])
def test_hourly_wh_sums_aligned_intervals_per_hour(minutes: int) -> None:
    """Aligned intervals of PT5M..PT60M add up per UTC hour, exactly."""
    start = utc(2026, 1, 15, 10)
    intervals = [interval(start + i * timedelta(minutes=minutes), minutes, 1.5) for i in range(24)]
    per_hour = 60 // minutes
    expected = {
        start + timedelta(hours=h): 1.5 * min(per_hour, 24 - h * per_hour)
        for h in range(-(-24 // per_hour))
    }
    assert hourly_wh(intervals) == expected


def test_hourly_wh_splits_an_interval_crossing_an_hour_pro_rata() -> None:
    """A 45-minute interval from 10:45 gives 1/3 to 10:00 and 2/3 to 11:00."""
    result = hourly_wh([interval(utc(2026, 1, 15, 10, 45), 45, 90.0)])
    assert result == {utc(2026, 1, 15, 10): pytest.approx(30.0), utc(2026, 1, 15, 11): 60.0}
    assert sum(result.values()) == pytest.approx(90.0)


def test_hourly_wh_does_not_depend_on_the_order_of_the_intervals() -> None:
    """Unsorted intervals, some crossing hours and coming back to earlier hours, give the
    same sums as sorted ones."""
    start = utc(2026, 1, 15, 10)
    intervals = [
        interval(start + timedelta(minutes=offset), minutes, wh)
        for offset, minutes, wh in [(0, 30, 1.0), (30, 45, 3.0), (75, 15, 2.0), (90, 120, 8.0)]
    ]
    expected = {start: 3.0, start + HOUR: 5.0, start + 2 * HOUR: 4.0, start + 3 * HOUR: 2.0}
    for ordered in (intervals, intervals[::-1], [intervals[1], intervals[3], *intervals[::2]]):
        assert hourly_wh(ordered) == pytest.approx(expected)
        assert list(hourly_wh(ordered)) == list(expected)


def test_hourly_wh_keys_are_utc_across_the_repeated_hour() -> None:
    """The two local 02:00 hours of the October day stay two separate UTC hours."""
    intervals = [
        interval(utc(2026, 10, 25, 0) + i * timedelta(minutes=30), 30, 1.0 + i) for i in range(4)
    ]
    assert hourly_wh(intervals) == {utc(2026, 10, 25, 0): 3.0, utc(2026, 10, 25, 1): 7.0}
    assert all(key.tzinfo is UTC for key in hourly_wh(intervals))


def test_hourly_wh_rejects_an_empty_interval() -> None:
    """An interval that does not end after it starts is an error, not zero energy."""
    start = datetime(2026, 1, 15, 10, tzinfo=PARIS)
    with pytest.raises(ValueError, match="does not end after"):
        hourly_wh([EnergyInterval(start, start, 1.0)])


@pytest.mark.parametrize(
    ("day", "minutes", "count"),
    [(WINTER, 30, 24), (SUMMER, 60, 24), (SPRING, 30, 23), (AUTUMN, 10, 25), (AUTUMN, 60, 25)],
)
def test_complete_day_hours_covers_every_hour(day: date, minutes: int, count: int) -> None:
    """A complete curve gives every UTC hour of the local day with its energy."""
    hours = complete_day_hours(day, curve(day, minutes, wh=2.0))
    assert hours is not None
    assert list(hours) == day_hours(day)
    assert len(hours) == count
    assert set(hours.values()) == {2.0 * 60 / minutes}


def test_complete_day_hours_keeps_zero_hours() -> None:
    """A day of zero production is complete: every hour present, with 0 Wh."""
    hours = complete_day_hours(WINTER, curve(WINTER, 30, wh=0.0))
    assert hours == dict.fromkeys(day_hours(WINTER), 0.0)


def _drop(intervals: list[EnergyInterval], index: int) -> list[EnergyInterval]:
    return intervals[:index] + intervals[index + 1 :]


@pytest.mark.parametrize(
    ("day", "intervals"),
    [
        pytest.param(WINTER, [], id="empty"),
        pytest.param(WINTER, _drop(curve(WINTER, 30), 0), id="missing-first"),
        pytest.param(WINTER, _drop(curve(WINTER, 30), 20), id="hole"),
        pytest.param(WINTER, _drop(curve(WINTER, 30), 47), id="missing-last"),
        pytest.param(AUTUMN, _drop(curve(AUTUMN, 30), 5), id="missing-repeated-hour"),
        pytest.param(AUTUMN, curve(AUTUMN, 30)[:48], id="autumn-as-if-24-hours"),
        pytest.param(SPRING, curve(WINTER, 30), id="other-day"),
        pytest.param(WINTER, [*curve(WINTER, 30), curve(WINTER, 30)[7]], id="duplicate"),
        pytest.param(
            WINTER,
            [*curve(WINTER, 30)[:-1], interval(utc(2026, 1, 15, 22, 30), 60, 1.0)],
            id="overflows-next-day",
        ),
        pytest.param(
            WINTER,
            [*curve(WINTER, 30), interval(utc(2026, 1, 15, 23), 30, 1.0)],
            id="next-day-point",
        ),
        pytest.param(
            WINTER,
            [
                *curve(WINTER, 30)[:10],
                interval(utc(2026, 1, 15, 3), 45, 1.0),
                *curve(WINTER, 30)[11:],
            ],
            id="overlap",
        ),
    ],
)
def test_complete_day_hours_refuses_an_incomplete_curve(
    day: date, intervals: list[EnergyInterval]
) -> None:
    """Anything but an exact tiling of the local day gives None."""
    assert complete_day_hours(day, intervals) is None


@pytest.mark.parametrize(
    ("curve_file", "daily_file", "days"),
    [
        (
            "legacy/conso_consumption_load_curve_2023-04-01_2023-04-02.json",
            "legacy/conso_daily_consumption_2023-04-01_2023-04-04.json",
            [date(2023, 4, 1)],
        ),
        (
            "v2/mesure_courbe_de_charge_consommation.json",
            "v2/mesure_consommation_quotidienne.json",
            [date(2026, 9, 29), date(2026, 9, 30)],
        ),
    ],
)
def test_real_load_curves_add_up_to_the_real_daily_totals(
    curve_file: str, daily_file: str, days: list[date]
) -> None:
    """Real Conso API curves, parsed by the client, give hourly maps whose total is the day's."""
    intervals = parse_load_curve(json.loads((REAL / curve_file).read_text()))
    daily = {d.day: d.wh for d in parse_daily(json.loads((REAL / daily_file).read_text()))}
    by_day = split_by_local_day(intervals)
    assert list(by_day) == days
    for day in days:
        hours = complete_day_hours(day, by_day[day])
        assert hours is not None
        assert list(hours) == day_hours(day)
        assert sum(hours.values()) == daily[day]
