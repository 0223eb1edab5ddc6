"""Measurement parsing: real fixtures, DST days, interval lengths, malformed bodies."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta, timezone
import itertools
from typing import Any

import pytest

from custom_components.linky.conso.errors import ConsoApiMalformedResponseError
from custom_components.linky.conso.models import EnergyInterval
from custom_components.linky.conso.parsing import parse_daily, parse_load_curve, parse_max_power
from custom_components.linky.localtime import PARIS

from .common import REAL_FIXTURES, legacy_curve, load_json, local_labels, v2_curve

HALF_HOUR = timedelta(minutes=30)


def _local(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


def _wh_per_start_day(intervals: list[EnergyInterval]) -> dict[date, float]:
    totals: dict[date, float] = defaultdict(float)
    for interval in intervals:
        totals[interval.start.date()] += interval.wh
    return dict(totals)


def _assert_contiguous(intervals: list[EnergyInterval]) -> None:
    for previous, current in itertools.pairwise(intervals):
        assert current.start == previous.end


# --- real fixtures -----------------------------------------------------------------------


def test_v2_consumption_load_curve_matches_daily_totals() -> None:
    """96 half-hours from 2026-09-29 00:00 local; per-day sums equal the daily endpoint."""
    intervals = parse_load_curve(load_json("v2/mesure_courbe_de_charge_consommation.json"))
    daily = parse_daily(load_json("v2/mesure_consommation_quotidienne.json"))

    assert len(intervals) == 96
    first, last = intervals[0], intervals[-1]
    assert first.start == _local(2026, 9, 29, 0, 0)
    assert first.end == _local(2026, 9, 29, 0, 30)
    assert first.wh == 4078 / 2
    assert last.end == _local(2026, 10, 1, 0, 0)
    assert last.wh == 3974 / 2
    assert all(i.end - i.start == HALF_HOUR for i in intervals)
    _assert_contiguous(intervals)
    assert [(d.day, d.wh) for d in daily] == [
        (date(2026, 9, 29), 33495),
        (date(2026, 9, 30), 38022),
    ]
    assert _wh_per_start_day(intervals) == {d.day: d.wh for d in daily}


def test_v2_production_load_curve_matches_daily_totals() -> None:
    intervals = parse_load_curve(load_json("v2/mesure_courbe_de_charge_production.json"))
    daily = parse_daily(load_json("v2/mesure_production_quotidienne.json"))

    assert len(intervals) == 96
    assert [(d.day, d.wh) for d in daily] == [(date(2026, 9, 29), 8263), (date(2026, 9, 30), 941)]
    assert _wh_per_start_day(intervals) == {d.day: d.wh for d in daily}


def test_raw_v5_wrapper_equals_v2_curve() -> None:
    """The raw Enedis v5 body (`meter_reading` wrapper) parses to the same intervals."""
    v5 = parse_load_curve(
        load_json("legacy/enedis_v5_consumption_load_curve_2026-09-29_2026-10-01.json")
    )
    assert v5 == parse_load_curve(load_json("v2/mesure_courbe_de_charge_consommation.json"))


@pytest.mark.parametrize(
    ("curve", "daily", "total"),
    [
        (
            "legacy/conso_consumption_load_curve_2023-04-01_2023-04-02.json",
            "legacy/conso_daily_consumption_2023-04-01_2023-04-02.json",
            11776,
        ),
        (
            "legacy/conso_production_load_curve_2023-04-01_2023-04-02.json",
            "legacy/conso_daily_production_2023-04-01_2023-04-02.json",
            643,
        ),
    ],
)
def test_legacy_load_curve_one_day(curve: str, daily: str, total: int) -> None:
    intervals = parse_load_curve(load_json(curve))
    days = parse_daily(load_json(daily))

    assert len(intervals) == 48
    assert intervals[0].start == _local(2023, 4, 1, 0, 0)
    assert intervals[-1].end == _local(2023, 4, 2, 0, 0)
    assert [(d.day, d.wh) for d in days] == [(date(2023, 4, 1), total)]
    assert _wh_per_start_day(intervals) == {date(2023, 4, 1): total}


def test_legacy_daily_three_days() -> None:
    days = parse_daily(load_json("legacy/conso_daily_consumption_2023-04-01_2023-04-04.json"))
    assert [(d.day, d.wh) for d in days] == [
        (date(2023, 4, 1), 11776),
        (date(2023, 4, 2), 14401),
        (date(2023, 4, 3), 12820),
    ]
    assert days[0].start == _local(2023, 4, 1, 0, 0)
    assert days[0].start.utcoffset() == timedelta(hours=2)
    production = parse_daily(load_json("legacy/conso_daily_production_2023-04-01_2023-04-04.json"))
    assert [d.wh for d in production] == [643, 6, 15411]


def test_daily_start_is_local_midnight_on_dst_day() -> None:
    days = parse_daily({"interval_reading": [{"value": "1", "date": "2026-10-25"}]})
    assert days[0].start.astimezone(UTC) == datetime(2026, 10, 24, 22, 0, tzinfo=UTC)
    assert days[0].start + timedelta(days=1) == _local(2026, 10, 26, 0, 0)


def test_v2_max_power() -> None:
    maxima = parse_max_power(load_json("v2/mesure_puissance_conso_max_quotidienne.json"))
    assert [(m.day, m.va, m.at) for m in maxima] == [
        (date(2026, 9, 29), 4680, _local(2026, 9, 29, 13, 3, 35)),
        (date(2026, 9, 30), 6510, _local(2026, 9, 30, 12, 50, 25)),
    ]
    assert maxima[0].at.astimezone(UTC) == datetime(2026, 9, 29, 11, 3, 35, tzinfo=UTC)


def test_legacy_max_power() -> None:
    maxima = parse_max_power(
        load_json("legacy/conso_consumption_max_power_2023-04-01_2023-04-04.json")
    )
    assert [(m.day, m.va, m.at) for m in maxima] == [
        (date(2023, 4, 1), 4638, _local(2023, 4, 1, 12, 6, 20)),
        (date(2023, 4, 2), 4410, _local(2023, 4, 2, 19, 27, 46)),
        (date(2023, 4, 3), 3570, _local(2023, 4, 3, 21, 42, 12)),
    ]
    one = parse_max_power(
        load_json("legacy/conso_consumption_max_power_2023-04-01_2023-04-02.json")
    )
    assert [(m.day, m.va) for m in one] == [(date(2023, 4, 1), 4638)]


def test_v4_fragment_pt10m() -> None:
    """A bare array of interval_reading items, 10-minute steps."""
    intervals = parse_load_curve(
        load_json("legacy/enedis_v4_interval_reading_fragment_pt10m_2020-07-13.json")
    )
    assert len(intervals) == 14
    assert intervals[0].start == _local(2020, 7, 13, 5, 20)
    assert intervals[0].end == _local(2020, 7, 13, 5, 30)
    assert intervals[0].wh == 2868 * 10 / 60
    assert intervals[-1].end == _local(2020, 7, 13, 7, 40)
    assert all(i.end - i.start == timedelta(minutes=10) for i in intervals)
    _assert_contiguous(intervals)


def test_v4_fragment_pt60m() -> None:
    intervals = parse_load_curve(
        load_json("legacy/enedis_v4_interval_reading_fragment_pt60m_2020-08-19.json")
    )
    assert len(intervals) == 13
    assert intervals[0].start == _local(2020, 8, 19, 0, 0)
    assert intervals[0].wh == 261
    assert (
        sum(i.wh for i in intervals)
        == 261 + 486 + 194 + 2123 + 1471 + 197 + 204 + 197 + 185 + 218 + 771 + 1791 + 2090
    )
    assert all(i.end - i.start == timedelta(hours=1) for i in intervals)


MEASUREMENT_FILES = {
    "v2/mesure_courbe_de_charge_consommation.json": parse_load_curve,
    "v2/mesure_courbe_de_charge_production.json": parse_load_curve,
    "v2/mesure_consommation_quotidienne.json": parse_daily,
    "v2/mesure_production_quotidienne.json": parse_daily,
    "v2/mesure_puissance_conso_max_quotidienne.json": parse_max_power,
    "legacy/conso_consumption_load_curve_2023-04-01_2023-04-02.json": parse_load_curve,
    "legacy/conso_production_load_curve_2023-04-01_2023-04-02.json": parse_load_curve,
    "legacy/enedis_v5_consumption_load_curve_2026-09-29_2026-10-01.json": parse_load_curve,
    "legacy/enedis_v4_interval_reading_fragment_pt10m_2020-07-13.json": parse_load_curve,
    "legacy/enedis_v4_interval_reading_fragment_pt60m_2020-08-19.json": parse_load_curve,
    "legacy/conso_daily_consumption_2023-04-01_2023-04-04.json": parse_daily,
    "legacy/conso_daily_consumption_2023-04-01_2023-04-02.json": parse_daily,
    "legacy/conso_daily_production_2023-04-01_2023-04-04.json": parse_daily,
    "legacy/conso_daily_production_2023-04-01_2023-04-02.json": parse_daily,
    "legacy/conso_consumption_max_power_2023-04-01_2023-04-04.json": parse_max_power,
    "legacy/conso_consumption_max_power_2023-04-01_2023-04-02.json": parse_max_power,
}


def test_every_measurement_fixture_is_covered() -> None:
    present = {
        str(path.relative_to(REAL_FIXTURES))
        for folder in ("v2", "legacy")
        for path in (REAL_FIXTURES / folder).glob("*.json")
    }
    assert present == set(MEASUREMENT_FILES)


@pytest.mark.parametrize(("name", "parser"), MEASUREMENT_FILES.items())
def test_every_measurement_fixture_parses_all_points(name: str, parser: Any) -> None:
    body = load_json(name)
    if isinstance(body, list):
        expected = len(body)
    elif "grandeur" in body:
        expected = len(body["grandeur"][0]["points"])
    else:
        expected = len(body.get("meter_reading", body)["interval_reading"])
    assert len(parser(body)) == expected > 0


# --- DST -----------------------------------------------------------------------------------

SPRING = date(2026, 3, 29)
AUTUMN = date(2026, 10, 25)
BUILDERS = pytest.mark.parametrize("build", [v2_curve, legacy_curve], ids=["v2", "legacy"])


@BUILDERS
def test_spring_day_has_46_half_hours(build: Any) -> None:
    labels = local_labels(SPRING, 30)
    assert len(labels) == 46
    assert labels[2:4] == ["2026-03-29 01:30:00", "2026-03-29 03:00:00"]
    values = list(range(100, 146))

    intervals = parse_load_curve(build(labels, values))

    assert len(intervals) == 46
    assert intervals[0].start == _local(2026, 3, 29, 0, 0)
    assert intervals[-1].end == _local(2026, 3, 30, 0, 0)
    assert intervals[-1].end - intervals[0].start == timedelta(hours=23)
    assert all(i.end - i.start == HALF_HOUR for i in intervals)
    _assert_contiguous(intervals)
    # The interval ending at 03:00 CEST started at 01:30 CET.
    assert intervals[3].start.astimezone(UTC) == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert intervals[3].end.astimezone(UTC) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert sum(i.wh for i in intervals) == sum(values) / 2


@BUILDERS
def test_spring_label_in_the_gap_reads_as_pre_transition_instant(build: Any) -> None:
    """`02:00` does not exist on 2026-03-29: it is 02:00 CET = 03:00 CEST."""
    labels = local_labels(SPRING, 30)
    labels[3] = "2026-03-29 02:00:00"  # instead of 03:00:00
    intervals = parse_load_curve(build(labels, [10] * 46))

    assert intervals[3].end == _local(2026, 3, 29, 3, 0)
    assert intervals[3].end.astimezone(UTC) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    _assert_contiguous(intervals)


@BUILDERS
def test_spring_gap_label_and_its_real_label_are_a_duplicate(build: Any) -> None:
    """02:00 CET and 03:00 CEST are one instant: the second point is skipped and its day
    counted as having a bad point (so it is never complete)."""
    labels = local_labels(SPRING, 30)
    labels.insert(3, "2026-03-29 02:00:00")
    curve = parse_load_curve(build(labels, [10] * 47))
    assert len(curve) == 46
    assert curve.bad_points == {SPRING: 1}


@BUILDERS
def test_autumn_day_has_50_half_hours_with_repeated_labels(build: Any) -> None:
    labels = local_labels(AUTUMN, 30)
    assert len(labels) == 50
    assert labels[3:7] == [
        "2026-10-25 02:00:00",
        "2026-10-25 02:30:00",
        "2026-10-25 02:00:00",
        "2026-10-25 02:30:00",
    ]
    values = list(range(200, 250))

    intervals = parse_load_curve(build(labels, values))

    assert len(intervals) == 50
    assert intervals[0].start == _local(2026, 10, 25, 0, 0)
    assert intervals[-1].end == _local(2026, 10, 26, 0, 0)
    assert intervals[-1].end - intervals[0].start == timedelta(hours=25)
    assert all(i.end - i.start == HALF_HOUR for i in intervals)
    _assert_contiguous(intervals)
    assert len({i.start.astimezone(UTC) for i in intervals}) == 50
    assert sorted(intervals, key=lambda i: i.start) == intervals
    first_two, second_two = intervals[3], intervals[5]
    assert first_two.end.utcoffset() == timedelta(hours=2)
    assert second_two.end.utcoffset() == timedelta(hours=1)
    assert second_two.end - first_two.end == timedelta(hours=1)
    assert second_two.end.astimezone(UTC) == datetime(2026, 10, 25, 1, 0, tzinfo=UTC)
    assert sum(i.wh for i in intervals) == sum(values) / 2


def test_autumn_day_hourly_steps_repeat_two_oclock() -> None:
    labels = local_labels(AUTUMN, 60)
    assert labels.count("2026-10-25 02:00:00") == 2
    intervals = parse_load_curve(v2_curve(labels, [1000] * 25, step="PT60M"))
    assert len(intervals) == 25
    assert sum(i.wh for i in intervals) == 25_000
    _assert_contiguous(intervals)


def test_autumn_day_with_first_repeated_label_missing() -> None:
    """Only the second 02:00 survives: order still resolves it to CET."""
    labels = local_labels(AUTUMN, 30)
    del labels[3]  # first 02:00 (CEST)
    intervals = parse_load_curve(legacy_curve(labels, [10] * 49))
    assert intervals[3].end.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert intervals[4].end.astimezone(UTC) == datetime(2026, 10, 25, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize("minutes", [5, 30, 60])
@pytest.mark.parametrize("change", [SPRING, AUTUMN], ids=["spring", "autumn"])
def test_days_around_a_change_carry_the_fixed_paris_offset_of_each_instant(
    change: date, minutes: int
) -> None:
    """Three days before to three days after a change: every start and end is the Paris wall
    time with the fixed offset Paris has at that instant (including intervals ending at the
    midnight after the change day), and the intervals tile the week."""
    days = [change + timedelta(days=offset) for offset in range(-3, 4)]
    labels = [label for day in days for label in local_labels(day, minutes)]
    intervals = parse_load_curve(v2_curve(labels, [60] * len(labels), step=f"PT{minutes}M"))

    assert len(intervals) == len(labels)
    _assert_contiguous(intervals)
    assert intervals[0].start == _local(*days[0].timetuple()[:3])
    assert intervals[-1].end == _local(*(days[-1] + timedelta(days=1)).timetuple()[:3])
    for interval in intervals:
        assert interval.end - interval.start == timedelta(minutes=minutes)
        for moment in (interval.start, interval.end):
            paris = moment.astimezone(PARIS)
            assert isinstance(moment.tzinfo, timezone)
            assert moment.utcoffset() == paris.utcoffset()
            assert moment.replace(tzinfo=None) == paris.replace(tzinfo=None)


@pytest.mark.parametrize(
    "labels",
    [
        ["2026-03-30 00:00:00", "2026-03-29 23:30:00"],  # back into the change day
        ["2026-10-25 23:30:00", "2026-10-26 00:00:00", "2026-10-26 00:00:00"],
        ["2026-10-26 00:00:00", "2026-10-25 02:30:00"],  # back to a repeated label
        ["2026-03-28 23:30:00", "2026-03-29 00:00:00", "2026-03-28 23:30:00"],
    ],
)
def test_points_going_back_around_a_change_day_are_bad_points(labels: list[str]) -> None:
    """Around a change day too, a point that repeats or goes back is skipped and counted."""
    curve = parse_load_curve(v2_curve(labels, [1] * len(labels)))
    assert len(curve) == len(labels) - 1
    assert sum(curve.bad_points.values()) == 1


# --- interval lengths and gaps -------------------------------------------------------------


@pytest.mark.parametrize(("step", "minutes", "count"), [("PT10M", 10, 144), ("PT60M", 60, 24)])
def test_full_day_other_steps(step: str, minutes: int, count: int) -> None:
    labels = local_labels(date(2026, 6, 10), minutes)
    intervals = parse_load_curve(v2_curve(labels, [600] * count, step=step))
    assert len(intervals) == count
    assert intervals[0].start == _local(2026, 6, 10, 0, 0)
    assert sum(i.wh for i in intervals) == 600 * 24


def test_step_may_change_within_a_body() -> None:
    body = v2_curve(["2026-06-10 00:30:00"], [600])
    body["grandeur"][0]["points"].append({"v": "600", "d": "2026-06-10 00:40:00", "p": "PT10M"})
    intervals = parse_load_curve(body)
    assert [i.wh for i in intervals] == [300, 100]
    _assert_contiguous(intervals)


def test_legacy_point_without_interval_length_defaults_to_30_minutes() -> None:
    intervals = parse_load_curve(
        {"interval_reading": [{"value": "1000", "date": "2026-06-10 01:00:00"}]}
    )
    assert intervals == [
        EnergyInterval(start=_local(2026, 6, 10, 0, 30), end=_local(2026, 6, 10, 1, 0), wh=500)
    ]


def test_missing_points_are_not_invented() -> None:
    labels = local_labels(date(2026, 6, 10), 30)
    kept = labels[:10] + labels[14:]
    intervals = parse_load_curve(v2_curve(kept, [100] * len(kept)))
    assert len(intervals) == 44
    assert intervals[10].start - intervals[9].end == timedelta(hours=2)


def test_empty_v2_grandeur_and_empty_points() -> None:
    assert parse_load_curve({"grandeur": []}) == []
    assert parse_daily({"grandeur": [{"unite": "Wh", "points": []}]}) == []
    assert parse_daily({"interval_reading": []}) == []


# --- malformed bodies ----------------------------------------------------------------------


def _curve_with_point(**point: Any) -> dict[str, Any]:
    return {"grandeur": [{"unite": "W", "points": [point]}]}


BAD_DAY = date(2026, 6, 10)


@pytest.mark.parametrize(
    "point",
    [
        {"v": "12.5", "d": "2026-06-10 00:30:00", "p": "PT30M"},
        {"v": "", "d": "2026-06-10 00:30:00", "p": "PT30M"},
        {"v": None, "d": "2026-06-10 00:30:00", "p": "PT30M"},
        {"v": "-4", "d": "2026-06-10 00:30:00", "p": "PT30M"},
        {"v": "1_000", "d": "2026-06-10 00:30:00", "p": "PT30M"},
        {"v": True, "d": "2026-06-10 00:30:00", "p": "PT30M"},
        {"v": "9" * 400, "d": "2026-06-10 00:30:00", "p": "PT30M"},  # no float holds it
        {"v": 10**30, "d": "2026-06-10 00:30:00", "p": "PT30M"},
        {"v": "99999999999", "d": "2026-06-10 00:30:00", "p": "PT30M"},  # not a reading
        {"v": "12", "d": "2026-06-10 00:30:00", "p": "PT7M"},
        {"v": "12", "d": "2026-06-10 00:30:00", "p": "P1D"},
        {"v": "12", "d": "2026-06-10 00:30:00"},  # V2 points carry their step
    ],
)
def test_bad_point_is_skipped_and_counted(point: dict[str, Any]) -> None:
    """One unreadable point never rejects the body: it is skipped, the others are kept,
    and its day is counted as having a bad point (so that day is never complete)."""
    labels = ["2026-06-10 00:30:00", "2026-06-10 01:00:00", "2026-06-10 01:30:00"]
    body = v2_curve(labels, [100, 200, 300])
    body["grandeur"][0]["points"][0] = point
    curve = parse_load_curve(body)
    assert [interval.wh for interval in curve] == [100.0, 150.0]
    assert curve.bad_points == {BAD_DAY: 1}


@pytest.mark.parametrize("label", ["not a date", None, "2026-06-10T00:30:00+02:00"])
def test_point_without_a_readable_time_is_skipped(label: Any) -> None:
    """No day to blame: the point is skipped (the hole it leaves makes its day incomplete)."""
    curve = parse_load_curve(_curve_with_point(v="12", d=label, p="PT30M"))
    assert list(curve) == []
    assert curve.bad_points == {}


@pytest.mark.parametrize(
    "body",
    [
        {"grandeur": [{"unite": "Wh", "points": []}]},  # a daily body
        {"grandeur": [{"unite": "W", "points": []}, {"unite": "W", "points": []}]},
        {"grandeur": "nope"},
        {"grandeur": [{"unite": "W"}]},
        {"grandeur": [{"unite": "W", "points": ["not an object"]}]},
        {"interval_reading": {}},
        {"reading_type": {"unit": "VA"}, "interval_reading": []},
        {"meter_reading": "nope"},
        {"status": 200},
        ["not an object"],
        "text",
        None,
    ],
)
def test_malformed_load_curve_raises(body: Any) -> None:
    """A body that is not a load curve at all is an error (a ConsoApiError)."""
    with pytest.raises(ConsoApiMalformedResponseError):
        parse_load_curve(body)


def test_repeated_or_backward_points_are_bad_points() -> None:
    """A time that repeats, or goes back, is a bad point of its day."""
    labels = ["2026-06-10 00:30:00", "2026-06-10 01:00:00", "2026-06-10 01:00:00"]
    curve = parse_load_curve(v2_curve(labels, [1, 2, 3]))
    assert len(curve) == 2
    assert curve.bad_points == {BAD_DAY: 1}
    curve = parse_load_curve(legacy_curve(["2026-06-10 01:00:00", "2026-06-10 00:30:00"], [1, 2]))
    assert len(curve) == 1
    assert curve.bad_points == {BAD_DAY: 1}


def test_day_twice_or_unreadable_is_left_out() -> None:
    """Daily values and max power: a day that appears twice, or whose value cannot be read,
    is left out (asked again later); the other days are kept."""
    body = {
        "interval_reading": [
            {"value": "1", "date": "2026-06-10"},
            {"value": "2", "date": "2026-06-10"},
            {"value": "x", "date": "2026-06-11"},
            {"value": "7", "date": "2026-06-12"},
        ]
    }
    assert [(d.day, d.wh) for d in parse_daily(body)] == [(date(2026, 6, 12), 7)]
    body = {
        "interval_reading": [
            {"value": "1", "date": "2026-06-10 10:00:00"},
            {"value": "1", "date": "2026-06-10 11:00:00"},
            {"value": "5", "date": "2026-06-12 10:00:00"},
        ]
    }
    assert [(m.day, m.va) for m in parse_max_power(body)] == [(date(2026, 6, 12), 5)]


def test_daily_and_max_power_check_units_and_values() -> None:
    with pytest.raises(ConsoApiMalformedResponseError):
        parse_daily(load_json("v2/mesure_puissance_conso_max_quotidienne.json"))
    with pytest.raises(ConsoApiMalformedResponseError):
        parse_max_power(load_json("v2/mesure_consommation_quotidienne.json"))
    assert parse_daily({"interval_reading": [{"value": "x", "date": "2026-06-10"}]}) == []
