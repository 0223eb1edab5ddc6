"""Fixtures for the Home Assistant tests: the Conso API emulator on 127.0.0.1 and entries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from unittest.mock import PropertyMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from conso_emulator import HOME_PDL, Emulator, EmulatorServer
from custom_components.linky.const import CONF_BASE_URL, CONF_PDL, CONF_TOKEN, DOMAIN


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """Load custom integrations in every HA test, with a real recorder set up first (the
    integration depends on it; phacc requires `recorder_mock` before `hass`)."""


@pytest.fixture(autouse=True)
def pace_with_frozen_clock(freezer: FrozenDateTimeFactory) -> Iterator[None]:
    """The request budget waits between requests (5/s); with time frozen, waiting means
    moving the frozen clock, as real time would."""

    async def tick(seconds: float) -> None:
        freezer.tick(seconds)

    with patch("custom_components.linky.instance._async_pace_sleep", tick):
        yield


@pytest.fixture
def emulator() -> Emulator:
    """A Conso API emulator whose clock is Home Assistant's (frozen time works)."""
    return Emulator(now=dt_util.utcnow)


@pytest.fixture
async def emulator_url(emulator: Emulator, socket_enabled: None) -> AsyncIterator[str]:
    """Serve the emulator on 127.0.0.1 and return its API base URL (phacc blocks sockets
    unless `socket_enabled` is requested; only 127.0.0.1 is used)."""
    async with EmulatorServer(emulator, host="127.0.0.1", port=0) as server:
        yield server.base_url


@pytest.fixture
def home_token(emulator: Emulator) -> str:
    """A consent token covering the emulator's household meter."""
    return emulator.mint_token([HOME_PDL], issued_at=datetime(2026, 1, 1, tzinfo=dt_util.UTC))


@pytest.fixture
def config_entry(emulator_url: str, home_token: str) -> MockConfigEntry:
    """A config entry for the household meter, pointing at the emulator."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Linky {HOME_PDL}",
        unique_id=HOME_PDL,
        data={CONF_TOKEN: home_token, CONF_PDL: HOME_PDL, CONF_BASE_URL: emulator_url},
        options={},
    )


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Syrupy snapshots with Home Assistant's serializer (states, registry entries)."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
def entity_registry_enabled_by_default() -> Iterator[None]:
    """Enable the entities that are disabled by default (not provided by phacc)."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield
