"""Diagnostics: a useful summary of the sync state, with the token and the PDL redacted."""

from __future__ import annotations

import json

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from conso_emulator import HOME_PDL, Emulator
from custom_components.linky.conso.errors import ErrorKind
from custom_components.linky.sync.state import ErrorInfo

from .helpers import setup_integration

NOW = "2026-11-20 09:30:00+01:00"


@pytest.mark.freeze_time(NOW)
async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    emulator: Emulator,
    emulator_url: str,
    home_token: str,
    config_entry: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """The summary after the first import: stored days, schedule, budget; no secret."""
    coordinator = await setup_integration(hass, config_entry)

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, config_entry)

    # The emulator's URL has a random port: compare it, then pin the rest.
    assert diagnostics["entry"]["data"]["base_url"] == emulator_url
    diagnostics["entry"]["data"]["base_url"] = "http://127.0.0.1:<port>/api"
    assert diagnostics == snapshot
    dump = json.dumps(diagnostics)
    assert home_token not in dump
    assert all(part not in dump for part in home_token.split("."))
    assert HOME_PDL not in dump
    # The summary is the real state, not placeholders.
    series = diagnostics["sync"]["series"]["consumption"]
    ledger = coordinator.sync.state.series_state("consumption").ledger
    assert series["stored_days"] == len(ledger) > 365
    assert diagnostics["service"]["used"] == len(emulator.requests)


@pytest.mark.freeze_time(NOW)
async def test_diagnostics_mask_the_pdl_in_error_messages(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    config_entry: MockConfigEntry,
) -> None:
    """An error message that quotes the meter number is masked too."""
    coordinator = await setup_integration(hass, config_entry)
    assert coordinator.sync is not None
    coordinator.sync.state.last_error = ErrorInfo(
        kind=ErrorKind.SERVER,
        message=f"Erreur technique pour le point {HOME_PDL}",
        at=dt_util.utcnow(),
        status=500,
        code="technical_error",
    )

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, config_entry)

    last_error = diagnostics["sync"]["last_error"]
    assert last_error["status"] == 500
    assert last_error["message"] == "Erreur technique pour le point **REDACTED**"
    assert HOME_PDL not in json.dumps(diagnostics)
