"""The meter coordinator: schedules runs of the sync engine and publishes a snapshot.

Home Assistant glue around `sync.engine.MeterSync` (what to fetch) and `sync.runs` (when):

- Setup makes no request and reads no statistics: it restores the persisted state and
  schedules the next run. Only a meter that was never imported runs at once (the first
  import). The first run of each process checks the ledger against the recorder (healing it
  if the recorder disagrees).
- A meter alone on its API host: one daily run in its slot between 06:00 and 10:00, one
  retry early in the afternoon when yesterday is still missing or the run failed, back-fill
  whenever the shared request budget has room above its reserve (`instance.fleet_plan`).
  Meters sharing a host: their host's fleet scheduler (`runtime/fleet.py`) says when each
  runs what (`async_fleet_run`), and their own timers stop. Nothing at all once the service
  has banned this IP.
- After each run, every derived part of the entry gets the days the run wrote.
- `data` is a snapshot computed from the persisted state, without I/O, for the entities.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
import contextlib
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .conso.client import ConsoApiClient
from .conso.errors import ErrorKind
from .conso.models import MaxPower
from .conso.token import ConsentToken
from .const import CONF_BASE_URL, CONF_PDL, DOMAIN, LOGGER, SERIES_CONSUMPTION, SERIES_PRODUCTION
from .energy.hourly import local_day_bounds
from .energy.ledger import DayData
from .instance import ApiState, async_flush_budgets, fleet_plan
from .localtime import PARIS, local_date
from .repairs import async_report_banned, async_set_consent_revoked, async_update_meter_issues
from .runtime.derived import DerivedPart
from .runtime.store import entry_store
from .statistics import RecorderSink, async_delete_rows_before, statistic_id
from .sync.capacity import FleetPlan
from .sync.engine import MeterSync
from .sync.fleet import Action, Outcome
from .sync.model import RunResult, RunStatus, SyncOptions
from .sync.runs import async_fleet_action, async_scheduled_run, next_run_time
from .sync.snapshot import STALE_AFTER_DAYS, LinkyData, series_figures
from .sync.state import SyncState

if TYPE_CHECKING:
    from .runtime import LinkyConfigEntry
    from .runtime.fleet import FleetScheduler


class LinkyCoordinator(DataUpdateCoordinator[LinkyData]):
    """Schedules and runs one meter's synchronisation."""

    config_entry: LinkyConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: LinkyConfigEntry,
        *,
        client: ConsoApiClient,
        api: ApiState,
        token: ConsentToken,
        options: SyncOptions,
        derived: Sequence[DerivedPart] = (),
    ) -> None:
        super().__init__(hass, LOGGER, config_entry=entry, name=f"{DOMAIN} {entry.data[CONF_PDL]}")
        self.client = client
        self.api = api
        self.token = token
        self.options = options
        self.derived = tuple(derived)
        self.pdl: str = entry.data[CONF_PDL]
        self.store = entry_store(hass, entry.entry_id)
        self.sink = RecorderSink(hass, self.pdl)
        self.sync: MeterSync | None = None
        self.next_run: datetime | None = None
        self.fleet: FleetPlan  # what the meters of the API host may spend (set up on setup)
        self.scheduler: FleetScheduler | None = None  # runs this meter when its host has others
        self._unsub_timer: CALLBACK_TYPE | None = None
        self._unsub_midnight: CALLBACK_TYPE | None = None
        self._running = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False
        self._run_task: asyncio.Task[RunResult | None] | None = None
        self._auth_failed = False
        self._unavailable_logged = False
        self._ledger_checked = False

    # --- lifecycle ------------------------------------------------------------------------

    async def _async_setup(self) -> None:
        """Restore the persisted state (no request, no database access)."""
        state = SyncState.from_dict(await self.store.async_load())
        budget = self.api.budget
        self.sync = MeterSync(
            self.client,
            self.options,
            state,
            self.sink,
            dt_util.utcnow,
            remaining=lambda: budget.remaining,
        )
        self.fleet = fleet_plan(self.hass, self.config_entry.data[CONF_BASE_URL], budget.cap)
        self._apply_fleet()

    async def _async_update_data(self) -> LinkyData:
        """Publish the snapshot (no I/O: requests happen in scheduled runs)."""
        return self._snapshot()

    @callback
    def async_start(self) -> None:
        """Start scheduling (after the first refresh and platform setup)."""
        self._async_state_issues()
        self._async_schedule()
        self._async_track_midnight()

    @callback
    def async_fleet_changed(self, plan: FleetPlan) -> None:
        """A meter of this API host came or went: follow its new plan, publish, schedule."""
        self.fleet = plan
        if self._running:
            self._apply_fleet()
            self.async_set_updated_data(self._snapshot())
        else:
            self._async_schedule()  # plans again

    @callback
    def _async_track_midnight(self, _now: datetime | None = None) -> None:
        """Publish a new snapshot at each Paris midnight: "yesterday" moves on even when no
        run happens before the morning."""
        tomorrow = local_date(dt_util.utcnow()) + timedelta(days=1)
        midnight = datetime.combine(tomorrow, datetime.min.time(), PARIS)
        if _now is not None:
            self._async_state_issues()
            self.async_set_updated_data(self._snapshot())
        self._unsub_midnight = async_track_point_in_utc_time(
            self.hass, self._async_track_midnight, midnight + timedelta(seconds=1)
        )

    async def async_shutdown(self) -> None:
        """Stop for good (unload, reload, removal): no run is scheduled or started again, a
        run in progress is cancelled (its writes in progress finish) and awaited, then the
        state is saved."""
        self._closed = True
        self.next_run = None
        await super().async_shutdown()
        for unsub in (self._unsub_timer, self._unsub_midnight):
            if unsub is not None:
                unsub()
        self._unsub_timer = self._unsub_midnight = None
        if (task := self._run_task) is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.sync is not None:
            await self.sync.async_wait_stores()
            await self.store.async_save(self.sync.state.as_dict())

    @property
    def max_power_days(self) -> Mapping[date, MaxPower]:
        """The daily max power imported (the last 60 days)."""
        return {} if self.sync is None else dict(self.sync.state.max_power)

    # --- scheduling -----------------------------------------------------------------------

    @property
    def _sync(self) -> MeterSync:
        if self.sync is None:  # pragma: no cover - set up by _async_setup
            raise RuntimeError("coordinator not set up")
        return self.sync

    def _apply_fleet(self) -> None:
        """Follow the plan of this API host's meters (`fleet`, planned when one comes or goes)."""
        plan = self.fleet
        self._sync.backfill_reserve, self._sync.max_power_every = plan.reserve, plan.max_power_every

    @property
    def may_run(self) -> bool:
        """Whether this meter may run (not shut down, not waiting for a reauthentication,
        its host not banned)."""
        return not (self._closed or self._auth_failed or self.api.banned_at is not None)

    def _next_run_time(self) -> datetime | None:
        """When the next run should start, or None when nothing may run."""
        if not self.may_run:
            return None
        self._apply_fleet()
        if self.scheduler is not None:
            return self.scheduler.expected_run(self.pdl)
        return next_run_time(dt_util.utcnow(), self.pdl, self._sync, self.api.budget)

    @callback
    def async_fleet_stepped(self) -> None:
        """The fleet scheduler decided: publish this meter's next run if it moved (no
        planning again: the plan changes only when a meter comes or goes)."""
        scheduler = self.scheduler if self.may_run else None
        next_run = None if scheduler is None else scheduler.expected_run(self.pdl)
        if next_run != self.next_run:
            self.next_run = next_run
            self.async_set_updated_data(self._snapshot())

    @callback
    def async_set_scheduler(self, scheduler: FleetScheduler | None) -> None:
        """Run as the host's fleet scheduler says (its own timer stops), or alone again."""
        self.scheduler = scheduler
        self._async_schedule()

    @callback
    def _async_schedule(self) -> None:
        if self._closed:
            return
        if self._unsub_timer is not None:
            self._unsub_timer()
            self._unsub_timer = None
        self.next_run = self._next_run_time()
        self.async_set_updated_data(self._snapshot())
        if self.next_run is None or self.scheduler is not None:
            return
        LOGGER.debug("Next Linky run for %s at %s", self.pdl, self.next_run)
        if self.next_run <= dt_util.utcnow():
            self._async_start_run()
        else:
            self._unsub_timer = async_track_point_in_utc_time(
                self.hass, self._async_timer_fired, self.next_run
            )

    @callback
    def _async_timer_fired(self, _now: datetime) -> None:
        self._unsub_timer = None
        self._async_start_run()

    @callback
    def _async_start_run(self) -> None:
        if self._closed:
            return
        self._run_task = self.config_entry.async_create_background_task(
            self.hass, self.async_run(), f"{DOMAIN} run {self.pdl}"
        )

    # --- runs -----------------------------------------------------------------------------

    async def async_run(self) -> RunResult | None:
        """One run now: the daily refresh when it is due, otherwise back-fill only. Nothing
        once the coordinator is shut down, or the API host has banned this IP (a run
        scheduled before another meter met the ban)."""
        if self._running or self._closed:
            return None
        if self.api.banned_at is not None:
            self._async_schedule()
            return None
        return await self._async_exclusive_run(
            lambda: async_scheduled_run(dt_util.utcnow(), self.pdl, self._sync)
        )

    async def async_fleet_run(self, action: Action) -> tuple[RunResult, Outcome] | None:
        """Run one action of the host's fleet scheduler, as a task of this entry (a
        shutdown cancels it); None when it did not run (shut down, cancelled, or busy with
        an import: the scheduler asks again later)."""
        if not self.may_run or self._running:
            return None
        now = dt_util.utcnow()
        outcome: Outcome | None = None

        async def run() -> RunResult:
            nonlocal outcome
            result, outcome = await async_fleet_action(now, self._sync, action, self.api.budget)
            return result

        self._run_task = task = self.config_entry.async_create_background_task(
            self.hass, self._async_exclusive_run(run), f"{DOMAIN} run {self.pdl}"
        )
        try:
            result = await task
        except asyncio.CancelledError:
            if (current := asyncio.current_task()) is not None and current.cancelling():
                raise  # the scheduler itself is stopping
            return None  # this meter's shutdown cancelled its run
        return None if result is None or outcome is None else (result, outcome)

    async def _async_exclusive_run(
        self, engine_run: Callable[[], Awaitable[RunResult]]
    ) -> RunResult | None:
        """One run of the engine, alone (no other run or import meanwhile)."""
        if self._running or self._closed:
            return None
        self._running = True
        self._idle.clear()
        try:
            await self._async_parts_caught_up()
            return await self._async_run(engine_run)
        finally:
            self._running = False
            self._idle.set()
            self._async_schedule()

    async def async_import_days(
        self,
        series: str,
        days: Sequence[DayData],
        adopted_from: tuple[Sequence[str], date] | None = None,
    ) -> list[date]:
        """Store days that come from elsewhere (no request, see `MeterSync.async_import`)
        between two runs; the derived parts follow them as after a run. Returns the days
        written."""
        await self._async_between_runs()
        try:
            written = await self._sync.async_import(series, days, adopted_from)
            for part in self.derived:
                await part.async_after_run(self._sync.written_days)
            await self.store.async_save(self._sync.state.as_dict())
        finally:
            self._async_end_exclusive()
        return written

    async def async_undo_adoptions(self) -> dict[str, date]:
        """Undo the adoptions not confirmed yet: their days are forgotten and deleted (the
        later sums do not change) with what the derived parts computed for them, which then
        recompute. Returns the limit per series undone."""
        await self._async_between_runs()
        try:
            undone = {
                series: until
                for series in self.options.series
                if (until := self._sync.undo_adoption(series)) is not None
            }
            for series, until in undone.items():
                stat_ids = [statistic_id(self.pdl, series)]
                async_delete_rows_before(self.hass, stat_ids, local_day_bounds(until)[0])
            if undone:
                await self._async_forget_before(max(undone.values()), [])
                for part in self.derived:
                    await part.async_recompute()
                await self.store.async_save(self._sync.state.as_dict())
        finally:
            self._async_end_exclusive()
        return undone

    async def _async_between_runs(self) -> None:
        """Wait for the run in progress, then keep runs out until `_async_end_exclusive`."""
        await self._async_parts_caught_up()
        while self._running:
            await self._idle.wait()
        self._running = True
        self._idle.clear()

    async def _async_parts_caught_up(self) -> None:
        """Wait until every derived part has caught up with what was stored before this
        process started: a part never reads days that an import is still writing."""
        for part in self.derived:
            await part.async_wait_caught_up()

    @callback
    def _async_end_exclusive(self) -> None:
        self._running = False
        self._idle.set()
        self.async_set_updated_data(self._snapshot())

    async def _async_check_ledgers(self) -> None:
        """Heal the ledgers if the recorder disagrees with them (once per process, at the
        first run: not at setup, when the recorder may still be writing); a rebuilt series
        means every derived part recomputes."""
        state = self._sync.state
        rebuilt = False
        for series in self.options.series:
            series_state = state.series_state(series)
            ledger = await self.sink.async_check_ledger(series, series_state.ledger)
            if ledger is not None:
                series_state.ledger = ledger
                series_state.daily_imported = series_state.daily_imported and bool(ledger.days())
                rebuilt = True
        self._ledger_checked = True
        if rebuilt:
            for part in self.derived:
                await part.async_recompute()

    async def _async_run(self, engine_run: Callable[[], Awaitable[RunResult]]) -> RunResult:
        sync = self._sync
        state = sync.state
        if not self._ledger_checked:
            await self._async_check_ledgers()
        self._apply_fleet()
        result = await engine_run()
        LOGGER.debug("Linky run for %s: %s, %s requests", self.pdl, result.status, result.requests)
        for part in self.derived:
            await part.async_after_run(sync.written_days)
        await self._async_apply_retention()
        await self.store.async_save(state.as_dict())
        await async_flush_budgets(self.hass)  # the shared request budget, now
        await self._async_handle_result(result)
        return result

    async def _async_apply_retention(self) -> None:
        """Delete the statistics older than the data-retention option (the entry's energy
        and derived series), and forget those days; the later sums do not change."""
        keep_from = self._sync.planner.keep_from
        if keep_from is not None:
            await self._async_forget_before(keep_from, self._sync.forget_before(keep_from))

    async def _async_forget_before(self, day: date, names: list[str]) -> None:
        """The derived parts forget their days before `day`; their rows and those of the
        series `names` (forgotten already) before it are deleted."""
        for part in self.derived:
            names = names + await part.async_forget_before(day)
        if names:
            stat_ids = [statistic_id(self.pdl, name) for name in names]
            async_delete_rows_before(self.hass, stat_ids, local_day_bounds(day)[0])

    async def _async_handle_result(self, result: RunResult) -> None:
        self._async_log_availability(result)
        self._async_state_issues()
        entry = self.config_entry
        if result.status is RunStatus.BANNED:
            LOGGER.error(
                "Conso API blocked this IP address (%s): all Linky polling stops",
                entry.data[CONF_BASE_URL],
            )
            await async_report_banned(self.hass, entry, self.pdl)
            return
        if result.status is RunStatus.AUTH:
            self._auth_failed = True
            entry.async_start_reauth(self.hass)
            return
        no_consent = result.status is RunStatus.NO_CONSENT
        async_set_consent_revoked(self.hass, entry, self.pdl, no_consent)
        if no_consent:
            self._auth_failed = True
            entry.async_start_reauth(self.hass)

    @callback
    def _async_state_issues(self) -> None:
        """Repair issues that follow from the saved state (at start, after each run, at
        midnight)."""
        state = self._sync.state
        async_update_meter_issues(
            self.hass,
            self.config_entry,
            self.pdl,
            series=self.options.series,
            curve_unavailable=[
                series
                for series in self.options.series
                if state.series_state(series).curve_available is False
            ],
            consent_expires=self.token.expires_at,
        )

    @callback
    def _async_log_availability(self, result: RunResult) -> None:
        """Log once (info) when the service stops answering, and once when it is back."""
        error = result.error
        failed = error is not None and error.kind is not ErrorKind.BUDGET_EXHAUSTED
        if failed and not self._unavailable_logged:
            LOGGER.info(
                "Conso API is unavailable for %s (%s); next attempt as scheduled",
                self.config_entry.title,
                error.message if error else result.status,
            )
            self._unavailable_logged = True
        elif result.status is RunStatus.OK and self._unavailable_logged:
            LOGGER.info("Conso API answers again for %s", self.config_entry.title)
            self._unavailable_logged = False

    # --- snapshot -------------------------------------------------------------------------

    def _snapshot(self) -> LinkyData:
        sync = self._sync
        state = sync.state
        today = local_date(dt_util.utcnow())
        consumption = state.series_state(SERIES_CONSUMPTION)
        latest = consumption.ledger.last_day
        budget = self.api.budget
        return LinkyData(
            today=today,
            consumption=series_figures(consumption, today),
            production=series_figures(state.series_state(SERIES_PRODUCTION), today)
            if SERIES_PRODUCTION in self.options.series
            else None,
            max_power=state.latest_max_power,
            latest_day=latest,
            consent_expires=self.token.expires_at,
            stale=latest is None or (today - latest).days > STALE_AFTER_DAYS,
            budget_used=budget.used,
            budget_remaining=budget.remaining,
            budget_cap=budget.cap,
            next_run=self.next_run,
            last_success=state.last_success,
            last_error=state.last_error,
            backfill_progress=round(sync.backfill_progress() * 100, 1),
            banned=self.api.banned_at is not None,
            fleet=self.fleet,
        )
