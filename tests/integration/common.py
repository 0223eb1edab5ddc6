"""Helpers shared by the Home Assistant tests."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.linky.coordinator import LinkyCoordinator


async def setup_integration(hass: HomeAssistant, entry: MockConfigEntry) -> LinkyCoordinator:
    """Add and set up the entry, let its first run (started at once) finish and the recorder
    write what it queued; return the entry's coordinator."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)
    assert entry.state is ConfigEntryState.LOADED
    coordinator: LinkyCoordinator = entry.runtime_data
    return coordinator
