"""The data-retention option: Linky statistics older than N years are deleted (energy and
costs), never imported again, and the sums of the rows kept do not move."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from conso_emulator import HOME_PDL, Emulator
from custom_components.linky.const import CONF_RETENTION_YEARS
from custom_components.linky.localtime import PARIS
from custom_components.linky.statistics import statistic_id

from .helpers import (
    assert_sums_exact,
    by_hour,
    meter_entry,
    options_flow,
    setup_integration,
    statistic_rows,
)

NOW = "2026-11-20 09:30:00+01:00"
CONSUMPTION = statistic_id(HOME_PDL, "consumption")
COST = statistic_id(HOME_PDL, "consumption_cost")


def _first_day(rows: list[dict]) -> date:
    return min(by_hour(rows)).astimezone(PARIS).date()


@pytest.mark.freeze_time(NOW)
async def test_statistics_older_than_the_retention_are_deleted(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    emulator_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Keep one year: nothing older is imported; a day later, the day that left the year is
    deleted (energy and cost), the sums of the later rows stay as they were, and a restart
    finds the ledgers and the recorder in agreement."""
    entry = meter_entry(emulator, emulator_url, HOME_PDL, **{CONF_RETENTION_YEARS: 1})
    entry.add_to_hass(hass)
    await options_flow(
        hass,
        entry,
        "contract",
        {"option": "base", "kva": "6"},
        {"start": "2025-01-01", "base": 0.2, "earlier_public": False},
    )
    coordinator = await setup_integration(hass, entry)
    keep_from = date(2025, 11, 20)
    rows = await statistic_rows(hass, CONSUMPTION)
    assert _first_day(rows) == keep_from
    assert all(
        r.params["dateDebut"] >= keep_from.isoformat()
        for r in emulator.requests
        if r.type == "consommation_quotidienne"
    )
    before = {hour: row["sum"] for hour, row in zip(by_hour(rows), rows, strict=True)}

    assert coordinator.next_run is not None
    freezer.move_to(coordinator.next_run + timedelta(seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)

    rows = await statistic_rows(hass, CONSUMPTION)
    assert _first_day(rows) == keep_from + timedelta(days=1)
    assert_sums_exact(rows)  # a chain from the deleted day's sum on
    kept = {hour: row["sum"] for hour, row in zip(by_hour(rows), rows, strict=True)}
    assert all(kept[hour] == pytest.approx(total) for hour, total in before.items() if hour in kept)
    costs = await statistic_rows(hass, COST)
    assert _first_day(costs) == keep_from + timedelta(days=1)
    assert_sums_exact(costs)
    midnight = datetime.combine(keep_from + timedelta(days=1), time(), PARIS)
    assert min(by_hour(costs)) == midnight

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    coordinator = entry.runtime_data.coordinator
    assert coordinator.next_run is not None
    freezer.move_to(coordinator.next_run + timedelta(seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)
    assert "disagree" not in caplog.text
    assert_sums_exact(await statistic_rows(hass, CONSUMPTION))
