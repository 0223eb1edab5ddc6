"""Splitting wanted ranges into legal API calls."""

from __future__ import annotations

from datetime import date, timedelta
import itertools

import pytest

from custom_components.linky.conso.models import DateRange, MeasureType
from custom_components.linky.conso.planner import history_start, max_span_days, plan_requests

CURVE = MeasureType.CONSUMPTION_LOAD_CURVE
DAILY = MeasureType.CONSUMPTION_DAILY
TODAY = date(2026, 10, 26)


@pytest.mark.parametrize(
    ("measure", "today", "expected"),
    [
        (MeasureType.CONSUMPTION_LOAD_CURVE, date(2026, 10, 26), date(2024, 10, 26)),
        (MeasureType.PRODUCTION_LOAD_CURVE, date(2026, 10, 26), date(2024, 10, 26)),
        (MeasureType.CONSUMPTION_DAILY, date(2026, 10, 26), date(2023, 10, 26)),
        (MeasureType.PRODUCTION_DAILY, date(2026, 10, 26), date(2023, 10, 26)),
        (MeasureType.CONSUMPTION_MAX_POWER, date(2026, 10, 26), date(2023, 10, 26)),
        (MeasureType.CONSUMPTION_LOAD_CURVE, date(2026, 2, 28), date(2024, 2, 28)),
        (MeasureType.CONSUMPTION_LOAD_CURVE, date(2028, 2, 29), date(2026, 2, 28)),
        (MeasureType.CONSUMPTION_DAILY, date(2027, 3, 31), date(2024, 3, 31)),
        (MeasureType.CONSUMPTION_DAILY, date(2026, 1, 15), date(2023, 1, 15)),
    ],
)
def test_history_start(measure: MeasureType, today: date, expected: date) -> None:
    assert history_start(measure, today) == expected


def test_max_span() -> None:
    assert max_span_days(CURVE) == 7
    assert max_span_days(MeasureType.PRODUCTION_LOAD_CURVE) == 7
    assert max_span_days(DAILY) == 365
    assert max_span_days(MeasureType.CONSUMPTION_MAX_POWER) == 365


def _check_legal(chunks: list[DateRange], measure: MeasureType, today: date) -> None:
    for chunk in chunks:
        assert chunk.start < chunk.end <= today
        assert chunk.days <= max_span_days(measure)
        assert chunk.start >= history_start(measure, today)


def test_load_curve_chunks_of_seven_days() -> None:
    chunks = plan_requests(CURVE, date(2026, 10, 1), TODAY, TODAY)
    assert chunks == [
        DateRange(date(2026, 10, 1), date(2026, 10, 5)),
        DateRange(date(2026, 10, 5), date(2026, 10, 12)),
        DateRange(date(2026, 10, 12), date(2026, 10, 19)),
        DateRange(date(2026, 10, 19), date(2026, 10, 26)),
    ]
    _check_legal(chunks, CURVE, TODAY)


def test_daily_chunks_of_365_days() -> None:
    chunks = plan_requests(DAILY, date(2020, 1, 1), TODAY, TODAY)
    assert chunks[0].start == date(2023, 10, 26)
    assert chunks[-1] == DateRange(TODAY - timedelta(days=365), TODAY)
    assert [c.days for c in chunks] == [1, 365, 365, 365]  # 1096 days since 2023-10-26
    _check_legal(chunks, DAILY, TODAY)


def test_chunks_cover_the_range_without_gap_or_overlap() -> None:
    start, end = date(2025, 1, 3), date(2026, 9, 17)
    for measure in MeasureType:
        chunks = plan_requests(measure, start, end, TODAY)
        assert chunks[0].start == start
        assert chunks[-1].end == end
        for previous, current in itertools.pairwise(chunks):
            assert current.start == previous.end
        _check_legal(chunks, measure, TODAY)


def test_history_clamp() -> None:
    chunks = plan_requests(CURVE, date(2020, 1, 1), date(2024, 11, 1), TODAY)
    assert chunks[0].start == date(2024, 10, 26)
    assert chunks[-1].end == date(2024, 11, 1)
    assert plan_requests(CURVE, date(2020, 1, 1), date(2024, 10, 26), TODAY) == []
    assert plan_requests(DAILY, date(2020, 1, 1), date(2023, 10, 27), TODAY) == [
        DateRange(date(2023, 10, 26), date(2023, 10, 27))
    ]


def test_today_clamp() -> None:
    assert plan_requests(DAILY, date(2026, 10, 20), date(2026, 12, 1), TODAY) == [
        DateRange(date(2026, 10, 20), TODAY)
    ]
    assert plan_requests(DAILY, TODAY, TODAY + timedelta(days=3), TODAY) == []
    assert plan_requests(DAILY, TODAY - timedelta(days=1), TODAY + timedelta(days=1), TODAY) == [
        DateRange(TODAY - timedelta(days=1), TODAY)
    ]


@pytest.mark.parametrize(
    ("start", "end"),
    [(TODAY - timedelta(days=3), TODAY - timedelta(days=3)), (TODAY, TODAY - timedelta(days=9))],
)
def test_never_start_equal_end(start: date, end: date) -> None:
    assert plan_requests(CURVE, start, end, TODAY) == []


def test_no_chunk_ever_has_start_equal_end() -> None:
    for days in range(1, 30):
        chunks = plan_requests(CURVE, TODAY - timedelta(days=days), TODAY, TODAY)
        assert all(c.start < c.end for c in chunks)
        assert sum(c.days for c in chunks) == days
        assert len(chunks) == -(-days // 7)


def test_newest_first_is_the_reverse_order() -> None:
    oldest_first = plan_requests(CURVE, date(2026, 9, 1), TODAY, TODAY)
    newest_first = plan_requests(CURVE, date(2026, 9, 1), TODAY, TODAY, newest_first=True)
    assert newest_first == oldest_first[::-1]
    assert newest_first[0] == DateRange(TODAY - timedelta(days=7), TODAY)


def test_dst_days_are_plain_dates() -> None:
    today = date(2026, 11, 15)
    chunks = plan_requests(CURVE, date(2026, 10, 22), date(2026, 10, 29), today)
    assert chunks == [DateRange(date(2026, 10, 22), date(2026, 10, 29))]
    chunks = plan_requests(DAILY, date(2026, 3, 28), date(2026, 3, 31), today)
    assert chunks == [DateRange(date(2026, 3, 28), date(2026, 3, 31))]
