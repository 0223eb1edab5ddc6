"""Sensors end to end: the real integration against the emulator over 127.0.0.1.

Values are checked against the emulator's ground truth; the snapshot pins names, units,
device classes, categories and states; stale data makes the measurement sensors
unavailable while the diagnostic ones keep reporting why.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
import json
from pathlib import Path

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from conso_emulator import HOME_PDL, PV_PDL, Emulator, Fault
from custom_components.linky.conso.errors import ErrorKind
from custom_components.linky.const import (
    CONF_BASE_URL,
    CONF_PDL,
    CONF_PRODUCTION,
    CONF_TOKEN,
    DOMAIN,
)
from custom_components.linky.runtime import DERIVED_PARTS
from custom_components.linky.sensor import SENSORS

from .helpers import setup_integration

NOW = "2026-11-20 09:30:00+01:00"
YESTERDAY = date(2026, 11, 19)
INTEGRATION = Path(__file__).parents[2] / "custom_components" / DOMAIN
DATA_KEYS = {
    "consumption_yesterday",
    "consumption_last_7_days",
    "consumption_month_to_date",
    "max_power_yesterday",
    "max_power_time",
}
DIAGNOSTIC_KEYS = {"request_budget", "next_run", "last_error", "backfill_progress"}


async def _advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, when: str) -> None:
    """Move the clock and let the due run (if any) finish."""
    freezer.move_to(when)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def _entity_id(entity_registry: er.EntityRegistry, key: str, pdl: str = HOME_PDL) -> str:
    entity_id = entity_registry.async_get_entity_id("sensor", DOMAIN, f"{pdl}_{key}")
    assert entity_id is not None, key
    return entity_id


def _state(hass: HomeAssistant, entity_registry: er.EntityRegistry, key: str) -> str:
    state = hass.states.get(_entity_id(entity_registry, key))
    assert state is not None, key
    return state.state


def _kwh(
    emulator: Emulator, days: list[date], *, pdl: str = HOME_PDL, production: bool = False
) -> object:
    """Expected figure: the published days' total in kWh (None when none is published)."""
    values = [
        wh for day in days if (wh := emulator.truth.daily_wh(pdl, production, day)) is not None
    ]
    return pytest.approx(sum(values) / 1000, abs=1e-3) if values else None


@pytest.mark.freeze_time(NOW)
@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_entities(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Every sensor of a consumption meter after the first import (names, classes, states)."""
    await setup_integration(hass, config_entry)

    # As `snapshot_platform`, without the registry fields newer Home Assistant versions add
    # (2026.11: `compat_name`), so that one snapshot serves every version CI tests.
    entries = er.async_entries_for_config_entry(entity_registry, config_entry.entry_id)
    assert entries
    for entry in entries:
        assert entry == snapshot(name=f"{entry.entity_id}-entry", exclude=props("compat_name"))
        assert entry.disabled_by is None
        state = hass.states.get(entry.entity_id)
        assert state == snapshot(name=f"{entry.entity_id}-state")
    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, HOME_PDL), config_entry.entry_id
    )
    assert device is not None
    assert device == snapshot(name="device")
    assert device.entry_type is dr.DeviceEntryType.SERVICE
    # No production sensor unless production is imported.
    assert not any(
        entry.unique_id.startswith(f"{HOME_PDL}_production")
        for entry in er.async_entries_for_config_entry(entity_registry, config_entry.entry_id)
    )


@pytest.mark.freeze_time(NOW)
async def test_values_match_truth(
    hass: HomeAssistant,
    emulator: Emulator,
    config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """The figures are the emulator's truth for the days before today (Europe/Paris)."""
    coordinator = await setup_integration(hass, config_entry)

    def state(key: str) -> str:
        return _state(hass, entity_registry, key)

    last_7 = [YESTERDAY - timedelta(days=n) for n in range(7)]
    month = [date(2026, 11, day) for day in range(1, 20)]
    assert float(state("consumption_yesterday")) == _kwh(emulator, [YESTERDAY])
    assert float(state("consumption_last_7_days")) == _kwh(emulator, last_7)
    assert float(state("consumption_month_to_date")) == _kwh(emulator, month)
    truth_max_power = emulator.truth.max_power(HOME_PDL, YESTERDAY)
    assert truth_max_power is not None
    va, at = truth_max_power
    assert int(state("max_power_yesterday")) == va
    assert dt_util.parse_datetime(state("max_power_time")) == at
    assert state("latest_data") == YESTERDAY.isoformat()
    assert coordinator.token.expires_at is not None
    assert state("consent_expiry") == coordinator.token.expires_at.isoformat()

    budget = hass.states.get(_entity_id(entity_registry, "request_budget"))
    assert budget is not None
    sent = len(emulator.requests)
    assert sent > 0
    assert budget.state == str(50 - sent)
    assert budget.attributes["used"] == sent
    assert budget.attributes["cap"] == 50
    assert budget.attributes["unit_of_measurement"] == "requests"
    assert coordinator.next_run is not None
    assert dt_util.parse_datetime(state("next_run")) == coordinator.next_run
    assert coordinator.next_run > dt_util.utcnow()
    assert state("last_error") == STATE_UNKNOWN
    assert 0 < float(state("backfill_progress")) < 100
    # Not enabled by default.
    last_success = entity_registry.async_get(_entity_id(entity_registry, "last_success"))
    assert last_success is not None
    assert last_success.disabled_by is er.RegistryEntryDisabler.INTEGRATION


@pytest.mark.freeze_time(NOW)
async def test_production_sensors(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str, entity_registry: er.EntityRegistry
) -> None:
    """With production imported, the production figures are the injected energy's truth."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"Linky {PV_PDL}",
        unique_id=PV_PDL,
        data={
            CONF_TOKEN: emulator.mint_token(
                [PV_PDL], issued_at=datetime(2026, 1, 1, tzinfo=dt_util.UTC)
            ),
            CONF_PDL: PV_PDL,
            CONF_BASE_URL: emulator_url,
        },
        options={CONF_PRODUCTION: True},
    )
    await setup_integration(hass, entry)

    def state(key: str) -> str:
        state = hass.states.get(_entity_id(entity_registry, key, PV_PDL))
        assert state is not None
        return state.state

    last_7 = [YESTERDAY - timedelta(days=n) for n in range(7)]
    month = [date(2026, 11, day) for day in range(1, 20)]
    for key, days in (
        ("yesterday", [YESTERDAY]),
        ("last_7_days", last_7),
        ("month_to_date", month),
    ):
        expected = _kwh(emulator, days, pdl=PV_PDL, production=True)
        assert float(state(f"production_{key}")) == expected
        assert float(state(f"consumption_{key}")) == _kwh(emulator, days, pdl=PV_PDL)
    # Surplus injection really is there in November (otherwise the test proves nothing).
    assert float(state("production_month_to_date")) > 0


@pytest.mark.freeze_time(NOW)
async def test_stale_data_makes_measurements_unavailable(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Days of failures: measurement sensors go unavailable, diagnostics say why; recovery."""
    await setup_integration(hass, config_entry)
    for key in DATA_KEYS:
        assert _state(hass, entity_registry, key) not in (STATE_UNAVAILABLE, STATE_UNKNOWN)

    emulator.faults.push(Fault(500, kind="technical_error", times=10_000))
    await _advance(hass, freezer, "2026-11-24 11:00:00+01:00")

    for key in DATA_KEYS:
        assert _state(hass, entity_registry, key) == STATE_UNAVAILABLE, key
    for key in DIAGNOSTIC_KEYS | {"latest_data", "consent_expiry"}:
        assert _state(hass, entity_registry, key) != STATE_UNAVAILABLE, key
    assert _state(hass, entity_registry, "latest_data") == YESTERDAY.isoformat()
    error = hass.states.get(_entity_id(entity_registry, "last_error"))
    assert error is not None
    assert error.state == "server"
    assert error.attributes["status"] == 500
    assert dt_util.parse_datetime(error.attributes["at"]) is not None

    # Enedis is back: the afternoon retry refreshes the recent days.
    emulator.faults.clear()
    await _advance(hass, freezer, "2026-11-24 14:40:00+01:00")

    expected = _kwh(emulator, [date(2026, 11, 23)])
    yesterday = _state(hass, entity_registry, "consumption_yesterday")
    if expected is None:  # the 23rd is published late or never
        assert yesterday == STATE_UNKNOWN
    else:
        assert float(yesterday) == expected
    for key in ("consumption_last_7_days", "consumption_month_to_date"):
        assert _state(hass, entity_registry, key) != STATE_UNAVAILABLE
    assert _state(hass, entity_registry, "last_error") == STATE_UNKNOWN


def test_every_sensor_is_translated_and_has_an_icon() -> None:
    """Each translation key has an English and a French name and an icon; enum states too."""
    icons = json.loads((INTEGRATION / "icons.json").read_text())["entity"]["sensor"]
    for language in ("en", "fr"):
        sensors = json.loads((INTEGRATION / "translations" / f"{language}.json").read_text())[
            "entity"
        ]["sensor"]
        descriptions = [
            *SENSORS,
            *(description for part in DERIVED_PARTS for description in part.sensor_descriptions),
        ]
        assert {description.translation_key for description in descriptions} <= set(sensors)
        for description in descriptions:
            assert sensors[description.translation_key]["name"]
            assert description.translation_key in icons
            for option in description.options or []:
                assert sensors[description.translation_key]["state"][option]
    last_error = next(description for description in SENSORS if description.key == "last_error")
    assert set(last_error.options or []) == {kind.value for kind in ErrorKind}
