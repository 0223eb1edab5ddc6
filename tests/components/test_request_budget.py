"""The request budget holds whatever happens: failures back off, every request is written
down before it goes, one budget per API host, a ban stops every meter at once, and a cap at
the back-fill's reserve schedules no empty runs."""

from __future__ import annotations

from datetime import datetime, timedelta
import itertools
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from conso_emulator import HOME_PDL, PV_PDL, Emulator, Fault
import conso_emulator.api
from custom_components.linky.const import CONF_REQUEST_CAP
from custom_components.linky.instance import API_STORAGE_KEY, api_host, async_get_api_state
from custom_components.linky.sync.engine import MeterSync

from .helpers import meter_entry, setup_integration

NOW = "2026-11-20 09:30:00+01:00"


async def _time_passes(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, hours: int, step: int = 1
) -> None:
    for _ in range(0, hours, step):
        freezer.tick(timedelta(hours=step))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)


@pytest.mark.freeze_time(NOW)
async def test_failing_first_import_backs_off(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    emulator_url: str,
) -> None:
    """An outage during the first import: one retry later the same day at most, then
    attempts further and further apart, never a request every few minutes."""
    emulator.faults.push(Fault(status=500, times=1000))
    coordinator = await setup_integration(hass, meter_entry(emulator, emulator_url, HOME_PDL))
    assert len(emulator.requests) == 1

    await _time_passes(hass, freezer, 4 * 24)

    times = [record.time for record in emulator.requests]
    per_day = [
        len([t for t in times if start <= t < start + timedelta(days=1)])
        for start in (times[0] + timedelta(days=n) for n in range(4))
    ]
    assert per_day[0] <= 2  # the run and its single afternoon retry
    assert all(count <= 2 for count in per_day)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert all(gap >= timedelta(hours=1) for gap in gaps)
    assert gaps[-1] >= timedelta(hours=8)  # the back-off grew
    assert coordinator.sync is not None
    assert coordinator.sync.state.failures == len(times)


@pytest.mark.freeze_time(NOW)
async def test_each_request_is_written_down_before_it_is_sent(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    emulator: Emulator,
    emulator_url: str,
) -> None:
    """When the emulator receives a request, the shared budget in storage already counts
    it: a crash or a power cut in the middle of a run forgets nothing."""
    host = api_host(emulator_url)
    counted_at_arrival: list[tuple[int, int]] = []
    answer = conso_emulator.api._answer

    async def checking(emu: Emulator, *args: Any) -> Any:
        saved = hass_storage[API_STORAGE_KEY]["data"][host]["budget"]["sent"]
        counted_at_arrival.append((len(emu.requests) + 1, len(saved)))
        return await answer(emu, *args)

    with patch.object(conso_emulator.api, "_answer", checking):
        await setup_integration(hass, meter_entry(emulator, emulator_url, HOME_PDL))

    assert len(counted_at_arrival) > 5
    assert all(saved >= arrived for arrived, saved in counted_at_arrival)


@pytest.mark.freeze_time(NOW)
async def test_one_budget_per_api_host(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    emulator: Emulator,
    emulator_url: str,
) -> None:
    """Two spellings of one address share one budget; what 0.1.0 saved per URL text is
    merged (every send counts)."""
    spelled = emulator_url.upper().replace("HTTP://", "http://") + "/"
    sent = (datetime.fromisoformat(NOW) - timedelta(hours=1)).isoformat()
    hass_storage[API_STORAGE_KEY] = {
        "version": 1,
        "minor_version": 1,
        "key": API_STORAGE_KEY,
        "data": {
            emulator_url: {"budget": {"version": 1, "sent": [sent] * 3}, "banned_at": None},
            spelled: {"budget": {"version": 1, "sent": [sent] * 2}, "banned_at": None},
        },
    }
    first = await async_get_api_state(hass, emulator_url)
    second = await async_get_api_state(hass, spelled + "ignored/path")
    assert first is second
    assert first.budget.used == 5


@pytest.mark.freeze_time(NOW)
async def test_a_ban_stops_runs_already_scheduled_for_other_meters(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    emulator_url: str,
) -> None:
    """When one meter meets the ban, the other meter's runs (the host's scheduler) send
    nothing."""
    home = await setup_integration(hass, meter_entry(emulator, emulator_url, HOME_PDL))
    pv = await setup_integration(hass, meter_entry(emulator, emulator_url, PV_PDL))
    assert home.next_run is not None
    assert pv.next_run is not None
    assert home.scheduler is pv.scheduler is not None
    emulator.ban_after(0)
    for _ in range(48):  # until the next morning's first request meets the ban
        freezer.tick(timedelta(minutes=30))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
        if home.api.banned_at is not None:
            break
    assert home.api.banned_at is not None
    assert home.next_run is None
    assert pv.next_run is None
    sent = len(emulator.requests)

    await _time_passes(hass, freezer, 48, step=2)

    assert len(emulator.requests) == sent


@pytest.mark.freeze_time(NOW)
async def test_cap_at_the_reserve_schedules_no_empty_runs(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    emulator_url: str,
) -> None:
    """0.1.0 allowed a cap of 10, the back-fill's reserve: the back-fill could never send and
    an empty run was scheduled every 2 minutes. The cap now reads as 20, and a run is only
    scheduled when it can send."""
    runs = 0
    original = MeterSync.async_run

    async def counted(sync: MeterSync, **kwargs: Any) -> Any:
        nonlocal runs
        runs += 1
        return await original(sync, **kwargs)

    entry = meter_entry(emulator, emulator_url, HOME_PDL, **{CONF_REQUEST_CAP: 10})
    with patch.object(MeterSync, "async_run", counted):
        coordinator = await setup_integration(hass, entry)
        assert coordinator.api.budget.cap == 20
        await _time_passes(hass, freezer, 12)
    assert runs <= 4
    assert coordinator.sync is not None
    assert not coordinator.sync.backfill_pending()
