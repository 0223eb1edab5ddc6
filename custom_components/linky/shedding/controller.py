"""Load-shedding controller: peak signal in, ordered shed/restore/battery actions out.
No Home Assistant import.

The Home Assistant glue calls `SheddingController.step(now, peak, power_w, offpeak, read)`
on every peak-signal change, power reading and a periodic tick (every `step_interval` or
less). `read(entity_id)` returns the entity's raw state `(state, attributes)` or None when it
is missing or unavailable. The controller returns `Action`s; the glue executes each one's
`calls` in order (`hass.services.async_call(call.domain, call.service,
{"entity_id": call.entity_id, **call.data}, blocking=True)`), fires `event_payload()` as an
event, and saves `as_dict()` after any non-empty step.

Rules:
- Shedding: during a peak, at most one load per `step_interval`, in priority order (the
  order of `loads`), skipping unavailable loads and loads cooling down. Another load is shed
  while more is needed: always for a tariff peak when `tariff_sheds_all` is set, otherwise
  only while the live power is above `target_w` (no reading: hold).
- Restoring: when the peak is off, one load per `step_interval`, in reverse priority order.
  A load is never restored before its `min_off` has elapsed since it was shed, nor while
  the live power plus its estimated draw (`Load.power_w`) would reach `limit_w` (usually
  `PowerThreshold.on_w`: restoring it would start a new power peak); it then blocks the
  loads before it, so the order always holds.
- Safety: a load shed for `max_shed` is restored at once, even during a peak and outside the
  pacing, and is not shed again before `cooldown` has elapsed. A shed load that is no longer
  configured is restored at once.
- Exact restore: the state saved when a load was shed (`snapshot`) is what `restore_calls`
  puts back, whatever happened in between.
- Restart policy (`resume`, called once after `from_dict`): the saved states and shed times
  persist, so `max_shed` counts the downtime too. If the peak is still on, the shed commands
  are sent again (the entity may have reset while Home Assistant was down) and overdue loads
  are restored; otherwise every shed load is restored at once. Battery commands are sent
  again at the next step.
- Disabling (`set_enabled(False)`) restores every load at once and idles the batteries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from ..localtime import parse_instant
from .loads import (
    Battery,
    BatteryMode,
    Load,
    LoadKind,
    ServiceCall,
    StateReader,
    is_restored,
    restore_calls,
    shed_calls,
    snapshot,
)
from .signals import PeakReason, PeakSignal

STORAGE_VERSION: Final = 1
EVENT_SHED: Final = "linky_load_shed"
EVENT_RESTORE: Final = "linky_load_restored"


class RestoreReason(StrEnum):
    """Why a load was restored."""

    PEAK_END = "peak_end"
    MAX_SHED = "max_shed"
    DISABLED = "disabled"
    RESTART = "restart"
    REMOVED = "removed"
    RETRY = "retry"  # the load did not come back (unavailable, the call failed): again


@dataclass(frozen=True, slots=True)
class ControllerConfig:
    """Controller tuning. `target_w` (shed while above) is usually `PowerThreshold.off_w`,
    `limit_w` (do not restore up to it) `PowerThreshold.on_w`."""

    step_interval: timedelta = timedelta(minutes=1)
    target_w: float | None = None
    limit_w: float | None = None
    tariff_sheds_all: bool = True


# --------------------------------------------------------------------------------------------
# Actions


@dataclass(frozen=True, slots=True)
class ShedAction:
    """Shed `entity_id`; `saved_state` is what it will be restored to. `reapply` is set
    when a shed is sent again after a restart."""

    entity_id: str
    saved_state: Mapping[str, Any]
    calls: tuple[ServiceCall, ...]
    level: int
    reason: PeakReason | None
    reapply: bool = False

    def event_payload(self) -> dict[str, Any]:
        """Data of the `EVENT_SHED` event."""
        return {
            "entity_id": self.entity_id,
            "level": self.level,
            "reason": None if self.reason is None else self.reason.value,
            "saved_state": dict(self.saved_state),
            "reapply": self.reapply,
        }


@dataclass(frozen=True, slots=True)
class RestoreAction:
    """Restore `entity_id` to `saved_state`."""

    entity_id: str
    saved_state: Mapping[str, Any]
    calls: tuple[ServiceCall, ...]
    level: int
    reason: RestoreReason

    def event_payload(self) -> dict[str, Any]:
        """Data of the `EVENT_RESTORE` event."""
        return {
            "entity_id": self.entity_id,
            "level": self.level,
            "reason": self.reason.value,
            "restored_state": dict(self.saved_state),
        }


@dataclass(frozen=True, slots=True)
class BatteryAction:
    """Put battery `entity_id` in `mode` with `call`."""

    entity_id: str
    mode: BatteryMode
    call: ServiceCall


Action = ShedAction | RestoreAction | BatteryAction


@dataclass(frozen=True, slots=True)
class _Shed:
    """A load that is shed: its kind (to restore it even if no longer configured), saved
    state and when it was shed."""

    kind: LoadKind
    saved_state: Mapping[str, Any]
    shed_at: datetime


@dataclass(frozen=True, slots=True)
class _Restoring:
    """A load whose restore was sent but not seen yet: restored again until it shows its
    saved state (the entity may be unavailable after a restart, or the call may fail)."""

    kind: LoadKind
    saved_state: Mapping[str, Any]
    sent_at: datetime


# --------------------------------------------------------------------------------------------
# Controller


class SheddingController:
    """Decides, step by step, which loads to shed or restore and what batteries do."""

    def __init__(
        self,
        loads: Sequence[Load],
        batteries: Sequence[Battery] = (),
        config: ControllerConfig | None = None,
    ) -> None:
        ids = [load.entity_id for load in loads] + [battery.entity_id for battery in batteries]
        if len(set(ids)) != len(ids):
            raise ValueError("an entity appears twice among the loads and batteries")
        self.loads = tuple(loads)
        self.batteries = tuple(batteries)
        self.config = config or ControllerConfig()
        self.enabled = True
        self._shed: dict[str, _Shed] = {}
        self._restoring: dict[str, _Restoring] = {}
        self._cooldown_until: dict[str, datetime] = {}
        self._battery_modes: dict[str, BatteryMode] = {}
        self._last_change: datetime | None = None

    @property
    def level(self) -> int:
        """The shed level: how many loads are shed now."""
        return len(self._shed)

    @property
    def shed_entities(self) -> list[str]:
        """The shed entity ids, in priority order (no longer configured ones first)."""
        return sorted(self._shed, key=self._rank)

    @property
    def restoring_entities(self) -> list[str]:
        """Loads restored but not seen back yet (they are restored again until they are)."""
        return sorted(self._restoring)

    def saved_state(self, entity_id: str) -> Mapping[str, Any] | None:
        """The state a shed load will be restored to (None: not shed)."""
        shed = self._shed.get(entity_id)
        return None if shed is None else shed.saved_state

    def step(
        self,
        now: datetime,
        peak: PeakSignal,
        read: StateReader,
        power_w: float | None = None,
        offpeak: bool = False,
    ) -> list[Action]:
        """Decide what to do at `now`. `offpeak` tells whether it is off-peak tariff hours
        (batteries charge then)."""
        _check_aware(now)
        actions: list[Action] = []
        if not self.enabled:
            return actions
        actions += self._check_restores(now, read)
        actions += self._restore_unconfigured(now)
        actions += self._restore_overdue(now)
        actions += self._drive_batteries(
            BatteryMode.DISCHARGE
            if peak.active
            else BatteryMode.CHARGE
            if offpeak
            else BatteryMode.IDLE
        )
        if self._last_change is not None and now - self._last_change < self.config.step_interval:
            return actions
        change = (
            self._shed_next(now, peak, read, power_w)
            if peak.active
            else self._restore_next(now, power_w)
        )
        if change is not None:
            self._last_change = now
            actions.append(change)
        return actions

    def resume(self, now: datetime, peak: PeakSignal) -> list[Action]:
        """Start-up after `from_dict` (see the module's restart policy)."""
        _check_aware(now)
        self._battery_modes.clear()  # sent again at the next step
        if not self.enabled or not peak.active:
            return list(self.restore_all(now, RestoreReason.RESTART))
        actions: list[Action] = [*self._restore_unconfigured(now), *self._restore_overdue(now)]
        for entity_id in self.shed_entities:
            load = self._load(entity_id)
            saved = self._shed[entity_id].saved_state
            calls = None if load is None else shed_calls(load, saved)
            if calls:
                actions.append(
                    ShedAction(entity_id, saved, tuple(calls), self.level, peak.reason, True)
                )
        return actions

    def restore_all(
        self, now: datetime, reason: RestoreReason = RestoreReason.DISABLED
    ) -> list[RestoreAction]:
        """Restore every shed load at once, in reverse priority order (e.g. on unload)."""
        _check_aware(now)
        actions = []
        for entity_id in reversed(self.shed_entities):
            actions.append(self._restore(entity_id, reason, now))
        self._last_change = now if actions else self._last_change
        return actions

    def set_enabled(self, enabled: bool, now: datetime) -> list[Action]:
        """Enable or disable shedding (the switch). Disabling restores every load and idles
        the batteries."""
        self.enabled = enabled
        if enabled:
            return []
        pending = [  # restored before, not seen back yet: a last try, then they are let go
            RestoreAction(
                entity_id,
                item.saved_state,
                tuple(restore_calls(item.kind, entity_id, item.saved_state)),
                self.level,
                RestoreReason.DISABLED,
            )
            for entity_id, item in self._restoring.items()
        ]
        actions: list[Action] = [*self.restore_all(now), *pending]
        self._restoring.clear()
        actions += self._drive_batteries(BatteryMode.IDLE)
        return actions

    # ---- persistence

    def as_dict(self) -> dict[str, Any]:
        """JSON-able runtime state (the configuration comes from the options)."""
        return {
            "version": STORAGE_VERSION,
            "enabled": self.enabled,
            "shed": {
                entity_id: {
                    "kind": shed.kind.value,
                    "saved_state": dict(shed.saved_state),
                    "shed_at": shed.shed_at.isoformat(),
                }
                for entity_id, shed in self._shed.items()
            },
            "restoring": {
                entity_id: {
                    "kind": pending.kind.value,
                    "saved_state": dict(pending.saved_state),
                    "sent_at": pending.sent_at.isoformat(),
                }
                for entity_id, pending in self._restoring.items()
            },
            "cooldown_until": {
                entity_id: until.isoformat() for entity_id, until in self._cooldown_until.items()
            },
            "last_change": None if self._last_change is None else self._last_change.isoformat(),
        }

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        loads: Sequence[Load],
        batteries: Sequence[Battery] = (),
        config: ControllerConfig | None = None,
    ) -> SheddingController:
        """Rebuild a controller from `as_dict` output and the current configuration; call
        `resume` next. Raises ValueError on data of another version."""
        if data.get("version") != STORAGE_VERSION:
            raise ValueError(f"unsupported shedding state version {data.get('version')!r}")
        controller = cls(loads, batteries, config)
        controller.enabled = bool(data["enabled"])
        controller._shed = {
            entity_id: _Shed(
                LoadKind(item["kind"]), dict(item["saved_state"]), parse_instant(item["shed_at"])
            )
            for entity_id, item in data["shed"].items()
        }
        controller._restoring = {
            entity_id: _Restoring(
                LoadKind(item["kind"]), dict(item["saved_state"]), parse_instant(item["sent_at"])
            )
            for entity_id, item in (data.get("restoring") or {}).items()
        }
        controller._cooldown_until = {
            entity_id: parse_instant(until) for entity_id, until in data["cooldown_until"].items()
        }
        last = data.get("last_change")
        controller._last_change = None if last is None else parse_instant(last)
        return controller

    # ---- internals

    def _load(self, entity_id: str) -> Load | None:
        return next((load for load in self.loads if load.entity_id == entity_id), None)

    def _rank(self, entity_id: str) -> int:
        """Priority rank; loads no longer configured rank first (restored first)."""
        for index, load in enumerate(self.loads):
            if load.entity_id == entity_id:
                return index
        return -1

    def _needs_more(self, peak: PeakSignal, power_w: float | None) -> bool:
        if peak.reason is not PeakReason.POWER and self.config.tariff_sheds_all:
            return True
        target = self.config.target_w
        return power_w is not None and target is not None and power_w > target

    def _shed_next(
        self, now: datetime, peak: PeakSignal, read: StateReader, power_w: float | None
    ) -> ShedAction | None:
        if not self._needs_more(peak, power_w):
            return None
        for load in self.loads:
            entity_id = load.entity_id
            if entity_id in self._shed:
                continue
            until = self._cooldown_until.get(entity_id)
            if until is not None:
                if now < until:
                    continue
                del self._cooldown_until[entity_id]
            saved = snapshot(load.kind, read(entity_id))
            calls = None if saved is None else shed_calls(load, saved)
            if saved is None or not calls:
                continue
            self._shed[entity_id] = _Shed(load.kind, saved, now)
            return ShedAction(entity_id, saved, tuple(calls), self.level, peak.reason)
        return None

    def _restore_next(self, now: datetime, power_w: float | None) -> RestoreAction | None:
        shed = self.shed_entities
        if not shed:
            return None
        entity_id = shed[-1]
        load = self._load(entity_id)
        if load is not None:
            if now - self._shed[entity_id].shed_at < load.min_off:
                return None
            limit = self.config.limit_w
            if (
                limit is not None
                and power_w is not None
                and load.power_w is not None
                and power_w + load.power_w >= limit
            ):
                return None
        return self._restore(entity_id, RestoreReason.PEAK_END, now)

    def _restore_unconfigured(self, now: datetime) -> list[RestoreAction]:
        return [
            self._restore(entity_id, RestoreReason.REMOVED, now)
            for entity_id in self.shed_entities
            if self._load(entity_id) is None
        ]

    def _restore_overdue(self, now: datetime) -> list[RestoreAction]:
        actions = []
        for load in reversed(self.loads):
            shed = self._shed.get(load.entity_id)
            if shed is not None and now - shed.shed_at >= load.max_shed:
                actions.append(self._restore(load.entity_id, RestoreReason.MAX_SHED, now))
                self._cooldown_until[load.entity_id] = now + load.cooldown
        return actions

    def _restore(self, entity_id: str, reason: RestoreReason, now: datetime) -> RestoreAction:
        shed = self._shed.pop(entity_id)
        self._restoring[entity_id] = _Restoring(shed.kind, shed.saved_state, now)
        calls = restore_calls(shed.kind, entity_id, shed.saved_state)
        return RestoreAction(entity_id, shed.saved_state, tuple(calls), self.level, reason)

    def _check_restores(self, now: datetime, read: StateReader) -> list[RestoreAction]:
        """Forget the restored loads seen back; restore again, once a step, those that show
        another state (an unavailable one is waited for: it is restored when it is back)."""
        actions = []
        for entity_id, pending in list(self._restoring.items()):
            restored = is_restored(pending.kind, pending.saved_state, read(entity_id))
            if restored:
                del self._restoring[entity_id]
            elif restored is False and now - pending.sent_at >= self.config.step_interval:
                self._restoring[entity_id] = _Restoring(pending.kind, pending.saved_state, now)
                calls = restore_calls(pending.kind, entity_id, pending.saved_state)
                actions.append(
                    RestoreAction(
                        entity_id,
                        pending.saved_state,
                        tuple(calls),
                        self.level,
                        RestoreReason.RETRY,
                    )
                )
        return actions

    def _drive_batteries(self, mode: BatteryMode) -> list[BatteryAction]:
        actions = []
        for battery in self.batteries:
            call = battery.call_for(mode)
            if call is None or self._battery_modes.get(battery.entity_id) is mode:
                continue
            self._battery_modes[battery.entity_id] = mode
            actions.append(BatteryAction(battery.entity_id, mode, call))
        return actions


def _check_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError(f"naive instant {now}")
