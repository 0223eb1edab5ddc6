"""A simulated house for the shedding tests: entity states that the controller's service
calls really change, and a live power that follows them (base load + each running load)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from custom_components.linky.shedding.controller import (
    Action,
    BatteryAction,
    RestoreAction,
    ShedAction,
    SheddingController,
)
from custom_components.linky.shedding.loads import RawState, ServiceCall
from custom_components.linky.shedding.signals import PeakSignal, PowerPeakDetector

ECO_TEMPERATURE = 16.0
PRESET_TEMPERATURES = {"comfort": 20.5, "eco": ECO_TEMPERATURE, "away": 12.0}


@dataclass
class House:
    """Entity states by id and what each entity draws when running (W)."""

    states: dict[str, tuple[str, dict[str, Any]]]
    draws: dict[str, float]
    base_w: float = 1000.0
    calls: list[ServiceCall] = field(default_factory=list)

    def read(self, entity_id: str) -> RawState | None:
        """The controller's state reader (like `hass.states.get`)."""
        state = self.states.get(entity_id)
        return None if state is None else (state[0], dict(state[1]))

    def power_w(self) -> float:
        """Live power: the base load plus every running load, with a thermostat that draws
        in proportion to how far its setpoint is above 15 degrees C (eco draws little)."""
        total = self.base_w
        for entity_id, (state, attributes) in self.states.items():
            draw = self.draws.get(entity_id, 0.0)
            if state in ("off", "unavailable"):
                continue
            if entity_id.startswith("climate."):
                setpoint = attributes.get("temperature") or 15.0
                total += draw * min(max(setpoint - 15.0, 0.0) / 5.0, 1.0)
            else:
                total += draw
        return total

    def execute(self, actions: Iterable[Action]) -> None:
        """Apply the actions' service calls, as the HA glue would."""
        for action in actions:
            calls = (action.call,) if isinstance(action, BatteryAction) else action.calls
            for call in calls:
                self.calls.append(call)
                self._apply(call)

    def _apply(self, call: ServiceCall) -> None:
        state, attributes = self.states[call.entity_id]
        data: Mapping[str, Any] = call.data
        match call.domain, call.service:
            case "climate", "set_hvac_mode":
                state = data["hvac_mode"]
            case "climate", "set_preset_mode":
                attributes["preset_mode"] = data["preset_mode"]
                if data["preset_mode"] in PRESET_TEMPERATURES:
                    attributes["temperature"] = PRESET_TEMPERATURES[data["preset_mode"]]
            case (("climate" | "water_heater"), "set_temperature"):
                attributes.update(data)
            case (("switch" | "water_heater"), "turn_off"):
                state = "off"
            case "switch", "turn_on":
                state = "on"
            case "water_heater", "set_operation_mode":
                state = data["operation_mode"]
            case "select", "select_option":
                state = data["option"]
            case _:
                raise AssertionError(f"unexpected call {call}")
        self.states[call.entity_id] = (state, attributes)


@dataclass
class Run:
    """A controller and a power detector driven minute by minute on a simulated house."""

    house: House
    controller: SheddingController
    detector: PowerPeakDetector
    now: datetime
    log: list[tuple[datetime, Action]] = field(default_factory=list)
    peaks: list[tuple[datetime, bool]] = field(default_factory=list)

    def minute(self, offpeak: bool = False) -> PeakSignal:
        """One minute: read the power, update the signal, step, execute, advance time."""
        power = self.house.power_w()
        signal = self.detector.update(self.now, power)
        if not self.peaks or self.peaks[-1][1] != signal.active:
            self.peaks.append((self.now, signal.active))
        actions = self.controller.step(self.now, signal, self.house.read, power, offpeak)
        self.house.execute(actions)
        self.log += [(self.now, action) for action in actions]
        self.now += timedelta(minutes=1)
        return signal

    def run(self, minutes: int, base_w: float | None = None) -> None:
        """Run `minutes` minutes, with a new base load if given."""
        if base_w is not None:
            self.house.base_w = base_w
        for _ in range(minutes):
            self.minute()

    def sheds(self) -> list[str]:
        """Entity ids shed so far, in order (re-applies excluded)."""
        return [a.entity_id for _, a in self.log if isinstance(a, ShedAction) and not a.reapply]

    def restores(self) -> list[str]:
        """Entity ids restored so far, in order."""
        return [a.entity_id for _, a in self.log if isinstance(a, RestoreAction)]
