"""The Linky coordinator: schedules runs of the sync engine and publishes a snapshot.

Home Assistant glue around `sync.MeterSync` (what to fetch) and `schedule` (when):

- Setup makes no request and reads no statistics: it restores the persisted state and
  schedules the next run. Only a meter that was never imported runs at once (the first
  import). The first run of each process checks the ledger against the recorder (healing it
  if the recorder disagrees).
- One daily run in the meter's slot between 06:00 and 10:00, one retry early in the
  afternoon when yesterday is still missing or the run failed, back-fill runs whenever the
  shared request budget has room above its reserve, and nothing at all once the service has
  banned this IP.
- `data` is a snapshot computed from the persisted state, without I/O, for the entities.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.recorder import get_instance
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .budgets import ServiceState, async_flush, async_set_banned
from .conso.client import ConsoApiClient
from .conso.errors import BudgetExhaustedError
from .conso.models import PARIS, MaxPower
from .conso.token import ConsentToken
from .const import (
    CONF_BASE_URL,
    CONF_PDL,
    CONSENT_EXPIRY_WARNING_DAYS,
    DOMAIN,
    ISSUE_BANNED,
    ISSUE_CONSENT_EXPIRING,
    ISSUE_CONSENT_REVOKED,
    ISSUE_HOURLY_COLLECTION,
    LOGGER,
    SERIES_CONSUMPTION,
    SERIES_PRODUCTION,
)
from .costs import CostUpdater
from .energy.ledger import SeriesLedger, plan_write
from .insight import PeakInsight
from .load_shedding import LoadShedding, async_create_shedding
from .schedule import next_daily_run
from .self_consumption import CONF_PV_ENTITY, SelfConsumptionUpdater
from .statistics import RecorderSink, read_stored_days, statistic_id
from .sync import (
    ErrorInfo,
    MeterOptions,
    MeterSync,
    RunResult,
    RunStatus,
    SeriesState,
    SyncState,
)

STORAGE_VERSION = 1
STALE_AFTER_DAYS = 3
# The smallest pause between two runs of one meter (avoids tight loops whatever happens).
MIN_RUN_GAP = timedelta(minutes=2)

type LinkyConfigEntry = ConfigEntry[LinkyCoordinator]


@dataclass(frozen=True, slots=True)
class SeriesFigures:
    """Day totals of one series for the sensors, in kWh."""

    yesterday: float | None
    last_7_days: float | None
    month_to_date: float | None


@dataclass(frozen=True, slots=True)
class LinkyData:
    """What the entities show; computed from the persisted state without I/O."""

    today: date
    consumption: SeriesFigures
    production: SeriesFigures | None
    max_power: MaxPower | None
    latest_day: date | None
    consent_expires: datetime | None
    stale: bool
    budget_used: int
    budget_remaining: int
    budget_cap: int
    next_run: datetime | None
    last_success: datetime | None
    last_error: ErrorInfo | None
    backfill_progress: float
    banned: bool


def _figures(state: SeriesState, today: date) -> SeriesFigures:
    ledger = state.ledger
    yesterday = today - timedelta(days=1)

    def total(days: list[date]) -> float | None:
        values = [record.total_wh for day in days if (record := ledger.get(day)) is not None]
        return round(sum(values) / 1000, 3) if values else None

    record = ledger.get(yesterday)
    month_days = [date(yesterday.year, yesterday.month, day) for day in range(1, yesterday.day + 1)]
    return SeriesFigures(
        yesterday=round(record.total_wh / 1000, 3) if record is not None else None,
        last_7_days=total([yesterday - timedelta(days=n) for n in range(7)]),
        month_to_date=(total(month_days) or 0.0) if today.day != 1 else 0.0,
    )


class LinkyCoordinator(DataUpdateCoordinator[LinkyData]):
    """Schedules and runs one meter's synchronisation."""

    config_entry: LinkyConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: LinkyConfigEntry,
        *,
        client: ConsoApiClient,
        service: ServiceState,
        token: ConsentToken,
        options: MeterOptions,
    ) -> None:
        super().__init__(hass, LOGGER, config_entry=entry, name=f"{DOMAIN} {entry.data[CONF_PDL]}")
        self.client = client
        self.service = service
        self.token = token
        self.options = options
        self.pdl: str = entry.data[CONF_PDL]
        self.store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}"
        )
        self.sink = RecorderSink(hass, self.pdl)
        self.costs = CostUpdater(hass, entry, self.pdl, options.series)
        self.sync: MeterSync | None = None
        self.shedding: LoadShedding | None = None
        self.self_consumption = (
            SelfConsumptionUpdater(
                hass, entry, self.pdl, options.series, self.async_update_listeners
            )
            if entry.options.get(CONF_PV_ENTITY)
            else None
        )
        self.insight = (
            PeakInsight(hass, entry, self.pdl, self.async_update_listeners)
            if options.hourly_history_months > 0
            else None
        )
        self.next_run: datetime | None = None
        self._unsub_timer: CALLBACK_TYPE | None = None
        self._unsub_midnight: CALLBACK_TYPE | None = None
        self._running = False
        self._auth_failed = False
        self._unavailable_logged = False
        self._ledger_checked = False

    # --- lifecycle ------------------------------------------------------------------------

    async def _async_setup(self) -> None:
        """Restore the persisted state (no request, no database access)."""
        state = SyncState.from_dict(await self.store.async_load())
        self.sync = MeterSync(self.client, self.options, state, self.sink, dt_util.utcnow)
        await self.costs.async_setup()
        self.costs.async_start()
        self.shedding = async_create_shedding(
            self.hass, self.config_entry, self.pdl, self.costs.tempo, self.costs.tariff
        )
        if self.shedding is not None:
            await self.shedding.async_setup()
        if self.self_consumption is not None:
            await self.self_consumption.async_setup()
            self.self_consumption.async_start()
        if self.insight is not None:
            self.insight.async_start()

    async def _async_check_ledger(self, state: SyncState, series: str) -> None:
        series_state = state.series_state(series)
        ledger_sum = series_state.ledger.total_wh / 1000
        recorder_sum = await self.sink.async_last_sum(series)
        if recorder_sum is None and not series_state.ledger.days():
            return
        if recorder_sum is not None and abs(recorder_sum - ledger_sum) < 1e-3:
            return
        LOGGER.warning(
            "Stored %s statistics of %s disagree with the integration's ledger "
            "(%s kWh vs %s kWh): rebuilding the ledger from the recorder",
            series,
            self.pdl,
            recorder_sum,
            round(ledger_sum, 3),
        )
        instance = get_instance(self.hass)
        days = await instance.async_add_executor_job(
            read_stored_days, self.hass, statistic_id(self.pdl, series), None
        )
        if not days:
            series_state.ledger = SeriesLedger()
            series_state.daily_imported = False
            return
        # Every stored row is rewritten with sums recomputed from the stored states (a plan
        # against an empty ledger has no sum adjustment).
        plan = await self.hass.async_add_executor_job(plan_write, SeriesLedger(), days)
        await self.sink.async_write(series, plan)
        series_state.ledger = plan.ledger_after

    async def _async_update_data(self) -> LinkyData:
        """Publish the snapshot (no I/O: requests happen in scheduled runs)."""
        return self._snapshot()

    @callback
    def async_start(self) -> None:
        """Start scheduling (after the first refresh and platform setup)."""
        self._async_state_issues()
        self._async_schedule()
        self._async_track_midnight()
        if self.shedding is not None:
            self.shedding.async_start_after_startup()

    @callback
    def _async_track_midnight(self, _now: datetime | None = None) -> None:
        """Publish a new snapshot at each Paris midnight: "yesterday" moves on even when no
        run happens before the morning."""
        tomorrow = dt_util.utcnow().astimezone(PARIS).date() + timedelta(days=1)
        midnight = datetime.combine(tomorrow, datetime.min.time(), PARIS)
        if _now is not None:
            self._async_state_issues()
            self.async_set_updated_data(self._snapshot())
        self._unsub_midnight = async_track_point_in_utc_time(
            self.hass, self._async_track_midnight, midnight + timedelta(seconds=1)
        )

    async def async_shutdown(self) -> None:
        """Cancel the timer and save the state."""
        await super().async_shutdown()
        for unsub in (self._unsub_timer, self._unsub_midnight):
            if unsub is not None:
                unsub()
        self._unsub_timer = self._unsub_midnight = None
        if self.shedding is not None:
            await self.shedding.async_unload()
        if self.sync is not None:
            await self.store.async_save(self.sync.state.as_dict())

    # --- scheduling -----------------------------------------------------------------------

    @property
    def _sync(self) -> MeterSync:
        if self.sync is None:  # pragma: no cover - set up by _async_setup
            raise RuntimeError("coordinator not set up")
        return self.sync

    def _next_run_time(self) -> datetime | None:
        """When the next run should start, or None when nothing may run."""
        if self.service.banned_at is not None or self._auth_failed:
            return None
        now = dt_util.utcnow()
        state = self._sync.state
        if not all(state.series_state(s).daily_imported for s in self.options.series):
            when = now  # first import (of a new meter, or of production just enabled)
        else:
            when, _ = next_daily_run(now, self.pdl, state.schedule)
            if state.last_error is None and self._sync.backfill_pending():
                # Back-fill continues as soon as the shared budget has room above its
                # reserve, but not after a failed run (that waits for the retry slot).
                budget = self.service.budget
                when = min(when, budget.available_at(self._sync.backfill_reserve + 1))
        when = max(when, self.service.budget.next_available_at())
        if state.last_attempt is not None:
            when = max(when, state.last_attempt + MIN_RUN_GAP)
        return max(when, now)

    @callback
    def _async_schedule(self) -> None:
        if self._unsub_timer is not None:
            self._unsub_timer()
            self._unsub_timer = None
        self.next_run = self._next_run_time()
        self.async_set_updated_data(self._snapshot())
        if self.next_run is None:
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
        self.config_entry.async_create_background_task(
            self.hass, self.async_run(), f"{DOMAIN} run {self.pdl}"
        )

    # --- runs -----------------------------------------------------------------------------

    async def async_run(self) -> RunResult | None:
        """One run now: the daily refresh when it is due, otherwise back-fill only."""
        if self._running:
            return None
        self._running = True
        try:
            return await self._async_run()
        finally:
            self._running = False
            self._async_schedule()

    async def _async_run(self) -> RunResult:
        sync = self._sync
        state = sync.state
        now = dt_util.utcnow()
        today = now.astimezone(PARIS).date()
        # Heal the ledger first if the recorder disagrees with it: checked once per process, at
        # the first run (not at setup, when the recorder may still be writing, and waiting
        # for it during Home Assistant's start would block the start).
        if not self._ledger_checked:
            for series in self.options.series:
                await self._async_check_ledger(state, series)
            self._ledger_checked = True
        first_import = not all(state.series_state(s).daily_imported for s in self.options.series)
        due, is_retry = next_daily_run(now, self.pdl, state.schedule)
        daily = first_import or due <= now
        result = await sync.async_run(daily=daily, backfill=True)
        LOGGER.debug("Linky run for %s: %s, %s requests", self.pdl, result.status, result.requests)
        if daily and result.status is not RunStatus.BUDGET:
            schedule = state.schedule
            schedule.last_run_day = today
            if is_retry:
                schedule.retry_done_day = today
            yesterday = today - timedelta(days=1)
            if result.status is RunStatus.FAILED or not sync.has_day(SERIES_CONSUMPTION, yesterday):
                schedule.retry_day = today
        await self.costs.async_after_run(sync.written_days)
        if self.self_consumption is not None:
            await self.self_consumption.async_after_run(sync.written_days)
        if self.insight is not None:
            await self.insight.async_after_run(sync.written_days.get(SERIES_CONSUMPTION, ()))
        await self.store.async_save(state.as_dict())
        await async_flush(self.hass)  # the shared request budget, now rather than debounced
        await self._async_handle_result(result)
        return result

    async def _async_handle_result(self, result: RunResult) -> None:
        self._async_log_availability(result)
        self._async_state_issues()
        if result.status is RunStatus.BANNED:
            LOGGER.error(
                "Conso API blocked this IP address (%s): all Linky polling stops",
                self.config_entry.data[CONF_BASE_URL],
            )
            await async_set_banned(self.hass, self.config_entry.data[CONF_BASE_URL], True)
            self._async_issue(ISSUE_BANNED, True, ISSUE_BANNED, severity=ir.IssueSeverity.ERROR)
            return
        if result.status is RunStatus.AUTH:
            self._auth_failed = True
            self.config_entry.async_start_reauth(self.hass)
            return
        no_consent = result.status is RunStatus.NO_CONSENT
        self._async_issue(
            f"{ISSUE_CONSENT_REVOKED}_{self.pdl}",
            no_consent,
            ISSUE_CONSENT_REVOKED,
            severity=ir.IssueSeverity.ERROR,
        )
        if no_consent:
            self._auth_failed = True
            self.config_entry.async_start_reauth(self.hass)

    @callback
    def _async_state_issues(self) -> None:
        """Repair issues that follow from the saved state: hourly collection disabled at
        Enedis (per series) and the consent expiring soon. At start, after each run, and at
        midnight."""
        for series in self.options.series:
            self._async_issue(
                f"{ISSUE_HOURLY_COLLECTION}_{self.pdl}_{series}",
                self._sync.state.series_state(series).curve_available is False,
                ISSUE_HOURLY_COLLECTION,
                severity=ir.IssueSeverity.WARNING,
            )
        expires = self.token.expires_at
        self._async_issue(
            f"{ISSUE_CONSENT_EXPIRING}_{self.pdl}",
            expires is not None
            and expires - dt_util.utcnow() < timedelta(days=CONSENT_EXPIRY_WARNING_DAYS),
            ISSUE_CONSENT_EXPIRING,
            severity=ir.IssueSeverity.WARNING,
        )

    @callback
    def _async_log_availability(self, result: RunResult) -> None:
        """Log once (info) when the service stops answering, and once when it is back."""
        failed = result.error is not None and not isinstance(result.error, BudgetExhaustedError)
        if failed and not self._unavailable_logged:
            LOGGER.info(
                "Conso API is unavailable for %s (%s); next attempt as scheduled",
                self.config_entry.title,
                result.error.message if result.error else result.status,
            )
            self._unavailable_logged = True
        elif result.status is RunStatus.OK and self._unavailable_logged:
            LOGGER.info("Conso API answers again for %s", self.config_entry.title)
            self._unavailable_logged = False

    @callback
    def _async_issue(
        self, issue_id: str, active: bool, key: str, *, severity: ir.IssueSeverity
    ) -> None:
        if not active:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=key == ISSUE_BANNED,
            is_persistent=False,
            severity=severity,
            translation_key=key,
            translation_placeholders={
                "pdl": self.pdl,
                "title": self.config_entry.title,
                "expires": self.token.expires_at.date().isoformat()
                if self.token.expires_at
                else "",
            },
            learn_more_url="https://github.com/linky-ha/linky#troubleshooting",
        )

    def check_auth(self) -> None:
        """Raise ConfigEntryAuthFailed when the token was rejected (for setup)."""
        if self._auth_failed:
            raise ConfigEntryAuthFailed

    # --- snapshot -------------------------------------------------------------------------

    def _snapshot(self) -> LinkyData:
        sync = self._sync
        state = sync.state
        now = dt_util.utcnow()
        today = now.astimezone(PARIS).date()
        consumption = state.series_state(SERIES_CONSUMPTION)
        latest = consumption.ledger.last_day
        max_power = state.max_power[max(state.max_power)] if state.max_power else None
        expires = self.token.expires_at
        budget = self.service.budget
        return LinkyData(
            today=today,
            consumption=_figures(consumption, today),
            production=_figures(state.series_state(SERIES_PRODUCTION), today)
            if SERIES_PRODUCTION in self.options.series
            else None,
            max_power=max_power,
            latest_day=latest,
            consent_expires=expires,
            stale=latest is None or (today - latest).days > STALE_AFTER_DAYS,
            budget_used=budget.used,
            budget_remaining=budget.remaining,
            budget_cap=budget.cap,
            next_run=self.next_run,
            last_success=state.last_success,
            last_error=state.last_error,
            backfill_progress=round(sync.backfill_progress() * 100, 1),
            banned=self.service.banned_at is not None,
        )
