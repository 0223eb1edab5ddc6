"""When a meter's next run starts, and what a run records in its schedule. No HA import.

The meter coordinator's timer asks `next_run_time` and runs `async_scheduled_run`; the fleet
benchmark (`benchmarks/fleet_sim.py`) drives the same two to measure today's rules.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..conso.budget import RequestBudget
from ..const import SERIES_CONSUMPTION
from ..localtime import local_date
from .engine import MeterSync
from .model import RunResult, RunStatus
from .schedule import next_daily_run

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
