"""The shipped automation blueprints load and validate with Home Assistant's own blueprint
schema, and automations instantiated from them run: heaters shed at a peak and restored
exactly (peak end or maximum duration), a battery driven at peaks and off-peak hours,
pre-heat before a red Tempo day, the insights sent to a notify entity."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
import shutil
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint.models import Blueprint
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import load_yaml_dict
import pytest
from pytest_homeassistant_custom_component.common import (
    async_fire_time_changed,
    async_mock_service,
)

from custom_components.linky.localtime import PARIS

SOURCE = Path(__file__).parents[2] / "blueprints" / "automation" / "linky"
SOURCE_URL = "https://github.com/linky-ha/linky/blob/main/blueprints/automation/linky/"
PEAK = "binary_sensor.linky_peak"
TOMORROW = "sensor.linky_tempo_tomorrow"
HEATERS = ["climate.living", "climate.bedroom"]
BATTERY = "select.battery_mode"
INPUTS: dict[str, set[str]] = {
    "shed_heaters_during_peaks.yaml": {
        "peak_sensor", "heaters", "reasons", "eco_preset", "max_duration",
    },
    "battery_peak_offpeak.yaml": {
        "peak_sensor", "offpeak_start", "offpeak_end", "discharge_actions", "charge_actions",
        "idle_actions",
    },
    "preheat_before_tempo_red.yaml": {
        "tempo_tomorrow", "colours", "heaters", "temperature", "start_time", "end_time",
    },
    "notify_insights.yaml": {"insights_event", "notify_entity", "kinds"},
}  # fmt: skip


def test_every_blueprint_is_tested() -> None:
    assert sorted(path.name for path in SOURCE.glob("*.yaml")) == sorted(INPUTS)


@pytest.mark.parametrize("name", sorted(INPUTS))
async def test_blueprint_loads_and_validates(hass: HomeAssistant, name: str) -> None:
    data = await hass.async_add_executor_job(load_yaml_dict, SOURCE / name)
    blueprint = Blueprint(
        data, path=name, expected_domain="automation", schema=AUTOMATION_BLUEPRINT_SCHEMA
    )
    assert blueprint.validate() is None  # supported by this Home Assistant version
    assert blueprint.metadata["source_url"] == SOURCE_URL + name
    assert blueprint.metadata["homeassistant"]["min_version"] == "2024.10.0"
    assert blueprint.metadata["author"] == "Linky for Home Assistant"
    assert set(blueprint.inputs) == INPUTS[name]
    assert {"triggers", "actions"} <= set(data)  # the modern syntax
    assert not {"trigger", "action", "condition"} & set(data)
    linky_filters = [
        selector["entity"]["filter"]
        for spec in blueprint.inputs.values()
        if "entity" in (selector := spec.get("selector") or {})
        and any(f.get("integration") == "linky" for f in selector["entity"]["filter"])
    ]
    assert linky_filters  # the Linky entity is picked by integration, not by its id


async def setup_automation(hass: HomeAssistant, name: str, inputs: dict[str, Any]) -> None:
    """Install the blueprint in the config dir and create an automation from it."""
    target = Path(hass.config.path("blueprints/automation/linky"))

    def install() -> None:
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(SOURCE / name, target / name)

    await hass.async_add_executor_job(install)
    await hass.config.async_update(time_zone="Europe/Paris")
    assert await async_setup_component(hass, "scene", {})
    config = {
        "automation": [
            {
                "id": "linky_test",
                "alias": "Linky test",
                "use_blueprint": {"path": f"linky/{name}", "input": inputs},
            }
        ]
    }
    assert await async_setup_component(hass, "automation", config)
    await hass.async_block_till_done()
    state = hass.states.get("automation.linky_test")
    assert state is not None
    assert state.state == "on"


def set_heaters(hass: HomeAssistant, preset: str, temperature: float) -> None:
    """Both thermostats heating with `preset` at `temperature`."""
    for entity_id in HEATERS:
        hass.states.async_set(
            entity_id,
            "heat",
            {
                "hvac_modes": ["off", "heat"],
                "preset_modes": ["comfort", "eco"],
                "preset_mode": preset,
                "temperature": temperature,
            },
        )


def calls_for(calls: list[ServiceCall], entity_id: str) -> list[dict[str, Any]]:
    """The data (without entity_id) of the calls that target `entity_id`."""
    result = []
    for call in calls:
        targets = call.data["entity_id"]
        if entity_id in (targets if isinstance(targets, list) else [targets]):
            result.append({k: v for k, v in call.data.items() if k != "entity_id"})
    return result


async def turn_off_automation(hass: HomeAssistant) -> None:
    """Turn the test automation off: its time triggers leave no timer behind."""
    await hass.services.async_call(
        "automation", "turn_off", {"entity_id": "automation.linky_test"}, blocking=True
    )


async def settle(hass: HomeAssistant) -> None:
    """Let the event loop run the triggered automations up to their next wait.

    `hass.async_block_till_done()` would wait for the automation runs themselves, which
    block in `wait_for_trigger` until the peak ends: it is used only when no run waits.
    """
    del hass  # the runs are tasks on the same loop
    for _ in range(20):
        await asyncio.sleep(0)


async def move_to(hass: HomeAssistant, freezer: FrozenDateTimeFactory, instant: datetime) -> None:
    """Move the frozen clock and let time listeners fire."""
    freezer.move_to(instant)
    async_fire_time_changed(hass, instant)
    await settle(hass)


async def test_shed_heaters_blueprint_sheds_and_restores_exactly(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(datetime(2026, 1, 15, 5, 59, tzinfo=PARIS))
    hass.states.async_set(PEAK, "off", {"reason": None})
    set_heaters(hass, "comfort", 20.5)
    presets = async_mock_service(hass, "climate", "set_preset_mode")
    async_mock_service(hass, "climate", "set_hvac_mode")
    temperatures = async_mock_service(hass, "climate", "set_temperature")
    await setup_automation(
        hass,
        "shed_heaters_during_peaks.yaml",
        {"peak_sensor": PEAK, "heaters": HEATERS, "reasons": ["tempo_red", "power"]},
    )
    # A peak of a reason not chosen: nothing happens.
    hass.states.async_set(PEAK, "on", {"reason": "hp"})
    await settle(hass)
    assert presets == []
    hass.states.async_set(PEAK, "off", {"reason": None})
    await settle(hass)

    hass.states.async_set(PEAK, "on", {"reason": "tempo_red"})
    await settle(hass)
    assert [call.data for call in presets] == [{"entity_id": HEATERS, "preset_mode": "eco"}]
    set_heaters(hass, "eco", 16)  # the thermostats obey
    hass.states.async_set(PEAK, "off", {"reason": None})
    await hass.async_block_till_done()  # the run ends: nothing waits any more
    for entity_id in HEATERS:  # restored from the scene saved before the peak
        assert calls_for(presets[1:], entity_id) == [{"preset_mode": "comfort"}]
        assert calls_for(temperatures, entity_id) == [{"temperature": 20.5}]

    # A peak longer than the maximum duration (2 h by default): restored anyway.
    set_heaters(hass, "comfort", 20.5)
    presets.clear()
    hass.states.async_set(PEAK, "on", {"reason": "power"})
    await settle(hass)
    set_heaters(hass, "eco", 16)
    assert len(presets) == 1
    await move_to(hass, freezer, datetime(2026, 1, 15, 7, 58, tzinfo=PARIS))
    assert len(presets) == 1
    await move_to(hass, freezer, datetime(2026, 1, 15, 8, 0, 1, tzinfo=PARIS))
    await hass.async_block_till_done()
    assert calls_for(presets[1:], HEATERS[0]) == [{"preset_mode": "comfort"}]
    peak = hass.states.get(PEAK)
    assert peak is not None
    assert peak.state == "on"
    await turn_off_automation(hass)


async def test_battery_blueprint_follows_peaks_and_offpeak_hours(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(datetime(2026, 1, 15, 12, tzinfo=PARIS))
    hass.states.async_set(PEAK, "off", {"reason": None})
    hass.states.async_set(BATTERY, "auto", {"options": ["auto", "charge", "discharge"]})
    options = async_mock_service(hass, "select", "select_option")

    def select(option: str) -> list[dict[str, Any]]:
        return [
            {
                "action": "select.select_option",
                "target": {"entity_id": BATTERY},
                "data": {"option": option},
            }
        ]

    await setup_automation(
        hass,
        "battery_peak_offpeak.yaml",
        {
            "peak_sensor": PEAK,
            "discharge_actions": select("discharge"),
            "charge_actions": select("charge"),
            "idle_actions": select("auto"),
        },
    )

    def seen() -> list[str]:
        return [call.data["option"] for call in options]

    hass.states.async_set(PEAK, "on", {"reason": "tempo_red"})
    await hass.async_block_till_done()
    assert seen() == ["discharge"]
    await move_to(hass, freezer, datetime(2026, 1, 15, 22, 0, 1, tzinfo=PARIS))
    assert seen() == ["discharge"]  # off-peak starts during the peak: keep discharging
    hass.states.async_set(PEAK, "off", {"reason": None})
    await hass.async_block_till_done()
    assert seen() == ["discharge", "charge"]  # the peak ended in off-peak hours
    await move_to(hass, freezer, datetime(2026, 1, 16, 6, 0, 1, tzinfo=PARIS))
    assert seen() == ["discharge", "charge", "auto"]
    await move_to(hass, freezer, datetime(2026, 1, 16, 22, 0, 1, tzinfo=PARIS))
    assert seen() == ["discharge", "charge", "auto", "charge"]
    await turn_off_automation(hass)


async def test_preheat_blueprint_before_a_red_day(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(datetime(2026, 1, 14, 12, tzinfo=PARIS))
    hass.states.async_set(TOMORROW, "white")
    set_heaters(hass, "comfort", 19)
    temperatures = async_mock_service(hass, "climate", "set_temperature")
    presets = async_mock_service(hass, "climate", "set_preset_mode")
    async_mock_service(hass, "climate", "set_hvac_mode")
    await setup_automation(
        hass,
        "preheat_before_tempo_red.yaml",
        {"tempo_tomorrow": TOMORROW, "heaters": HEATERS, "temperature": 21.5},
    )
    await move_to(hass, freezer, datetime(2026, 1, 14, 22, 0, 1, tzinfo=PARIS))
    assert temperatures == []  # tomorrow is white: no pre-heat

    hass.states.async_set(TOMORROW, "red")
    await move_to(hass, freezer, datetime(2026, 1, 15, 22, 0, 1, tzinfo=PARIS))
    assert [call.data for call in temperatures] == [{"entity_id": HEATERS, "temperature": 21.5}]
    set_heaters(hass, "none", 21.5)
    await move_to(hass, freezer, datetime(2026, 1, 16, 5, 49, tzinfo=PARIS))
    assert presets == []
    await move_to(hass, freezer, datetime(2026, 1, 16, 5, 50, 1, tzinfo=PARIS))
    await hass.async_block_till_done()
    for entity_id in HEATERS:  # back to the state saved at 22:00
        assert calls_for(presets, entity_id) == [{"preset_mode": "comfort"}]
        assert calls_for(temperatures[1:], entity_id) == [{"temperature": 19}]
    await turn_off_automation(hass)


INSIGHTS = "event.linky_insights"


def fire_insight(hass: HomeAssistant, when: str, kind: str, **data: Any) -> None:
    """The insights event entity's state after an event (as `EventEntity` writes it)."""
    hass.states.async_set(
        INSIGHTS,
        when,
        {"event_types": ["weekly_report", "unusual_day"], "event_type": kind, **data},
    )


async def test_notify_insights_sends_each_chosen_event_once(hass: HomeAssistant) -> None:
    """Each new event of a chosen kind is sent with its title and message; other kinds, and
    the state restored after a restart (from unavailable), are not."""
    hass.states.async_set(INSIGHTS, "unknown", {"friendly_name": "Linky Insights"})
    sent = async_mock_service(hass, "notify", "send_message")
    await setup_automation(
        hass,
        "notify_insights.yaml",
        {"insights_event": INSIGHTS, "notify_entity": "notify.phone", "kinds": ["weekly_report"]},
    )
    fire_insight(hass, "2026-11-23T08:40:00+00:00", "weekly_report", title="W47", message="12 kWh")
    await hass.async_block_till_done()
    fire_insight(hass, "2026-11-23T08:40:01+00:00", "unusual_day", message="a day")
    await hass.async_block_till_done()
    hass.states.async_set(INSIGHTS, "unavailable", {})
    fire_insight(hass, "2026-11-23T08:40:01+00:00", "weekly_report", title="W47", message="12 kWh")
    await hass.async_block_till_done()
    assert [call.data for call in sent] == [
        {"entity_id": ["notify.phone"], "title": "W47", "message": "12 kWh"}
    ]
