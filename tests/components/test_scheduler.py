"""The daily schedule, the single retry, late days, faults and bans, with frozen time.

Every test runs the real integration against the emulator over 127.0.0.1 and a real
recorder, moving the frozen clock to each scheduled run.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
import logging

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from conso_emulator import HOME_PDL, Emulator, Fault
from custom_components.linky.const import (
    CONF_HOURLY_HISTORY_MONTHS,
    CONF_REQUEST_CAP,
    DOMAIN,
    ISSUE_BANNED,
)
from custom_components.linky.coordinator import LinkyCoordinator
from custom_components.linky.localtime import PARIS
from custom_components.linky.statistics import statistic_id
from custom_components.linky.sync.schedule import daily_slot, retry_slot

from .helpers import assert_sums_exact, setup_integration, statistic_rows

CONSUMPTION = statistic_id(HOME_PDL, "consumption")
LATE_DAY = date(2026, 11, 4)  # the emulator publishes this day of HOME_PDL on D+3


def _entry(config_entry: MockConfigEntry, **options: int) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title=config_entry.title,
        unique_id=config_entry.unique_id,
        data=config_entry.data,
        options={CONF_HOURLY_HISTORY_MONTHS: 1, **options},
    )


async def _advance_to_next_run(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, coordinator: LinkyCoordinator
) -> datetime:
    run_at = coordinator.next_run
    assert run_at is not None
    freezer.move_to(run_at + timedelta(milliseconds=10))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    return run_at


def _local(moment: datetime) -> datetime:
    return moment.astimezone(PARIS)


@pytest.mark.freeze_time("2026-11-05 09:30:00+01:00")
async def test_daily_window_single_retry_and_late_day(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    config_entry: MockConfigEntry,
    home_token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """First import at once; then one run a day in 06:00-10:00, one afternoon retry while
    yesterday is missing, and the late day healed when it is published."""
    caplog.set_level(logging.DEBUG)
    coordinator = await setup_integration(hass, _entry(config_entry))
    assert emulator.requests, "the first import runs at once"
    assert not coordinator.sync.has_day("consumption", LATE_DAY)

    # Yesterday (the late day) is missing: the only other run today is the retry.
    assert coordinator.next_run == retry_slot(HOME_PDL, date(2026, 11, 5))
    retry_at = await _advance_to_next_run(hass, freezer, coordinator)
    assert time(13) <= _local(retry_at).time() < time(14, 30)
    assert not coordinator.sync.has_day("consumption", LATE_DAY)

    # No second retry: next is tomorrow's slot, and so on each day.
    run_days = []
    for day in (date(2026, 11, 6), date(2026, 11, 7), date(2026, 11, 8)):
        assert coordinator.next_run == daily_slot(HOME_PDL, day)
        before = len(emulator.requests)
        run_at = await _advance_to_next_run(hass, freezer, coordinator)
        assert time(6) <= _local(run_at).time() < time(10)
        # A daily run costs the 7-day load curve and the 7-day max power; the only other
        # requests re-try old gaps (days Enedis never published), once a day.
        sent = emulator.requests[before:]
        assert [r.type for r in sent if r.type.startswith("courbe")] == [
            "courbe_de_charge_consommation"
        ]
        assert [r.type for r in sent if r.type.startswith("puissance")] == [
            "puissance_conso_max_quotidienne"
        ]
        for record in sent:
            if record.type == "consommation_quotidienne":
                assert date.fromisoformat(record.params["dateFin"]) <= day - timedelta(days=7)
        run_days.append(day)
        if coordinator.next_run and _local(coordinator.next_run).date() == day:
            # Yesterday was missing again this morning: one retry in the afternoon.
            assert coordinator.next_run == retry_slot(HOME_PDL, day)
            await _advance_to_next_run(hass, freezer, coordinator)

    # The late day (published 2026-11-07 08:00) is now stored hour by hour, exactly.
    assert coordinator.sync.has_day("consumption", LATE_DAY)
    day_start = datetime(2026, 11, 4, tzinfo=PARIS)
    rows = await statistic_rows(hass, CONSUMPTION, day_start, day_start + timedelta(days=1))
    truth = emulator.truth.hourly_wh(HOME_PDL, False, day_start, day_start + timedelta(days=1))
    assert {dt_util.utc_from_timestamp(r["start"]): round(r["state"] * 1000, 6) for r in rows} == {
        hour: float(wh) for hour, wh in truth.items()
    }
    assert_sums_exact(
        await statistic_rows(hass, CONSUMPTION, day_start - timedelta(days=40), dt_util.utcnow())
    )

    # Every request after the first import was made inside a window.
    first_import_end = datetime(2026, 11, 5, 9, 31, tzinfo=PARIS)
    for record in emulator.requests:
        local = _local(record.time)
        if local < first_import_end:
            continue
        assert time(6) <= local.time() < time(10) or time(13) <= local.time() < time(14, 30)

    # The token never appears in the logs.
    assert home_token not in caplog.text


@pytest.mark.freeze_time("2026-11-20 09:30:00+01:00")
async def test_server_error_retries_once_the_same_day(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 5xx is retried once in the afternoon, never in a loop; the outage is logged once,
    and so is the recovery."""
    coordinator = await setup_integration(hass, _entry(config_entry))
    tomorrow = date(2026, 11, 21)
    assert coordinator.next_run == daily_slot(HOME_PDL, tomorrow)
    emulator.faults.push(Fault(status=500, kind="technical_error", times=100))
    before = len(emulator.requests)

    await _advance_to_next_run(hass, freezer, coordinator)
    assert len(emulator.requests) - before == 1
    assert coordinator.data.last_error is not None
    assert coordinator.next_run == retry_slot(HOME_PDL, tomorrow)

    await _advance_to_next_run(hass, freezer, coordinator)
    assert len(emulator.requests) - before == 2
    assert coordinator.next_run == daily_slot(HOME_PDL, tomorrow + timedelta(days=1))
    assert caplog.text.count("Conso API is unavailable") == 1

    emulator.faults.clear()
    await _advance_to_next_run(hass, freezer, coordinator)
    assert coordinator.data.last_error is None
    assert caplog.text.count("Conso API answers again") == 1


@pytest.mark.freeze_time("2026-11-20 09:30:00+01:00")
async def test_rate_limit_waits_for_the_server_retry_time(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    config_entry: MockConfigEntry,
) -> None:
    """A 429 blocks every request until its nextAccessTime."""
    coordinator = await setup_integration(hass, _entry(config_entry))
    reopen = datetime(2026, 11, 21, 12, 0, tzinfo=dt_util.UTC)
    emulator.faults.push(Fault(status=429, next_access_time=reopen))
    before = len(emulator.requests)

    await _advance_to_next_run(hass, freezer, coordinator)
    assert len(emulator.requests) - before == 1
    assert coordinator.next_run is not None
    assert coordinator.next_run >= reopen
    await _advance_to_next_run(hass, freezer, coordinator)
    after_wait = emulator.requests[before + 1 :]
    assert {r.type for r in after_wait} >= {
        "courbe_de_charge_consommation",
        "puissance_conso_max_quotidienne",
    }
    assert all(r.time >= reopen for r in after_wait)


@pytest.mark.freeze_time("2026-11-20 09:30:00+01:00")
async def test_ban_stops_all_polling_and_raises_a_repair(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Cloudflare's ban page stops every request, for good, and tells the user."""
    coordinator = await setup_integration(hass, _entry(config_entry))
    emulator.ban_after(0)
    await _advance_to_next_run(hass, freezer, coordinator)
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_BANNED) is not None
    assert coordinator.next_run is None
    requests = len(emulator.requests)

    for _ in range(3):
        freezer.tick(timedelta(days=1))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
    assert len(emulator.requests) == requests

    # A restart does not resume polling either: the ban is persisted.
    assert await hass.config_entries.async_reload(coordinator.config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert (
        hass.config_entries.async_get_entry(
            coordinator.config_entry.entry_id
        ).runtime_data.coordinator.next_run
        is None
    )
    assert len(emulator.requests) == requests


@pytest.mark.freeze_time("2026-11-20 09:30:00+01:00")
async def test_restart_in_the_middle_of_backfill(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    config_entry: MockConfigEntry,
) -> None:
    """A restart between back-fill runs sends nothing and the back-fill resumes where it
    stopped; the sums are exact at the end and the cap held all along."""
    entry = _entry(config_entry, **{CONF_HOURLY_HISTORY_MONTHS: 6, CONF_REQUEST_CAP: 20})
    coordinator = await setup_integration(hass, entry)
    assert coordinator.sync.backfill_pending()
    progress = coordinator.data.backfill_progress
    assert 0 < progress < 100
    requests = len(emulator.requests)
    assert requests <= 20

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(emulator.requests) == requests
    coordinator = entry.runtime_data.coordinator
    assert coordinator.data.backfill_progress == progress

    while coordinator.sync.backfill_pending():
        await _advance_to_next_run(hass, freezer, coordinator)
    assert coordinator.data.backfill_progress == 100

    start = datetime(2026, 5, 21, tzinfo=PARIS)
    end = datetime(2026, 11, 20, tzinfo=PARIS)
    rows = await statistic_rows(hass, CONSUMPTION, start, end)
    stored = {dt_util.utc_from_timestamp(r["start"]): round(r["state"] * 1000, 6) for r in rows}
    truth = emulator.truth.hourly_wh(HOME_PDL, False, start, end)
    assert stored == {hour: float(wh) for hour, wh in truth.items()}
    assert_sums_exact(
        await statistic_rows(hass, CONSUMPTION, datetime(2020, 1, 1, tzinfo=PARIS), end)
    )
    sent = sorted(record.time for record in emulator.requests)
    for index, moment in enumerate(sent):
        assert len([t for t in sent[index:] if t < moment + timedelta(hours=12)]) <= 20


@pytest.mark.freeze_time("2026-11-20 09:30:00+01:00")
async def test_yesterday_moves_on_at_paris_midnight(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    config_entry: MockConfigEntry,
) -> None:
    """At midnight the snapshot moves to the new day without any request: yesterday's
    figure is unknown until the morning run brings it."""
    coordinator = await setup_integration(hass, _entry(config_entry))
    assert coordinator.data.consumption.yesterday is not None
    requests = len(emulator.requests)

    freezer.move_to(datetime(2026, 11, 21, 0, 0, 30, tzinfo=PARIS))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert coordinator.data.today == date(2026, 11, 21)
    assert coordinator.data.consumption.yesterday is None
    assert len(emulator.requests) == requests
