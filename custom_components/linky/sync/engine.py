"""Per-meter synchronisation engine: what to ask the Conso API, and what to store. No HA import.

One `MeterSync` per config entry. A *run* sends a few requests through the shared request
budget and hands every day it learns to a `StatisticsSink` (the recorder, in Home Assistant)
through the ledger's write plans, so stored sums stay exact whatever order days arrive in.

What a run does, in order, stopping at the first error:

1. First run only: daily history (up to 36 months, newest first, 365-day calls).
2. Daily refresh: the last 7 days of load curve, one call per series (`curve_series`), which
   heals days published late. A load curve that answers "no data" while daily data exists
   means hourly collection is disabled at Enedis: daily values are stored instead (the
   caller raises a repair issue). Then the max power, when due (`capacity.max_power_due`).
3. Back-fill and gap healing (same mechanism, see `gaps.py`): every gap day is fetched in
   7-day load-curve windows (365-day daily windows outside the hourly horizon), newest
   first, while the budget keeps a reserve for the daily runs of every meter. A day that
   still has nothing after three attempts is given up.

Errors end the run with an outcome (`RunStatus`) chosen from the error's kind (`OUTCOMES`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ..atomic import AtomicSteps
from ..conso.errors import (
    BudgetExhaustedError,
    ConsoApiError,
    ConsoApiHistoryLimitError,
    ConsoApiMalformedResponseError,
    ConsoApiNoDataError,
    ConsoApiRateLimitedError,
)
from ..conso.models import DailyEnergy, DateRange, MaxPower, MeasureType
from ..conso.parsing import LoadCurve
from ..conso.planner import plan_requests
from ..const import SERIES_PRODUCTION
from ..energy.hourly import complete_day_hours, split_by_local_day
from ..energy.ledger import DayData, Resolution, WritePlan, plan_write
from ..localtime import local_date
from .capacity import MIN_RESERVE, max_power_due
from .gaps import RECENT_DAYS, GapPlanner
from .model import OUTCOMES, ConsoClient, RunResult, RunStatus, StatisticsSink, SyncOptions
from .state import Adoption, ErrorInfo, SeriesState, SyncState

MAX_GAP_ATTEMPTS = 3
BACKFILL_RESERVE = MIN_RESERVE  # left in the shared budget for daily runs (`capacity.py`)
MAX_POWER_KEEP_DAYS = 60
EMPTY_WINDOWS_FLOOR = 2
"""Old load-curve windows in a row that answer nothing before the curve is deemed not
recorded then (hourly collection enabled later): older days stay daily."""
EMPTY_WINDOWS_MIN_AGE = timedelta(days=30)


class _StopRun(Exception):
    """Internal: ends a run with a result."""

    def __init__(self, result: RunResult) -> None:
        super().__init__(result.status)
        self.result = result


@dataclass(slots=True)
class _Window:
    """One back-fill request: its range and the gap days it is for."""

    range: DateRange
    days: set[date]
    hourly: bool


class MeterSync:
    """Synchronises one meter's statistics with the Conso API."""

    def __init__(
        self,
        client: ConsoClient,
        options: SyncOptions,
        state: SyncState,
        sink: StatisticsSink,
        now: Callable[[], datetime],
        *,
        remaining: Callable[[], int] | None = None,
        backfill_reserve: int = BACKFILL_RESERVE,
    ) -> None:
        """`remaining()` is what the shared request budget still allows (None: unbounded);
        back-fill stops when it reaches `backfill_reserve`."""
        self.client = client
        self.options = options
        self.state = state
        self.sink = sink
        self._now = now
        self._remaining = remaining
        self.backfill_reserve = backfill_reserve
        self.max_power_days: int | None = RECENT_DAYS  # asked by a daily run (None: none)
        self.max_power_every = 1  # days between two max power requests (`FleetPlan`)
        self.curve_series: frozenset[str] | None = None  # read by a daily run (None: all)
        self._requests = 0
        self._writes = AtomicSteps()
        # Days written (or rewritten) to the statistics during the last run, per series:
        # what derived series (costs) must recompute.
        self.written_days: dict[str, set[date]] = {}

    # --- public ---------------------------------------------------------------------------

    @property
    def today(self) -> date:
        """Today in Europe/Paris."""
        return local_date(self._now())

    @property
    def planner(self) -> GapPlanner:
        """Gaps and horizons as of today."""
        return GapPlanner(self.options.depth, self.today)

    async def async_run(self, *, daily: bool = True, backfill: bool = True) -> RunResult:
        """One run: first import if needed, the daily refresh, then back-fill."""
        self._requests = 0
        self.written_days = {}
        self.state.last_attempt = self._now()
        try:
            for series in self.options.series:
                if not self._series(series).daily_imported:
                    await self._import_daily_history(series)
            if daily:
                for series in self.options.series:
                    if self.curve_series is None or series in self.curve_series:
                        await self._refresh_recent(series)
                await self._refresh_max_power()
            if backfill:
                for series in self.options.series:
                    await self._backfill(series)
        except _StopRun as stop:
            stop.result.requests = self._requests
            if stop.result.status is not RunStatus.BUDGET:
                self.state.failures += 1
            return stop.result
        self.state.last_success = self._now()
        self.state.last_error = None
        self.state.failures = 0
        return RunResult(RunStatus.OK, requests=self._requests)

    def forget_before(self, day: date) -> list[str]:
        """The statistics are deleted before `day` (the data-retention option): forget those
        days (their energy stays the base of the later sums). Returns the series that had
        any."""
        dropped = []
        for series in self.options.series:
            state = self._series(series)
            first = state.ledger.first_day
            if first is not None and first < day:
                state.ledger = state.ledger.drop_before(day)
                dropped.append(series)
        return dropped

    async def async_import(
        self,
        series: str,
        days: Iterable[DayData],
        adopted_from: tuple[Sequence[str], date] | None = None,
    ) -> list[date]:
        """Store days that come from elsewhere (another tool's statistics, a file) without
        any request: only the days not stored yet, and HOURLY days over DAILY ones (what the
        API stored is never replaced by a copy). They are then done: never asked for again.
        With `adopted_from` (the sources, the limit), the days written are remembered as an
        adoption, so they can be undone. Returns the days written, oldest first (also in
        `written_days`)."""
        self.written_days = {}
        state = self._series(series)
        wanted = [
            data
            for data in days
            if data.day < self.today
            and (
                (record := state.ledger.get(data.day)) is None
                or (record.resolution is Resolution.DAILY and data.resolution is Resolution.HOURLY)
            )
        ]
        await self._store(series, wanted)
        written = sorted(self.written_days.get(series, ()))
        for day in written:
            state.forget_tries(day)
        if adopted_from is not None and written:
            done = set(written)
            wh = sum(data.total_wh for data in wanted if data.day in done)
            state.adoption = Adoption.add(state.adoption, *adopted_from, len(done), wh)
        return written

    def undo_adoption(self, series: str) -> date | None:
        """Forget the days before the adoption's limit (an adoption not confirmed yet): the
        caller deletes their rows (the later sums do not change). Returns the limit, or None
        when there is nothing to undo."""
        state = self._series(series)
        adoption = state.adoption
        if adoption is None or adoption.confirmed:
            return None
        state.ledger = state.ledger.drop_before(adoption.until)
        state.adoption = None
        return adoption.until

    async def async_wait_stores(self) -> None:
        """Wait until the writes already started are done (a run being cancelled: a plan is
        never half written, and the ledger always says what the recorder was given)."""
        await self._writes.wait()

    @property
    def requests(self) -> int:
        """Requests sent by the current (or last) run."""
        return self._requests

    @property
    def first_import_pending(self) -> bool:
        """Whether a series still waits for its first (daily history) import."""
        return not all(self._series(series).daily_imported for series in self.options.series)

    def has_day(self, series: str, day: date) -> bool:
        """Whether a day of a series is stored (at any resolution)."""
        return self._series(series).has_day(day)

    def backfill_pending(self) -> bool:
        """Whether back-fill or gap healing still has days to fetch."""
        planner = self.planner
        return any(planner.gap_days(self._series(series)) for series in self.options.series)

    def backfill_progress(self) -> float:
        """Share (0..1) of the hourly history that is done (see `GapPlanner.progress`)."""
        return self.planner.progress([self._series(series) for series in self.options.series])

    # --- requests ---------------------------------------------------------------------------

    def _series(self, series: str) -> SeriesState:
        return self.state.series_state(series)

    async def _call[T](self, call: Callable[[], Awaitable[T]]) -> T:
        """Send one request; "no data", "history limit" and unreadable answers go back to
        the step (they concern its range only), every other error ends the run with its
        outcome."""
        try:
            self._requests += 1
            return await call()
        except ConsoApiNoDataError, ConsoApiHistoryLimitError, ConsoApiMalformedResponseError:
            raise
        except ConsoApiError as err:
            retry_at = None
            if isinstance(err, BudgetExhaustedError):
                self._requests -= 1  # refused locally: nothing was sent
                retry_at = err.retry_at
            else:
                self.state.last_error = ErrorInfo.of(err, self._now())
                if isinstance(err, ConsoApiRateLimitedError):
                    retry_at = err.retry_at
            status = OUTCOMES.get(err.kind, RunStatus.FAILED)
            raise _StopRun(RunResult(status, retry_at=retry_at, error=err)) from err

    async def _daily(self, series: str, rng: DateRange) -> list[DailyEnergy]:
        pdl, production = self.options.pdl_of(series), series == SERIES_PRODUCTION
        return await self._call(
            lambda: self.client.daily_energy(pdl, rng.start, rng.end, production=production)
        )

    async def _curve(self, series: str, rng: DateRange) -> LoadCurve:
        pdl, production = self.options.pdl_of(series), series == SERIES_PRODUCTION
        return await self._call(
            lambda: self.client.load_curve(pdl, rng.start, rng.end, production=production)
        )

    # --- storing ----------------------------------------------------------------------------

    async def _store(self, series: str, days: Iterable[DayData]) -> None:
        """Write days through the sink and update the ledger, as one step that a cancelled
        run does not cut in two (shielded; `async_wait_stores` waits for it)."""
        plan = plan_write(self._series(series).ledger, days)
        await self._writes.run(self._apply(series, plan))

    async def _apply(self, series: str, plan: WritePlan) -> None:
        if plan.rows or plan.adjustments:
            await self.sink.async_write(series, plan)
        self._series(series).ledger = plan.ledger_after
        self.written_days.setdefault(series, set()).update(plan.written_days)

    async def _store_daily(self, series: str, values: Sequence[DailyEnergy]) -> None:
        await self._store(series, [DayData.daily(v.day, float(v.wh)) for v in values])

    async def _store_curve(self, series: str, curve: LoadCurve) -> tuple[set[date], set[date]]:
        """Store every complete day of a curve hour by hour; returns (the complete days, the
        days it had only part of or unreadable points for: they fall back to daily values)."""
        state = self._series(series)
        complete: dict[date, DayData] = {}
        partial = set(curve.bad_points)
        for day, day_intervals in split_by_local_day(curve).items():
            hours = complete_day_hours(day, day_intervals)
            if hours is None or day in curve.bad_points:
                partial.add(day)
            else:
                complete[day] = DayData.hourly(day, hours)
        await self._store(series, complete.values())
        for day in complete:
            state.forget_tries(day)
        state.bad_points.update(curve.bad_points)
        return set(complete), partial

    async def _fallback_to_daily(self, series: str, days: Iterable[date]) -> None:
        """Store the daily value of the days not stored at all (a partial curve, a day given
        up): one request for all of them. Such a day is still completed hour by hour when
        its load curve comes (an HOURLY day replaces a DAILY one, never the reverse)."""
        state = self._series(series)
        missing = sorted(day for day in days if not state.has_day(day) and day < self.today)
        if not missing:
            return
        end = missing[-1] + timedelta(days=1)
        start = max(missing[0], end - timedelta(days=365), self.planner.daily_horizon(state))
        if start < end:
            await self._fetch_daily_range(series, DateRange(start, end), set_floor=False)

    # --- steps ------------------------------------------------------------------------------

    async def _import_daily_history(self, series: str) -> None:
        start = self.planner.daily_horizon(self._series(series))
        ranges = plan_requests(
            MeasureType.CONSUMPTION_DAILY, start, self.today, self.today, newest_first=True
        )
        for rng in ranges:
            if not await self._fetch_daily_range(series, rng):
                break
        self._series(series).daily_imported = True

    async def _fetch_daily_range(
        self, series: str, rng: DateRange, *, set_floor: bool = True
    ) -> bool:
        """Fetch and store daily values; False when older data cannot exist (the API gave
        its documented history limit: the meter's activation, or its history depth) or no
        older range should be asked in this run."""
        state = self._series(series)
        try:
            values = await self._daily(series, rng)
        except ConsoApiNoDataError, ConsoApiMalformedResponseError:
            # Nothing (or nothing readable) for the range: not a limit (Enedis has holes and
            # outages); its days stay gaps, asked again on other days.
            return rng.end >= self.today - timedelta(days=RECENT_DAYS)
        except ConsoApiHistoryLimitError:
            # The limit lies inside the range: bisect, newer half first (a dozen requests
            # at most, once in a while).
            if rng.days <= 1:
                if set_floor:
                    state.floor = max(state.floor or rng.end, rng.end)
                    state.floor_on = self.today
                return False
            middle = rng.start + timedelta(days=rng.days // 2)
            newer = DateRange(middle, rng.end)
            if not await self._fetch_daily_range(series, newer, set_floor=set_floor):
                return False
            older = DateRange(rng.start, middle)
            return await self._fetch_daily_range(series, older, set_floor=set_floor)
        await self._store_daily(series, values)
        if values and state.floor is not None and min(v.day for v in values) < state.floor:
            state.floor = state.floor_on = None  # there are values below: no floor there
        return True

    async def _refresh_recent(self, series: str) -> None:
        state = self._series(series)
        rng = DateRange(self.today - timedelta(days=RECENT_DAYS), self.today)
        if self.options.hourly_history_months == 0:
            await self._fetch_daily_range(series, rng)
            return
        try:
            curve = await self._curve(series, rng)
        except ConsoApiHistoryLimitError:
            await self._fetch_daily_range(series, rng)
            return
        except ConsoApiMalformedResponseError as err:
            self.state.last_error = ErrorInfo.of(err, self._now())
            await self._fetch_daily_range(series, rng)
            return
        except ConsoApiNoDataError:
            # Not published yet, or hourly collection disabled: daily data tells which.
            try:
                values = await self._daily(series, rng)
            except ConsoApiNoDataError, ConsoApiHistoryLimitError:
                return
            if values:
                state.curve_available = False
                await self._store_daily(series, values)
            return
        state.curve_available = True
        _, partial = await self._store_curve(series, curve)
        # Days the curve had only part of get their daily value meanwhile; days it missed
        # are healed by the gap logic.
        await self._fallback_to_daily(series, partial)

    async def _refresh_max_power(self) -> None:
        newest, today = max(self.state.max_power, default=None), self.today
        if self.max_power_days is None or not max_power_due(
            self.options.pdl, today, newest, self.max_power_every
        ):
            return
        back = self.max_power_days if newest is None else (today - newest).days + 1
        rng = DateRange(
            today - timedelta(days=min(max(back, self.max_power_days), MAX_POWER_KEEP_DAYS)), today
        )
        pdl = self.options.pdl
        try:
            values: list[MaxPower] = await self._call(
                lambda: self.client.max_power(pdl, rng.start, rng.end)
            )
        except ConsoApiNoDataError, ConsoApiHistoryLimitError:
            return
        for value in values:
            self.state.max_power[value.day] = value
        oldest = self.today - timedelta(days=MAX_POWER_KEEP_DAYS)
        for day in [day for day in self.state.max_power if day < oldest]:
            del self.state.max_power[day]

    # --- back-fill --------------------------------------------------------------------------

    def _budget_allows_backfill(self) -> bool:
        return self._remaining is None or self._remaining() > self.backfill_reserve

    def _next_window(self, series: str, tried: set[date]) -> _Window | None:
        """The next request for the newest gap not tried in this run, or None."""
        state = self._series(series)
        planner = self.planner
        gaps = [day for day in planner.gap_days(state) if day not in tried]
        if not gaps:
            return None
        newest = gaps[0]
        hourly_from = planner.hourly_horizon(state)
        if hourly_from is not None and newest >= hourly_from:
            oldest = max(hourly_from, newest - timedelta(days=RECENT_DAYS - 1))
            days = {day for day in gaps if oldest <= day}
            return _Window(DateRange(oldest, newest + timedelta(days=1)), days, hourly=True)
        # Daily values: one call for up to a year of gaps, but no wider than they are.
        days = {day for day in gaps if day > newest - timedelta(days=365)}
        oldest = max(planner.daily_horizon(state), min(days))
        return _Window(DateRange(oldest, newest + timedelta(days=1)), days, hourly=False)

    async def _backfill(self, series: str) -> None:
        """Fetch the gaps of a series, newest first, each once per run."""
        state = self._series(series)
        tried: set[date] = set()
        empty_windows = 0
        while self._budget_allows_backfill() and (window := self._next_window(series, tried)):
            tried |= window.days
            partial: set[date] = set()
            if not window.hourly:
                got = await self._fetch_daily_window(series, window)
            else:
                try:
                    got, partial = await self._store_curve(
                        series, await self._curve(series, window.range)
                    )
                except ConsoApiNoDataError, ConsoApiMalformedResponseError:
                    got = set()
                except ConsoApiHistoryLimitError:
                    self._set_curve_floor(state, window.range.end)
                    continue
                if got and state.curve_floor and window.range.start < state.curve_floor:
                    state.curve_floor = state.curve_floor_on = None  # there is a curve below
                empty_windows = 0 if got or partial else empty_windows + 1
                old = window.range.end < self.today - EMPTY_WINDOWS_MIN_AGE
                if empty_windows >= EMPTY_WINDOWS_FLOOR and old:
                    # Old windows answer nothing: the curve was probably not recorded then
                    # (hourly collection enabled later). Checked again in a month.
                    self._set_curve_floor(state, window.range.end)
                    continue
            given_up = self._count_failures(state, window.days - got)
            if partial or given_up:
                await self._fallback_to_daily(series, partial | given_up)

    def _set_curve_floor(self, state: SeriesState, day: date) -> None:
        if state.curve_floor is not None and self.planner.holds(state.curve_floor_on):
            day = max(day, state.curve_floor)  # the floor in force: it only rises
        state.curve_floor, state.curve_floor_on = day, self.today

    async def _fetch_daily_window(self, series: str, window: _Window) -> set[date]:
        """Fetch daily values for a window; returns the gap days it stored."""
        state = self._series(series)
        before = {day for day in window.days if state.has_day(day)}
        await self._fetch_daily_range(series, window.range)
        return {day for day in window.days if state.has_day(day)} - before

    def _count_failures(self, state: SeriesState, missed: set[date]) -> set[date]:
        """Count one more attempt for the gap days a window did not bring; give them up
        after `MAX_GAP_ATTEMPTS` (they are tried again on another day until then), or at
        once when a day given up before fails its re-check. Returns the days given up."""
        given_up: set[date] = set()
        for day in missed:
            state.tried_on[day] = self.today
            attempts = state.attempts.get(day, 0) + 1
            if day in state.given_up:  # a re-check: one failure gives it up again
                attempts = MAX_GAP_ATTEMPTS
            state.attempts[day] = attempts
            if attempts >= MAX_GAP_ATTEMPTS:
                state.given_up[day] = self.today
                state.attempts.pop(day, None)
                state.tried_on.pop(day, None)
                given_up.add(day)
        return given_up
