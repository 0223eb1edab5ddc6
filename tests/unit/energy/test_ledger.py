"""The statistics ledger and its write plans, checked against a simulated recorder.

`FakeRecorder` behaves like Home Assistant's recorder for external statistics: rows are
upserted by start, and an adjustment adds its delta to the sum of every row with
`start >= adjustment.start`; the plan is executed in FIFO order (adjustments, then rows).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta, timezone
from fractions import Fraction
from itertools import accumulate
import json
import math
import random

import pytest

from custom_components.linky.energy.hourly import day_hours, local_day_bounds
from custom_components.linky.energy.ledger import (
    Adjustment,
    DayData,
    DayRecord,
    Resolution,
    Row,
    SeriesLedger,
    WritePlan,
    check_rows,
    plan_write,
    rebuild_rows,
)
from custom_components.linky.localtime import PARIS

SPRING = date(2026, 3, 29)  # 23 hours
AUTUMN = date(2026, 10, 25)  # 25 hours
DAILY = Resolution.DAILY
HOURLY = Resolution.HOURLY


class FakeRecorder:
    """Rows of one statistic: start -> (state kWh, sum kWh)."""

    def __init__(self) -> None:
        self.rows: dict[datetime, tuple[float, float]] = {}

    def execute(self, plan: WritePlan) -> None:
        """Run the adjustments, then upsert the rows, as the recorder queue does."""
        for adjustment in plan.adjustments:
            for start, (state, total) in self.rows.items():
                if start >= adjustment.start:
                    self.rows[start] = (state, total + adjustment.delta_kwh)
        for row in plan.rows:
            self.rows[row.start] = (row.state_kwh, row.sum_kwh)

    def assert_exact(self, *, exact: bool = False) -> None:
        """Every sum is the total of the states up to its row (1e-6 kWh); no step goes down.

        The running total of the states is a float sum by default (its error, below 1e-9 kWh
        here, is far under the tolerance) and a rational, exact one with `exact`.
        """
        starts = sorted(self.rows)
        states = [self.rows[start][0] for start in starts]
        sums = [self.rows[start][1] for start in starts]
        totals = accumulate(map(Fraction, states)) if exact else accumulate(states)
        for start, total, expected, previous in zip(
            starts, sums, totals, [0.0, *sums], strict=False
        ):
            assert abs(total - float(expected)) <= 1e-6, (start, total, float(expected))
            assert total - previous >= -1e-9, (start, total, previous)

    def by_day(self) -> dict[date, dict[datetime, float]]:
        """Stored states grouped by local day, days and rows in start order."""
        days: defaultdict[date, dict[datetime, float]] = defaultdict(dict)
        for start in sorted(self.rows):
            days[start.astimezone(PARIS).date()][start] = self.rows[start][0]
        return dict(days)

    def assert_matches(self, ledger: SeriesLedger) -> None:
        """The ledger describes exactly what is stored: days, rows, totals, resolutions."""
        self.assert_exact(exact=True)
        stored = self.by_day()
        assert list(stored) == ledger.days()
        for day, states in stored.items():
            record = ledger.get(day)
            assert record is not None
            expected = day_hours(day) if record.resolution is HOURLY else day_hours(day)[:1]
            assert list(states) == expected, day
            assert abs(math.fsum(states.values()) * 1000 - record.total_wh) <= 1e-6, day
        if self.rows:
            last_sum = self.rows[max(self.rows)][1]
            assert last_sum * 1000 == pytest.approx(ledger.total_wh, abs=1e-6)


def hourly(day: date, wh: float | list[float] = 100.0) -> DayData:
    """An HOURLY day with `wh` in every hour (or these values, hour by hour)."""
    hours = day_hours(day)
    values = wh if isinstance(wh, list) else [wh] * len(hours)
    return DayData.hourly(day, dict(zip(hours, values, strict=True)))


def days_from(start: date, count: int) -> list[date]:
    """`count` consecutive days from `start`."""
    return [start + timedelta(days=i) for i in range(count)]


def write(recorder: FakeRecorder, ledger: SeriesLedger, days: list[DayData]) -> WritePlan:
    """Plan, execute and check one write; return the plan."""
    plan = plan_write(ledger, days)
    recorder.execute(plan)
    recorder.assert_matches(plan.ledger_after)
    assert [row.start for row in plan.rows] == sorted({row.start for row in plan.rows})
    assert plan.adjustments == sorted(plan.adjustments, key=lambda a: a.start)
    return plan


# DayData


def test_daily_day_is_one_row_at_local_midnight() -> None:
    """A DAILY day is keyed by the UTC instant of its local midnight."""
    data = DayData.daily(date(2026, 7, 14), 12345.0)
    assert dict(data.hours) == {datetime(2026, 7, 13, 22, tzinfo=UTC): 12345.0}
    assert data.resolution is DAILY
    assert data.total_wh == 12345.0


@pytest.mark.parametrize("day", [SPRING, AUTUMN, date(2026, 1, 15)])
def test_hourly_day_normalises_keys_to_utc(day: date) -> None:
    """HOURLY keys may be given with any fixed offset; they are stored in UTC, sorted."""
    # Fixed offsets, as the client returns them: ZoneInfo keys would merge the two repeated
    # October hours, which Python compares (and hashes) as equal.
    hours = {h.astimezone(timezone(h.astimezone(PARIS).utcoffset())): 1.0 for h in day_hours(day)}
    hours = dict(reversed(hours.items()))
    data = DayData.hourly(day, hours)
    assert list(data.hours) == day_hours(day)
    assert all(h.tzinfo is UTC for h in data.hours)
    assert data.total_wh == len(day_hours(day))


@pytest.mark.parametrize(
    ("day", "hours"),
    [
        pytest.param(AUTUMN, day_hours(AUTUMN)[:24], id="missing-hour"),
        pytest.param(SPRING, [*day_hours(SPRING), local_day_bounds(SPRING)[1]], id="extra-hour"),
        pytest.param(SPRING, day_hours(date(2026, 1, 15)), id="other-day"),
        pytest.param(
            SPRING, [h + timedelta(minutes=30) for h in day_hours(SPRING)], id="not-hour-starts"
        ),
    ],
)
def test_hourly_day_must_have_exactly_the_day_hours(day: date, hours: list[datetime]) -> None:
    """An HOURLY day must hold every hour of its local day and nothing else."""
    with pytest.raises(ValueError, match="do not match"):
        DayData.hourly(day, dict.fromkeys(hours, 1.0))


def test_daily_day_must_be_keyed_by_local_midnight() -> None:
    """A DAILY day built by hand with another key is refused."""
    with pytest.raises(ValueError, match="do not match"):
        DayData(SPRING, DAILY, {day_hours(SPRING)[1]: 1.0})


@pytest.mark.parametrize("wh", [-1.0, math.nan, math.inf])
def test_day_energy_must_be_finite_and_not_negative(wh: float) -> None:
    """A negative or non-finite energy would break every later sum: refused."""
    with pytest.raises(ValueError, match="negative or not finite"):
        DayData.daily(SPRING, wh)


# SeriesLedger


def sample_ledger() -> SeriesLedger:
    return SeriesLedger(
        {
            date(2026, 1, 3): DayRecord(300.0, HOURLY),
            date(2026, 1, 1): DayRecord(100.0, DAILY),
            date(2026, 1, 5): DayRecord(500.5, DAILY),
        }
    )


def test_ledger_queries() -> None:
    """Days are sorted; totals and prefix sums follow the stored days."""
    ledger = sample_ledger()
    assert ledger.days() == [date(2026, 1, 1), date(2026, 1, 3), date(2026, 1, 5)]
    assert (ledger.first_day, ledger.last_day) == (date(2026, 1, 1), date(2026, 1, 5))
    assert len(ledger) == 3
    assert date(2026, 1, 3) in ledger
    assert date(2026, 1, 2) not in ledger
    assert ledger.get(date(2026, 1, 3)) == DayRecord(300.0, HOURLY)
    assert ledger.get(date(2026, 1, 2)) is None
    assert ledger.total_wh == 900.5
    assert [ledger.cumulative_wh_before(date(2026, 1, d)) for d in range(1, 8)] == [
        0.0,
        100.0,
        100.0,
        400.0,
        400.0,
        900.5,
        900.5,
    ]
    assert ledger.cumulative_wh_before(date(2025, 12, 31)) == 0.0


def test_empty_ledger() -> None:
    """An empty ledger has no days and a zero total."""
    ledger = SeriesLedger()
    assert (ledger.first_day, ledger.last_day, ledger.total_wh) == (None, None, 0.0)
    assert ledger.cumulative_wh_before(SPRING) == 0.0
    assert ledger.missing_days(date(2026, 1, 1), date(2026, 1, 3)) == [
        date(2026, 1, 1),
        date(2026, 1, 2),
    ]


def test_missing_days_and_days_with_resolution() -> None:
    """Both work on the half-open range [start, end)."""
    ledger = sample_ledger()
    assert ledger.missing_days(date(2026, 1, 1), date(2026, 1, 7)) == [
        date(2026, 1, 2),
        date(2026, 1, 4),
        date(2026, 1, 6),
    ]
    assert ledger.missing_days(date(2026, 1, 3), date(2026, 1, 3)) == []
    assert ledger.days_with_resolution(DAILY, date(2026, 1, 1), date(2026, 1, 6)) == [
        date(2026, 1, 1),
        date(2026, 1, 5),
    ]
    assert ledger.days_with_resolution(DAILY, date(2026, 1, 2), date(2026, 1, 5)) == []
    assert ledger.days_with_resolution(HOURLY, date(2026, 1, 1), date(2026, 1, 3)) == []
    assert ledger.days_with_resolution(HOURLY, date(2026, 1, 3), date(2026, 1, 4)) == [
        date(2026, 1, 3)
    ]


def test_ledger_round_trips_through_json() -> None:
    """`as_dict` is compact JSON; `from_dict` restores the same ledger."""
    ledger = sample_ledger()
    data = ledger.as_dict()
    assert data == {
        "2026-01-01": [100.0, "d"],
        "2026-01-03": [300.0, "h"],
        "2026-01-05": [500.5, "d"],
    }
    restored = SeriesLedger.from_dict(json.loads(json.dumps(data)))
    assert restored.as_dict() == data
    assert restored.get(date(2026, 1, 3)) == DayRecord(300.0, HOURLY)
    assert restored.cumulative_wh_before(date(2026, 1, 5)) == 400.0
    assert SeriesLedger.from_dict({"2026-01-01": [100, "h"]}).get(date(2026, 1, 1)) == DayRecord(
        100.0, HOURLY
    )


@pytest.mark.parametrize(
    "data",
    [
        {"2026-01-01": [100.0, "x"]},
        {"2026-01-01": [100.0]},
        {"2026-01-01": ["100", "d"]},
        {"2026-01-01": [True, "d"]},
        {"2026-01-01": [math.nan, "d"]},
        {"2026-01-01": "100 d"},
        {"yesterday": [100.0, "d"]},
    ],
)
def test_ledger_from_dict_rejects_malformed_data(data: dict[str, object]) -> None:
    """Corrupted storage is an error, never a silently wrong ledger."""
    with pytest.raises(ValueError):  # noqa: PT011 - date.fromisoformat has its own message
        SeriesLedger.from_dict(data)


# plan_write: single scenarios


def test_first_daily_day() -> None:
    """One DAILY day on an empty series: one row, sum = state, nothing to adjust."""
    recorder = FakeRecorder()
    plan = write(recorder, SeriesLedger(), [DayData.daily(SPRING, 1500.0)])
    assert plan.rows == [Row(local_day_bounds(SPRING)[0], 1.5, 1.5)]
    assert plan.adjustments == []
    assert plan.written_days == [SPRING]
    assert plan.ledger_after.as_dict() == {"2026-03-29": [1500.0, "d"]}


def test_input_ledger_is_not_mutated() -> None:
    """plan_write returns a new ledger."""
    ledger = sample_ledger()
    before = ledger.as_dict()
    plan = plan_write(ledger, [DayData.daily(date(2026, 1, 2), 42.0), hourly(date(2026, 1, 3))])
    assert ledger.as_dict() == before
    assert plan.ledger_after is not ledger
    assert plan.ledger_after.get(date(2026, 1, 2)) == DayRecord(42.0, DAILY)


def test_hourly_dst_days_write_23_and_25_rows() -> None:
    """HOURLY DST days write one row per UTC hour; sums run across both days."""
    recorder = FakeRecorder()
    plan = write(recorder, SeriesLedger(), [hourly(AUTUMN, 10.0), hourly(SPRING, 10.0)])
    assert len(plan.rows) == 23 + 25
    assert plan.written_days == [SPRING, AUTUMN]
    assert plan.rows[-1].sum_kwh == pytest.approx(48 * 0.01)
    assert plan.ledger_after.get(AUTUMN) == DayRecord(250.0, HOURLY)


def test_daily_then_hourly_upgrade_overwrites_the_daily_row() -> None:
    """A DAILY day becoming HOURLY leaves no stale row, and later days are re-anchored."""
    recorder = FakeRecorder()
    days = days_from(date(2026, 3, 27), 5)  # includes SPRING
    ledger = write(recorder, SeriesLedger(), [DayData.daily(d, 1000.0) for d in days]).ledger_after
    old_row = local_day_bounds(SPRING)[0]
    plan = write(recorder, ledger, [hourly(SPRING, [float(i) for i in range(23)])])
    assert plan.rows[0].start == old_row
    assert [row.start for row in plan.rows] == day_hours(SPRING)
    assert plan.adjustments == [Adjustment(local_day_bounds(SPRING)[1], (253.0 - 1000.0) / 1000)]
    assert plan.ledger_after.get(SPRING) == DayRecord(253.0, HOURLY)
    assert len(recorder.rows) == 4 + 23
    assert recorder.rows[local_day_bounds(days[-1])[0]][1] == pytest.approx(3.253 + 1.0)


def test_same_total_upgrade_still_writes_the_hours() -> None:
    """DAILY to HOURLY with the same total: the hours are written, no adjustment needed."""
    recorder = FakeRecorder()
    ledger = write(recorder, SeriesLedger(), [DayData.daily(SPRING, 2300.0)]).ledger_after
    plan = write(recorder, ledger, [hourly(SPRING, 100.0)])
    assert len(plan.rows) == 23
    assert plan.adjustments == []


def test_hourly_then_daily_is_ignored() -> None:
    """A DAILY day never replaces a stored HOURLY day, even with another total."""
    recorder = FakeRecorder()
    ledger = write(recorder, SeriesLedger(), [hourly(SPRING)]).ledger_after
    plan = write(recorder, ledger, [DayData.daily(SPRING, 99.0)])
    assert (plan.rows, plan.adjustments, plan.written_days) == ([], [], [])
    assert plan.ledger_after.as_dict() == ledger.as_dict()


def test_hourly_wins_over_daily_in_the_same_batch() -> None:
    """In one batch, a DAILY after an HOURLY of the same day is ignored too."""
    plan = plan_write(SeriesLedger(), [hourly(SPRING), DayData.daily(SPRING, 5.0)])
    assert plan.ledger_after.get(SPRING) == DayRecord(2300.0, HOURLY)
    assert len(plan.rows) == 23


def test_later_duplicate_wins_in_the_same_batch() -> None:
    """The same day twice in a batch: the later one is what gets written."""
    plan = plan_write(SeriesLedger(), [DayData.daily(SPRING, 5.0), DayData.daily(SPRING, 7.0)])
    assert plan.rows == [Row(local_day_bounds(SPRING)[0], 0.007, 0.007)]
    stored = plan_write(SeriesLedger(), [hourly(SPRING, 1.0)]).ledger_after
    plan = plan_write(stored, [hourly(SPRING, 2.0), hourly(SPRING, 1.0)])
    assert plan.written_days == []


def test_reimport_is_idempotent() -> None:
    """A second plan of the same data writes nothing."""
    recorder = FakeRecorder()
    data = [hourly(SPRING), DayData.daily(date(2026, 3, 30), 1234.5), hourly(AUTUMN, 3.3)]
    ledger = write(recorder, SeriesLedger(), data).ledger_after
    plan = plan_write(ledger, data)
    assert (plan.rows, plan.adjustments, plan.written_days) == ([], [], [])
    assert plan.ledger_after.as_dict() == ledger.as_dict()


def test_corrected_totals_are_rewritten() -> None:
    """A different total (beyond 1e-6 Wh) rewrites a day of the same resolution."""
    ledger = plan_write(SeriesLedger(), [hourly(SPRING, 1.0)]).ledger_after
    assert plan_write(ledger, [hourly(SPRING, 1.0 + 1e-9)]).written_days == []
    assert plan_write(ledger, [hourly(SPRING, 1.001)]).written_days == [SPRING]
    daily = plan_write(SeriesLedger(), [DayData.daily(SPRING, 10.0)]).ledger_after
    assert plan_write(daily, [DayData.daily(SPRING, 11.0)]).written_days == [SPRING]


def test_hourly_with_the_same_total_is_not_rewritten() -> None:
    """The ledger keeps totals only: moved energy with an equal total is not detected."""
    ledger = plan_write(SeriesLedger(), [hourly(SPRING, 1.0)]).ledger_after
    moved = [2.0, 0.0] + [1.0] * 21
    assert plan_write(ledger, [hourly(SPRING, moved)]).written_days == []


def test_late_day_in_the_middle_reanchors_later_rows() -> None:
    """A day inserted between stored days shifts every later sum by its total."""
    recorder = FakeRecorder()
    days = days_from(date(2026, 10, 20), 10)
    late = days[4]
    ledger = write(
        recorder, SeriesLedger(), [hourly(d, 10.0) for d in days if d != late]
    ).ledger_after
    last_row = max(recorder.rows)
    before = recorder.rows[last_row][1]
    plan = write(recorder, ledger, [DayData.daily(late, 7000.0)])
    assert plan.adjustments == [Adjustment(local_day_bounds(late)[1], 7.0)]
    assert plan.rows == [
        Row(local_day_bounds(late)[0], 7.0, pytest.approx(4 * 0.24 + 7.0))  # type: ignore[arg-type]
    ]
    assert recorder.rows[last_row][1] == pytest.approx(before + 7.0)
    assert plan.ledger_after.missing_days(days[0], days[-1]) == []


def test_appending_new_days_needs_no_adjustment() -> None:
    """Days after the last stored one only add rows."""
    recorder = FakeRecorder()
    ledger = write(recorder, SeriesLedger(), [hourly(SPRING)]).ledger_after
    plan = write(recorder, ledger, [hourly(d) for d in days_from(SPRING + timedelta(1), 3)])
    assert plan.adjustments == []
    assert plan.rows[0].sum_kwh == pytest.approx(2.3 + 0.1)


def test_adjustments_are_coalesced_per_run_of_written_days() -> None:
    """One adjustment per run of written days followed by an unwritten stored day."""
    recorder = FakeRecorder()
    stored = [date(2026, 1, d) for d in (10, 11, 20)]
    ledger = write(recorder, SeriesLedger(), [DayData.daily(d, 100.0) for d in stored]).ledger_after
    batch = [DayData.daily(date(2026, 1, d), float(d)) for d in (1, 2, 3, 11, 15, 25)]
    plan = write(recorder, ledger, batch)
    assert plan.adjustments == [
        Adjustment(local_day_bounds(date(2026, 1, 3))[1], 0.006),  # before Jan 10
        Adjustment(local_day_bounds(date(2026, 1, 15))[1], pytest.approx(-0.089 + 0.015)),  # type: ignore[arg-type]
    ]
    assert plan.written_days == [date(2026, 1, d) for d in (1, 2, 3, 11, 15, 25)]


def test_changes_that_cancel_out_need_no_adjustment() -> None:
    """+x on one day and -x on the next, with a stored day after: nothing to shift."""
    recorder = FakeRecorder()
    days = days_from(SPRING, 3)
    ledger = write(recorder, SeriesLedger(), [DayData.daily(d, 100.0) for d in days]).ledger_after
    plan = write(recorder, ledger, [DayData.daily(days[0], 150.0), DayData.daily(days[1], 50.0)])
    assert plan.adjustments == []
    assert len(plan.rows) == 2


def test_backfill_newest_first_over_two_years() -> None:
    """Hourly then daily history fetched week by week backwards, then daily days upgraded."""
    rng = random.Random(2026)  # noqa: S311 - reproducible test data
    recorder = FakeRecorder()
    ledger = SeriesLedger()
    today = date(2026, 11, 1)
    all_days = days_from(today - timedelta(days=730), 730)
    truth = {d: [rng.uniform(0, 2000) for _ in day_hours(d)] for d in all_days}
    hourly_from = today - timedelta(days=365)
    for end in range(len(all_days), 0, -7):
        week = all_days[max(0, end - 7) : end]
        data = [
            hourly(d, truth[d]) if d >= hourly_from else DayData.daily(d, math.fsum(truth[d]))
            for d in week
        ]
        plan = plan_write(ledger, data)
        assert len(plan.adjustments) <= 1
        recorder.execute(plan)
        ledger = plan.ledger_after
    recorder.assert_matches(ledger)
    assert ledger.missing_days(all_days[0], today) == []
    assert ledger.days_with_resolution(HOURLY, all_days[0], today) == all_days[-365:]
    assert len(recorder.rows) == 365 + sum(len(day_hours(d)) for d in all_days[-365:])
    # Older hourly history arrives later, newest first too.
    for end in range(365, 0, -7):
        week = all_days[max(0, end - 7) : end]
        plan = plan_write(ledger, [hourly(d, truth[d]) for d in week])
        assert plan.written_days == week
        recorder.execute(plan)
        ledger = plan.ledger_after
    recorder.assert_matches(ledger)
    assert ledger.days_with_resolution(DAILY, all_days[0], today) == []
    assert ledger.total_wh == pytest.approx(math.fsum(math.fsum(v) for v in truth.values()))


# plan_write: random order property


def test_random_writes_in_random_order_stay_exact() -> None:
    """1000 random batches (DST days, corrections, re-sends, mixed resolutions) stay exact."""
    rng = random.Random(1234)  # noqa: S311 - reproducible test data
    days = days_from(date(2026, 3, 20), 20) + days_from(date(2026, 10, 18), 20)
    variants = {
        d: [[round(rng.uniform(0, 900), 1) for _ in day_hours(d)] for _ in range(3)] for d in days
    }
    recorder = FakeRecorder()
    ledger = SeriesLedger()
    expected: dict[date, tuple[Resolution, list[float]]] = {}
    for _ in range(1000):
        batch: list[DayData] = []
        for day in rng.sample(days, rng.randint(1, 6)):
            values = rng.choice(variants[day])
            if rng.random() < 0.5:
                batch.append(hourly(day, values))
            else:
                batch.append(DayData.daily(day, math.fsum(values)))
        for data in batch:
            kept = expected.get(data.day)
            values = list(data.hours.values())
            if kept is not None and kept[0] is HOURLY:
                if data.resolution is DAILY:
                    continue
                if abs(math.fsum(kept[1]) - math.fsum(values)) <= 1e-6:
                    continue
            expected[data.day] = (data.resolution, values)
        plan = plan_write(ledger, batch)
        recorder.execute(plan)
        ledger = plan.ledger_after
        recorder.assert_exact()
    recorder.assert_matches(ledger)
    assert sorted(expected) == ledger.days()
    stored = recorder.by_day()
    for day, (resolution, values) in expected.items():
        assert ledger.get(day) == DayRecord(pytest.approx(math.fsum(values)), resolution)  # type: ignore[arg-type]
        states = list(stored[day].values())
        assert [s * 1000 for s in states] == pytest.approx(values, abs=1e-9)


# rebuild_rows


def test_rebuild_rows_recomputes_sums_from_states() -> None:
    """Sums are rebuilt from the states alone, in start order, in UTC."""
    hours = day_hours(AUTUMN)
    states = [(h.astimezone(PARIS), 0.25 * i) for i, h in enumerate(hours)]
    rng = random.Random(7)  # noqa: S311 - reproducible test data
    rng.shuffle(states)
    rows = rebuild_rows(states)
    assert [row.start for row in rows] == hours
    assert all(row.start.tzinfo is UTC for row in rows)
    assert [row.state_kwh for row in rows] == [0.25 * i for i in range(25)]
    assert [row.sum_kwh for row in rows] == [0.25 * i * (i + 1) / 2 for i in range(25)]
    assert rebuild_rows([]) == []


def test_rebuild_rows_heals_a_corrupted_recorder() -> None:
    """After a lost adjustment, writing the rebuilt rows makes every sum exact again."""
    recorder = FakeRecorder()
    ledger = write(recorder, SeriesLedger(), [hourly(d) for d in days_from(SPRING, 3)]).ledger_after
    start = day_hours(SPRING + timedelta(1))[5]
    recorder.rows[start] = (recorder.rows[start][0], 123.0)
    with pytest.raises(AssertionError):
        recorder.assert_exact()
    states = [(s, state) for s, (state, _) in recorder.rows.items()]
    recorder.execute(WritePlan(rebuild_rows(states), [], ledger, []))
    recorder.assert_matches(ledger)


def test_rebuild_rows_rejects_duplicate_starts() -> None:
    """Two rows with the same instant (in any zone) cannot both be stored."""
    start = day_hours(SPRING)[0]
    with pytest.raises(ValueError, match="two rows"):
        rebuild_rows([(start, 1.0), (start.astimezone(PARIS), 2.0)])


def test_days_dropped_by_the_retention_keep_every_later_sum() -> None:
    """The recorder deletes the oldest days (the data-retention option); the ledger drops
    them too and keeps their energy as its base: later writes, late days included, give sums
    that continue the stored ones exactly, and the chain check agrees with what is left."""
    recorder = FakeRecorder()
    start = date(2026, 3, 20)
    ledger = write(
        recorder,
        SeriesLedger(),
        [hourly(day, 50.0 + i) for i, day in enumerate(days_from(start, 20))],
    ).ledger_after
    cut = start + timedelta(days=10)
    kept = ledger.drop_before(cut)
    recorder.rows = {s: v for s, v in recorder.rows.items() if s >= local_day_bounds(cut)[0]}
    assert kept.days() == days_from(cut, 10)
    assert kept.base_wh == pytest.approx(ledger.cumulative_wh_before(cut))
    assert kept.total_wh == pytest.approx(ledger.total_wh)
    assert SeriesLedger.from_dict(json.loads(json.dumps(kept.as_dict()))).base_wh == kept.base_wh
    rows = [(s, state, total) for s, (state, total) in sorted(recorder.rows.items())]
    assert check_rows(rows, kept) is None
    assert check_rows(rows, SeriesLedger({d: kept.get(d) for d in kept.days()})) is not None  # type: ignore[misc]

    late = [hourly(start + timedelta(days=12), 70.0), hourly(start + timedelta(days=25), 40.0)]
    plan = plan_write(kept, late)
    recorder.execute(plan)
    rows = [(s, state, total) for s, (state, total) in sorted(recorder.rows.items())]
    assert check_rows(rows, plan.ledger_after) is None
