"""Randomised weeks: runs, reloads, restarts, faults and late data interleaved by a seeded
random schedule, against the emulator and a real recorder.

At the end of each simulated period, whatever happened:
- every stored hour equals the emulator's ground truth (days stored hour by hour), every
  daily row its day's total (days stored daily);
- the whole chain of sums is exact from zero, no hour is stored twice, no state is negative;
- in every rolling 12 hours, the requests sent stay under the cap.
"""

from __future__ import annotations

from datetime import datetime, timedelta
import random
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import CoreState, HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from conso_emulator import PV_PDL, Emulator, Fault
from custom_components.linky.const import CONF_PRODUCTION, CONF_REQUEST_CAP
from custom_components.linky.coordinator import LinkyCoordinator
from custom_components.linky.energy.hourly import day_hours, local_day_bounds
from custom_components.linky.energy.ledger import Resolution
from custom_components.linky.statistics import statistic_id

from .helpers import assert_sums_exact, by_hour, meter_entry, statistic_rows

START = "2026-11-02 07:00:00+01:00"
DAYS = 21
CAP = 30
FAULTS = (
    Fault(status=500),
    Fault(status=502),
    Fault(status=429),
    Fault(status=500, kind="token_refresh"),
)


async def _settle(hass: HomeAssistant) -> None:
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)


async def _reload(hass: HomeAssistant, entry: Any, *, stop: bool) -> None:
    """Set the entry up again: a reload, or a Home Assistant stop and start."""
    if stop:
        hass.set_state(CoreState.stopping)
        assert await hass.config_entries.async_unload(entry.entry_id)
        hass.set_state(CoreState.running)
        assert await hass.config_entries.async_setup(entry.entry_id)
    else:
        assert await hass.config_entries.async_reload(entry.entry_id)


def _check_series(
    emulator: Emulator, coordinator: LinkyCoordinator, series: str, rows: list[dict]
) -> None:
    assert_sums_exact(rows, from_zero=True)
    starts = [row["start"] for row in rows]
    assert len(starts) == len(set(starts)), "an hour is stored twice"
    stored = by_hour(rows)
    production = series == "production"
    assert coordinator.sync is not None
    ledger = coordinator.sync.state.series_state(series).ledger
    for day in ledger.days():
        record = ledger.get(day)
        assert record is not None
        if record.resolution is Resolution.HOURLY:
            start, end = local_day_bounds(day)
            truth = emulator.truth.hourly_wh(PV_PDL, production, start, end)
            assert {hour: round(stored[hour] * 1000, 6) for hour in day_hours(day)} == truth, day
        else:
            midnight = local_day_bounds(day)[0]
            expected = emulator.truth.daily_wh(PV_PDL, production, day)
            assert round(stored[midnight] * 1000, 6) == expected, day
    assert round(ledger.total_wh / 1000, 6) == pytest.approx(rows[-1]["sum"], abs=1e-6)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
@pytest.mark.freeze_time(START)
async def test_random_weeks_keep_statistics_exact_and_the_cap(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    emulator_url: str,
    seed: int,
) -> None:
    """See the module docstring."""
    rng = random.Random(seed)  # noqa: S311  (a reproducible schedule, not a secret)
    entry = meter_entry(
        emulator, emulator_url, PV_PDL, **{CONF_PRODUCTION: True, CONF_REQUEST_CAP: CAP}
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    end = datetime.fromisoformat(START) + timedelta(days=DAYS)
    while (now := datetime.now(tz=end.tzinfo)) < end:
        roll = rng.random()
        if roll < 0.15:
            emulator.faults.push(rng.choice(FAULTS))
        elif roll < 0.25 and entry.state is ConfigEntryState.LOADED:
            await _reload(hass, entry, stop=rng.random() < 0.5)
        elif roll < 0.30 and entry.state is ConfigEntryState.LOADED:
            # A reload while a run is in flight: the run starts (its first request is on
            # its way), and the entry is set up again before the answer comes.
            coordinator: LinkyCoordinator = entry.runtime_data.coordinator
            if coordinator.next_run is not None:
                freezer.move_to(coordinator.next_run + timedelta(seconds=1))
                async_fire_time_changed(hass)
            await _reload(hass, entry, stop=rng.random() < 0.5)
        step = timedelta(minutes=rng.choice((7, 45, 90, 180, 360)))
        freezer.move_to(now + step)
        async_fire_time_changed(hass)
        await _settle(hass)
    await _settle(hass)

    coordinator = entry.runtime_data.coordinator
    for series in ("consumption", "production"):
        rows = await statistic_rows(hass, statistic_id(PV_PDL, series))
        assert rows, series
        _check_series(emulator, coordinator, series, rows)
    sent = sorted(record.time for record in emulator.requests)
    assert sent
    for index, first in enumerate(sent):
        assert len([t for t in sent[index:] if t < first + timedelta(hours=12)]) <= CAP
