"""What is stored in one statistics series, and exact plans to write more. No HA import.

A series (`linky:<pdl>_consumption`, `linky:<pdl>_production`) holds hourly rows keyed by UTC
hour start, each with `state` (energy of that hour) and `sum` (all stored states up to and
including that row). A local day is stored either DAILY (one row at the UTC hour of its local
midnight, holding the day total) or HOURLY (one row per UTC hour of the local day).

`SeriesLedger` remembers, per stored day, its total and resolution; that is enough to know the
sum before any day (the prefix total of the earlier days). `plan_write` turns incoming days
into a `WritePlan` that the recorder executes in FIFO order: first the adjustments (each adds
`delta` to the sum of every row with `start >=` its start), then the rows (upserted by start).

Why the result is exact, whatever the order the days arrive in:

- A row of a day that the plan does not write keeps its state. Its sum was the prefix total of
  the days before it plus its own day's partial sum. Every written day before it changed the
  prefix by `new - old`; the adjustments add exactly the sum of those changes to it, because an
  adjustment starts at the end of a written day (the next local midnight) and days are
  disjoint, so an earlier day always ends at or before any row of a later day.
- A row of a written day is upserted with an absolute sum computed from the ledger as it is
  after the plan, so whatever adjustments touched its old value first do not matter.
- A written day leaves no stale row behind. A rewritten DAILY or HOURLY day writes the same
  hours as before. A DAILY day that becomes HOURLY had one row at local midnight, which is the
  first hour of the new rows: it is overwritten, the other hours are inserted, nothing is left
  to delete. The reverse (HOURLY to DAILY) would leave stale hours, so it is never planned: a
  DAILY day never replaces an HOURLY one.

Adjustments are coalesced: the changes of written days with no unwritten stored day between
them are applied once, at the end of the last of them, and a change followed by no unwritten
stored day is not applied at all (only overwritten rows would see it). So a back-fill batch
of older days costs one adjustment, not one per day.

All maths is in Wh floats; only `Row` is in kWh. Sums are computed from prefix totals of the
ledger, never by adding deltas over successive plans, so float errors do not accumulate.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from itertools import accumulate
import math
from types import MappingProxyType

from ..localtime import local_date
from .hourly import day_hours, local_day_bounds

# Two totals closer than this are the same day total.
SAME_TOTAL_WH = 1e-6
# Sums are rounded to this many decimals of kWh (1 mWh / 1000), far below any meter resolution.
SUM_DECIMALS = 9


class Resolution(StrEnum):
    """How a local day is stored."""

    DAILY = "daily"
    HOURLY = "hourly"


_CODES: dict[Resolution, str] = {Resolution.DAILY: "d", Resolution.HOURLY: "h"}
_RESOLUTIONS: dict[str, Resolution] = {code: res for res, code in _CODES.items()}
_BASE_KEY = "base"


@dataclass(frozen=True, slots=True)
class DayData:
    """Energy of one local day to store: Wh per UTC hour start.

    DAILY: exactly one key, the day's local midnight in UTC. HOURLY: exactly the day's UTC
    hours (`day_hours(day)`). Keys are normalised to UTC and sorted; build them in UTC (or
    with fixed offsets): Python hashes and compares the two repeated October hours of one
    ZoneInfo as equal, so a mapping keyed by Europe/Paris ZoneInfo times loses one. Values
    must be finite and not negative (a negative state would make the sum go down).
    """

    day: date
    resolution: Resolution
    hours: Mapping[datetime, float]

    def __post_init__(self) -> None:
        """Validate and normalise `hours`; raise ValueError when they do not fit the day."""
        hours = dict(sorted((hour.astimezone(UTC), wh) for hour, wh in self.hours.items()))
        if self.resolution is Resolution.HOURLY:
            expected = day_hours(self.day)
        else:
            expected = [local_day_bounds(self.day)[0]]
        if list(hours) != expected:
            raise ValueError(f"{self.resolution} hours do not match the local day {self.day}")
        if not all(math.isfinite(wh) and wh >= 0 for wh in hours.values()):
            raise ValueError(f"energy of {self.day} is negative or not finite")
        object.__setattr__(self, "hours", MappingProxyType(hours))

    @classmethod
    def daily(cls, day: date, wh: float) -> DayData:
        """A day known by its total only."""
        return cls(day, Resolution.DAILY, {local_day_bounds(day)[0]: wh})

    @classmethod
    def hourly(cls, day: date, hours: Mapping[datetime, float]) -> DayData:
        """A day known hour by hour (see `hourly.complete_day_hours`)."""
        return cls(day, Resolution.HOURLY, hours)

    @property
    def total_wh(self) -> float:
        """The day total in Wh."""
        return math.fsum(self.hours.values())


@dataclass(frozen=True, slots=True)
class DayRecord:
    """What the ledger knows about a stored day."""

    total_wh: float
    resolution: Resolution


class SeriesLedger:
    """The stored days of one statistics series: total Wh and resolution per local day.

    Immutable: `plan_write` returns a new ledger. Prefix totals are computed once, so
    `cumulative_wh_before` is a binary search. `base_wh` is the sum before the first stored
    day: 0, unless older days were deleted (the data-retention option, `drop_before`), whose
    energy the stored sums still count.
    """

    __slots__ = ("_days", "_prefix", "_records", "base_wh")

    def __init__(
        self, records: Mapping[date, DayRecord] | None = None, base_wh: float = 0.0
    ) -> None:
        """Build a ledger from per-day records (any order)."""
        self._records = dict(sorted((records or {}).items()))
        self._days = list(self._records)
        self.base_wh = base_wh
        self._prefix = list(
            accumulate((r.total_wh for r in self._records.values()), initial=base_wh)
        )

    def __len__(self) -> int:
        """Number of stored days."""
        return len(self._days)

    def __contains__(self, day: object) -> bool:
        """Whether `day` is stored."""
        return day in self._records

    def __repr__(self) -> str:
        """Short description (the days can be many)."""
        return f"SeriesLedger({len(self)} days, {self.first_day} .. {self.last_day})"

    def get(self, day: date) -> DayRecord | None:
        """The record of `day`, or None if it is not stored."""
        return self._records.get(day)

    def days(self) -> list[date]:
        """Stored days, oldest first."""
        return list(self._days)

    @property
    def total_wh(self) -> float:
        """Total of all stored days: the sum of the last stored row."""
        return self._prefix[-1]

    @property
    def first_day(self) -> date | None:
        """Oldest stored day."""
        return self._days[0] if self._days else None

    @property
    def last_day(self) -> date | None:
        """Newest stored day."""
        return self._days[-1] if self._days else None

    def cumulative_wh_before(self, day: date) -> float:
        """Total of the stored days before `day`: the sum just before the day's first row."""
        return self._prefix[bisect_left(self._days, day)]

    def missing_days(self, start: date, end: date) -> list[date]:
        """Days of [start, end) without any record, oldest first."""
        return [
            day
            for day in (date.fromordinal(n) for n in range(start.toordinal(), end.toordinal()))
            if day not in self._records
        ]

    def days_with_resolution(self, resolution: Resolution, start: date, end: date) -> list[date]:
        """Stored days of [start, end) with `resolution`, oldest first."""
        window = self._days[bisect_left(self._days, start) : bisect_left(self._days, end)]
        return [day for day in window if self._records[day].resolution is resolution]

    def drop_before(self, day: date) -> SeriesLedger:
        """The ledger once the days before `day` are deleted from the recorder: their
        energy becomes the base of the later sums (which do not change)."""
        index = bisect_left(self._days, day)
        kept = {d: self._records[d] for d in self._days[index:]}
        return SeriesLedger(kept, self._prefix[index])

    def as_dict(self) -> dict[str, list[float | str] | float]:
        """JSON-serialisable form: `{"2026-01-01": [12345.0, "h"], ...}`, and `"base"`
        when older days were deleted."""
        data: dict[str, list[float | str] | float] = {
            day.isoformat(): [record.total_wh, _CODES[record.resolution]]
            for day, record in self._records.items()
        }
        if self.base_wh:
            data[_BASE_KEY] = self.base_wh
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> SeriesLedger:
        """Inverse of `as_dict`; raise ValueError on malformed data."""
        records: dict[date, DayRecord] = {}
        base = data.get(_BASE_KEY, 0.0)
        if not isinstance(base, int | float) or isinstance(base, bool) or not math.isfinite(base):
            raise ValueError(f"malformed ledger base {base!r}")
        for key, value in data.items():
            if key == _BASE_KEY:
                continue
            match value:
                case [int() | float() as total, str() as code] if (
                    code in _RESOLUTIONS and not isinstance(total, bool) and math.isfinite(total)
                ):
                    records[date.fromisoformat(key)] = DayRecord(float(total), _RESOLUTIONS[code])
                case _:
                    raise ValueError(f"malformed ledger entry {key!r}: {value!r}")
        return cls(records, float(base))

    def _has_days_between(self, after: date, before: date | None) -> bool:
        """Whether a day strictly between `after` and `before` (None: no bound) is stored."""
        end = len(self._days) if before is None else bisect_left(self._days, before)
        return bisect_right(self._days, after) < end

    def _replaced(self, updates: Mapping[date, DayRecord]) -> SeriesLedger:
        """A new ledger with `updates` replacing or adding records."""
        return SeriesLedger({**self._records, **updates}, self.base_wh)


@dataclass(frozen=True, slots=True)
class Row:
    """One statistics row: UTC hour start, energy of the hour and running sum, in kWh."""

    start: datetime
    state_kwh: float
    sum_kwh: float


@dataclass(frozen=True, slots=True)
class Adjustment:
    """Add `delta_kwh` to the sum of every stored row with `start >=` this start."""

    start: datetime
    delta_kwh: float


@dataclass(frozen=True, slots=True)
class WritePlan:
    """What to send to the recorder, in this order: `adjustments`, then `rows`.

    `ledger_after` is the ledger once both are executed; `written_days` are the days whose
    rows are in `rows`, oldest first.
    """

    rows: list[Row]
    adjustments: list[Adjustment]
    ledger_after: SeriesLedger
    written_days: list[date]


def plan_write(ledger: SeriesLedger, days: Iterable[DayData]) -> WritePlan:
    """Plan the exact write of `days` into the series described by `ledger`.

    A DAILY day never replaces an HOURLY one (stored or earlier in `days`); a day equal to
    what is stored (same resolution, same total within `SAME_TOTAL_WH`) is skipped; when
    `days` holds a day twice, the later one wins. The ledger has totals only, so an HOURLY
    day whose hours changed but whose total did not is not rewritten. `ledger` is not mutated.
    """
    target: dict[date, DayData] = {}
    for data in days:
        previous = target.get(data.day) or ledger.get(data.day)
        if data.resolution is Resolution.DAILY and (
            previous is not None and previous.resolution is Resolution.HOURLY
        ):
            continue
        target[data.day] = data
    written = {
        day: data for day, data in sorted(target.items()) if not _is_stored(ledger.get(day), data)
    }
    after = ledger._replaced(
        {day: DayRecord(data.total_wh, data.resolution) for day, data in written.items()}
    )

    rows: list[Row] = []
    adjustments: list[Adjustment] = []
    pending_wh = 0.0
    written_days = list(written)
    for index, day in enumerate(written_days):
        data = written[day]
        running_wh = after.cumulative_wh_before(day)
        for hour, wh in data.hours.items():
            running_wh += wh
            rows.append(Row(hour, wh / 1000, round(running_wh / 1000, SUM_DECIMALS)))
        old = ledger.get(day)
        pending_wh += data.total_wh - (old.total_wh if old is not None else 0.0)
        following = written_days[index + 1] if index + 1 < len(written_days) else None
        if pending_wh != 0 and ledger._has_days_between(day, following):
            adjustments.append(Adjustment(local_day_bounds(day)[1], pending_wh / 1000))
            pending_wh = 0.0
    return WritePlan(rows, adjustments, after, written_days)


def _is_stored(record: DayRecord | None, data: DayData) -> bool:
    """Whether `record` already stores `data` (same resolution and total)."""
    return (
        record is not None
        and record.resolution is data.resolution
        and abs(record.total_wh - data.total_wh) <= SAME_TOTAL_WH
    )


def rebuild_rows(states: Sequence[tuple[datetime, float]]) -> list[Row]:
    """Recompute every sum from stored `(start, state_kwh)` rows, sorted by start.

    Used to heal a series whose sums disagree with its states. Raises ValueError when two
    rows have the same start.
    """
    rows: list[Row] = []
    running = 0.0
    for start, state in sorted((start.astimezone(UTC), state) for start, state in states):
        if rows and rows[-1].start == start:
            raise ValueError(f"two rows start at {start.isoformat()}")
        running += state
        rows.append(Row(start, state, round(running, SUM_DECIMALS)))
    return rows


def days_from_rows(rows: Iterable[tuple[datetime, float]]) -> list[DayData]:
    """Rebuild day data from stored hourly rows (UTC start, kWh): a day with a single row at
    its local midnight is DAILY, any other stored day is HOURLY (absent hours are zero)."""
    per_day: dict[date, list[tuple[datetime, float]]] = {}
    for start, kwh in rows:
        per_day.setdefault(local_date(start), []).append((start, kwh))
    days: list[DayData] = []
    for day, day_rows in sorted(per_day.items()):
        midnight = local_day_bounds(day)[0]
        if len(day_rows) == 1 and day_rows[0][0] == midnight:
            days.append(DayData.daily(day, day_rows[0][1] * 1000))
        else:
            hours = dict.fromkeys(day_hours(day), 0.0)
            for start, kwh in day_rows:
                hours[start] = kwh * 1000
            days.append(DayData.hourly(day, hours))
    return days


SUM_TOLERANCE_KWH = 1e-4
"""Stored sums are rounded to `SUM_DECIMALS`; two sums closer than this are the same."""


def check_rows(rows: Sequence[tuple[datetime, float, float]], ledger: SeriesLedger) -> str | None:
    """What is wrong with a series' stored rows `(UTC start, state kWh, sum kWh)`, oldest
    first, against its ledger; None when nothing is.

    The whole chain is checked, not only the last sum: every sum must be the previous one
    plus the row's state (from the ledger's base: 0 unless older days were deleted), and the
    stored days must be the ledger's days, with the same resolution and total. A step added
    then taken back later (two writers of one series, an adjustment applied twice) leaves the
    last sum right and is found here.
    """
    previous = ledger.base_wh / 1000
    last: datetime | None = None
    for start, state, total in rows:
        if last is not None and start <= last:
            return f"rows out of order or repeated at {start.isoformat()}"
        if state < 0:
            return f"negative energy at {start.isoformat()}"
        if abs(total - (previous + state)) > SUM_TOLERANCE_KWH:
            return (
                f"sum at {start.isoformat()} is {total:.6f} kWh, "
                f"expected {previous + state:.6f} kWh"
            )
        previous, last = total, start
    stored = {data.day: data for data in days_from_rows([(s, state) for s, state, _ in rows])}
    if set(stored) != set(ledger.days()):
        missing = sorted(set(ledger.days()) - set(stored))
        extra = sorted(set(stored) - set(ledger.days()))
        return f"days missing from the recorder {missing[:3]}, unknown to the ledger {extra[:3]}"
    for day, data in stored.items():
        record = ledger.get(day)
        if record is None or record.resolution is not data.resolution:
            return f"{day.isoformat()} is stored {data.resolution}, the ledger says otherwise"
        if abs(record.total_wh - data.total_wh) > SUM_TOLERANCE_KWH * 1000:
            return f"{day.isoformat()} totals {data.total_wh} Wh, the ledger {record.total_wh}"
    return None
