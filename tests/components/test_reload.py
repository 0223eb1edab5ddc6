"""An entry set up again (options saved, reauth, reconfigure, the ban repair) or deleted while
a run is in flight leaves nothing behind: the old coordinator never runs, schedules or sends
again, its writes in progress finish with their ledger, and the statistics stay exact.

A gate in the emulator holds the run's load-curve request (the first import is in progress)
while the test reloads or deletes the entry.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from conso_emulator import HOME_PDL, Emulator
import conso_emulator.api
from custom_components.linky.coordinator import LinkyCoordinator
from custom_components.linky.energy.hourly import day_hours, local_day_bounds
from custom_components.linky.energy.ledger import Resolution
from custom_components.linky.localtime import PARIS
from custom_components.linky.statistics import statistic_id

from .helpers import assert_sums_exact, by_hour, statistic_rows

NOW = "2026-11-20 09:30:00+01:00"
CURVE = "courbe_de_charge_consommation"
CONSUMPTION = statistic_id(HOME_PDL, "consumption")


@dataclass
class Gate:
    """Holds every load-curve request at the emulator until opened."""

    reached: asyncio.Event = field(default_factory=asyncio.Event)
    opened: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Runs:
    """Which coordinator ran, in order."""

    by: list[LinkyCoordinator] = field(default_factory=list)


@pytest.fixture
def gate() -> AsyncIterator[Gate]:
    """The emulator's load-curve answers wait for the gate to open."""
    held = Gate()
    answer: Callable[..., Awaitable[Any]] = conso_emulator.api._answer

    async def gated(emu: Emulator, method: str, measure_type: str, *args: Any) -> Any:
        if measure_type == CURVE and not held.opened.is_set():
            held.reached.set()
            await held.opened.wait()
        return await answer(emu, method, measure_type, *args)

    with patch.object(conso_emulator.api, "_answer", gated):
        yield held  # type: ignore[misc]
    held.opened.set()


@pytest.fixture
def runs() -> AsyncIterator[Runs]:
    """Every run, with the coordinator that made it."""
    seen = Runs()
    original = LinkyCoordinator._async_run

    async def recorded(coordinator: LinkyCoordinator, *args: Any) -> Any:
        seen.by.append(coordinator)
        return await original(coordinator, *args)

    with patch.object(LinkyCoordinator, "_async_run", recorded):
        yield seen  # type: ignore[misc]


async def _start_first_import(hass: HomeAssistant, entry: MockConfigEntry, gate: Gate) -> None:
    """Set the entry up; return once its first import waits at the gate."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await asyncio.wait_for(gate.reached.wait(), 30)


async def _days_pass(hass: HomeAssistant, freezer: FrozenDateTimeFactory, days: int) -> None:
    """Let time pass in steps of 4 hours, firing every timer due."""
    for _ in range(days * 6):
        freezer.tick(timedelta(hours=4))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)


async def _assert_exact(
    hass: HomeAssistant, emulator: Emulator, coordinator: LinkyCoordinator
) -> None:
    """Every stored day equals the truth and the whole chain of sums is exact."""
    rows = await statistic_rows(hass, CONSUMPTION)
    assert_sums_exact(rows, from_zero=True)
    stored = by_hour(rows)
    assert coordinator.sync is not None
    ledger = coordinator.sync.state.series_state("consumption").ledger
    assert ledger.days()
    for day in ledger.days():
        record = ledger.get(day)
        assert record is not None
        if record.resolution is Resolution.HOURLY:
            start, end = local_day_bounds(day)
            truth = emulator.truth.hourly_wh(HOME_PDL, False, start, end)
            assert {hour: round(stored[hour] * 1000, 6) for hour in day_hours(day)} == truth
        else:
            midnight = local_day_bounds(day)[0]
            assert round(stored[midnight] * 1000, 6) == emulator.truth.daily_wh(
                HOME_PDL, False, day
            )
    assert round(ledger.total_wh / 1000, 6) == pytest.approx(rows[-1]["sum"], abs=1e-6)


@pytest.mark.freeze_time(NOW)
async def test_reload_during_the_first_import(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    config_entry: MockConfigEntry,
    gate: Gate,
    runs: Runs,
) -> None:
    """Saving the options while the first import runs: the old coordinator stops for good,
    the new one finishes the import, the statistics are exact and stay so for days."""
    await _start_first_import(hass, config_entry, gate)
    old: LinkyCoordinator = config_entry.runtime_data.coordinator

    assert await hass.config_entries.async_reload(config_entry.entry_id)
    gate.opened.set()
    await hass.async_block_till_done(wait_background_tasks=True)
    new: LinkyCoordinator = config_entry.runtime_data.coordinator
    assert new is not old
    assert old.next_run is None
    ran_after_reload = len(runs.by)

    await _days_pass(hass, freezer, 3)

    assert all(coordinator is new for coordinator in runs.by[ran_after_reload:])
    assert len(runs.by) > ran_after_reload  # the new one went on
    await _assert_exact(hass, emulator, new)


@pytest.mark.freeze_time(NOW)
async def test_delete_during_the_first_import(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    config_entry: MockConfigEntry,
    gate: Gate,
    runs: Runs,
) -> None:
    """Deleting the entry while it imports: nothing runs or sends again, and its saved
    state is not written back after it was deleted."""
    await _start_first_import(hass, config_entry, gate)
    assert (await hass.config_entries.async_remove(config_entry.entry_id))[
        "require_restart"
    ] is False
    gate.opened.set()
    await hass.async_block_till_done(wait_background_tasks=True)
    ran, sent = len(runs.by), len(emulator.requests)
    assert config_entry.state is ConfigEntryState.NOT_LOADED

    await _days_pass(hass, freezer, 2)

    assert len(runs.by) == ran
    assert len(emulator.requests) == sent
    assert not [key for key in hass_storage if key.startswith(f"linky.{config_entry.entry_id}")]


@pytest.mark.freeze_time(NOW)
async def test_ledger_check_heals_a_broken_chain(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A step added to the sums and taken back later (the last sum is right, the hours in
    between are not) is found at the next start and healed: every sum exact again."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    instance = get_instance(hass)
    first = datetime(2026, 11, 2, 10, tzinfo=PARIS)
    instance.async_adjust_statistics(CONSUMPTION, first, 62.0, "kWh")
    instance.async_adjust_statistics(CONSUMPTION, first + timedelta(days=5), -62.0, "kWh")
    await async_wait_recording_done(hass)
    rows = await statistic_rows(hass, CONSUMPTION)
    with pytest.raises(AssertionError):
        assert_sums_exact(rows, from_zero=True)

    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    coordinator: LinkyCoordinator = config_entry.runtime_data.coordinator
    assert coordinator.next_run is not None
    freezer.move_to(coordinator.next_run + timedelta(seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)

    assert "disagree" in caplog.text
    await _assert_exact(hass, emulator, coordinator)
    assert date(2026, 11, 19) in coordinator.sync.state.series_state("consumption").ledger  # type: ignore[union-attr]
