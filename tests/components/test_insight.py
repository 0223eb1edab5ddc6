"""Insight from history and tariff peaks end to end.

- The "Typical peak hours" sensor, after a real import from the emulator over 127.0.0.1 into
  a real recorder, equals a hand computation from the emulator's ground truth over the 30
  local days before today.
- The Peak binary sensor driven by an HP/HC contract set through the options flow: on in HP
  hours (reason `hp`), off from 22:00 local (HC), with a frozen clock.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from conso_emulator import HOME_PDL, Emulator
from custom_components.linky.analytics.peaks import complete_hourly_days
from custom_components.linky.const import (
    CONF_HOURLY_HISTORY_MONTHS,
    CONF_LOAD_SHEDDING,
    CONF_PEAK_BUCKETS,
    DOMAIN,
)
from custom_components.linky.localtime import PARIS

from .helpers import meter_entry, options_flow, setup_integration

NOW = "2026-11-20 09:30:00+01:00"
TODAY = date(2026, 11, 20)


def _entity_id(hass: HomeAssistant, platform: str, key: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{HOME_PDL}_{key}")
    assert entity_id is not None, key
    return entity_id


def _hand_peaks(truth: dict[datetime, int]) -> tuple[list[int], list[float], int]:
    """Top 3 local hours by average Wh over the complete days (ties: earlier hour), in the
    order of the day, their averages, and the number of days."""
    per_day: defaultdict[date, list[datetime]] = defaultdict(list)
    for hour in truth:
        per_day[hour.astimezone(PARIS).date()].append(hour)
    samples: defaultdict[int, list[int]] = defaultdict(list)
    days = 0
    for day, hours in per_day.items():
        start = datetime.combine(day, time(), PARIS).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(), PARIS).astimezone(UTC)
        if len(hours) != (end - start) // timedelta(hours=1):
            continue  # not a complete hourly day
        days += 1
        for hour in hours:
            samples[hour.astimezone(PARIS).hour].append(truth[hour])
    average = {hour: sum(values) / len(values) for hour, values in samples.items()}
    top = sorted(sorted(average, key=lambda hour: (-average[hour], hour))[:3])
    return top, [round(average[hour], 1) for hour in top], days


def _assert_sensor(hass: HomeAssistant, emulator: Emulator, today: date) -> None:
    """The sensor equals the hand computation over the 30 local days before `today`."""
    start = datetime.combine(today - timedelta(days=30), time(), PARIS)
    end = datetime.combine(today, time(), PARIS)
    truth = emulator.truth.hourly_wh(HOME_PDL, False, start, end)
    hours, averages, days = _hand_peaks(truth)
    assert days == 30, "the whole window has hourly data (with the 25-hour DST day)"

    state = hass.states.get(_entity_id(hass, "sensor", "typical_peak_hours"))
    assert state is not None
    assert state.state == ", ".join(f"{hour:02d}:00" for hour in hours)
    assert state.attributes["hours"] == hours
    assert state.attributes["average_wh"] == pytest.approx(averages, abs=0.06)
    assert state.attributes["days"] == days


@pytest.mark.freeze_time(NOW)
async def test_typical_peak_hours_equal_hand_computed(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    emulator_url: str,
) -> None:
    """State "HH:00, HH:00, HH:00" (day order) and attributes from the last 30 days; the
    window moves on with the next day's import run."""
    entry = meter_entry(emulator, emulator_url, HOME_PDL)
    entry.add_to_hass(hass)
    coordinator = await setup_integration(hass, entry)
    assert coordinator.sync is not None
    assert not coordinator.sync.backfill_pending()
    _assert_sensor(hass, emulator, TODAY)
    state = hass.states.get(_entity_id(hass, "sensor", "typical_peak_hours"))
    assert state is not None
    assert state.attributes["friendly_name"] == f"Linky {HOME_PDL} Typical peak hours"

    # The next day's run: 21 October leaves the window, 20 November enters it.
    assert coordinator.next_run is not None
    assert coordinator.next_run.astimezone(PARIS).date() == TODAY + timedelta(days=1)
    freezer.move_to(coordinator.next_run + timedelta(seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)
    assert coordinator.sync.has_day("consumption", TODAY)
    _assert_sensor(hass, emulator, TODAY + timedelta(days=1))


def test_complete_hourly_days() -> None:
    """Daily-resolution days (one row at local midnight) and partial days are left out; the
    25-hour DST day is complete."""
    dst = datetime(2026, 10, 25, tzinfo=PARIS).astimezone(UTC)
    full = {dst + timedelta(hours=n): 100.0 + n for n in range(25)}
    daily = {datetime(2026, 10, 26, tzinfo=PARIS).astimezone(UTC): 9000.0}
    partial_start = datetime(2026, 10, 27, tzinfo=PARIS).astimezone(UTC)
    partial = {partial_start + timedelta(hours=n): 50.0 for n in range(23)}
    assert complete_hourly_days({**full, **daily, **partial}) == full


@pytest.mark.freeze_time(NOW)
async def test_no_typical_peak_hours_without_hourly_history(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str
) -> None:
    """With the hourly history turned off there is no sensor."""
    entry = meter_entry(emulator, emulator_url, HOME_PDL, **{CONF_HOURLY_HISTORY_MONTHS: 0})
    entry.add_to_hass(hass)
    await setup_integration(hass, entry)
    registry = er.async_get(hass)
    assert registry.async_get_entity_id("sensor", DOMAIN, f"{HOME_PDL}_typical_peak_hours") is None


@pytest.mark.freeze_time(NOW)
async def test_peak_follows_hphc_contract(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    emulator_url: str,
) -> None:
    """HP/HC contract, off-peak 22:00-06:00: the peak is on at 09:30 and 21:59 (reason
    `hp`), off from 22:00 local time on."""
    entry = meter_entry(
        emulator, emulator_url, HOME_PDL, **{CONF_LOAD_SHEDDING: {CONF_PEAK_BUCKETS: ["hp"]}}
    )
    entry.add_to_hass(hass)
    await options_flow(
        hass,
        entry,
        "contract",
        {"option": "hphc", "kva": "6"},
        {
            "start": "2026-01-01",
            "hp": 0.2081,
            "hc": 0.1635,
            "offpeak": "22:00-06:00",
            "earlier_public": False,
        },
    )
    await setup_integration(hass, entry)
    peak = _entity_id(hass, "binary_sensor", "peak")
    hc_start = datetime(2026, 11, 20, 22, 0, tzinfo=PARIS)

    def check(on: bool) -> None:
        state = hass.states.get(peak)
        assert state is not None
        assert state.state == ("on" if on else "off"), dt_util.utcnow()
        assert state.attributes["reason"] == ("hp" if on else None)

    check(True)
    assert state_next_change(hass, peak) == hc_start

    freezer.move_to(hc_start - timedelta(minutes=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    check(True)

    freezer.move_to(hc_start + timedelta(seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    check(False)
    assert state_next_change(hass, peak) == datetime(2026, 11, 21, 6, 0, tzinfo=PARIS)


def state_next_change(hass: HomeAssistant, entity_id: str) -> datetime | None:
    """The peak sensor's `next_change` attribute, parsed."""
    state = hass.states.get(entity_id)
    assert state is not None
    value = state.attributes["next_change"]
    return None if value is None else dt_util.parse_datetime(value)
