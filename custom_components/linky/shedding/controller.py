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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from .signals import PeakReason, PeakSignal, parse_instant

STORAGE_VERSION: Final = 1
EVENT_SHED: Final = "linky_load_shed"
EVENT_RESTORE: Final = "linky_load_restored"
UNAVAILABLE_STATES: Final = frozenset({"unavailable", "unknown"})

RawState = tuple[str, Mapping[str, Any]]
"""An entity's state string and attributes, as the glue reads them."""
StateReader = Callable[[str], RawState | None]
"""Raw state of an entity id, or None when it is missing."""


class LoadKind(StrEnum):
    """The entity domain of a load."""

    CLIMATE = "climate"
    SWITCH = "switch"
    WATER_HEATER = "water_heater"


class ShedMode(StrEnum):
    """How a load is shed."""

    ECO_PRESET = "eco_preset"
    SETPOINT = "setpoint"
    OFF = "off"


class RestoreReason(StrEnum):
    """Why a load was restored."""

    PEAK_END = "peak_end"
    MAX_SHED = "max_shed"
    DISABLED = "disabled"
    RESTART = "restart"
    REMOVED = "removed"


class BatteryMode(StrEnum):
    """What a battery is asked to do."""

    DISCHARGE = "discharge"
    CHARGE = "charge"
    IDLE = "idle"


@dataclass(frozen=True, slots=True)
class ServiceCall:
    """One Home Assistant action call on one entity."""

    domain: str
    service: str
    entity_id: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "domain": self.domain,
            "service": self.service,
            "entity_id": self.entity_id,
            "data": dict(self.data),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ServiceCall:
        """Rebuild a call from `as_dict` output."""
        return cls(data["domain"], data["service"], data["entity_id"], dict(data.get("data", {})))


@dataclass(frozen=True, slots=True)
class Load:
    """A sheddable load, in priority order within the controller's list.

    `mode` SETPOINT needs exactly one of `setpoint` (absolute) or `delta` (added to the
    saved target temperature, e.g. -2); `preset` is the ECO_PRESET preset name. `power_w`
    is the load's estimated draw when on (optional; used to restore without a new peak).
    """

    entity_id: str
    kind: LoadKind
    mode: ShedMode = ShedMode.OFF
    min_off: timedelta = timedelta(minutes=5)
    max_shed: timedelta = timedelta(hours=2)
    cooldown: timedelta = timedelta(minutes=30)
    preset: str = "eco"
    setpoint: float | None = None
    delta: float | None = None
    power_w: float | None = None

    def __post_init__(self) -> None:
        if self.entity_id.split(".", 1)[0] != self.kind.value:
            raise ValueError(f"{self.entity_id} is not a {self.kind.value} entity")
        if self.mode is ShedMode.ECO_PRESET and self.kind is not LoadKind.CLIMATE:
            raise ValueError(f"{self.entity_id}: only climate loads have an eco preset")
        if self.mode is ShedMode.SETPOINT:
            if self.kind is LoadKind.SWITCH:
                raise ValueError(f"{self.entity_id}: a switch has no setpoint")
            if (self.setpoint is None) == (self.delta is None):
                raise ValueError(f"{self.entity_id}: give exactly one of setpoint and delta")
        if not timedelta(0) <= self.min_off < self.max_shed:
            raise ValueError(f"{self.entity_id}: need 0 <= min_off < max_shed")
        if self.cooldown < timedelta(0):
            raise ValueError(f"{self.entity_id}: cooldown must not be negative")
        if self.power_w is not None and not self.power_w >= 0:
            raise ValueError(f"{self.entity_id}: power must not be negative")

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (e.g. for config entry options; durations in seconds)."""
        return {
            "entity_id": self.entity_id,
            "kind": self.kind.value,
            "mode": self.mode.value,
            "min_off": self.min_off.total_seconds(),
            "max_shed": self.max_shed.total_seconds(),
            "cooldown": self.cooldown.total_seconds(),
            "preset": self.preset,
            "setpoint": self.setpoint,
            "delta": self.delta,
            "power_w": self.power_w,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Load:
        """Rebuild a load from `as_dict` output (missing keys take the defaults)."""
        options: dict[str, Any] = {
            key: timedelta(seconds=float(data[key]))
            for key in ("min_off", "max_shed", "cooldown")
            if key in data
        }
        options.update(
            {key: data[key] for key in ("preset", "setpoint", "delta", "power_w") if key in data}
        )
        return cls(
            entity_id=data["entity_id"],
            kind=LoadKind(data["kind"]),
            mode=ShedMode(data.get("mode", ShedMode.OFF)),
            **options,
        )


@dataclass(frozen=True, slots=True)
class Battery:
    """A battery driven by mode: `discharge` during peaks, `charge` in off-peak hours,
    `idle` otherwise (None: leave it as it is)."""

    entity_id: str
    discharge: ServiceCall
    charge: ServiceCall
    idle: ServiceCall | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (e.g. for config entry options)."""
        return {
            "entity_id": self.entity_id,
            "discharge": self.discharge.as_dict(),
            "charge": self.charge.as_dict(),
            "idle": None if self.idle is None else self.idle.as_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Battery:
        """Rebuild a battery from `as_dict` output."""
        idle = data.get("idle")
        return cls(
            data["entity_id"],
            ServiceCall.from_dict(data["discharge"]),
            ServiceCall.from_dict(data["charge"]),
            None if idle is None else ServiceCall.from_dict(idle),
        )

    def call_for(self, mode: BatteryMode) -> ServiceCall | None:
        """The call that puts the battery in `mode`."""
        match mode:
            case BatteryMode.DISCHARGE:
                return self.discharge
            case BatteryMode.CHARGE:
                return self.charge
            case BatteryMode.IDLE:
                return self.idle


@dataclass(frozen=True, slots=True)
class ControllerConfig:
    """Controller tuning. `target_w` (shed while above) is usually `PowerThreshold.off_w`,
    `limit_w` (do not restore up to it) `PowerThreshold.on_w`."""

    step_interval: timedelta = timedelta(minutes=1)
    target_w: float | None = None
    limit_w: float | None = None
    tariff_sheds_all: bool = True


# --------------------------------------------------------------------------------------------
# Snapshots and service calls

_CLIMATE_ATTRIBUTES: Final = ("preset_mode", "temperature", "target_temp_low", "target_temp_high")
_WATER_HEATER_ATTRIBUTES: Final = ("temperature",)
_NO_PRESET: Final = frozenset({None, "none"})


def snapshot(kind: LoadKind, raw: RawState | None) -> dict[str, Any] | None:
    """The JSON-able state to restore later: the state plus the attributes a shed may
    change. None when the entity is missing or unavailable (it is then not shed)."""
    if raw is None or raw[0] in UNAVAILABLE_STATES:
        return None
    state, attributes = raw
    names = {
        LoadKind.CLIMATE: _CLIMATE_ATTRIBUTES,
        LoadKind.WATER_HEATER: _WATER_HEATER_ATTRIBUTES,
        LoadKind.SWITCH: (),
    }[kind]
    return {"state": state, **{name: attributes.get(name) for name in names}}


def shed_calls(load: Load, saved: Mapping[str, Any]) -> list[ServiceCall] | None:
    """The calls that shed `load` from its `saved` state; None when it cannot be shed that
    way (e.g. a setpoint delta with no current setpoint)."""
    entity = load.entity_id
    match load.mode:
        case ShedMode.OFF if load.kind is LoadKind.CLIMATE:
            return [ServiceCall("climate", "set_hvac_mode", entity, {"hvac_mode": "off"})]
        case ShedMode.OFF:
            return [ServiceCall(load.kind.value, "turn_off", entity)]
        case ShedMode.ECO_PRESET:
            return [ServiceCall("climate", "set_preset_mode", entity, {"preset_mode": load.preset})]
        case ShedMode.SETPOINT:
            target = load.setpoint
            if target is None:
                current = saved.get("temperature")
                if not isinstance(current, int | float) or load.delta is None:
                    return None
                target = current + load.delta
            return [
                ServiceCall(load.kind.value, "set_temperature", entity, {"temperature": target})
            ]


def restore_calls(kind: LoadKind, entity_id: str, saved: Mapping[str, Any]) -> list[ServiceCall]:
    """The calls that put back the `saved` state exactly.

    Climate: HVAC mode, then the preset if there was one, else the target temperature(s)
    (a preset sets its own temperature). Water heater: the operation mode (or off), then the
    temperature. Switch: on or off.
    """
    state = saved["state"]
    match kind:
        case LoadKind.SWITCH:
            return [ServiceCall("switch", "turn_on" if state == "on" else "turn_off", entity_id)]
        case LoadKind.CLIMATE:
            calls = [ServiceCall("climate", "set_hvac_mode", entity_id, {"hvac_mode": state})]
            if state == "off":
                return calls
            preset = saved.get("preset_mode")
            if preset is not None:
                calls.append(
                    ServiceCall("climate", "set_preset_mode", entity_id, {"preset_mode": preset})
                )
            temperatures = {
                name: saved[name]
                for name in ("temperature", "target_temp_low", "target_temp_high")
                if saved.get(name) is not None
            }
            if preset in _NO_PRESET and temperatures:
                calls.append(ServiceCall("climate", "set_temperature", entity_id, temperatures))
            return calls
        case LoadKind.WATER_HEATER:
            if state == "off":
                return [ServiceCall("water_heater", "turn_off", entity_id)]
            calls = [
                ServiceCall(
                    "water_heater", "set_operation_mode", entity_id, {"operation_mode": state}
                )
            ]
            if saved.get("temperature") is not None:
                calls.append(
                    ServiceCall(
                        "water_heater",
                        "set_temperature",
                        entity_id,
                        {"temperature": saved["temperature"]},
                    )
                )
            return calls


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
        _checkparse_instant(now)
        actions: list[Action] = []
        if not self.enabled:
            return actions
        actions += self._restore_unconfigured()
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
        _checkparse_instant(now)
        self._battery_modes.clear()  # sent again at the next step
        if not self.enabled or not peak.active:
            return list(self.restore_all(now, RestoreReason.RESTART))
        actions: list[Action] = [*self._restore_unconfigured(), *self._restore_overdue(now)]
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
        _checkparse_instant(now)
        actions = []
        for entity_id in reversed(self.shed_entities):
            actions.append(self._restore(entity_id, reason))
        self._last_change = now if actions else self._last_change
        return actions

    def set_enabled(self, enabled: bool, now: datetime) -> list[Action]:
        """Enable or disable shedding (the switch). Disabling restores every load and idles
        the batteries."""
        self.enabled = enabled
        if enabled:
            return []
        actions: list[Action] = [*self.restore_all(now)]
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
        return self._restore(entity_id, RestoreReason.PEAK_END)

    def _restore_unconfigured(self) -> list[RestoreAction]:
        return [
            self._restore(entity_id, RestoreReason.REMOVED)
            for entity_id in self.shed_entities
            if self._load(entity_id) is None
        ]

    def _restore_overdue(self, now: datetime) -> list[RestoreAction]:
        actions = []
        for load in reversed(self.loads):
            shed = self._shed.get(load.entity_id)
            if shed is not None and now - shed.shed_at >= load.max_shed:
                actions.append(self._restore(load.entity_id, RestoreReason.MAX_SHED))
                self._cooldown_until[load.entity_id] = now + load.cooldown
        return actions

    def _restore(self, entity_id: str, reason: RestoreReason) -> RestoreAction:
        shed = self._shed.pop(entity_id)
        calls = restore_calls(shed.kind, entity_id, shed.saved_state)
        return RestoreAction(entity_id, shed.saved_state, tuple(calls), self.level, reason)

    def _drive_batteries(self, mode: BatteryMode) -> list[BatteryAction]:
        actions = []
        for battery in self.batteries:
            call = battery.call_for(mode)
            if call is None or self._battery_modes.get(battery.entity_id) is mode:
                continue
            self._battery_modes[battery.entity_id] = mode
            actions.append(BatteryAction(battery.entity_id, mode, call))
        return actions


def _checkparse_instant(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError(f"naive instant {now}")
