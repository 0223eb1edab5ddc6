"""Many meters on one instance under the ban rule: an HA-free discrete-event simulation.

N meters share one real `RequestBudget` (cap per rolling 12 h) on a fake clock; each is
driven by the real `MeterSync` engine through an in-process fake Conso API (its own
publication model and faults, no HTTP, no JSON: 40 meters x 30 days in seconds), and writes
to a sink that only records when each day was first stored. Two rule sets drive them:

- `Rules.TODAY`: each meter on its own timer, as a meter alone on its API host still runs
  (`sync/runs.py`: `next_run_time`, `async_scheduled_run`: the per-PDL daily slot of
  `sync/schedule.py`, the one afternoon retry, back-fill whenever the budget is above the
  reserve, `MIN_RUN_GAP`, the failure back-off), with the request plan those timers had
  for several meters before the fleet scheduler (`today_plan`: the reserve sized from the
  meters, the max power every 7 days when the cap cannot afford it daily), applied before
  each scheduling and each run. Each timer is re-armed only after its own run.
- `Rules.PROPOSED`: the fleet scheduler, as meters sharing a host now run: the policy of
  `custom_components/linky/sync/fleet.py`, each action run by `sync.runs.async_fleet_action`.

`simulate()` returns the metrics of one scenario (`SimResult`) and asserts that no rolling
12 h ever held more requests than the cap. `benchmarks/fleet.py` is the command line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
import heapq
import itertools
import math
import random

from custom_components.linky.conso.budget import RequestBudget
from custom_components.linky.conso.errors import (
    BudgetExhaustedError,
    ConsoApiConnectionError,
    ConsoApiHistoryLimitError,
    ConsoApiNoDataError,
    ConsoApiServerError,
)
from custom_components.linky.conso.models import DailyEnergy, EnergyInterval, MaxPower
from custom_components.linky.conso.parsing import LoadCurve
from custom_components.linky.const import SERIES_CONSUMPTION
from custom_components.linky.energy.hourly import day_hours, local_day_bounds
from custom_components.linky.energy.ledger import DayRecord, Resolution, SeriesLedger, WritePlan
from custom_components.linky.localtime import PARIS, local_date
from custom_components.linky.sync.engine import MeterSync
from custom_components.linky.sync.fleet import Action, FleetMeter, FleetPolicy, Outcome
from custom_components.linky.sync.gaps import RECENT_DAYS, GapPlanner
from custom_components.linky.sync.model import SyncOptions
from custom_components.linky.sync.runs import async_fleet_action, async_scheduled_run, next_run_time
from custom_components.linky.sync.schedule import ScheduleState
from custom_components.linky.sync.state import SyncState

# Today's coordinator constants (copied: `coordinator.py` imports Home Assistant; a unit
# test reads them from its source and checks they match).

START = date(2026, 3, 2)
"""The first simulated day (a Monday; the spring DST change, 29 March, is inside 30 days)."""
WINDOW = timedelta(hours=12)
HOUR = timedelta(hours=1)
FRESH_BY = time(10, 30)
PUBLISHED_BY = time(10, 0)
SAME_DAY_BY = time(17, 0)
OUTAGE_DAY = 17
OUTAGE = (time(8, 10), time(9, 10))
"""Every request fails (502) on that day between these local times (when faults are on)."""


class Rules(StrEnum):
    """Who decides when meters send requests."""

    TODAY = "today"
    PROPOSED = "proposed"


@dataclass(frozen=True, slots=True)
class Scenario:
    """One simulated fleet."""

    name: str
    meters: int
    cap: int = 50
    days: int = 30
    added: int = 0
    """Meters added (first import and back-fill from scratch) on `added_day` at `added_at`."""
    added_day: int = 10
    added_at: time = time(12, 0)
    producers: int = 0
    """How many of the meters (from the start) also import production."""
    faults: bool = True


# --- the world: clock, publication, faults ------------------------------------------------------


class SimClock:
    """The fake clock (aware UTC); `sleep` moves it (the budget's per-second pace)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Sleeping is moving the clock."""
        self.now += timedelta(seconds=seconds)


def local(day: date, clock: time) -> datetime:
    """A Paris wall-clock time as an aware UTC datetime."""
    return datetime.combine(day, clock, PARIS).astimezone(UTC)


class Publication:
    """When each day's data appear: one time per day for every meter, plus a per-meter jitter.

    Day D is published on D+1: 80 % of days between 07:30 and 08:30, 12 % between 08:30 and
    10:00, 5 % in the afternoon (12:00 to 17:00), 3 % only on D+2 (07:30 to 08:30). Each
    meter's data come 0 to `jitter` later; 0.3 % of a meter's days never come.
    """

    def __init__(self, seed: int, *, jitter: timedelta = timedelta(minutes=10)) -> None:
        self.seed = seed
        self.jitter = jitter
        self._fleet: dict[date, datetime] = {}
        self._meter: dict[tuple[str, date], datetime | None] = {}

    def fleet_time(self, day: date) -> datetime:
        """When `day` is published (before each meter's jitter)."""
        if (cached := self._fleet.get(day)) is not None:
            return cached
        rng = random.Random(f"publication|{self.seed}|{day.isoformat()}")  # noqa: S311
        roll = rng.random()
        after = day + timedelta(days=1)
        if roll < 0.80:
            when = local(after, time(7, 30)) + timedelta(minutes=rng.uniform(0, 60))
        elif roll < 0.92:
            when = local(after, time(8, 30)) + timedelta(minutes=rng.uniform(0, 90))
        elif roll < 0.97:
            when = local(after, time(12, 0)) + timedelta(minutes=rng.uniform(0, 300))
        else:
            when = local(after + timedelta(days=1), time(7, 30)) + timedelta(
                minutes=rng.uniform(0, 60)
            )
        self._fleet[day] = when
        return when

    def published_at(self, pdl: str, day: date) -> datetime | None:
        """When a meter's `day` is published, None when never."""
        key = (pdl, day)
        if key in self._meter:
            return self._meter[key]
        rng = random.Random(f"meter|{self.seed}|{pdl}|{day.isoformat()}")  # noqa: S311
        when = None
        if rng.random() >= 0.003:
            when = self.fleet_time(day) + self.jitter * rng.random()
        self._meter[key] = when
        return when

    def is_published(self, pdl: str, day: date, now: datetime) -> bool:
        """Whether the day's data are served at `now`."""
        when = self.published_at(pdl, day)
        return when is not None and when <= now


class Faults:
    """Per request: 1 % server errors (5xx), 0.5 % time-outs (60 s); and one outage."""

    def __init__(self, seed: int, *, enabled: bool) -> None:
        self.enabled = enabled
        self._rng = random.Random(f"faults|{seed}")  # noqa: S311
        day = START + timedelta(days=OUTAGE_DAY)
        self.outage = (local(day, OUTAGE[0]), local(day, OUTAGE[1]))

    def draw(self, now: datetime) -> str | None:
        """The fault of a request sent at `now`: "server", "timeout" or None."""
        if not self.enabled:
            return None
        if self.outage[0] <= now < self.outage[1]:
            return "server"
        roll = self._rng.random()
        if roll < 0.01:
            return "server"
        if roll < 0.015:
            return "timeout"
        return None


def hour_wh(pdl: str, day: date, production: bool) -> float:
    """The (flat) energy of every hour of a meter's day."""
    wh = 200.0 + (day.toordinal() * 37 + int(pdl[-3:]) * 11) % 500
    return wh / 3 if production else wh


@dataclass(slots=True)
class SentRequest:
    """One request that went through the budget."""

    at: datetime
    pdl: str
    kind: str


class FakeConso:
    """The API as the meters see it: the shared budget first, then faults, then data."""

    def __init__(
        self, clock: SimClock, budget: RequestBudget, publication: Publication, faults: Faults
    ) -> None:
        self.clock = clock
        self.budget = budget
        self.publication = publication
        self.faults = faults
        self.sent: list[SentRequest] = []
        self.sent_times: list[datetime] = []
        self.refusals = 0
        self._latency = random.Random(f"latency|{publication.seed}")  # noqa: S311

    async def send(self, pdl: str, kind: str) -> datetime:
        """Take a request from the budget (raises BudgetExhaustedError), log it, answer
        with a fault or let the data through; returns when the request was received."""
        try:
            await self.budget.acquire()
        except BudgetExhaustedError:
            self.refusals += 1
            raise
        now = self.clock.now
        self.sent.append(SentRequest(now, pdl, kind))
        self.sent_times.append(now)
        fault = self.faults.draw(now)
        if fault == "timeout":
            self.clock.now += timedelta(seconds=60)
            raise ConsoApiConnectionError(f"Timeout calling Conso API ({kind})")
        self.clock.now += timedelta(seconds=self._latency.uniform(0.3, 1.5))
        if fault == "server":
            raise ConsoApiServerError(f"Conso API answered 502 ({kind})", status=502)
        return now


class FakeClient:
    """`sync.model.ConsoClient` for one meter, served by `FakeConso`."""

    def __init__(self, conso: FakeConso, pdl: str) -> None:
        self.conso = conso
        self.pdl = pdl

    def _days(self, start: date, end: date, now: datetime) -> list[date]:
        today = local_date(now)
        days = [start + timedelta(days=n) for n in range((end - start).days)]
        return [
            day
            for day in days
            if day < today and self.conso.publication.is_published(self.pdl, day, now)
        ]

    async def _send(self, kind: str, start: date, end: date) -> list[date]:
        if start >= end:
            raise ValueError(f"Empty range {start}..{end}")
        received = await self.conso.send(self.pdl, kind)
        if start < START - timedelta(days=3 * 366):
            raise ConsoApiHistoryLimitError("before the history limit", status=400)
        days = self._days(start, end, received)
        if not days:
            raise ConsoApiNoDataError("no data", status=404)
        return days

    async def daily_energy(
        self, pdl: str, start: date, end: date, *, production: bool = False
    ) -> list[DailyEnergy]:
        """Energy per local day of [start, end)."""
        days = await self._send("production_daily" if production else "daily", start, end)
        return [
            DailyEnergy(
                day,
                local_day_bounds(day)[0].astimezone(PARIS),
                round(hour_wh(self.pdl, day, production) * len(day_hours(day))),
            )
            for day in days
        ]

    async def load_curve(
        self, pdl: str, start: date, end: date, *, production: bool = False
    ) -> LoadCurve:
        """Hourly intervals of the published days of [start, end)."""
        days = await self._send("production_curve" if production else "curve", start, end)
        curve = LoadCurve()
        for day in days:
            wh = hour_wh(self.pdl, day, production)
            curve.extend(EnergyInterval(hour, hour + HOUR, wh) for hour in day_hours(day))
        return curve

    async def max_power(self, pdl: str, start: date, end: date) -> list[MaxPower]:
        """Daily max power of the published days of [start, end)."""
        days = await self._send("max_power", start, end)
        return [
            MaxPower(day, 3000 + day.toordinal() % 700, local(day, time(19, 10)).astimezone(PARIS))
            for day in days
        ]


class RecordingSink:
    """`sync.model.StatisticsSink` that only records when each day was first written."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.first_written: dict[tuple[str, date], datetime] = {}

    async def async_write(self, series: str, plan: WritePlan) -> None:
        """Record the plan's days."""
        for day in plan.written_days:
            self.first_written.setdefault((series, day), self.clock.now)


class FleetMeterSync(MeterSync):
    """`MeterSync` that caches `backfill_pending` (the knobs the fleet policy sets are the
    engine's own: `curve_series`, `max_power_days`; a run's count is `requests`)."""

    _pending: tuple[tuple[object, ...], bool] | None = None

    def _gaps_key(self) -> tuple[object, ...]:
        """Everything `GapPlanner.gap_days` reads (ledgers are immutable: replaced when
        written, so they compare by identity)."""
        parts: list[object] = [self.today]
        for series in self.options.series:
            state = self.state.series_state(series)
            parts += [
                state.ledger,
                state.curve_available,
                state.floor,
                state.floor_on,
                state.curve_floor,
                state.curve_floor_on,
                tuple(state.tried_on.items()),
                tuple(state.given_up.items()),
            ]
        return tuple(parts)

    def backfill_pending(self) -> bool:
        """`MeterSync.backfill_pending`, computed again only when what it reads changed (the
        simulation asks it after every run of every meter: 1,095 days each time)."""
        key = self._gaps_key()
        if self._pending is None or self._pending[0] != key:
            self._pending = (key, super().backfill_pending())
        return self._pending[1]


# --- meters ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class SimMeter:
    """One meter of the fleet."""

    pdl: str
    new: bool
    added_at: datetime
    client: FakeClient
    sink: RecordingSink
    sync: FleetMeterSync
    version: int = 0
    runs: int = 0
    backfill_done_at: datetime | None = None


def steady_state(options: SyncOptions, today: date) -> SyncState:
    """A meter that has run for years: every day stored up to the day before yesterday
    (hourly within the hourly horizon), yesterday's daily run done."""
    state = SyncState()
    planner = GapPlanner(options.depth, today)
    for series in options.series:
        series_state = state.series_state(series)
        series_state.daily_imported = True
        series_state.curve_available = True
        hourly_from = planner.hourly_horizon(series_state)
        day = planner.daily_horizon(series_state)
        records = {}
        while day < today - timedelta(days=1):
            hourly = hourly_from is not None and day >= hourly_from
            resolution = Resolution.HOURLY if hourly else Resolution.DAILY
            records[day] = DayRecord(hour_wh(options.pdl, day, False) * 24, resolution)
            day += timedelta(days=1)
        series_state.ledger = SeriesLedger(records)
    state.schedule = ScheduleState(last_run_day=today - timedelta(days=1))
    return state


def hourly_left(sync: MeterSync) -> int:
    """Days of the consumption's hourly horizon (older than the daily refresh's 7 days)
    still to fetch (0: the hourly back-fill is complete)."""
    planner = sync.planner
    state = sync.state.series_state(SERIES_CONSUMPTION)
    start = planner.hourly_horizon(state)
    if start is None:
        return 0
    end = planner.today - timedelta(days=RECENT_DAYS)
    return sum(
        not planner.is_done(state, start + timedelta(days=n)) for n in range((end - start).days)
    )


def pdl_of(seed: int, index: int) -> str:
    """A 14-digit PDL (its daily slot in today's rules follows from it)."""
    return f"2{seed % 100_000:05d}{index:08d}"


# --- today's rules ------------------------------------------------------------------------------


# --- results --------------------------------------------------------------------------------------


@dataclass(slots=True)
class SimResult:
    """The figures of one simulated scenario under one rule set."""

    scenario: Scenario
    rules: Rules
    seed: int
    meter_days: int = 0
    fresh: int = 0
    """Meter-days with yesterday stored by 10:30."""
    published_by_10: int = 0
    fresh_published_by_10: int = 0
    fresh_by_end: int = 0
    """Meter-days with yesterday stored by the end of the day."""
    max_12h: int = 0
    requests: int = 0
    steady_requests: int = 0
    steady_meter_days: int = 0
    old_fresh: int = 0
    old_meter_days: int = 0
    """Freshness of the meters present from the start, from the day meters are added."""
    backfill_days: list[float | None] = field(default_factory=list)
    backfill_left: list[int] = field(default_factory=list)
    same_day: int = 0
    same_day_of: int = 0
    """Meter-days published by 17:00 (`same_day_of`) with yesterday stored the same day."""
    starvation: int = 0
    """Longest run of days a meter went without yesterday (by the end of the day)."""
    old_starvation: int = 0
    """The same, among the meters present from the start."""
    refusals: int = 0
    runs: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def fresh_share(self) -> float:
        """Share of meter-days fresh by 10:30."""
        return self.fresh / self.meter_days if self.meter_days else 1.0

    @property
    def fresh_published_share(self) -> float:
        """Same, among the meter-days published by 10:00."""
        if not self.published_by_10:
            return 1.0
        return self.fresh_published_by_10 / self.published_by_10

    @property
    def same_day_share(self) -> float:
        """Share of meter-days published by 17:00 whose yesterday came the same day."""
        return self.same_day / self.same_day_of if self.same_day_of else 1.0

    @property
    def requests_per_meter_day(self) -> float:
        """Requests per day per meter present from the start."""
        return self.steady_requests / self.steady_meter_days if self.steady_meter_days else 0.0


def max_in_window(times: list[datetime], window: timedelta = WINDOW) -> int:
    """The most requests in any rolling window (sorted times): the window ending at each."""
    best = low = 0
    for high, instant in enumerate(times):
        while times[low] <= instant - window:
            low += 1
        best = max(best, high - low + 1)
    return best


# --- the simulation -------------------------------------------------------------------------------


def today_plan(cap: int, productions: list[bool]) -> tuple[int, int]:
    """Today's rules' request plan, (back-fill reserve, days between max power requests):
    what `sync/capacity.py` planned for per-meter timers before the fleet scheduler (each
    meter's run and retry per series, each with the max power when due, and 0.25 request
    of healing per meter in the busiest 12 h; 5 of headroom; every day while affordable,
    else weekly; the reserve at least 10 and at most the cap)."""
    meters, producing = len(productions), sum(productions)

    def need(every: int) -> float:
        return 2 * (meters + producing) + 2 * meters / every + 0.25 * meters

    every = 1 if need(1) + 5 <= cap else 7
    return min(max(10, math.ceil(need(every)) + 5), cap), every


class FleetSim:
    """One scenario under one rule set."""

    def __init__(self, scenario: Scenario, rules: Rules, seed: int) -> None:
        self.scenario = scenario
        self.rules = rules
        self.seed = seed
        self.start = local(START, time(0))
        self.end = self.start + timedelta(days=scenario.days)
        self.clock = SimClock(self.start)
        self.budget = RequestBudget(cap=scenario.cap, now=self.clock, sleep=self.clock.sleep)
        self.publication = Publication(seed)
        self.conso = FakeConso(
            self.clock, self.budget, self.publication, Faults(seed, enabled=scenario.faults)
        )
        self.meters: dict[str, SimMeter] = {}
        self.policy = FleetPolicy(scenario.cap, seed=f"instance-{seed}")
        self._events: list[tuple[datetime, int, Callable[[], Awaitable[None]]]] = []
        self._seq = itertools.count()
        self._policy_version = 0

    # --- events ---------------------------------------------------------------------------

    def at(self, when: datetime, callback: Callable[[], Awaitable[None]]) -> None:
        """Run `callback` at `when`."""
        heapq.heappush(self._events, (when, next(self._seq), callback))

    async def run(self) -> SimResult:
        """Simulate every day, then measure."""
        scenario = self.scenario
        for index in range(scenario.meters - scenario.added):
            self._add_meter(index, new=False, production=index < scenario.producers)
        added_at = local(START + timedelta(days=scenario.added_day), scenario.added_at)
        for index in range(scenario.meters - scenario.added, scenario.meters):
            self.at(added_at, self._adder(index))
        while self._events:
            when, _, callback = heapq.heappop(self._events)
            if when >= self.end:
                break
            self.clock.now = max(self.clock.now, when)
            await callback()
        return self.measure()

    def _adder(self, index: int) -> Callable[[], Awaitable[None]]:
        async def add() -> None:
            self._add_meter(index, new=True, production=False)

        return add

    def _add_meter(self, index: int, *, new: bool, production: bool) -> None:
        pdl = pdl_of(self.seed, index)
        options = SyncOptions(pdl, production_pdl=pdl if production else None)
        now = self.clock.now
        state = SyncState() if new else steady_state(options, local_date(now))
        client = FakeClient(self.conso, pdl)
        sink = RecordingSink(self.clock)
        budget = self.budget
        sync = FleetMeterSync(
            client, options, state, sink, self.clock, remaining=lambda: budget.remaining
        )
        meter = SimMeter(pdl, new, now, client, sink, sync)
        self.meters[pdl] = meter
        if self.rules is Rules.TODAY:
            self._today_schedule(meter)
        else:
            yesterday = local_date(now) - timedelta(days=1)
            self.policy.add_meter(
                FleetMeter(
                    pdl,
                    production=production,
                    imported=not new,
                    max_power_on=None if new else yesterday - timedelta(days=index % 7),
                    production_on=None if new else yesterday - timedelta(days=index % 3),
                )
            )
            self._poke()

    def _after_run(self, meter: SimMeter) -> None:
        meter.runs += 1
        if (
            meter.new
            and meter.backfill_done_at is None
            and not meter.sync.first_import_pending
            and hourly_left(meter.sync) == 0
        ):
            meter.backfill_done_at = self.clock.now

    # --- today's rules --------------------------------------------------------------------

    def _apply_plan(self, meter: SimMeter) -> None:
        """What the coordinator did before it scheduled or ran (`today_plan`)."""
        meter.sync.backfill_reserve, meter.sync.max_power_every = today_plan(
            self.budget.cap,
            [other.sync.options.production_pdl is not None for other in self.meters.values()],
        )

    def _today_schedule(self, meter: SimMeter) -> None:
        meter.version += 1
        version = meter.version
        self._apply_plan(meter)
        when = next_run_time(self.clock.now, meter.pdl, meter.sync, self.budget)

        async def fire() -> None:
            if meter.version != version:
                return
            self._apply_plan(meter)
            await async_scheduled_run(self.clock.now, meter.pdl, meter.sync)
            self._after_run(meter)
            self._today_schedule(meter)

        self.at(when, fire)

    # --- the proposed policy --------------------------------------------------------------

    def _poke(self, when: datetime | None = None) -> None:
        self._policy_version += 1
        version = self._policy_version

        async def step() -> None:
            if version == self._policy_version:
                await self._policy_step()

        self.at(when or self.clock.now, step)

    def _pending(self, pdl: str) -> bool:
        return self.meters[pdl].sync.backfill_pending()

    async def _policy_step(self) -> None:
        now = self.clock.now
        decision = self.policy.next_action(now, self.conso.sent_times, self._pending)
        if isinstance(decision, datetime):
            self._poke(max(decision, now + timedelta(seconds=1)))
            return
        meter = self.meters[decision.pdl]
        outcome = await self._execute(meter, decision)
        self.policy.done(decision, self.clock.now, outcome)
        self._after_run(meter)
        if self.clock.now == now:
            self.clock.now += timedelta(seconds=1)
        self._poke()

    async def _execute(self, meter: SimMeter, action: Action) -> Outcome:
        """The action, run as the fleet scheduler runs it (`sync.runs.async_fleet_action`)."""
        _, outcome = await async_fleet_action(self.clock.now, meter.sync, action, self.budget)
        return outcome

    # --- measuring ------------------------------------------------------------------------

    def measure(self) -> SimResult:
        """The scenario's figures; asserts the cap held in every rolling 12 h."""
        scenario = self.scenario
        result = SimResult(scenario, self.rules, self.seed)
        result.max_12h = max_in_window(self.conso.sent_times)
        assert result.max_12h <= scenario.cap, (result.max_12h, scenario.cap)
        result.requests = len(self.conso.sent)
        result.refusals = self.conso.refusals
        for sent in self.conso.sent:
            result.by_kind[sent.kind] = result.by_kind.get(sent.kind, 0) + 1
        steady = {pdl for pdl, meter in self.meters.items() if not meter.new}
        result.steady_requests = sum(sent.pdl in steady for sent in self.conso.sent)
        result.steady_meter_days = len(steady) * scenario.days
        for meter in self.meters.values():
            result.runs += meter.runs
            first_day = (local_date(meter.added_at) - START).days + (1 if meter.new else 0)
            streak = 0
            for offset in range(first_day, scenario.days):
                today = START + timedelta(days=offset)
                target = today - timedelta(days=1)
                written = meter.sink.first_written.get((SERIES_CONSUMPTION, target))
                published = self.publication.published_at(meter.pdl, target)
                fresh = written is not None and written <= local(today, FRESH_BY)
                result.meter_days += 1
                result.fresh += fresh
                if published is not None and published <= local(today, PUBLISHED_BY):
                    result.published_by_10 += 1
                    result.fresh_published_by_10 += fresh
                if not meter.new and offset > scenario.added_day and scenario.added:
                    result.old_meter_days += 1
                    result.old_fresh += fresh
                by_end = written is not None and written < local(today + timedelta(days=1), time(0))
                result.fresh_by_end += by_end
                if published is not None and published <= local(today, SAME_DAY_BY):
                    result.same_day_of += 1
                    result.same_day += by_end
                streak = 0 if by_end else streak + 1
                result.starvation = max(result.starvation, streak)
                if not meter.new:
                    result.old_starvation = max(result.old_starvation, streak)
            if meter.new:
                done = meter.backfill_done_at
                result.backfill_days.append(
                    None if done is None else (done - meter.added_at) / timedelta(days=1)
                )
                result.backfill_left.append(hourly_left(meter.sync))
        return result


def simulate(scenario: Scenario, rules: Rules, seed: int = 0) -> SimResult:
    """Simulate one scenario under one rule set (deterministic for a seed)."""
    return asyncio.run(FleetSim(scenario, rules, seed).run())
