"""Cost statistics end to end: tariff set through the options flow, energy imported from the
emulator over 127.0.0.1, costs derived into a real recorder and read back.

Expected values are computed here by brute force, minute by minute, from the emulator's
ground truth (`truth.hourly_wh`) and its Tempo calendar, independently of the tariff engine.
The hourly range (2026-10-20 .. 2026-11-19) spans the October DST change, a price change on
1 November and every Tempo 06:00 boundary in between.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from conso_emulator import HOME_PDL, PV_PDL, Emulator
from custom_components.linky.const import (
    CONF_PRODUCTION,
    CONF_TARIFF,
)
from custom_components.linky.localtime import PARIS
from custom_components.linky.runtime.costs import CostSeries
from custom_components.linky.statistics import statistic_id

from .helpers import (
    KWH,
    assert_sums_exact,
    by_hour,
    derived_part,
    hand_costs,
    meter_entry,
    options_flow,
    setup_integration,
    statistic_rows,
)

NOW = "2026-11-20 09:30:00+01:00"
FIRST_HOURLY = date(2026, 10, 20)  # one month of hourly history
LAST_DAY = date(2026, 11, 19)
PRICE_CHANGE = date(2026, 11, 1)
CENT = 0.005


def _local_range() -> tuple[datetime, datetime]:
    start = datetime.combine(FIRST_HOURLY, time(), PARIS)
    return start, datetime.combine(LAST_DAY + timedelta(days=1), time(), PARIS)


def _assert_costs(stored: dict[datetime, float], expected: dict[datetime, Decimal]) -> None:
    """Hour by hour and in total, to the cent (in fact to far less)."""
    assert set(expected) <= set(stored)
    for hour, cost in expected.items():
        assert stored[hour] == pytest.approx(float(cost), abs=1e-6), hour
    total = sum(stored[hour] for hour in expected)
    assert abs(total - float(sum(expected.values()))) < CENT


def _base_period(start: date, price: str) -> dict[str, Any]:
    return {"start": start.isoformat(), "base": float(price)}


@pytest.mark.freeze_time(NOW)
async def test_base_costs_price_change_and_recompute_without_requests(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    emulator: Emulator,
    emulator_url: str,
) -> None:
    """Base: price x kWh per hour (and per DAILY day), a price change on 1 November; adding
    that price period recomputes all history from the recorder with zero requests."""
    entry = meter_entry(emulator, emulator_url, HOME_PDL)
    entry.add_to_hass(hass)
    await options_flow(
        hass,
        entry,
        "contract",
        {"option": "base", "kva": "6"},
        {**_base_period(date(2026, 1, 1), "0.2"), "earlier_public": False},
    )
    await setup_integration(hass, entry)
    cost_rows = await statistic_rows(hass, statistic_id(HOME_PDL, "consumption_cost"))
    assert_sums_exact(cost_rows, from_zero=True)
    start, end = _local_range()
    truth = emulator.truth.hourly_wh(HOME_PDL, False, start, end)
    flat = hand_costs(truth, lambda day, _m, _t: Decimal("0.2"))
    _assert_costs(by_hour(cost_rows), flat)
    # A DAILY day (before the hourly history) is priced as a whole, at its local midnight.
    march = date(2026, 3, 10)
    midnight = datetime.combine(march, time(), PARIS).astimezone(UTC)
    daily_wh = emulator.truth.daily_wh(HOME_PDL, False, march)
    assert by_hour(cost_rows)[midnight] == pytest.approx(daily_wh / 1000 * 0.2, abs=1e-9)
    # Nothing before the first period, no fixed-cost series without subscription or taxes.
    assert min(by_hour(cost_rows)) == datetime.combine(date(2026, 1, 1), time(), PARIS)
    assert await statistic_rows(hass, statistic_id(HOME_PDL, "fixed_cost")) == []
    assert await statistic_rows(hass, statistic_id(HOME_PDL, "consumption_hp")) == []

    requests, tempo = len(emulator.requests), len(emulator.tempo.served)
    await options_flow(hass, entry, "add_period", _base_period(PRICE_CHANGE, "0.25"))
    assert entry.state is ConfigEntryState.LOADED
    assert len(emulator.requests) == requests
    assert len(emulator.tempo.served) == tempo == 0

    cost_rows = await statistic_rows(hass, statistic_id(HOME_PDL, "consumption_cost"))
    assert_sums_exact(cost_rows, from_zero=True)
    changed = hand_costs(
        truth, lambda day, _m, _t: Decimal("0.25") if day >= PRICE_CHANGE else Decimal("0.2")
    )
    _assert_costs(by_hour(cost_rows), changed)
    assert len(entry.options[CONF_TARIFF]["periods"]) == 2

    # Clearing the tariff removes the cost statistics (and keeps the energy).
    await options_flow(hass, entry, "clear_tariff", {})
    assert await statistic_rows(hass, statistic_id(HOME_PDL, "consumption_cost")) == []
    assert await statistic_rows(hass, statistic_id(HOME_PDL, "consumption"))
    assert len(emulator.requests) == requests


def _in_windows(minute: int, windows: list[tuple[int, int]]) -> bool:
    return any((a <= minute < b) if a < b else (minute >= a or minute < b) for a, b in windows)


HPHC_WINDOWS = [(22 * 60 + 30, 6 * 60 + 30), (12 * 60 + 30, 14 * 60 + 30)]


@pytest.mark.freeze_time(NOW)
async def test_hphc_two_windows_costs_buckets_and_fixed_cost(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    emulator: Emulator,
    emulator_url: str,
) -> None:
    """HP/HC with two off-peak windows on half hours, a price change, subscription and tax:
    energy cost, HP and HC energy series, and the fixed-cost series."""
    entry = meter_entry(emulator, emulator_url, HOME_PDL)
    entry.add_to_hass(hass)
    prices = {"hp": 0.2081, "hc": 0.1635, "offpeak": "22:30-06:30, 12:30-14:30"}
    await options_flow(
        hass,
        entry,
        "contract",
        {"option": "hphc", "kva": "9"},
        {
            "start": "2026-01-01",
            **prices,
            "subscription": 15.5,
            "tax": 0.01,
            "earlier_public": False,
        },
    )
    await setup_integration(hass, entry)
    requests = len(emulator.requests)
    await options_flow(
        hass,
        entry,
        "add_period",
        {
            "start": PRICE_CHANGE.isoformat(),
            **prices,
            "hp": 0.2065,
            "hc": 0.1579,
            "subscription": 15.5,
            "tax": 0.01,
        },
    )
    assert len(emulator.requests) == requests

    start, end = _local_range()
    truth = emulator.truth.hourly_wh(HOME_PDL, False, start, end)

    def price(day: date, minute: int, _tempo: date) -> Decimal:
        new = day >= PRICE_CHANGE
        if _in_windows(minute, HPHC_WINDOWS):
            return Decimal("0.1579" if new else "0.1635")
        return Decimal("0.2065" if new else "0.2081")

    cost_rows = await statistic_rows(hass, statistic_id(HOME_PDL, "consumption_cost"))
    assert_sums_exact(cost_rows, from_zero=True)
    _assert_costs(by_hour(cost_rows), hand_costs(truth, price))
    # HPHC days stored DAILY get no energy cost: only the hourly range is priced.
    assert min(by_hour(cost_rows)) == datetime.combine(FIRST_HOURLY, time(), PARIS)

    for bucket, offpeak in (("hp", False), ("hc", True)):
        rows = await statistic_rows(hass, statistic_id(HOME_PDL, f"consumption_{bucket}"))
        assert_sums_exact(rows, from_zero=True)
        expected = hand_costs(
            truth,
            lambda _d, m, _t, offpeak=offpeak: Decimal(
                1 if _in_windows(m, HPHC_WINDOWS) == offpeak else 0
            ),
        )
        _assert_costs(by_hour(rows), expected)  # kWh, priced at 1
    # The DST day has 25 hourly rows in each bucket series.
    october_25 = datetime(2026, 10, 25, tzinfo=PARIS)
    assert len([h for h in by_hour(rows) if october_25 <= h < october_25 + timedelta(days=1)]) == 25

    # Fixed cost: 15.50 EUR/month spread over the hours of each day, plus 0.01 EUR/kWh.
    fixed = by_hour(await statistic_rows(hass, statistic_id(HOME_PDL, "fixed_cost")))
    for day in (date(2026, 10, 25), date(2026, 11, 5)):
        day_start = datetime.combine(day, time(), PARIS)
        hours = {h: wh for h, wh in truth.items() if day_start <= h < day_start + timedelta(days=1)}
        expected = Decimal("15.5") / (31 if day.month == 10 else 30) + sum(
            Decimal(wh) / KWH * Decimal("0.01") for wh in hours.values()
        )
        assert sum(fixed[h] for h in hours) == pytest.approx(float(expected), abs=1e-6)


@pytest.mark.freeze_time(NOW)
async def test_tempo_costs_from_the_tempo_calendar(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    emulator: Emulator,
    emulator_url: str,
) -> None:
    """Tempo: six prices by colour and HP/HC, the Tempo day running from 06:00 to 06:00,
    colours from the emulator's Tempo calendar; a price change recomputes everything with
    no request at all (Conso API nor Tempo calendar)."""
    entry = meter_entry(emulator, emulator_url, HOME_PDL)
    entry.add_to_hass(hass)
    tempo_url = emulator_url.removesuffix("/api") + "/tempo/api"
    await options_flow(hass, entry, "tempo_source", {"tempo_url": tempo_url})
    old = {
        "blue_hp": 0.1494,
        "blue_hc": 0.1232,
        "white_hp": 0.173,
        "white_hc": 0.1391,
        "red_hp": 0.6468,
        "red_hc": 0.146,
    }
    new = {
        "blue_hp": 0.1612,
        "blue_hc": 0.1325,
        "white_hp": 0.1871,
        "white_hc": 0.1499,
        "red_hp": 0.706,
        "red_hc": 0.1575,
    }
    await options_flow(
        hass,
        entry,
        "contract",
        {"option": "tempo", "kva": "9"},
        {"start": "2026-01-01", **old, "earlier_public": False},
    )
    await setup_integration(hass, entry)
    assert derived_part(entry, CostSeries).pending == set()
    tempo_requests = len(emulator.tempo.served)
    assert 0 < tempo_requests <= 4
    requests = len(emulator.requests)
    await options_flow(hass, entry, "add_period", {"start": PRICE_CHANGE.isoformat(), **new})
    assert len(emulator.requests) == requests
    assert len(emulator.tempo.served) == tempo_requests

    colours = {1: "blue", 2: "white", 3: "red"}
    start, end = _local_range()
    truth = emulator.truth.hourly_wh(HOME_PDL, False, start, end)
    assert {emulator.tempo.colour(day) for day in {h.astimezone(PARIS).date() for h in truth}} == {
        1,
        2,
        3,
    }

    def bucket(minute: int, tempo_day: date) -> str:
        offpeak = minute >= 22 * 60 or minute < 6 * 60
        return f"{colours[emulator.tempo.colour(tempo_day)]}_{'hc' if offpeak else 'hp'}"

    def price(day: date, minute: int, tempo_day: date) -> Decimal:
        prices = new if day >= PRICE_CHANGE else old
        return Decimal(str(prices[bucket(minute, tempo_day)]))

    cost_rows = await statistic_rows(hass, statistic_id(HOME_PDL, "consumption_cost"))
    assert_sums_exact(cost_rows, from_zero=True)
    _assert_costs(by_hour(cost_rows), hand_costs(truth, price))
    for name in old:
        rows = await statistic_rows(hass, statistic_id(HOME_PDL, f"consumption_{name}"))
        assert_sums_exact(rows, from_zero=True)
        expected = hand_costs(
            truth, lambda _d, m, t, name=name: Decimal(1 if bucket(m, t) == name else 0)
        )
        _assert_costs(by_hour(rows), expected)


@pytest.mark.freeze_time(NOW)
async def test_production_revenue(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    emulator: Emulator,
    emulator_url: str,
) -> None:
    """A PV meter's injection is paid at the dated buy-back price."""
    entry = meter_entry(emulator, emulator_url, PV_PDL, **{CONF_PRODUCTION: True})
    entry.add_to_hass(hass)
    await options_flow(
        hass,
        entry,
        "contract",
        {"option": "base", "kva": "6"},
        {"start": "2026-01-01", "base": 0.2, "earlier_public": False},
    )
    await setup_integration(hass, entry)
    await options_flow(hass, entry, "buyback", {"start": "2026-01-01", "price": 0.1})
    await options_flow(hass, entry, "buyback", {"start": PRICE_CHANGE.isoformat(), "price": 0.04})

    start, end = _local_range()
    truth = emulator.truth.hourly_wh(PV_PDL, True, start, end)
    assert any(truth.values())
    rows = await statistic_rows(hass, statistic_id(PV_PDL, "production_revenue"))
    assert_sums_exact(rows, from_zero=True)
    _assert_costs(
        by_hour(rows),
        hand_costs(
            truth, lambda d, _m, _t: Decimal("0.04") if d >= PRICE_CHANGE else Decimal("0.1")
        ),
    )


@pytest.mark.freeze_time(NOW)
async def test_costs_come_back_after_a_database_reset(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    emulator_url: str,
) -> None:
    """The recorder loses every statistic (a database reset, HA's recovery from a corrupt
    file) while the integration's ledgers remember them: at the next start the energy is
    imported again and the costs are derived again, as exact as before."""
    entry = meter_entry(emulator, emulator_url, HOME_PDL)
    entry.add_to_hass(hass)
    await options_flow(
        hass,
        entry,
        "contract",
        {"option": "base", "kva": "6"},
        {**_base_period(date(2026, 1, 1), "0.2"), "earlier_public": False},
    )
    await setup_integration(hass, entry)
    before = by_hour(await statistic_rows(hass, statistic_id(HOME_PDL, "consumption_cost")))
    assert before
    assert await hass.config_entries.async_unload(entry.entry_id)
    ids = [statistic_id(HOME_PDL, name) for name in ("consumption", "consumption_cost")]
    get_instance(hass).async_clear_statistics(ids)
    await async_wait_recording_done(hass)
    assert await statistic_rows(hass, ids[1]) == []

    coordinator = await setup_integration(hass, entry)
    assert coordinator.next_run is not None
    freezer.move_to(coordinator.next_run + timedelta(seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)

    rows = await statistic_rows(hass, ids[1])
    assert_sums_exact(rows, from_zero=True)
    after = by_hour(rows)
    # The hourly month moved on by a day meanwhile: its first day is now stored daily.
    first = datetime.combine(FIRST_HOURLY, time(), PARIS)
    moved = {hour for hour in before if first <= hour < first + timedelta(days=1)}
    common = (set(after) & set(before)) - moved
    assert common == set(before) - moved
    for hour in common:
        assert after[hour] == pytest.approx(before[hour], abs=1e-9)
