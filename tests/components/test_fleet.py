"""Meters sharing a Conso API host share one scheduler (issue 15, `runtime/fleet.py`),
through the emulator over 127.0.0.1.

Four meters, set up the evening before: the next morning one meter at a time probes for
yesterday's publication (late that day: 09:15), and once one finds it every other meter gets
its daily run: all four have yesterday by 10:30, each with at most two daily-data requests
(its run and one retry), the max power is left to the background (not every morning), and
no rolling 12 hours holds more than the cap. Deleting meters down to one hands the last
back to its own timer (its daily slot).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from conso_emulator import Emulator
from conso_emulator.meters import Meter
import conso_emulator.truth
from custom_components.linky.const import CONF_DAILY_HISTORY_MONTHS, CONF_HOURLY_HISTORY_MONTHS
from custom_components.linky.coordinator import LinkyCoordinator
from custom_components.linky.localtime import PARIS
from custom_components.linky.sync.schedule import daily_slot

from .helpers import meter_entry, setup_integration

NOW = "2026-11-20 19:00:00+01:00"
PDLS = [f"3000000001{k:04d}" for k in range(4)]
CURVE = "courbe_de_charge_consommation"
CAP = 50


def _entry(emulator: Emulator, url: str, pdl: str) -> MockConfigEntry:
    emulator.add_meter(Meter(pdl, profile="base"))
    return meter_entry(
        emulator, url, pdl, **{CONF_DAILY_HISTORY_MONTHS: 1, CONF_HOURLY_HISTORY_MONTHS: 1}
    )


async def _until(hass: HomeAssistant, freezer: FrozenDateTimeFactory, local: datetime) -> None:
    """Let time run in 5-minute steps until `local` (Europe/Paris)."""
    while datetime.now(PARIS) < local:
        freezer.tick(timedelta(minutes=5))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)


def _curve_requests(emulator: Emulator, since: datetime) -> list[tuple[datetime, str]]:
    return [
        (record.time, record.params.get("pointId", ""))
        for record in emulator.requests
        if record.type == CURVE and record.time >= since
    ]


@pytest.mark.freeze_time(NOW)
async def test_meters_of_one_host_share_a_morning(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    emulator_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(conso_emulator.truth, "PUBLICATION_TIME", time(9, 15))
    entries = [_entry(emulator, emulator_url, pdl) for pdl in PDLS]
    coordinators: list[LinkyCoordinator] = [
        await setup_integration(hass, entry) for entry in entries
    ]
    scheduler = coordinators[0].scheduler
    assert scheduler is not None
    assert all(coordinator.scheduler is scheduler for coordinator in coordinators)
    await _until(hass, freezer, datetime(2026, 11, 21, 0, 30, tzinfo=PARIS))
    for coordinator in coordinators:  # the first imports ran in the evening
        assert coordinator.sync is not None
        assert not coordinator.sync.first_import_pending
        assert coordinator.next_run is not None

    morning = datetime(2026, 11, 21, 6, 0, tzinfo=PARIS)
    await _until(hass, freezer, datetime(2026, 11, 21, 10, 30, tzinfo=PARIS))
    curves = _curve_requests(emulator, morning)
    published = datetime(2026, 11, 21, 9, 15, tzinfo=PARIS)
    for coordinator in coordinators:
        assert coordinator.sync is not None
        assert coordinator.sync.has_day("consumption", date(2026, 11, 20)), coordinator.pdl
    per_meter = Counter(pdl for _, pdl in curves)
    assert max(per_meter.values()) <= 2, per_meter  # a run and at most one retry
    before = [pdl for when, pdl in curves if when < published]
    assert before, "the first probe came before the publication"
    assert len(before) == len(set(before)) < len(PDLS), "one meter per probe, not every meter"
    assert all(morning.time() <= when.astimezone(PARIS).time() for when, _ in curves)
    times = sorted(record.time for record in emulator.requests)
    for index, first in enumerate(times):
        assert len([t for t in times[index:] if t < first + timedelta(hours=12)]) <= CAP

    # Down to one meter: it runs alone again, in its own daily slot.
    for entry in entries[1:]:
        assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    last = coordinators[0]
    assert last.scheduler is None
    assert last.next_run == daily_slot(last.pdl, date(2026, 11, 22))
