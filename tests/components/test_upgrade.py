"""Upgrading from version 0.1.0 loses nothing.

`tests/fixtures/upgrade/0.1.0/` holds what 0.1.0 stored for a PV meter using every feature
(see its README): Store files, the entry (options with the loads inside), the recorder's
rows and the entity registry. They are loaded into a fresh Home Assistant (the emulator URL
of that run replaced by this test's), and this version sets the entry up: the loads become
subentries, nothing is imported or recomputed again, the loads shed at the stop are still
shed, and the next run goes on from there with exact sums.
"""

from __future__ import annotations

from datetime import datetime, timedelta
import json
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder.models import StatisticData
from homeassistant.components.recorder.statistics import async_add_external_statistics
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from conso_emulator import PV_PDL, Emulator
from custom_components.linky.const import DOMAIN, SUBENTRY_LOAD
from custom_components.linky.energy.costs import MONEY_SERIES
from custom_components.linky.localtime import parse_instant
from custom_components.linky.options import OPTIONS_VERSION
from custom_components.linky.runtime.costs import CostSeries
from custom_components.linky.runtime.signature import SENSORS as SIGNATURE_SENSORS
from custom_components.linky.runtime.tariff_compare import TariffComparisonPart
from custom_components.linky.statistics import series_metadata

from .helpers import assert_sums_exact, derived_part, setup_integration, statistic_rows

FIXTURES = Path(__file__).parents[1] / "fixtures" / "upgrade" / "0.1.0"
CAPTURED_AT = "2026-11-20 09:35:00+01:00"  # five minutes after 0.1.0's last run


def _load(name: str, old_url: str, new_url: str) -> Any:
    text = (FIXTURES / name).read_text("utf-8").replace(old_url, new_url)
    return json.loads(text)


@pytest.fixture
def old(emulator_url: str) -> dict[str, Any]:
    """What 0.1.0 stored, pointing at this test's emulator."""
    old_url = (FIXTURES / "emulator_url.txt").read_text("utf-8").strip()
    old_root, new_root = old_url.removesuffix("/api"), emulator_url.removesuffix("/api")
    return {
        name: _load(f"{name}.json", old_root, new_root)
        for name in ("config_entry", "storage", "statistics", "entities")
    }


async def _restore(
    hass: HomeAssistant, hass_storage: dict[str, Any], old: dict[str, Any]
) -> MockConfigEntry:
    """Put 0.1.0's Store files, statistics and entity registry in place; return its entry."""
    hass_storage.update(old["storage"])
    entry_id = next(key.split(".")[1] for key in old["storage"] if key.endswith(".costs"))
    saved = old["config_entry"]
    entry = MockConfigEntry(
        domain=DOMAIN,
        entry_id=entry_id,
        title=saved["title"],
        unique_id=saved["unique_id"],
        version=saved["version"],
        minor_version=saved["minor_version"],
        data=saved["data"],
        options=saved["options"],
    )
    entry.add_to_hass(hass)
    for stat_id, rows in old["statistics"].items():
        if not rows:
            continue
        name = stat_id.split("_", 1)[1]
        metadata = series_metadata(PV_PDL, name, currency="EUR" if name in MONEY_SERIES else None)
        async_add_external_statistics(
            hass,
            metadata,
            [StatisticData(start=parse_instant(s), state=st, sum=sm) for s, st, sm in rows],
        )
    await async_wait_recording_done(hass)
    registry = er.async_get(hass)
    for domain, unique_id, entity_id in old["entities"]:
        registry.async_get_or_create(
            domain,
            DOMAIN,
            unique_id,
            suggested_object_id=entity_id.split(".", 1)[1],
            config_entry=entry,
        )
    return entry


@pytest.mark.freeze_time(CAPTURED_AT)
async def test_upgrade_from_0_1_0_keeps_everything(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    old: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """See the module docstring."""
    hass.states.async_set("sensor.power", "9000", {"unit_of_measurement": "W"})
    hass.states.async_set("switch.heater", "off")
    hass.states.async_set("climate.living", "heat", {"preset_mode": "eco", "temperature": 20})
    hass.states.async_set("sensor.pv_energy", "0", {"unit_of_measurement": "kWh"})
    entry = await _restore(hass, hass_storage, old)
    stored_costs = await statistic_rows(hass, f"linky:{PV_PDL}_consumption_cost")

    coordinator = await setup_integration(hass, entry)

    # The options are migrated: the loads are subentries, in their order.
    assert entry.minor_version == OPTIONS_VERSION
    assert "loads" not in entry.options["load_shedding"]
    loads = [sub for sub in entry.subentries.values() if sub.subentry_type == SUBENTRY_LOAD]
    saved_loads = old["config_entry"]["options"]["load_shedding"]["loads"]
    assert [dict(sub.data) for sub in loads] == saved_loads
    assert [sub.unique_id for sub in loads] == ["switch.heater", "climate.living"]
    assert {key: value for key, value in entry.options.items() if key != "load_shedding"} == {
        key: value
        for key, value in old["config_entry"]["options"].items()
        if key != "load_shedding"
    }

    # Nothing is imported again, nothing is recomputed.
    assert emulator.requests == []
    saved_sync = old["storage"][f"linky.{entry.entry_id}"]["data"]
    assert coordinator.sync is not None
    state = coordinator.sync.state
    for series in ("consumption", "production"):
        assert state.series_state(series).ledger.as_dict() == saved_sync["series"][series]["ledger"]
        assert state.series_state(series).daily_imported
    costs = derived_part(entry, CostSeries)
    assert costs.computed_hash == old["storage"][f"linky.{entry.entry_id}.costs"]["data"]["hash"]
    assert await statistic_rows(hass, f"linky:{PV_PDL}_consumption_cost") == stored_costs
    assert coordinator.api.budget.used == len(
        old["storage"]["linky.service"]["data"][
            next(iter(old["storage"]["linky.service"]["data"]))
        ]["budget"]["sent"]
    )

    # The entities keep their unique ids and entity ids; the only new ones are those of
    # the features added since (the energy signature's sensors, and the tariff comparison's
    # as this meter has a tariff).
    registry = er.async_get(hass)
    now = sorted(
        [reg.domain, reg.unique_id, reg.entity_id]
        for reg in er.async_entries_for_config_entry(registry, entry.entry_id)
    )
    assert [entity for entity in now if entity in old["entities"]] == old["entities"]
    added = {entity[1] for entity in now if entity not in old["entities"]}
    new_sensors = (*SIGNATURE_SENSORS, *TariffComparisonPart.sensor_descriptions)
    assert added == {f"{PV_PDL}_{description.key}" for description in new_sensors}

    # The loads shed when Home Assistant stopped are still shed (the peak is still on).
    shedding = entry.runtime_data.shedding
    assert shedding is not None
    assert shedding.controller.shed_entities == ["switch.heater", "climate.living"]

    # The next run starts from there: the ledgers agree with the recorder, sums stay exact.
    assert coordinator.next_run is not None
    freezer.move_to(coordinator.next_run + timedelta(seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)
    assert emulator.requests, "the next daily run"
    assert "disagree" not in caplog.text
    for name in ("consumption", "production", "consumption_cost"):
        assert_sums_exact(await statistic_rows(hass, f"linky:{PV_PDL}_{name}"), from_zero=True)
    assert coordinator.sync.state.last_success is not None
    assert coordinator.sync.state.last_success > datetime.fromisoformat(saved_sync["last_success"])
