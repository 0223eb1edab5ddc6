"""Statistics end to end: emulator over 127.0.0.1 -> integration -> real recorder -> read back.

The hourly rows read back from the recorder must equal the emulator's ground truth to the Wh,
across both DST changes, PT10M/PT60M days, late and missing days, and the sums must stay
exact (each row's sum = the previous row's sum + its state) whatever order days arrive in.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from conso_emulator import HOME_PDL, NEW_PDL, NO_CURVE_PDL, PV_PDL, Emulator
from custom_components.linky.const import (
    CONF_BASE_URL,
    CONF_HOURLY_HISTORY_MONTHS,
    CONF_PDL,
    CONF_PRODUCTION,
    CONF_REMOVE_STATISTICS,
    CONF_REQUEST_CAP,
    CONF_TOKEN,
    DOMAIN,
    ISSUE_HOURLY_COLLECTION,
)
from custom_components.linky.coordinator import LinkyCoordinator
from custom_components.linky.localtime import PARIS
from custom_components.linky.statistics import statistic_id
from custom_components.linky.sync.engine import BACKFILL_RESERVE

from .helpers import assert_sums_exact, setup_integration, statistic_rows

NOW = "2026-11-20 09:30:00+01:00"
CONSUMPTION = statistic_id(HOME_PDL, "consumption")


async def _run_until_backfilled(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, coordinator: LinkyCoordinator
) -> None:
    """Let time pass (firing timers) until the back-fill has nothing left to fetch."""
    for _ in range(12):
        if not coordinator.sync or not coordinator.sync.backfill_pending():
            return
        assert coordinator.next_run is not None
        freezer.move_to(coordinator.next_run + timedelta(seconds=1))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
    pytest.fail("back-fill did not finish")


@pytest.mark.freeze_time(NOW)
async def test_first_import_then_backfill_matches_truth(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    config_entry: MockConfigEntry,
) -> None:
    """Daily history at once, then hourly back-fill within the cap; truth to the Wh."""
    coordinator = await setup_integration(hass, config_entry)
    cap = coordinator.api.budget.cap
    first_run = len(emulator.requests)
    assert 0 < first_run <= cap

    await _run_until_backfilled(hass, freezer, coordinator)

    # The hourly range spans both 2026 DST changes and odd-step and missing days.
    start = datetime(2025, 12, 1, tzinfo=PARIS)
    end = datetime(2026, 11, 19, tzinfo=PARIS)
    rows = await statistic_rows(hass, CONSUMPTION, start, end)
    stored = {dt_util.utc_from_timestamp(row["start"]): row["state"] for row in rows}
    truth = emulator.truth.hourly_wh(HOME_PDL, False, start, end)
    assert truth, "the emulator has data for the range"
    assert set(stored) == set(truth)
    for hour, wh in truth.items():
        assert round(stored[hour] * 1000, 6) == wh, hour
    assert_sums_exact(
        await statistic_rows(hass, CONSUMPTION, datetime(2020, 1, 1, tzinfo=PARIS), end)
    )

    # The DST days really are 23 and 25 hours long in the stored data.
    for day, hours in ((date(2026, 3, 29), 23), (date(2026, 10, 25), 25)):
        day_start = datetime(day.year, day.month, day.day, tzinfo=PARIS)
        day_rows = await statistic_rows(hass, CONSUMPTION, day_start, day_start + timedelta(days=1))
        assert len(day_rows) == hours

    # Never above the cap in any rolling 12 h window.
    sent = sorted(record.time for record in emulator.requests)
    for index, moment in enumerate(sent):
        window = [t for t in sent[index:] if t < moment + timedelta(hours=12)]
        assert len(window) <= cap


@pytest.mark.freeze_time(NOW)
async def test_restart_makes_no_request_and_reimport_is_idempotent(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    emulator: Emulator,
    config_entry: MockConfigEntry,
) -> None:
    """Reloading the entry sends nothing and leaves every row as it was."""
    await setup_integration(hass, config_entry)
    end = datetime(2026, 11, 20, tzinfo=PARIS)
    before = await statistic_rows(hass, CONSUMPTION, datetime(2020, 1, 1, tzinfo=PARIS), end)
    requests = len(emulator.requests)

    assert await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(emulator.requests) == requests

    after = await statistic_rows(hass, CONSUMPTION, datetime(2020, 1, 1, tzinfo=PARIS), end)
    assert after == before


@pytest.mark.freeze_time(NOW)
async def test_request_cap_option_is_respected(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    emulator: Emulator,
    config_entry: MockConfigEntry,
) -> None:
    """A lower cap from the options bounds the first run (the back-fill leaves the reserve
    of the daily runs)."""
    entry = MockConfigEntry(
        domain=config_entry.domain,
        unique_id=config_entry.unique_id,
        data=config_entry.data,
        options={CONF_REQUEST_CAP: 24},
    )
    await setup_integration(hass, entry)
    assert len(emulator.requests) == 24 - BACKFILL_RESERVE


def _entry_for(emulator: Emulator, url: str, pdl: str, **options: object) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Linky {pdl}",
        unique_id=pdl,
        data={
            CONF_TOKEN: emulator.mint_token([pdl], issued_at=datetime(2026, 1, 1, tzinfo=UTC)),
            CONF_PDL: pdl,
            CONF_BASE_URL: url,
        },
        options=options,
    )


@pytest.mark.freeze_time(NOW)
async def test_production_statistics_match_truth(
    recorder_mock: Recorder, hass: HomeAssistant, emulator: Emulator, emulator_url: str
) -> None:
    """A PV owner's injection is imported as its own statistic, hour by hour."""
    entry = _entry_for(
        emulator, emulator_url, PV_PDL, **{CONF_PRODUCTION: True, CONF_HOURLY_HISTORY_MONTHS: 1}
    )
    await setup_integration(hass, entry)
    start = datetime(2026, 10, 20, tzinfo=PARIS)
    end = datetime(2026, 11, 20, tzinfo=PARIS)
    for series, production in (("consumption", False), ("production", True)):
        rows = await statistic_rows(hass, statistic_id(PV_PDL, series), start, end)
        stored = {dt_util.utc_from_timestamp(r["start"]): round(r["state"] * 1000, 6) for r in rows}
        truth = emulator.truth.hourly_wh(PV_PDL, production, start, end)
        assert stored == {hour: float(wh) for hour, wh in truth.items()}, series
    # Injection is zero at night and positive at noon on a sunny day.
    assert any(wh > 0 for wh in truth.values())


@pytest.mark.freeze_time(NOW)
async def test_hourly_collection_disabled_keeps_daily_data_and_raises_repair(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    emulator_url: str,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Load curve 404 while daily works: daily rows, and a repair issue explaining why;
    the issue goes away by itself once hourly collection is enabled."""
    entry = _entry_for(emulator, emulator_url, NO_CURVE_PDL)
    coordinator = await setup_integration(hass, entry)
    issue_id = f"{ISSUE_HOURLY_COLLECTION}_{NO_CURVE_PDL}_consumption"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None

    yesterday = datetime(2026, 11, 19, tzinfo=PARIS)
    rows = await statistic_rows(
        hass, statistic_id(NO_CURVE_PDL, "consumption"), yesterday, yesterday + timedelta(days=1)
    )
    assert len(rows) == 1  # the day sits in its local-midnight row
    assert round(rows[0]["state"] * 1000) == emulator.truth.daily_wh(
        NO_CURVE_PDL, False, yesterday.date()
    )

    # The user enables hourly collection; the next morning run switches to hourly data.
    emulator.meters[NO_CURVE_PDL].load_curve_enabled = True
    assert coordinator.next_run is not None
    assert coordinator.next_run.astimezone(PARIS).date() == date(2026, 11, 21)
    freezer.move_to(coordinator.next_run + timedelta(seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    rows = await statistic_rows(
        hass, statistic_id(NO_CURVE_PDL, "consumption"), yesterday, yesterday + timedelta(days=1)
    )
    assert len(rows) == 24


@pytest.mark.freeze_time(NOW)
async def test_new_meter_history_stops_at_activation(
    recorder_mock: Recorder, hass: HomeAssistant, emulator: Emulator, emulator_url: str
) -> None:
    """A meter activated 20 days ago: everything since activation, nothing asked before it
    more than once."""
    entry = _entry_for(emulator, emulator_url, NEW_PDL)
    coordinator = await setup_integration(hass, entry)
    activation = emulator.meters[NEW_PDL].activation_date
    assert activation is not None
    start = datetime.combine(activation, datetime.min.time(), PARIS)
    end = datetime(2026, 11, 20, tzinfo=PARIS)
    rows = await statistic_rows(
        hass, statistic_id(NEW_PDL, "consumption"), start - timedelta(days=60), end
    )
    stored = {dt_util.utc_from_timestamp(r["start"]): round(r["state"] * 1000, 6) for r in rows}
    truth = emulator.truth.hourly_wh(NEW_PDL, False, start, end)
    assert stored == {hour: float(wh) for hour, wh in truth.items()}
    assert not coordinator.sync.backfill_pending()
    assert len(emulator.requests) <= 20


@pytest.mark.freeze_time(NOW)
async def test_statistics_healed_when_the_recorder_disagrees(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    emulator: Emulator,
    emulator_url: str,
    config_entry: MockConfigEntry,
) -> None:
    """If the recorder's sums no longer match (a hand edit, a restored database), the next
    run rebuilds exact sums from the stored hourly states, without any request."""
    entry = _entry_for(emulator, emulator_url, HOME_PDL, **{CONF_HOURLY_HISTORY_MONTHS: 1})
    await setup_integration(hass, entry)
    end = datetime(2026, 11, 20, tzinfo=PARIS)
    before = await statistic_rows(hass, CONSUMPTION, datetime(2020, 1, 1, tzinfo=PARIS), end)
    # Corrupt the sums of the last week, as a bad manual edit would.
    get_instance(hass).async_adjust_statistics(
        CONSUMPTION, datetime(2026, 11, 13, tzinfo=PARIS), 1234.5, "kWh"
    )
    await async_wait_recording_done(hass)
    requests = len(emulator.requests)

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    # The next run (a back-fill run with nothing left to fetch) heals the sums.
    await entry.runtime_data.coordinator.async_run()
    await async_wait_recording_done(hass)
    assert len(emulator.requests) == requests
    after = await statistic_rows(hass, CONSUMPTION, datetime(2020, 1, 1, tzinfo=PARIS), end)
    assert [(r["start"], r["state"]) for r in after] == [(r["start"], r["state"]) for r in before]
    for old, new in zip(before, after, strict=True):
        assert new["sum"] == pytest.approx(old["sum"], abs=1e-6)


@pytest.mark.freeze_time(NOW)
@pytest.mark.parametrize("remove_statistics", [False, True])
async def test_statistics_removed_only_when_asked(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    emulator: Emulator,
    emulator_url: str,
    remove_statistics: bool,
) -> None:
    """Reloading never touches the statistics; deleting the entry removes them only when
    the user enabled the option."""
    entry = _entry_for(
        emulator,
        emulator_url,
        HOME_PDL,
        **{CONF_HOURLY_HISTORY_MONTHS: 0, CONF_REMOVE_STATISTICS: remove_statistics},
    )
    await setup_integration(hass, entry)
    everything = (datetime(2020, 1, 1, tzinfo=PARIS), datetime(2026, 11, 21, tzinfo=PARIS))
    stored = await statistic_rows(hass, CONSUMPTION, *everything)
    assert stored

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert await statistic_rows(hass, CONSUMPTION, *everything) == stored

    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    remaining = await statistic_rows(hass, CONSUMPTION, *everything)
    assert remaining == ([] if remove_statistics else stored)
