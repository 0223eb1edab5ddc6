"""Load shedding in Home Assistant: the glue around `shedding.controller` and `signals`.

One `LoadShedding` per meter whose options hold a `load_shedding` section (the entry's
`LinkyRuntimeData.shedding`); its loads are the entry's `load` subentries. It owns the
controller, the live power detector, their persisted state and the listeners:

- the peak is `combine(tariff peaks, live power peak)`: the contract's peak hours (with the
  Tempo colours of the meter's Tempo source) and the live power entity against the
  subscribed power, with hysteresis and a dwell time;
- it is evaluated on each change of the live power entity, at the tariff's next change, on
  Tempo updates, at pre-heat window edges and every `step_interval`;
- the controller's actions are executed as blocking service calls (a failing call is logged
  and never stops the others), `linky_load_shed` / `linky_load_restored` events are fired
  with the entry id, and the state is saved after each change;
- setup rebuilds the controller from the store and resumes (re-sheds while the peak is
  still on, restores otherwise); a real unload restores every load; a Home Assistant stop
  only saves, so that loads are restored exactly after the restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import UnitOfPower
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    State,
    callback,
)
from homeassistant.helpers.event import (
    async_track_point_in_utc_time,
    async_track_state_change_event,
    async_track_time_interval,
)
from homeassistant.helpers.start import async_at_started
from homeassistant.util import dt as dt_util
from homeassistant.util.unit_conversion import PowerConverter

from ..const import DOMAIN, LOGGER
from ..energy.pricing import TariffEngine
from ..energy.tariffs import Bucket, Tariff, TariffError
from ..energy.tempo_calendar import TempoColour
from ..localtime import local_date
from ..options import LinkyOptions, SheddingOptions
from ..shedding.controller import (
    EVENT_RESTORE,
    EVENT_SHED,
    Action,
    BatteryAction,
    RestoreReason,
    ShedAction,
    SheddingController,
)
from ..shedding.loads import RawState, ServiceCall
from ..shedding.signals import (
    INACTIVE,
    PeakSignal,
    PowerPeakDetector,
    PreheatSignal,
    TariffPeaks,
    combine,
    preheat_signal,
)
from .notify import Notifier
from .store import entry_store
from .tempo_source import TempoCoordinator

STORE_NAME: Final = "shedding"
CALL_TIMEOUT: Final = timedelta(seconds=15)
RESTORE_PATIENCE: Final = timedelta(hours=1)
SHED_DAYS_KEPT: Final = timedelta(days=400)
SAVE_DELAY: Final = 10  # seconds, for detector-only changes (actions save at once)
_OFFPEAK_BUCKETS: Final = frozenset({Bucket.HC, Bucket.BLUE_HC, Bucket.WHITE_HC, Bucket.RED_HC})
_APPARENT_POWER_FACTORS: Final = {"VA": 1.0, "kVA": 1000.0}


def power_in_watts(state: State | None) -> float | None:
    """A power entity's reading in W (W/kW/MW, or VA/kVA taken as W); None when missing,
    unavailable or not a number."""
    if state is None:
        return None
    try:
        value = float(state.state)
    except ValueError:
        return None
    unit = state.attributes.get("unit_of_measurement") or UnitOfPower.WATT
    if unit in _APPARENT_POWER_FACTORS:
        return value * _APPARENT_POWER_FACTORS[unit]
    try:
        return PowerConverter.convert(value, unit, UnitOfPower.WATT)
    except KeyError, ValueError:  # an unknown unit
        return None


class LoadShedding(Notifier):
    """One meter's load-shedding runtime (see the module docstring)."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        pdl: str,
        options: SheddingOptions,
        *,
        tempo: TempoCoordinator | None = None,
        tariff: Tariff | None = None,
    ) -> None:
        super().__init__()
        self.hass = hass
        self.entry = entry
        self.pdl = pdl
        self.options = options
        self.tempo = tempo
        self.store = entry_store(hass, entry.entry_id, STORE_NAME)
        self.controller = SheddingController(
            options.loads, options.batteries, options.controller_config
        )
        threshold = options.threshold
        self.detector = (
            PowerPeakDetector(threshold) if threshold is not None and options.power_entity else None
        )
        self._engine = None if tariff is None else TariffEngine(tariff, self._colour_of)
        self.tariff_peaks = (
            None if tariff is None else TariffPeaks(tariff, self._colour_of, options.peak_buckets)
        )
        self.peak: PeakSignal = INACTIVE
        self.preheat: PreheatSignal = PreheatSignal(False)
        self.power_w: float | None = None
        self.next_change: datetime | None = None
        self._unsubs: list[CALLBACK_TYPE] = []
        self._unsub_timer: CALLBACK_TYPE | None = None
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self.shed_days: set[date] = set()
        """Local days some load was shed on (left out of the insights' baselines)."""

    # --- lifecycle ------------------------------------------------------------------------

    async def async_setup(self) -> None:
        """Rebuild the controller and detector from the store (their configuration comes
        from the options)."""
        saved = await self.store.async_load()
        if not saved:
            return
        options = self.options
        try:
            self.controller = SheddingController.from_dict(
                saved["controller"], options.loads, options.batteries, options.controller_config
            )
            if self.detector is not None and saved.get("detector"):
                self.detector = PowerPeakDetector.from_dict(
                    self.detector.threshold, saved["detector"]
                )
        except (KeyError, TypeError, ValueError) as err:
            LOGGER.warning("Saved load-shedding state of %s is unreadable: %s", self.pdl, err)
        try:
            self.shed_days = {date.fromisoformat(day) for day in saved.get("shed_days", [])}
        except (TypeError, ValueError) as err:
            LOGGER.warning("Saved shed days of %s are unreadable: %s", self.pdl, err)

    @callback
    def async_start_after_startup(self) -> None:
        """Start once Home Assistant has started: the loads' entities exist by then."""
        self._unsubs.append(async_at_started(self.hass, self._async_start_job))

    async def _async_start_job(self, _hass: HomeAssistant) -> None:
        await self.async_start()

    async def async_start(self) -> None:
        """Resume after a (re)start, then follow the signals."""
        async with self._lock:
            now = dt_util.utcnow()
            self.peak = self._peak(now)
            await self._async_save_then_execute(self.controller.resume(now, self.peak))
        if self.options.power_entity:
            self._unsubs.append(
                async_track_state_change_event(
                    self.hass, [self.options.power_entity], self._async_power_changed
                )
            )
        self._unsubs.append(
            async_track_time_interval(
                self.hass, self._async_tick, self.options.step_interval, cancel_on_shutdown=True
            )
        )
        if self.tempo is not None:
            self._unsubs.append(self.tempo.async_add_listener(self.async_request_evaluation))
        self.async_request_evaluation()

    async def async_unload(self) -> None:
        """Stop following the signals. A real unload restores every shed load; a Home
        Assistant stop only saves (the loads are restored or shed again at the restart)."""
        while self._unsubs:
            self._unsubs.pop()()
        self._cancel_timer()
        if self._task is not None and not self._task.done():
            self._task.cancel()
        async with self._lock:
            if not self.hass.is_stopping:
                await self._async_save_then_execute(self.controller.restore_all(dt_util.utcnow()))
            await self.store.async_save(self._data_to_save())

    # --- entities -------------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        """Whether shedding is enabled (the switch)."""
        return self.controller.enabled

    async def async_set_enabled(self, enabled: bool) -> None:
        """Enable or disable shedding; disabling restores every load at once."""
        async with self._lock:
            await self._async_save_then_execute(
                self.controller.set_enabled(enabled, dt_util.utcnow())
            )
        self._async_notify()
        if enabled:
            self.async_request_evaluation()

    # --- evaluation -----------------------------------------------------------------------

    @callback
    def async_request_evaluation(self) -> None:
        """Evaluate soon (in the background); requests during a running evaluation are
        merged into one more evaluation."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = self.entry.async_create_background_task(
            self.hass, self._async_run(), f"{DOMAIN} load shedding {self.pdl}"
        )

    async def async_evaluate(self) -> None:
        """Evaluate now: peak signal, controller step, actions, save, schedule."""
        async with self._lock:
            now = dt_util.utcnow()
            self.peak = self._peak(now)
            actions = self.controller.step(
                now, self.peak, self._read, self.power_w, offpeak=self._offpeak(now)
            )
            if actions:
                await self._async_save_then_execute(actions)
            else:
                self.store.async_delay_save(self._data_to_save, SAVE_DELAY)
            self._async_schedule(now)
        self._async_notify()

    async def _async_run(self) -> None:
        while True:
            self._again = False
            await self.async_evaluate()
            if not self._again:
                return

    @callback
    def _async_power_changed(self, event: Event[EventStateChangedData]) -> None:
        """Feed every reading to the detector (none is lost when evaluations merge)."""
        self.power_w = power_in_watts(event.data["new_state"])
        if self.detector is not None:
            self.detector.update(dt_util.utcnow(), self.power_w)
        self.async_request_evaluation()

    @callback
    def _async_tick(self, _now: datetime) -> None:
        self.async_request_evaluation()

    @callback
    def _async_timer_fired(self, _now: datetime) -> None:
        self._unsub_timer = None
        self.async_request_evaluation()

    def _colour_of(self, day: date) -> TempoColour | None:
        """The Tempo colour of a day from the meter's Tempo source (None: unknown)."""
        return None if self.tempo is None else self.tempo.source.cache.colour(day)

    def _peak(self, now: datetime) -> PeakSignal:
        """The combined peak signal at `now` (the tariff first: its reason wins)."""
        signals: list[PeakSignal] = []
        if self.tariff_peaks is not None:
            signals.append(self.tariff_peaks.signal(now))
        if self.detector is not None:
            self.power_w = power_in_watts(self.hass.states.get(self.options.power_entity or ""))
            signals.append(self.detector.update(now, self.power_w))
        if self.tempo is not None:
            self.preheat = preheat_signal(now, self._colour_of)
        return combine(*signals)

    def _offpeak(self, now: datetime) -> bool:
        """Whether `now` is in off-peak tariff hours (batteries charge then)."""
        if self._engine is None:
            return False
        try:
            return self._engine.bucket_at(now) in _OFFPEAK_BUCKETS
        except LookupError, TariffError:
            return False

    def _read(self, entity_id: str) -> RawState | None:
        state = self.hass.states.get(entity_id)
        return None if state is None else (state.state, state.attributes)

    @callback
    def _async_schedule(self, now: datetime) -> None:
        """Evaluate again at the tariff's next change or a pre-heat window edge."""
        self._cancel_timer()
        edges = [
            edge
            for edge in (
                None if self.tariff_peaks is None else self.tariff_peaks.next_change(now),
                self.preheat.start,
                self.preheat.end,
            )
            if edge is not None and edge > now
        ]
        self.next_change = min(edges, default=None)
        if self.next_change is not None:
            self._unsub_timer = async_track_point_in_utc_time(
                self.hass, self._async_timer_fired, self.next_change
            )

    def _cancel_timer(self) -> None:
        if self._unsub_timer is not None:
            self._unsub_timer()
            self._unsub_timer = None

    async def _async_save_then_execute(self, actions: Sequence[Action]) -> None:
        """Save what the controller decided (a crash while acting then loses nothing: a
        shed load is known as shed before it is), act, and save again."""
        if self.controller.level or any(isinstance(a, ShedAction) for a in actions):
            today = local_date(dt_util.utcnow())
            self.shed_days = {d for d in self.shed_days if d > today - SHED_DAYS_KEPT}
            self.shed_days.add(today)
        await self.store.async_save(self._data_to_save())
        await async_execute(self.hass, self.entry.entry_id, self.pdl, actions)
        if actions:
            await self.store.async_save(self._data_to_save())

    @callback
    def _data_to_save(self) -> dict[str, Any]:
        return {
            "controller": self.controller.as_dict(),
            "detector": None if self.detector is None else self.detector.as_dict(),
            "shed_days": sorted(day.isoformat() for day in self.shed_days),
        }


async def _async_call_service(hass: HomeAssistant, call: ServiceCall) -> None:
    await hass.services.async_call(
        call.domain, call.service, {"entity_id": call.entity_id, **call.data}, blocking=True
    )


async def async_execute(
    hass: HomeAssistant, entry_id: str, pdl: str, actions: Sequence[Action]
) -> None:
    """Run each action's service calls in order (each within `CALL_TIMEOUT`: a hung
    integration must not hold shedding) and fire its event."""
    for action in actions:
        calls = (action.call,) if isinstance(action, BatteryAction) else action.calls
        for call in calls:
            try:
                async with asyncio.timeout(CALL_TIMEOUT.total_seconds()):
                    await _async_call_service(hass, call)
            except Exception as err:  # one failing load must not stop the rest
                LOGGER.warning(
                    "Load shedding of %s: %s.%s on %s failed: %s",
                    pdl,
                    call.domain,
                    call.service,
                    call.entity_id,
                    repr(err) if isinstance(err, TimeoutError) else err,
                )
        if not isinstance(action, BatteryAction):
            hass.bus.async_fire(
                EVENT_SHED if isinstance(action, ShedAction) else EVENT_RESTORE,
                {**action.event_payload(), "config_entry_id": entry_id},
            )


async def async_restore_when_setup_fails(
    hass: HomeAssistant, entry: ConfigEntry, pdl: str, options: LinkyOptions
) -> None:
    """The entry cannot be set up (an expired token, an error): put back the loads its
    shedding left shed at the last stop, and keep restoring those not back yet, as the
    running shedding would (for `RESTORE_PATIENCE` at most)."""
    store = entry_store(hass, entry.entry_id, STORE_NAME)
    saved = await store.async_load()
    settings = options.shedding
    if not saved or settings is None:
        return
    try:
        controller = SheddingController.from_dict(
            saved["controller"], settings.loads, settings.batteries, settings.controller_config
        )
    except (KeyError, TypeError, ValueError) as err:
        LOGGER.warning("Saved load-shedding state of %s is unreadable: %s", pdl, err)
        return
    if not controller.shed_entities and not controller.restoring_entities:
        return

    def read(entity_id: str) -> RawState | None:
        state = hass.states.get(entity_id)
        return None if state is None else (state.state, state.attributes)

    async def save_then_execute(actions: Sequence[Action]) -> None:
        await store.async_save({**saved, "controller": controller.as_dict()})
        await async_execute(hass, entry.entry_id, pdl, actions)
        await store.async_save({**saved, "controller": controller.as_dict()})

    async def restore(_hass: HomeAssistant) -> None:
        started = dt_util.utcnow()
        LOGGER.warning("%s could not be set up: restoring the loads it had shed", entry.title)
        await save_then_execute(controller.restore_all(started, RestoreReason.RESTART))
        unsub: CALLBACK_TYPE | None = None

        async def retry(now: datetime) -> None:
            await save_then_execute(controller.step(now, INACTIVE, read))
            if unsub is not None and (
                not controller.restoring_entities or now - started > RESTORE_PATIENCE
            ):
                unsub()

        if controller.restoring_entities:
            unsub = async_track_time_interval(
                hass, retry, settings.step_interval, cancel_on_shutdown=True
            )

    async_at_started(hass, restore)


def async_create_shedding(
    hass: HomeAssistant,
    entry: ConfigEntry,
    pdl: str,
    options: LinkyOptions,
    tempo: TempoCoordinator | None,
) -> LoadShedding | None:
    """The load shedding of an entry whose options configure it (None otherwise), with the
    entry's contract (tariff peaks) and Tempo colours (red days, pre-heat)."""
    if options.shedding is None:
        return None
    return LoadShedding(hass, entry, pdl, options.shedding, tempo=tempo, tariff=options.tariff)


async def async_remove_shedding(hass: HomeAssistant, entry_id: str) -> None:
    """Forget an entry's saved load-shedding state (the entry is deleted)."""
    await entry_store(hass, entry_id, STORE_NAME).async_remove()
