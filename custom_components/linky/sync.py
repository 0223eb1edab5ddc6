"""Per-meter synchronisation engine: what to ask the Conso API, and what to store. No HA import.

One `MeterSync` per config entry. A *run* sends a few requests through the shared request
budget and hands every day it learns to a `StatisticsSink` (the recorder, in Home Assistant)
through the ledger's write plans, so stored sums stay exact whatever order days arrive in.

What a run does, in order, stopping at the first error:

1. First run only: daily history (up to 36 months, newest first, a handful of 365-day calls)
   so the Energy dashboard shows years of data within a minute.
2. Daily refresh: the last 7 days of load curve, one call per series, which also heals days
   published late. If the load curve answers "no data" while daily data exists, hourly
   collection is disabled at Enedis: daily values are stored instead and the caller raises a
   repair issue. Then the last 7 days of max power.
3. Back-fill and gap healing (same mechanism): every day within the hourly history horizon
   that is not stored hour by hour (never fetched yet, published late, missing) is fetched in
   7-day load-curve windows, newest first, while the budget keeps a reserve for the daily runs
   of every meter. A day that still has no complete curve after three attempts is given up.
   Days missing entirely outside the hourly horizon are fetched as daily values likewise.

Errors are classified for the caller (`RunResult`): budget or server rate limit (retry at a
known time), ban (stop everything), auth/consent (reauth), server/connection errors (one
retry later the same day).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from .conso.client import ConsoApiClient
from .conso.errors import (
    BudgetExhaustedError,
    ConsoApiAuthError,
    ConsoApiBannedError,
    ConsoApiError,
    ConsoApiHistoryLimitError,
    ConsoApiNoConsentError,
    ConsoApiNoDataError,
    ConsoApiRateLimitedError,
)
from .conso.models import PARIS, DailyEnergy, DateRange, EnergyInterval, MaxPower, MeasureType
from .conso.planner import history_start, minus_months, plan_requests
from .const import SERIES_CONSUMPTION, SERIES_PRODUCTION
from .energy.hourly import complete_day_hours, day_hours, local_day_bounds, split_by_local_day
from .energy.ledger import DayData, Resolution, SeriesLedger, WritePlan, plan_write
from .schedule import ScheduleState

RECENT_DAYS = 7
MAX_GAP_ATTEMPTS = 3
BACKFILL_RESERVE = 10  # requests left in the shared budget for daily runs and retries
MAX_POWER_KEEP_DAYS = 60


class StatisticsSink(Protocol):
    """Where write plans go (Home Assistant's recorder in production, a dict in tests)."""

    async def async_write(self, series: str, plan: WritePlan) -> None:
        """Apply the plan's adjustments, then its rows."""


class RunStatus(StrEnum):
    """How a run ended."""

    OK = "ok"
    BUDGET = "budget"  # local budget exhausted or server rate limit: retry at `retry_at`
    BANNED = "banned"
    AUTH = "auth"  # token rejected: reauthentication needed
    NO_CONSENT = "no_consent"
    FAILED = "failed"  # server/connection/other error: one retry later today


@dataclass(slots=True)
class RunResult:
    """Outcome of one run."""

    status: RunStatus
    requests: int = 0
    retry_at: datetime | None = None
    error: ConsoApiError | None = None


@dataclass(slots=True)
class ErrorInfo:
    """The last error, for a diagnostic sensor and diagnostics."""

    kind: str
    message: str
    at: datetime
    status: int | None = None
    code: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "kind": self.kind,
            "message": self.message,
            "at": self.at.isoformat(),
            "status": self.status,
            "code": self.code,
        }

    @classmethod
    def from_dict(cls, data: Any) -> ErrorInfo | None:
        """Restore; None when absent or unreadable."""
        try:
            return cls(
                kind=str(data["kind"]),
                message=str(data["message"]),
                at=datetime.fromisoformat(data["at"]),
                status=data.get("status"),
                code=data.get("code"),
            )
        except KeyError, TypeError, ValueError:
            return None


@dataclass(slots=True)
class SeriesState:
    """What is known about one statistic (consumption or production)."""

    ledger: SeriesLedger = field(default_factory=SeriesLedger)
    daily_imported: bool = False
    curve_available: bool | None = None  # False: hourly collection disabled at Enedis
    floor: date | None = None  # the API has nothing before this day (activation, history)
    curve_floor: date | None = None  # no load curve before this day (collection enabled later)
    attempts: dict[date, int] = field(default_factory=dict)  # failed fetches per gap day
    tried_on: dict[date, date] = field(default_factory=dict)  # gap day -> local day last tried
    given_up: set[date] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "ledger": self.ledger.as_dict(),
            "daily_imported": self.daily_imported,
            "curve_available": self.curve_available,
            "floor": self.floor.isoformat() if self.floor else None,
            "curve_floor": self.curve_floor.isoformat() if self.curve_floor else None,
            "attempts": {day.isoformat(): n for day, n in sorted(self.attempts.items())},
            "tried_on": {
                day.isoformat(): on.isoformat() for day, on in sorted(self.tried_on.items())
            },
            "given_up": sorted(day.isoformat() for day in self.given_up),
        }

    @classmethod
    def from_dict(cls, data: Any) -> SeriesState:
        """Restore; unreadable parts start empty."""
        if not isinstance(data, dict):
            return cls()
        state = cls(
            ledger=SeriesLedger.from_dict(data.get("ledger") or {}),
            daily_imported=bool(data.get("daily_imported")),
            curve_available=data.get("curve_available"),
        )
        try:
            state.floor = date.fromisoformat(data["floor"]) if data.get("floor") else None
            if data.get("curve_floor"):
                state.curve_floor = date.fromisoformat(data["curve_floor"])
            state.attempts = {
                date.fromisoformat(day): int(n) for day, n in (data.get("attempts") or {}).items()
            }
            state.tried_on = {
                date.fromisoformat(day): date.fromisoformat(on)
                for day, on in (data.get("tried_on") or {}).items()
            }
            state.given_up = {date.fromisoformat(day) for day in data.get("given_up") or []}
        except TypeError, ValueError, AttributeError:
            pass
        return state


@dataclass(slots=True)
class SyncState:
    """Everything a meter's synchronisation remembers across restarts."""

    series: dict[str, SeriesState] = field(default_factory=dict)
    max_power: dict[date, MaxPower] = field(default_factory=dict)
    schedule: ScheduleState = field(default_factory=ScheduleState)
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_error: ErrorInfo | None = None

    def series_state(self, series: str) -> SeriesState:
        """The state of a series, created empty on first use."""
        return self.series.setdefault(series, SeriesState())

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "series": {name: state.as_dict() for name, state in self.series.items()},
            "max_power": [
                {"day": mp.day.isoformat(), "va": mp.va, "at": mp.at.isoformat()}
                for mp in sorted(self.max_power.values(), key=lambda mp: mp.day)
            ],
            "schedule": self.schedule.as_dict(),
            "last_attempt": self.last_attempt.isoformat() if self.last_attempt else None,
            "last_success": self.last_success.isoformat() if self.last_success else None,
            "last_error": self.last_error.as_dict() if self.last_error else None,
        }

    @classmethod
    def from_dict(cls, data: Any) -> SyncState:
        """Restore; unreadable parts start empty (the ledger check heals the rest)."""
        if not isinstance(data, dict):
            return cls()
        state = cls(
            series={
                name: SeriesState.from_dict(raw) for name, raw in (data.get("series") or {}).items()
            },
            schedule=ScheduleState.from_dict(data.get("schedule")),
            last_error=ErrorInfo.from_dict(data.get("last_error")),
        )
        for raw in data.get("max_power") or []:
            try:
                day = date.fromisoformat(raw["day"])
                state.max_power[day] = MaxPower(
                    day=day, va=int(raw["va"]), at=datetime.fromisoformat(raw["at"])
                )
            except KeyError, TypeError, ValueError:
                continue
        for key in ("last_attempt", "last_success"):
            try:
                value = datetime.fromisoformat(data[key]) if data.get(key) else None
            except TypeError, ValueError:
                value = None
            setattr(state, key, value)
        return state


@dataclass(frozen=True, slots=True)
class MeterOptions:
    """What to synchronise for one meter."""

    pdl: str
    production_pdl: str | None = None  # None: production is not imported
    daily_history_months: int = 36
    hourly_history_months: int = 24

    @property
    def series(self) -> tuple[str, ...]:
        """The statistics this meter feeds."""
        if self.production_pdl is None:
            return (SERIES_CONSUMPTION,)
        return (SERIES_CONSUMPTION, SERIES_PRODUCTION)


class _StopRun(Exception):
    """Internal: ends a run with a result."""

    def __init__(self, result: RunResult) -> None:
        super().__init__(result.status)
        self.result = result


class MeterSync:
    """Synchronises one meter's statistics with the Conso API."""

    def __init__(
        self,
        client: ConsoApiClient,
        options: MeterOptions,
        state: SyncState,
        sink: StatisticsSink,
        now: Callable[[], datetime],
        *,
        backfill_reserve: int = BACKFILL_RESERVE,
    ) -> None:
        self.client = client
        self.options = options
        self.state = state
        self.sink = sink
        self._now = now
        self.backfill_reserve = backfill_reserve
        self._requests = 0
        # Days written (or rewritten) to the statistics during the last run, per series:
        # what derived series (costs) must recompute.
        self.written_days: dict[str, set[date]] = {}

    # --- public ---------------------------------------------------------------------------

    @property
    def today(self) -> date:
        """Today in Europe/Paris."""
        return self._now().astimezone(PARIS).date()

    async def async_run(self, *, daily: bool = True, backfill: bool = True) -> RunResult:
        """One run: first import if needed, the daily refresh, then back-fill."""
        self._requests = 0
        self.written_days = {}
        self.state.last_attempt = self._now()
        try:
            for series in self.options.series:
                if not self.state.series_state(series).daily_imported:
                    await self._import_daily_history(series)
            if daily:
                for series in self.options.series:
                    await self._refresh_recent(series)
                await self._refresh_max_power()
            if backfill:
                await self._backfill()
        except _StopRun as stop:
            stop.result.requests = self._requests
            return stop.result
        self.state.last_success = self._now()
        self.state.last_error = None
        return RunResult(RunStatus.OK, requests=self._requests)

    def has_day(self, series: str, day: date) -> bool:
        """Whether a day of a series is stored (at any resolution)."""
        return self.state.series_state(series).ledger.get(day) is not None

    def backfill_pending(self) -> bool:
        """Whether back-fill or gap healing still has days to fetch."""
        return any(self._gap_days(series) for series in self.options.series)

    def backfill_progress(self) -> float:
        """Share (0..1) of the hourly history stored hour by hour (days before a known floor,
        or given up after repeated attempts, count as done: there is nothing to fetch)."""
        done = total = 0
        end = self.today - timedelta(days=1)
        for series in self.options.series:
            hourly_from = self._hourly_horizon(series)
            if hourly_from is None:
                continue
            state = self.state.series_state(series)
            day = minus_months(self.today, self.options.hourly_history_months)
            while day < end:
                total += 1
                record = state.ledger.get(day)
                if (
                    day < hourly_from
                    or day in state.given_up
                    or (record is not None and record.resolution is Resolution.HOURLY)
                ):
                    done += 1
                day += timedelta(days=1)
        return 1.0 if total == 0 else done / total

    # --- requests ---------------------------------------------------------------------------

    async def _call[T](self, call: Callable[[], Awaitable[T]]) -> T:
        """Send one request; budget, rate-limit, ban and auth problems end the run."""
        try:
            self._requests += 1
            result = await call()
        except BudgetExhaustedError as err:
            self._requests -= 1  # refused locally: nothing was sent
            raise _StopRun(RunResult(RunStatus.BUDGET, retry_at=err.retry_at, error=err)) from err
        except ConsoApiRateLimitedError as err:
            self._record_error(err)
            raise _StopRun(RunResult(RunStatus.BUDGET, retry_at=err.retry_at, error=err)) from err
        except ConsoApiBannedError as err:
            self._record_error(err)
            raise _StopRun(RunResult(RunStatus.BANNED, error=err)) from err
        except ConsoApiAuthError as err:
            self._record_error(err)
            raise _StopRun(RunResult(RunStatus.AUTH, error=err)) from err
        except ConsoApiNoConsentError as err:
            self._record_error(err)
            raise _StopRun(RunResult(RunStatus.NO_CONSENT, error=err)) from err
        except ConsoApiNoDataError, ConsoApiHistoryLimitError:
            raise
        except ConsoApiError as err:  # server, connection, malformed, other refusals
            self._record_error(err)
            raise _StopRun(RunResult(RunStatus.FAILED, error=err)) from err
        return result

    def _record_error(self, err: ConsoApiError) -> None:
        self.state.last_error = ErrorInfo(
            kind=type(err).__name__,
            message=err.message,
            at=self._now(),
            status=err.status,
            code=err.code,
        )

    def _pdl(self, series: str) -> str:
        if series == SERIES_PRODUCTION and self.options.production_pdl:
            return self.options.production_pdl
        return self.options.pdl

    async def _daily(self, series: str, rng: DateRange) -> list[DailyEnergy]:
        pdl, production = self._pdl(series), series == SERIES_PRODUCTION
        return await self._call(
            lambda: self.client.daily_energy(pdl, rng.start, rng.end, production=production)
        )

    async def _curve(self, series: str, rng: DateRange) -> list[EnergyInterval]:
        pdl, production = self._pdl(series), series == SERIES_PRODUCTION
        return await self._call(
            lambda: self.client.load_curve(pdl, rng.start, rng.end, production=production)
        )

    # --- storing ----------------------------------------------------------------------------

    async def _store(self, series: str, days: Iterable[DayData]) -> list[date]:
        state = self.state.series_state(series)
        plan = plan_write(state.ledger, days)
        if plan.rows or plan.adjustments:
            await self.sink.async_write(series, plan)
        state.ledger = plan.ledger_after
        self.written_days.setdefault(series, set()).update(plan.written_days)
        return plan.written_days

    async def _store_daily(self, series: str, values: Sequence[DailyEnergy]) -> None:
        await self._store(series, [DayData.daily(v.day, float(v.wh)) for v in values])

    async def _store_curve(self, series: str, intervals: Sequence[EnergyInterval]) -> set[date]:
        """Store every complete day of a curve; returns the days that were complete."""
        complete: dict[date, DayData] = {}
        for day, day_intervals in split_by_local_day(intervals).items():
            if (hours := complete_day_hours(day, day_intervals)) is not None:
                complete[day] = DayData.hourly(day, hours)
        await self._store(series, complete.values())
        state = self.state.series_state(series)
        for day in complete:
            state.attempts.pop(day, None)
            state.tried_on.pop(day, None)
        return set(complete)

    # --- steps ------------------------------------------------------------------------------

    async def _import_daily_history(self, series: str) -> None:
        state = self.state.series_state(series)
        start = minus_months(self.today, self.options.daily_history_months)
        ranges = plan_requests(
            MeasureType.CONSUMPTION_DAILY, start, self.today, self.today, newest_first=True
        )
        for rng in ranges:
            if not await self._fetch_daily_range(series, rng):
                break
        state.daily_imported = True

    async def _fetch_daily_range(self, series: str, rng: DateRange) -> bool:
        """Fetch and store daily values; False when older data cannot exist."""
        state = self.state.series_state(series)
        try:
            values = await self._daily(series, rng)
        except ConsoApiNoDataError:
            if rng.end < self.today - timedelta(days=RECENT_DAYS):
                state.floor = max(state.floor or rng.end, rng.end)
                return False
            return True
        except ConsoApiHistoryLimitError:
            # The limit (e.g. the meter's activation) lies inside the range: bisect, newer
            # half first (a dozen requests at most, once in a meter's life).
            if rng.days <= 1:
                state.floor = max(state.floor or rng.end, rng.end)
                return False
            middle = rng.start + timedelta(days=rng.days // 2)
            if not await self._fetch_daily_range(series, DateRange(middle, rng.end)):
                return False
            return await self._fetch_daily_range(series, DateRange(rng.start, middle))
        await self._store_daily(series, values)
        return True

    async def _refresh_recent(self, series: str) -> None:
        state = self.state.series_state(series)
        rng = DateRange(self.today - timedelta(days=RECENT_DAYS), self.today)
        if self.options.hourly_history_months == 0:
            await self._fetch_daily_range(series, rng)
            return
        try:
            intervals = await self._curve(series, rng)
        except ConsoApiHistoryLimitError:
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
        await self._store_curve(series, intervals)
        # Days the curve missed are healed by the gap logic, or stored daily as a fallback.

    async def _refresh_max_power(self) -> None:
        rng = DateRange(self.today - timedelta(days=RECENT_DAYS), self.today)
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

    def _hourly_horizon(self, series: str) -> date | None:
        state = self.state.series_state(series)
        if self.options.hourly_history_months == 0 or state.curve_available is False:
            return None
        horizon = max(
            minus_months(self.today, self.options.hourly_history_months),
            history_start(MeasureType.CONSUMPTION_LOAD_CURVE, self.today),
        )
        for floor in (state.floor, state.curve_floor):
            if floor is not None:
                horizon = max(horizon, floor)
        return horizon

    def _daily_horizon(self, series: str) -> date:
        state = self.state.series_state(series)
        horizon = max(
            minus_months(self.today, self.options.daily_history_months),
            history_start(MeasureType.CONSUMPTION_DAILY, self.today),
        )
        return max(horizon, state.floor) if state.floor else horizon

    def _gap_days(self, series: str, *, include_recent: bool = False) -> list[date]:
        """Days to (re)fetch, newest first: not hourly within the hourly horizon, missing
        entirely within the daily horizon, and not given up."""
        state = self.state.series_state(series)
        ledger = state.ledger
        end = self.today - timedelta(days=1 if include_recent else RECENT_DAYS)
        gaps: set[date] = set()
        hourly_from = self._hourly_horizon(series)
        if hourly_from is not None and hourly_from < end:
            day = hourly_from
            while day < end:
                record = ledger.get(day)
                if record is None or record.resolution is not Resolution.HOURLY:
                    gaps.add(day)
                day += timedelta(days=1)
        daily_to = hourly_from if hourly_from is not None else end
        gaps.update(ledger.missing_days(self._daily_horizon(series), min(daily_to, end)))
        # A day that failed today is tried again on another day (data may come late).
        tried_today = {day for day, on in state.tried_on.items() if on == self.today}
        return sorted(gaps - state.given_up - tried_today, reverse=True)

    async def _backfill(self) -> None:
        budget = self.client.budget
        for series in self.options.series:
            state = self.state.series_state(series)
            tried: set[date] = set()
            empty_windows = 0
            while gaps := [day for day in self._gap_days(series) if day not in tried]:
                if budget is not None and budget.remaining <= self.backfill_reserve:
                    return
                newest = gaps[0]
                hourly_from = self._hourly_horizon(series)
                hourly = hourly_from is not None and newest >= hourly_from
                span = RECENT_DAYS if hourly else 365
                low = hourly_from if hourly and hourly_from else self._daily_horizon(series)
                oldest = newest - timedelta(days=span - 1)
                wanted = {day for day in gaps if oldest <= day <= newest}
                if not hourly:
                    oldest = min(wanted)  # no need to ask for a year around one missing day
                rng = DateRange(max(low, oldest), newest + timedelta(days=1))
                tried |= wanted
                if hourly:
                    try:
                        got = await self._store_curve(series, await self._curve(series, rng))
                    except ConsoApiNoDataError:
                        got = set()
                    except ConsoApiHistoryLimitError:
                        state.curve_floor = max(state.curve_floor or rng.end, rng.end)
                        continue
                    empty_windows = 0 if got else empty_windows + 1
                    if empty_windows >= 2 and rng.end < self.today - timedelta(days=30):
                        # Old windows answer nothing: the load curve was not recorded then
                        # (hourly collection enabled later). Keep those days daily.
                        state.curve_floor = max(state.curve_floor or rng.end, rng.end)
                        continue
                else:
                    before = {day for day in wanted if state.ledger.get(day) is not None}
                    await self._fetch_daily_range(series, rng)
                    got = {day for day in wanted if state.ledger.get(day) is not None} - before
                for day in wanted - got:
                    state.attempts[day] = state.attempts.get(day, 0) + 1
                    state.tried_on[day] = self.today
                    if state.attempts[day] >= MAX_GAP_ATTEMPTS:
                        state.given_up.add(day)
                        state.attempts.pop(day, None)
                        state.tried_on.pop(day, None)


def days_from_rows(rows: Iterable[tuple[datetime, float]]) -> list[DayData]:
    """Rebuild day data from stored hourly rows (UTC start, kWh): a day with a single row at
    its local midnight is DAILY, any other stored day is HOURLY (absent hours are zero)."""
    per_day: dict[date, list[tuple[datetime, float]]] = {}
    for start, kwh in rows:
        per_day.setdefault(start.astimezone(PARIS).date(), []).append((start, kwh))
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
