"""One scheduler for the meters that share a Conso API host (Home Assistant glue).

A meter alone on its host runs on its own timer (its daily slot and single retry, see
`coordinator.py`). From `FLEET_FROM_METERS` meters on one host, the host's
`FleetScheduler` decides which meter sends what, and when, with the HA-free fleet policy
(`sync/fleet.py`): one meter probes for yesterday's publication, then every other meter
gets its daily run; back-fill, gap healing, the max power and production share what the
daily runs leave in the request budget, in turn. The meters' coordinators run the actions
(`LinkyCoordinator.async_fleet_run`) one at a time, and stop their own timers meanwhile.

The scheduler follows the host's loaded entries (`async_update_fleet`, called when an entry
is set up, unloaded or deleted): below `FLEET_FROM_METERS` it stops and hands every meter
back to its own timer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from ..const import DOMAIN, LOGGER
from ..instance import ApiState
from ..sync.fleet import Action, FleetPolicy
from ..sync.runs import fleet_meter

if TYPE_CHECKING:
    from ..coordinator import LinkyCoordinator

FLEET_FROM_METERS: Final = 2
"""Meters on one host from which they share one scheduler (one meter is its own probe)."""
IDLE_STEP: Final = timedelta(minutes=1)
"""After an action that sent nothing (a meter busy with an import, a request refused), the
next step waits at least this long: never a tight loop."""

_SCHEDULERS: HassKey[dict[str, FleetScheduler]] = HassKey(f"{DOMAIN}_fleet")


class FleetScheduler:
    """Runs the fleet policy for the meters of one API host."""

    def __init__(self, hass: HomeAssistant, host: str, api: ApiState) -> None:
        self.hass = hass
        self.host = host
        self.api = api
        self.policy = FleetPolicy(api.budget.cap, seed=host)
        self.members: dict[str, LinkyCoordinator] = {}
        self._unsub_timer: CALLBACK_TYPE | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._unsub_stop: CALLBACK_TYPE | None = hass.bus.async_listen_once(
            EVENT_HOMEASSISTANT_STOP, self._async_stop
        )

    @callback
    def async_set_members(self, coordinators: Sequence[LinkyCoordinator]) -> None:
        """The host's meters now: those that left run alone again, those that came join."""
        wanted = {coordinator.pdl: coordinator for coordinator in coordinators}
        for pdl, member in list(self.members.items()):
            if wanted.get(pdl) is not member:  # gone, or set up again (a reload)
                self._async_drop(pdl)
                member.async_set_scheduler(None)
        self.policy.cap = self.api.budget.cap
        for pdl, coordinator in wanted.items():
            if pdl not in self.members:
                self.members[pdl] = coordinator
                assert coordinator.sync is not None  # set up before it joins
                self.policy.add_meter(fleet_meter(dt_util.utcnow(), coordinator.sync))
                coordinator.async_set_scheduler(self)
        self.async_poke()

    def expected_run(self, pdl: str) -> datetime | None:
        """When the meter is expected to run next (for its next-run sensor)."""
        return self.policy.expected_run(pdl, dt_util.utcnow())

    @callback
    def async_poke(self, _now: datetime | None = None) -> None:
        """Decide again now (a meter came, a step's timer fired)."""
        if self._closed or (self._task is not None and not self._task.done()):
            return
        if self._unsub_timer is not None:
            self._unsub_timer()
            self._unsub_timer = None
        self._task = self.hass.async_create_background_task(
            self._async_steps(), f"{DOMAIN} fleet {self.host}"
        )

    async def _async_steps(self) -> None:
        """Run the actions due now, one at a time, then wait for the next one."""
        while not self._closed and self.api.banned_at is None:
            now = dt_util.utcnow()
            decision = self.policy.next_action(now, self.api.budget.sent_times, self._pending)
            if isinstance(decision, datetime):
                self._async_wait_until(max(decision, now + timedelta(seconds=1)))
                return
            if not await self._async_run(decision):
                self._async_wait_until(now + IDLE_STEP)
                return
        for member in self.members.values():  # banned or closed: nothing is next
            member.async_fleet_stepped()

    def _pending(self, pdl: str) -> bool:
        sync = coordinator.sync if (coordinator := self.members.get(pdl)) else None
        return sync is not None and sync.backfill_pending()

    @callback
    def _async_drop(self, pdl: str) -> None:
        self.policy.remove_meter(pdl)
        self.members.pop(pdl, None)

    async def _async_run(self, action: Action) -> bool:
        """Run one action; whether the next step may come at once (else it waits)."""
        coordinator = self.members.get(action.pdl)
        if coordinator is None or not coordinator.may_run:
            # Waiting for a reauthentication (or shut down): out of the fleet until its
            # entry is set up again.
            self._async_drop(action.pdl)
            return True
        if (ran := await coordinator.async_fleet_run(action)) is None:
            return False  # busy with an import, or cancelled: ask again later
        result, outcome = ran
        self.policy.done(action, dt_util.utcnow(), outcome)
        LOGGER.debug("Linky fleet %s: %s of %s, %s", self.host, action.kind, action.pdl, result)
        return result.requests > 0

    @callback
    def _async_wait_until(self, when: datetime) -> None:
        for member in self.members.values():
            member.async_fleet_stepped()
        self._unsub_timer = async_track_point_in_utc_time(self.hass, self.async_poke, when)

    @callback
    def _async_stop(self, _event: Event) -> None:
        """Home Assistant stops: so does the scheduler (a run in progress is cancelled)."""
        self._unsub_stop = None
        self.async_close()
        if self._task is not None and not self._task.done():
            self._task.cancel()

    @callback
    def async_close(self) -> None:
        """Stop for good: no step is started again (an action in progress finishes)."""
        self._closed = True
        if self._unsub_timer is not None:
            self._unsub_timer()
            self._unsub_timer = None
        if self._unsub_stop is not None:
            self._unsub_stop()
            self._unsub_stop = None


@callback
def async_update_fleet(
    hass: HomeAssistant, host: str, coordinators: Sequence[LinkyCoordinator]
) -> None:
    """Give the host's meters one scheduler from `FLEET_FROM_METERS` meters, or none."""
    schedulers = hass.data.setdefault(_SCHEDULERS, {})
    scheduler = schedulers.get(host)
    if len(coordinators) < FLEET_FROM_METERS:
        if scheduler is not None:
            del schedulers[host]
            scheduler.async_set_members([])
            scheduler.async_close()
        return
    if scheduler is None:
        scheduler = schedulers[host] = FleetScheduler(hass, host, coordinators[0].api)
        LOGGER.debug("Linky meters of %s share one scheduler", host)
    scheduler.async_set_members(coordinators)
