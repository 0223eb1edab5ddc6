"""Cost statistics end to end: tariff set through the options flow, energy imported from the
emulator over 127.0.0.1, costs derived into a real recorder and read back.

Expected values are computed here by brute force, minute by minute, from the emulator's
ground truth (`truth.hourly_wh`) and its Tempo calendar, independently of the tariff engine.
The hourly range (2026-10-20 .. 2026-11-19) spans the October DST change, a price change on
1 November and every Tempo 06:00 boundary in between.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from conso_emulator import HOME_PDL, PV_PDL, Emulator
from custom_components.linky.conso.models import PARIS
from custom_components.linky.const import (
    CONF_BASE_URL,
    CONF_HOURLY_HISTORY_MONTHS,
    CONF_PDL,
    CONF_PRODUCTION,
    CONF_TOKEN,
    DOMAIN,
)
from custom_components.linky.coordinator import LinkyCoordinator
from custom_components.linky.costs import CONF_TARIFF
from custom_components.linky.statistics import statistic_id

NOW = "2026-11-20 09:30:00+01:00"
FIRST_HOURLY = date(2026, 10, 20)  # one month of hourly history
LAST_DAY = date(2026, 11, 19)
PRICE_CHANGE = date(2026, 11, 1)
KWH = Decimal(1000)
CENT = 0.005

PriceOf = Callable[[date, int, date], Decimal | None]
"""Price (EUR/kWh) at minute-of-day `m` of local date `d` (Tempo day `t`); None: unpriced."""


def _entry(emulator: Emulator, url: str, pdl: str, **options: Any) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Linky {pdl}",
        unique_id=pdl,
        data={
            CONF_TOKEN: emulator.mint_token([pdl], issued_at=datetime(2026, 1, 1, tzinfo=UTC)),
            CONF_PDL: pdl,
            CONF_BASE_URL: url,
        },
        options={CONF_HOURLY_HISTORY_MONTHS: 1, **options},
    )


async def _options(hass: HomeAssistant, entry: MockConfigEntry, step: str, *forms: dict) -> None:
    """Pick `step` in the options menu and submit `forms` in turn; the entry is saved."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": step}
    )
    for form in forms:
        assert result["type"] is FlowResultType.FORM, result
        result = await hass.config_entries.options.async_configure(result["flow_id"], form)
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> LinkyCoordinator:
    """Set the entry up unless saving the options already did (they reload the entry)."""
    if entry.state is not ConfigEntryState.LOADED:
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)
    assert entry.state is ConfigEntryState.LOADED
    return entry.runtime_data  # type: ignore[no-any-return]


async def _rows(hass: HomeAssistant, pdl: str, name: str) -> list[dict]:
    stat_id = statistic_id(pdl, name)
    await async_wait_recording_done(hass)
    stats = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        datetime(2020, 1, 1, tzinfo=UTC),
        None,
        {stat_id},
        "hour",
        None,
        {"state", "sum"},
    )
    return stats.get(stat_id, [])


def _by_hour(rows: list[dict]) -> dict[datetime, float]:
    return {dt_util.utc_from_timestamp(row["start"]): row["state"] for row in rows}


def _assert_sums_exact(rows: list[dict]) -> None:
    assert rows
    previous = 0.0
    for row in rows:
        assert row["state"] >= 0
        assert row["sum"] == pytest.approx(previous + row["state"], abs=1e-6)
        previous = row["sum"]


def _local_range() -> tuple[datetime, datetime]:
    start = datetime.combine(FIRST_HOURLY, time(), PARIS)
    return start, datetime.combine(LAST_DAY + timedelta(days=1), time(), PARIS)


def _hand(truth: dict[datetime, int], price_of: PriceOf) -> dict[datetime, Decimal]:
    """EUR per UTC hour, minute by minute (energy assumed flat within the hour)."""
    costs: dict[datetime, Decimal] = {}
    for hour, wh in truth.items():
        local = hour.astimezone(PARIS)
        day = local.date()
        total = Decimal(0)
        for minute in range(local.hour * 60, local.hour * 60 + 60):
            tempo_day = day if minute >= 6 * 60 else day - timedelta(days=1)
            price = price_of(day, minute, tempo_day)
            if price is None:
                break
            total += Decimal(wh) / 60 / KWH * price
        else:
            costs[hour] = total
    return costs


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
    entry = _entry(emulator, emulator_url, HOME_PDL)
    entry.add_to_hass(hass)
    await _options(
        hass,
        entry,
        "contract",
        {"option": "base", "kva": "6"},
        {**_base_period(date(2026, 1, 1), "0.2"), "earlier_public": False},
    )
    await _setup(hass, entry)
    cost_rows = await _rows(hass, HOME_PDL, "consumption_cost")
    _assert_sums_exact(cost_rows)
    start, end = _local_range()
    truth = emulator.truth.hourly_wh(HOME_PDL, False, start, end)
    flat = _hand(truth, lambda day, _m, _t: Decimal("0.2"))
    _assert_costs(_by_hour(cost_rows), flat)
    # A DAILY day (before the hourly history) is priced as a whole, at its local midnight.
    march = date(2026, 3, 10)
    midnight = datetime.combine(march, time(), PARIS).astimezone(UTC)
    daily_wh = emulator.truth.daily_wh(HOME_PDL, False, march)
    assert _by_hour(cost_rows)[midnight] == pytest.approx(daily_wh / 1000 * 0.2, abs=1e-9)
    # Nothing before the first period, no fixed-cost series without subscription or taxes.
    assert min(_by_hour(cost_rows)) == datetime.combine(date(2026, 1, 1), time(), PARIS)
    assert await _rows(hass, HOME_PDL, "fixed_cost") == []
    assert await _rows(hass, HOME_PDL, "consumption_hp") == []

    requests, tempo = len(emulator.requests), len(emulator.tempo.served)
    await _options(hass, entry, "add_period", _base_period(PRICE_CHANGE, "0.25"))
    assert entry.state is ConfigEntryState.LOADED
    assert len(emulator.requests) == requests
    assert len(emulator.tempo.served) == tempo == 0

    cost_rows = await _rows(hass, HOME_PDL, "consumption_cost")
    _assert_sums_exact(cost_rows)
    changed = _hand(
        truth, lambda day, _m, _t: Decimal("0.25") if day >= PRICE_CHANGE else Decimal("0.2")
    )
    _assert_costs(_by_hour(cost_rows), changed)
    assert len(entry.options[CONF_TARIFF]["periods"]) == 2

    # Clearing the tariff removes the cost statistics (and keeps the energy).
    await _options(hass, entry, "clear_tariff", {})
    assert await _rows(hass, HOME_PDL, "consumption_cost") == []
    assert await _rows(hass, HOME_PDL, "consumption")
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
    entry = _entry(emulator, emulator_url, HOME_PDL)
    entry.add_to_hass(hass)
    prices = {"hp": 0.2081, "hc": 0.1635, "offpeak": "22:30-06:30, 12:30-14:30"}
    await _options(
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
    await _setup(hass, entry)
    requests = len(emulator.requests)
    await _options(
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

    cost_rows = await _rows(hass, HOME_PDL, "consumption_cost")
    _assert_sums_exact(cost_rows)
    _assert_costs(_by_hour(cost_rows), _hand(truth, price))
    # HPHC days stored DAILY get no energy cost: only the hourly range is priced.
    assert min(_by_hour(cost_rows)) == datetime.combine(FIRST_HOURLY, time(), PARIS)

    for bucket, offpeak in (("hp", False), ("hc", True)):
        rows = await _rows(hass, HOME_PDL, f"consumption_{bucket}")
        _assert_sums_exact(rows)
        expected = _hand(
            truth,
            lambda _d, m, _t, offpeak=offpeak: Decimal(
                1 if _in_windows(m, HPHC_WINDOWS) == offpeak else 0
            ),
        )
        _assert_costs(_by_hour(rows), expected)  # kWh, priced at 1
    # The DST day has 25 hourly rows in each bucket series.
    october_25 = datetime(2026, 10, 25, tzinfo=PARIS)
    assert (
        len([h for h in _by_hour(rows) if october_25 <= h < october_25 + timedelta(days=1)]) == 25
    )

    # Fixed cost: 15.50 EUR/month spread over the hours of each day, plus 0.01 EUR/kWh.
    fixed = _by_hour(await _rows(hass, HOME_PDL, "fixed_cost"))
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
    entry = _entry(emulator, emulator_url, HOME_PDL)
    entry.add_to_hass(hass)
    tempo_url = emulator_url.removesuffix("/api") + "/tempo/api"
    await _options(hass, entry, "tempo_source", {"tempo_url": tempo_url})
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
    await _options(
        hass,
        entry,
        "contract",
        {"option": "tempo", "kva": "9"},
        {"start": "2026-01-01", **old, "earlier_public": False},
    )
    coordinator = await _setup(hass, entry)
    assert coordinator.costs.pending == set()
    tempo_requests = len(emulator.tempo.served)
    assert 0 < tempo_requests <= 4
    requests = len(emulator.requests)
    await _options(hass, entry, "add_period", {"start": PRICE_CHANGE.isoformat(), **new})
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

    cost_rows = await _rows(hass, HOME_PDL, "consumption_cost")
    _assert_sums_exact(cost_rows)
    _assert_costs(_by_hour(cost_rows), _hand(truth, price))
    for name in old:
        rows = await _rows(hass, HOME_PDL, f"consumption_{name}")
        _assert_sums_exact(rows)
        expected = _hand(
            truth, lambda _d, m, t, name=name: Decimal(1 if bucket(m, t) == name else 0)
        )
        _assert_costs(_by_hour(rows), expected)


@pytest.mark.freeze_time(NOW)
async def test_production_revenue(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    emulator: Emulator,
    emulator_url: str,
) -> None:
    """A PV meter's injection is paid at the dated buy-back price."""
    entry = _entry(emulator, emulator_url, PV_PDL, **{CONF_PRODUCTION: True})
    entry.add_to_hass(hass)
    await _options(
        hass,
        entry,
        "contract",
        {"option": "base", "kva": "6"},
        {"start": "2026-01-01", "base": 0.2, "earlier_public": False},
    )
    await _setup(hass, entry)
    await _options(hass, entry, "buyback", {"start": "2026-01-01", "price": 0.1})
    await _options(hass, entry, "buyback", {"start": PRICE_CHANGE.isoformat(), "price": 0.04})

    start, end = _local_range()
    truth = emulator.truth.hourly_wh(PV_PDL, True, start, end)
    assert any(truth.values())
    rows = await _rows(hass, PV_PDL, "production_revenue")
    _assert_sums_exact(rows)
    _assert_costs(
        _by_hour(rows),
        _hand(truth, lambda d, _m, _t: Decimal("0.04") if d >= PRICE_CHANGE else Decimal("0.1")),
    )
