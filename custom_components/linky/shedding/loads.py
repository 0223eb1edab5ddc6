"""The loads to shed and the service calls that shed and restore them. No HA import.

A `Load` is a climate, switch or water-heater entity with its shed mode (turn off, eco
preset, lowered setpoint) and its timings; a `Battery` is driven by scripts. `snapshot`
saves what a shed changes, `shed_calls` and `restore_calls` give the service calls that
shed a load and put it back exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any, Final

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


def is_restored(kind: LoadKind, saved: Mapping[str, Any], raw: RawState | None) -> bool | None:
    """Whether the entity shows what `restore_calls` put back (None: unavailable, cannot
    tell). Only what the calls set is compared: a preset sets its own temperature."""
    current = snapshot(kind, raw)
    if current is None:
        return None
    if current["state"] != saved["state"]:
        return False
    if kind is LoadKind.SWITCH or saved["state"] == "off":
        return True
    names: tuple[str, ...] = _WATER_HEATER_ATTRIBUTES
    if kind is LoadKind.CLIMATE:
        preset = saved.get("preset_mode")
        if preset not in _NO_PRESET:
            return bool(current.get("preset_mode") == preset)
        names = ("temperature", "target_temp_low", "target_temp_high")
    return all(current.get(name) == saved[name] for name in names if saved.get(name) is not None)
