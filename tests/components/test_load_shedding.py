"""Load shedding end to end: a simulated house (a live power sensor and climate, switch and
water heater entities whose services really change their states and the power) driven
through power peaks with a frozen clock.

Thresholds: 6 kVA, peak on at >= 5400 W and off at <= 4800 W, each held for 2 minutes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.switch import SwitchEntity
from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.core import CoreState, HomeAssistant, ServiceCall
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
    setup_test_component_platform,
)

from conso_emulator import HOME_PDL
from custom_components.linky.const import (
    CONF_DWELL,
    CONF_LOAD_SHEDDING,
    CONF_OFF_RATIO,
    CONF_ON_RATIO,
    CONF_POWER_ENTITY,
    CONF_SUBSCRIBED_KVA,
    DOMAIN,
    SUBENTRY_LOAD,
)
from custom_components.linky.runtime import shedding as shedding_runtime
from custom_components.linky.shedding.controller import EVENT_RESTORE, EVENT_SHED
from custom_components.linky.shedding.loads import (
    Load,
    LoadKind,
    ShedMode,
)

NOW = "2026-11-20 09:30:00+01:00"
POWER = "sensor.live_power"
CLIMATE = "climate.living_room"
SWITCH = "switch.towel_rail"
WATER_HEATER = "water_heater.tank"
PRESETS = {"comfort": 20.5, "eco": 16.0}
INITIAL: dict[str, tuple[str, dict[str, Any]]] = {
    CLIMATE: (
        "heat",
        {
            "hvac_modes": ["off", "heat"],
            "preset_modes": ["comfort", "eco"],
            "preset_mode": "comfort",
            "temperature": 20.5,
        },
    ),
    WATER_HEATER: ("electric", {"operation_list": ["electric", "eco"], "temperature": 55}),
}


class TowelRail(SwitchEntity):
    """A real switch entity (the switch integration is loaded by the Linky switch too)."""

    _attr_name = "Towel rail"
    _attr_should_poll = False
    _attr_is_on = True

    def __init__(self, house: House) -> None:
        self.house = house

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Switch on; the house draws more."""
        await self._async_set(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Switch off."""
        await self._async_set(False)

    async def _async_set(self, on: bool) -> None:
        self.house.calls.append(("switch", "turn_on" if on else "turn_off", SWITCH, {}))
        self._attr_is_on = on
        self.async_write_ha_state()
        self.house.update_power()


class House:
    """Entity states changed by their services, and a live power that follows them: a base
    load plus each running load (the thermostat draws 1500 W, 300 W in eco)."""

    def __init__(self, hass: HomeAssistant, base_w: float) -> None:
        self.hass = hass
        self.base_w = base_w
        self.calls: list[tuple[str, str, str, dict[str, Any]]] = []

    @classmethod
    async def create(cls, hass: HomeAssistant, base_w: float) -> House:
        """Set the entities up and publish the power."""
        house = cls(hass, base_w)
        for entity_id, (state, attributes) in INITIAL.items():
            hass.states.async_set(entity_id, state, dict(attributes))
        setup_test_component_platform(hass, "switch", [TowelRail(house)])
        assert await async_setup_component(hass, "switch", {"switch": {"platform": "test"}})
        for domain, service in (
            ("climate", "set_hvac_mode"),
            ("climate", "set_preset_mode"),
            ("climate", "set_temperature"),
            ("water_heater", "turn_off"),
            ("water_heater", "set_operation_mode"),
            ("water_heater", "set_temperature"),
        ):
            hass.services.async_register(domain, service, house._handle)
        await hass.async_block_till_done()
        house.update_power()
        return house

    def set_base(self, base_w: float) -> None:
        """Another appliance starts or stops."""
        self.base_w = base_w
        self.update_power()

    def update_power(self) -> None:
        """Publish the live power (W)."""
        total = self.base_w
        climate = self.hass.states.get(CLIMATE)
        if climate is not None and climate.state != "off":
            total += 300 if climate.attributes.get("preset_mode") == "eco" else 1500
        switch = self.hass.states.get(SWITCH)
        if switch is None or switch.state == "on":
            total += 400
        if self.state(WATER_HEATER)[0] != "off":
            total += 1200
        self.hass.states.async_set(POWER, str(total), {"unit_of_measurement": "W"})

    def state(self, entity_id: str) -> tuple[str, dict[str, Any]]:
        """An entity's state and attributes."""
        state = self.hass.states.get(entity_id)
        assert state is not None
        return state.state, dict(state.attributes)

    def power(self) -> float:
        """The live power published."""
        return float(self.state(POWER)[0])

    async def _handle(self, call: ServiceCall) -> None:
        entity_id = str(call.data["entity_id"])
        data = {key: value for key, value in call.data.items() if key != "entity_id"}
        self.calls.append((call.domain, call.service, entity_id, data))
        state, attributes = self.state(entity_id)
        if state == "unavailable":  # as Home Assistant refuses to act on it
            raise HomeAssistantError(f"{entity_id} is unavailable")
        match call.domain, call.service:
            case "climate", "set_hvac_mode":
                state = data["hvac_mode"]
            case "climate", "set_preset_mode":
                attributes["preset_mode"] = data["preset_mode"]
                attributes["temperature"] = PRESETS[data["preset_mode"]]
            case _, "set_temperature":
                attributes.update(data)
            case _, "turn_off":
                state = "off"
            case "water_heater", "set_operation_mode":
                state = data["operation_mode"]
        self.hass.states.async_set(entity_id, state, attributes)
        self.update_power()


def _configure(hass: HomeAssistant, entry: MockConfigEntry, *loads: Load) -> None:
    """Load shedding on a live power sensor (6 kVA, 90 % / 80 %, 2 min), `loads` in order."""
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry,
        options={
            CONF_LOAD_SHEDDING: {
                CONF_POWER_ENTITY: POWER,
                CONF_SUBSCRIBED_KVA: 6,
                CONF_ON_RATIO: 0.9,
                CONF_OFF_RATIO: 0.8,
                CONF_DWELL: 120,
            }
        },
    )
    for load in loads:
        hass.config_entries.async_add_subentry(
            entry,
            ConfigSubentry(
                data=MappingProxyType(load.as_dict()),
                subentry_type=SUBENTRY_LOAD,
                title=load.entity_id,
                unique_id=load.entity_id,
            ),
        )


LOADS = (
    Load(CLIMATE, LoadKind.CLIMATE, ShedMode.ECO_PRESET),
    Load(SWITCH, LoadKind.SWITCH),
    Load(WATER_HEATER, LoadKind.WATER_HEATER),
)


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    if hass.config_entries.async_get_entry(entry.entry_id) is None:
        entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED


async def _wait(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    """Let time pass minute by minute (the controller ticks every minute)."""
    while seconds > 0:
        step = min(seconds, 60)
        freezer.tick(timedelta(seconds=step))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
        seconds -= step


def _entity(hass: HomeAssistant, platform: str, key: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{HOME_PDL}_{key}")
    assert entity_id is not None, key
    return entity_id


def _peak(hass: HomeAssistant) -> tuple[str, Mapping[str, Any]]:
    state = hass.states.get(_entity(hass, "binary_sensor", "peak"))
    assert state is not None
    return state.state, state.attributes


def _shed_ids(events: list[Any]) -> list[str]:
    return [event.data["entity_id"] for event in events]


@pytest.mark.freeze_time(NOW)
async def test_power_peak_sheds_in_order_and_restores_exactly(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, config_entry: MockConfigEntry
) -> None:
    """A peak sheds in priority order while the power is above the off threshold, holds
    between the thresholds (hysteresis), ends after the dwell, and restores in reverse order
    after the minimum off time, to the exact saved states."""
    house = await House.create(hass, base_w=1900)  # 5000 W: between the thresholds
    _configure(hass, config_entry, *LOADS)
    shed = async_capture_events(hass, EVENT_SHED)
    restored = async_capture_events(hass, EVENT_RESTORE)
    await _setup(hass, config_entry)
    await _wait(hass, freezer, 180)
    assert _peak(hass)[0] == "off"  # 5000 W never starts a peak

    house.set_base(3000)  # 6100 W
    await _wait(hass, freezer, 60)
    assert _peak(hass)[0] == "off"  # not held for the dwell time yet
    assert not shed
    await _wait(hass, freezer, 60)
    state, attributes = _peak(hass)
    assert (state, attributes["reason"]) == ("on", "power")
    assert _shed_ids(shed) == [CLIMATE]
    assert shed[0].data["saved_state"] == {
        "state": "heat",
        "preset_mode": "comfort",
        "temperature": 20.5,
        "target_temp_low": None,
        "target_temp_high": None,
    }
    assert shed[0].data["config_entry_id"] == config_entry.entry_id
    assert house.state(CLIMATE)[1]["preset_mode"] == "eco"
    assert house.power() == 4900  # between the thresholds: still a peak, still too high
    level = hass.states.get(_entity(hass, "sensor", "shed_level"))
    assert level is not None
    assert level.state == "1"

    await _wait(hass, freezer, 60)
    assert _shed_ids(shed) == [CLIMATE, SWITCH]  # the next one, one step later
    assert house.power() == 4500
    await _wait(hass, freezer, 60)
    assert _peak(hass)[0] == "on"  # below the off threshold, not for the dwell yet
    assert _shed_ids(shed) == [CLIMATE, SWITCH]  # at the target: nothing more is shed
    house.set_base(1500)  # the oven stops
    await _wait(hass, freezer, 60)
    assert _peak(hass)[0] == "off"
    assert not restored  # the minimum off time (5 minutes) has not elapsed

    await _wait(hass, freezer, 180)
    assert _shed_ids(restored) == [SWITCH]  # reverse order
    await _wait(hass, freezer, 60)
    assert _shed_ids(restored) == [SWITCH, CLIMATE]
    assert [event.data["reason"] for event in restored] == ["peak_end", "peak_end"]
    for entity_id in (CLIMATE, WATER_HEATER):
        assert house.state(entity_id) == INITIAL[entity_id]
    assert house.state(SWITCH)[0] == "on"
    assert house.calls[-2:] == [
        ("climate", "set_hvac_mode", CLIMATE, {"hvac_mode": "heat"}),
        ("climate", "set_preset_mode", CLIMATE, {"preset_mode": "comfort"}),
    ]
    assert _peak(hass)[0] == "off"  # 4600 W: restoring started no new peak
    level = hass.states.get(_entity(hass, "sensor", "shed_level"))
    assert level is not None
    assert level.state == "0"


@pytest.mark.freeze_time(NOW)
async def test_max_shed_duration(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, config_entry: MockConfigEntry
) -> None:
    """A heater is never left off indefinitely: restored after its maximum shed duration
    even though the peak goes on, and not shed again before its cool-down."""
    house = await House.create(hass, base_w=6000)
    heater = Load(
        CLIMATE,
        LoadKind.CLIMATE,
        ShedMode.OFF,
        max_shed=timedelta(minutes=30),
        cooldown=timedelta(minutes=20),
    )
    config_entry.add_to_hass(hass)
    _configure(hass, config_entry, heater)
    shed = async_capture_events(hass, EVENT_SHED)
    restored = async_capture_events(hass, EVENT_RESTORE)
    await _setup(hass, config_entry)
    await _wait(hass, freezer, 120)
    assert _shed_ids(shed) == [CLIMATE]
    assert house.state(CLIMATE)[0] == "off"

    await _wait(hass, freezer, 29 * 60)
    assert not restored
    await _wait(hass, freezer, 60)
    assert _peak(hass)[0] == "on"
    assert [(e.data["entity_id"], e.data["reason"]) for e in restored] == [(CLIMATE, "max_shed")]
    assert house.state(CLIMATE) == INITIAL[CLIMATE]

    await _wait(hass, freezer, 19 * 60)
    assert len(shed) == 1  # cooling down
    await _wait(hass, freezer, 60)
    assert len(shed) == 2


@pytest.mark.freeze_time(NOW)
async def test_restart_resumes_and_unload_restores(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, config_entry: MockConfigEntry
) -> None:
    """A Home Assistant stop keeps the loads shed and saves; after the restart, the shed
    is sent again while the peak goes on (the heater had reset meanwhile) and the saved
    states are still the ones restored; a real unload restores everything."""
    house = await House.create(hass, base_w=3300)
    _configure(hass, config_entry, *LOADS)
    shed = async_capture_events(hass, EVENT_SHED)
    restored = async_capture_events(hass, EVENT_RESTORE)
    await _setup(hass, config_entry)
    await _wait(hass, freezer, 180)
    assert _shed_ids(shed) == [CLIMATE, SWITCH]

    hass.set_state(CoreState.stopping)
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    assert not restored
    hass.set_state(CoreState.running)
    hass.states.async_set(CLIMATE, *INITIAL[CLIMATE])  # the thermostat reset meanwhile
    house.update_power()
    await _wait(hass, freezer, 60)

    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [(e.data["entity_id"], e.data["reapply"]) for e in shed[2:]] == [
        (CLIMATE, True),
        (SWITCH, True),
    ]
    assert house.state(CLIMATE)[1]["preset_mode"] == "eco"
    switch = hass.states.get(_entity(hass, "switch", "load_shedding"))
    assert switch is not None
    assert switch.state == "on"

    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done()
    assert _shed_ids(restored) == [SWITCH, CLIMATE]
    for entity_id in (CLIMATE, WATER_HEATER):
        assert house.state(entity_id) == INITIAL[entity_id]
    assert house.state(SWITCH)[0] == "on"


@pytest.mark.freeze_time(NOW)
async def test_switch_off_restores_and_stops_shedding(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, config_entry: MockConfigEntry
) -> None:
    """Turning the switch off restores every shed load at once; it stays off across a
    reload and nothing is shed while it is off."""
    house = await House.create(hass, base_w=6000)
    _configure(hass, config_entry, *LOADS)
    shed = async_capture_events(hass, EVENT_SHED)
    restored = async_capture_events(hass, EVENT_RESTORE)
    await _setup(hass, config_entry)
    await _wait(hass, freezer, 180)
    assert _shed_ids(shed) == [CLIMATE, SWITCH]

    switch = _entity(hass, "switch", "load_shedding")
    await hass.services.async_call("switch", "turn_off", {"entity_id": switch}, blocking=True)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _shed_ids(restored) == [SWITCH, CLIMATE]
    assert [e.data["reason"] for e in restored] == ["disabled", "disabled"]
    assert house.state(CLIMATE) == INITIAL[CLIMATE]

    assert await hass.config_entries.async_reload(config_entry.entry_id)
    await _wait(hass, freezer, 300)
    switch_state = hass.states.get(switch)
    assert switch_state is not None
    assert switch_state.state == "off"
    assert len(shed) == 2


async def _add_load(hass: HomeAssistant, entry: MockConfigEntry, form: dict[str, Any]) -> Any:
    """Add a load with the entry's subentry flow (the entry is set up again)."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_LOAD), context={"source": "user"}
    )
    assert result["type"] is FlowResultType.FORM, result
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], form)
    await hass.async_block_till_done(wait_background_tasks=True)
    return result


async def _menu(
    hass: HomeAssistant, entry: MockConfigEntry, step: str, form: dict[str, Any]
) -> Any:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": step}
    )
    assert result["type"] is FlowResultType.FORM, result
    return await hass.config_entries.options.async_configure(result["flow_id"], form)


@pytest.mark.freeze_time(NOW)
async def test_options_flow(hass: HomeAssistant, config_entry: MockConfigEntry) -> None:
    """The options menu saves the peak settings, an ordered list of loads (add, remove,
    invalid combinations refused) and a battery driven by two scripts; the entities appear."""
    await _setup(hass, config_entry)
    result = await _menu(
        hass,
        config_entry,
        "load_shedding",
        {
            CONF_POWER_ENTITY: POWER,
            CONF_SUBSCRIBED_KVA: 9,
            CONF_ON_RATIO: 80,
            CONF_OFF_RATIO: 85,
            CONF_DWELL: 60,
            "peak_buckets": ["hp", "red_hp"],
        },
    )
    assert result["errors"] == {CONF_OFF_RATIO: "off_above_on"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_POWER_ENTITY: POWER,
            CONF_SUBSCRIBED_KVA: 9,
            CONF_ON_RATIO: 90,
            CONF_OFF_RATIO: 75,
            CONF_DWELL: 60,
            "peak_buckets": ["hp", "red_hp"],
            "battery": "sensor.battery",
            "discharge_script": "script.discharge",
            "charge_script": "script.charge",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)
    load = {"mode": "off", "min_off": 5, "max_shed": 60}
    for entity_id in (CLIMATE, SWITCH):
        result = await _add_load(hass, config_entry, {"entity": entity_id, **load})
        assert result["type"] is FlowResultType.CREATE_ENTRY
    result = await _add_load(hass, config_entry, {"entity": SWITCH, **load, "mode": "eco_preset"})
    assert result["errors"] == {"base": "invalid_load"}  # a switch has no eco preset
    result = await _add_load(hass, config_entry, {"entity": SWITCH, **load})
    assert result["errors"] == {"entity": "duplicate_load"}
    result = await _add_load(
        hass, config_entry, {"entity": WATER_HEATER, **load, "mode": "setpoint", "setpoint": 45}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    switch_load = next(sub for sub in config_entry.subentries.values() if sub.unique_id == SWITCH)
    assert hass.config_entries.async_remove_subentry(config_entry, switch_load.subentry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    # Editing a load keeps its place in the order.
    climate_load = next(sub for sub in config_entry.subentries.values() if sub.unique_id == CLIMATE)
    result = await config_entry.start_subentry_reconfigure_flow(hass, climate_load.subentry_id)
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"entity": CLIMATE, **load, "max_shed": 90}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done(wait_background_tasks=True)

    loads = [sub.data for sub in config_entry.subentries.values()]
    assert [data["entity_id"] for data in loads] == [CLIMATE, WATER_HEATER]
    assert loads[1]["setpoint"] == 45
    assert loads[0]["max_shed"] == 5400
    assert [load.entity_id for load in config_entry.runtime_data.shedding.options.loads] == [
        CLIMATE,
        WATER_HEATER,
    ]
    section = config_entry.options[CONF_LOAD_SHEDDING]
    assert (section[CONF_SUBSCRIBED_KVA], section[CONF_ON_RATIO], section[CONF_OFF_RATIO]) == (
        9,
        0.9,
        0.75,
    )
    assert section["batteries"][0]["discharge"]["entity_id"] == "script.discharge"
    assert _peak(hass)[0] == "off"
    level = hass.states.get(_entity(hass, "sensor", "shed_level"))
    assert level is not None
    assert level.state == "0"
    share = hass.states.get(_entity(hass, "sensor", "max_power_share_yesterday"))
    assert share is not None

    result = await _menu(hass, config_entry, "self_consumption", {"pv_entity": "sensor.pv_energy"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert config_entry.options["pv_entity"] == "sensor.pv_energy"


@pytest.mark.freeze_time(NOW)
async def test_a_load_unavailable_at_restore_time_is_restored_when_it_is_back(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, config_entry: MockConfigEntry
) -> None:
    """After a restart the thermostat is not back yet (Zigbee, ESPHome) when the peak has
    ended: its restore fails, but it stays tracked and is restored once it is back."""
    house = await House.create(hass, base_w=3300)
    _configure(hass, config_entry, *LOADS)
    shed = async_capture_events(hass, EVENT_SHED)
    await _setup(hass, config_entry)
    await _wait(hass, freezer, 180)
    assert _shed_ids(shed) == [CLIMATE, SWITCH]
    hass.set_state(CoreState.stopping)
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    hass.set_state(CoreState.running)

    house.set_base(500)  # the peak is over when Home Assistant comes back
    hass.states.async_set(CLIMATE, "unavailable", {})
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    shedding = config_entry.runtime_data.shedding
    assert shedding is not None
    await _wait(hass, freezer, 600)  # the power peak ends after its dwell: restores sent
    assert shedding.controller.shed_entities == []
    assert shedding.controller.restoring_entities == [CLIMATE]  # away: still tracked
    assert house.state(SWITCH)[0] == "on"

    hass.states.async_set(CLIMATE, "heat", {**INITIAL[CLIMATE][1], "preset_mode": "eco"})
    await _wait(hass, freezer, 120)
    assert house.state(CLIMATE)[1]["preset_mode"] == INITIAL[CLIMATE][1]["preset_mode"]
    assert shedding.controller.restoring_entities == []


@pytest.mark.freeze_time(NOW)
async def test_loads_are_restored_when_the_entry_cannot_be_set_up(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, config_entry: MockConfigEntry
) -> None:
    """Home Assistant stops during a peak (the loads stay shed, to be handled at the
    restart), then the entry cannot be set up (its token expired meanwhile): the loads are
    restored all the same."""
    house = await House.create(hass, base_w=3300)
    _configure(hass, config_entry, *LOADS)
    await _setup(hass, config_entry)
    await _wait(hass, freezer, 180)
    hass.set_state(CoreState.stopping)
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    hass.set_state(CoreState.running)
    assert house.state(CLIMATE)[1]["preset_mode"] == "eco"

    hass.config_entries.async_update_entry(
        config_entry, data={**config_entry.data, "token": "not.a.token"}
    )
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    for entity_id in (CLIMATE, WATER_HEATER):
        assert house.state(entity_id) == INITIAL[entity_id]
    assert house.state(SWITCH)[0] == "on"


@pytest.mark.freeze_time(NOW)
async def test_a_hung_service_call_does_not_hold_shedding(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, config_entry: MockConfigEntry
) -> None:
    """A load's integration that never answers: its call gives up after the timeout and
    the next load is shed all the same."""
    house = await House.create(hass, base_w=3300)
    call = shedding_runtime._async_call_service

    async def hangs_on_the_thermostat(hass: HomeAssistant, service: Any) -> None:
        if (service.domain, service.service) == ("climate", "set_preset_mode"):
            await asyncio.Event().wait()  # never answers
        await call(hass, service)

    _configure(hass, config_entry, *LOADS)
    shed = async_capture_events(hass, EVENT_SHED)
    await _setup(hass, config_entry)
    with (
        patch.object(shedding_runtime, "_async_call_service", hangs_on_the_thermostat),
        patch.object(shedding_runtime, "CALL_TIMEOUT", timedelta(seconds=0)),
    ):
        await _wait(hass, freezer, 180)
    assert _shed_ids(shed)[:2] == [CLIMATE, SWITCH]
    assert house.state(SWITCH)[0] == "off"


@pytest.mark.freeze_time(NOW)
async def test_a_shed_is_saved_before_the_load_is_touched(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
    config_entry: MockConfigEntry,
) -> None:
    """When the shed call of a load goes out, its saved state is already in storage: a
    crash during the call cannot lose what to restore."""
    await House.create(hass, base_w=3300)
    call = shedding_runtime._async_call_service
    stored_at_call: list[list[str]] = []

    async def checking(hass: HomeAssistant, service: Any) -> None:
        saved = hass_storage[f"linky.{config_entry.entry_id}.shedding"]["data"]
        stored_at_call.append(sorted(saved["controller"]["shed"]))
        await call(hass, service)

    _configure(hass, config_entry, *LOADS)
    with patch.object(shedding_runtime, "_async_call_service", checking):
        await _setup(hass, config_entry)
        await _wait(hass, freezer, 180)
    assert stored_at_call[0] == [CLIMATE]
    assert sorted(stored_at_call[-1], reverse=True) == [SWITCH, CLIMATE]
