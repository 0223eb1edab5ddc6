"""When a meter's next run starts, and what a run records in its schedule. No HA import.

A meter alone on its API host: its coordinator's timer asks `next_run_time` and runs
`async_scheduled_run` (its own daily slot and single retry). Meters sharing a host: the
host's fleet scheduler asks the fleet policy (`fleet.py`) and runs each action with
`async_fleet_action`; `fleet_meter` tells the policy what a meter's saved state holds. The
fleet benchmark (`benchmarks/fleet_sim.py`) drives the same functions.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from ..conso.budget import RequestBudget
from ..const import SERIES_CONSUMPTION, SERIES_PRODUCTION
from ..localtime import local_date
from .engine import MeterSync
from .fleet import DAILY_KINDS, Action, ActionKind, FleetMeter, Outcome
from .gaps import RECENT_DAYS
from .model import RunResult, RunStatus
from .schedule import ScheduleState, next_daily_run

MIN_RUN_GAP = timedelta(minutes=2)
"""The smallest pause between two runs of one meter (avoids tight loops whatever happens)."""
FAILURE_BACKOFF = timedelta(hours=1)
"""After failed runs, the next one waits at least this long, doubled at each failure in a
row, up to MAX_FAILURE_BACKOFF (on top of the daily schedule's single retry)."""
MAX_FAILURE_BACKOFF = timedelta(days=2)


def next_run_time(now: datetime, pdl: str, sync: MeterSync, budget: RequestBudget) -> datetime:
    """When the meter's next run should start (never before `now`)."""
    state = sync.state
    if sync.first_import_pending and not state.failures:
        when = now  # first import (of a new meter, or of production just enabled)
    else:
        # The daily run, or its single retry after a failure (a failed first import too).
        when, _ = next_daily_run(now, pdl, state.schedule)
        if not state.failures and budget.cap > sync.backfill_reserve and sync.backfill_pending():
            # Back-fill continues as soon as the shared budget has room above its reserve,
            # but not after a failed run (that waits for the retry slot).
            when = min(when, budget.available_at(sync.backfill_reserve + 1))
    when = max(when, budget.next_available_at())
    if state.last_attempt is not None:
        when = max(when, state.last_attempt + MIN_RUN_GAP)
        if state.failures:
            backoff = FAILURE_BACKOFF * 2 ** min(state.failures - 1, 8)
            when = max(when, state.last_attempt + min(backoff, MAX_FAILURE_BACKOFF))
    return max(when, now)


async def async_scheduled_run(now: datetime, pdl: str, sync: MeterSync) -> RunResult:
    """One run at `now`: the daily refresh when it is due (then the day is marked run, and a
    retry is wanted when it failed or yesterday is still missing), back-fill always."""
    state = sync.state
    today = local_date(now)
    due, is_retry = next_daily_run(now, pdl, state.schedule)
    daily = sync.first_import_pending or due <= now
    result = await sync.async_run(daily=daily, backfill=True)
    if daily and result.status is not RunStatus.BUDGET:
        schedule = state.schedule
        schedule.last_run_day = today
        if is_retry:
            schedule.retry_done_day = today
        yesterday = today - timedelta(days=1)
        if result.status is RunStatus.FAILED or not sync.has_day(SERIES_CONSUMPTION, yesterday):
            schedule.retry_day = today
    return result


def _record_attempt(schedule: ScheduleState, today: date) -> None:
    """A daily-data attempt on `today`: the day's run, then its single retry."""
    if schedule.last_run_day != today:
        schedule.last_run_day = today
    else:
        schedule.retry_done_day = today


def attempts_on(schedule: ScheduleState, today: date) -> int:
    """Daily-data attempts already made on `today` (0, 1 or 2)."""
    return (schedule.last_run_day == today) + (schedule.retry_done_day == today)


def _next_day(day: date | None) -> date | None:
    return None if day is None else day + timedelta(days=1)


def fleet_meter(now: datetime, sync: MeterSync) -> FleetMeter:
    """What the fleet policy needs to know of a meter, from its saved state (after a
    restart too): imported or not, the day its newest data were obtained (the day after
    the newest day stored), and the day's attempts."""
    state = sync.state
    production = SERIES_PRODUCTION in sync.options.series
    return FleetMeter(
        sync.options.pdl,
        production=production,
        imported=not sync.first_import_pending,
        fresh_on=_next_day(state.series_state(SERIES_CONSUMPTION).ledger.last_day),
        max_power_on=_next_day(max(state.max_power, default=None)),
        production_on=_next_day(state.series_state(SERIES_PRODUCTION).ledger.last_day)
        if production
        else None,
        attempts=attempts_on(state.schedule, local_date(now)),
    )


async def async_fleet_action(
    now: datetime, sync: MeterSync, action: Action, budget: RequestBudget
) -> tuple[RunResult, Outcome]:
    """Run one action of the fleet policy with a meter's engine: a daily run reads the
    action's series (and the max power only when it says so), back-fill sends at most the
    action's grant. Daily-data attempts are recorded in the meter's schedule."""
    daily = action.kind is not ActionKind.BACKFILL
    sync.curve_series, sync.max_power_days = frozenset(action.series), action.max_power_days
    sync.max_power_every = 1  # the policy says when (`max_power_days`)
    sync.backfill_reserve = max(0, budget.remaining - action.grant)
    try:
        result = await sync.async_run(daily=daily, backfill=not daily)
    finally:
        sync.curve_series, sync.max_power_days = None, RECENT_DAYS
    if action.kind in DAILY_KINDS and result.status is not RunStatus.BUDGET:
        _record_attempt(sync.state.schedule, local_date(now))
    yesterday = local_date(now) - timedelta(days=1)
    return result, Outcome(
        got_yesterday=sync.has_day(SERIES_CONSUMPTION, yesterday),
        failed=result.status is RunStatus.FAILED,
        refused=result.status is RunStatus.BUDGET,
    )
