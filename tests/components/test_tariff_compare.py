"""Tariff comparison and load-shift what-if, end to end (emulator over 127.0.0.1 with its
Tempo calendar, a real recorder, frozen time): a meter on HP/HC at the regulated prices with
its own off-peak window and subscription, four months stored (one daily, three hourly).

The comparison keeps every kWh stored, and its current contract costs what the
integration's own cost statistics say over the same hours (issue 13's proof, 0.5 %);
moving X kWh a day from the peak hours into the off-peak window saves X x (HP - HC) a day
on HP/HC, to the cent; bad calls get a translated error.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
import math
from typing import Any

from homeassistant.components.recorder.models import (
    StatisticData,
    StatisticMeanType,
    StatisticMetaData,
)
from homeassistant.components.recorder.statistics import async_import_statistics
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from conso_emulator import HOME_PDL, Emulator
from custom_components.linky.analytics.tariff_compare import TariffSetup
from custom_components.linky.const import (
    CONF_CONTRACT_KVA,
    CONF_DAILY_HISTORY_MONTHS,
    CONF_HOURLY_HISTORY_MONTHS,
    CONF_TARIFF,
    CONF_TEMPO_URL,
    DOMAIN,
)
from custom_components.linky.energy.ledger import Resolution, days_from_rows
from custom_components.linky.energy.regulated import DEFAULT_TARIFFS
from custom_components.linky.energy.tariffs import Bucket, ContractOption, OffPeakWindow
from custom_components.linky.localtime import PARIS
from custom_components.linky.services import (
    SERVICE_COMPARE_TARIFFS,
    SERVICE_SIMULATE_LOAD_SHIFT,
)
from custom_components.linky.statistics import statistic_id

from .helpers import by_hour, meter_entry, sensor_state, setup_integration, statistic_rows
from .test_insights import NOW

WINDOW = OffPeakWindow(time(23), time(7))
SUBSCRIPTION = Decimal("15.5")  # EUR/month: the table's 6 kVA HP/HC figure prevails
MONTHS = 4
BLOCK_KWH = 2.0
HEATER = "sensor.water_heater_energy"
HEATER_KWH = 0.3
HEATER_POWER = "sensor.water_heater_power"


async def _call(hass: HomeAssistant, service: str, **fields: Any) -> dict[str, Any]:
    answer = await hass.services.async_call(
        DOMAIN, service, fields, blocking=True, return_response=True
    )
    assert isinstance(answer, dict)
    return answer


def _hphc_price(bucket: Bucket, day: date) -> float:
    grids = [g for g in DEFAULT_TARIFFS if g.option is ContractOption.HPHC and g.start <= day]
    return float(max(grids, key=lambda g: g.start).prices[bucket])


@pytest.mark.freeze_time(NOW)
async def test_compare_and_shift_on_the_stored_months(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str
) -> None:
    setup = TariffSetup(
        kva=6, offpeak={date.min: (WINDOW,)}, subscriptions={ContractOption.HPHC: SUBSCRIPTION}
    )
    tariff = setup.tariff(ContractOption.HPHC)  # the regulated prices, the user's window
    entry = meter_entry(
        emulator,
        emulator_url,
        HOME_PDL,
        **{
            CONF_DAILY_HISTORY_MONTHS: MONTHS,
            CONF_HOURLY_HISTORY_MONTHS: MONTHS - 1,
            CONF_TARIFF: tariff.as_dict(),
            CONF_CONTRACT_KVA: 6,
            CONF_TEMPO_URL: emulator_url.removesuffix("/api") + "/tempo/api",
        },
    )
    await setup_integration(hass, entry)
    requests = len(emulator.requests)

    answer = await _call(
        hass, SERVICE_COMPARE_TARIFFS, config_entry_id=entry.entry_id, months=MONTHS
    )
    assert len(emulator.requests) == requests  # no Conso API request
    assert answer["current_option"] == "hphc"
    assert answer["current_configured"] is True
    assert answer["kva"] == 6
    assert answer["period_first"] == "2026-07-23"
    assert answer["period_last"] == "2026-11-22"
    assert answer["prices_known_from"] == "2024-02-01"

    # what is stored over the period: daily-only days and hourly days
    start = datetime.combine(date(2026, 7, 23), time(), PARIS).astimezone(UTC)
    end = datetime.combine(date(2026, 11, 23), time(), PARIS).astimezone(UTC)
    energy = by_hour(await statistic_rows(hass, statistic_id(HOME_PDL, "consumption"), start, end))
    days = days_from_rows(sorted(energy.items()))
    hourly = [d for d in days if d.resolution is Resolution.HOURLY]
    daily = [d for d in days if d.resolution is Resolution.DAILY]
    assert hourly
    assert daily
    hourly_kwh = math.fsum(wh for d in hourly for wh in d.hours.values()) / 1000
    daily_kwh = math.fsum(wh for d in daily for wh in d.hours.values()) / 1000

    # kWh conserved: every option prices every stored hourly kWh; the daily-only days apart
    assert answer["missing_hours"] == 0
    assert answer["excluded_kwh"] == 0
    assert answer["unknown_tempo_days"] == []
    assert abs(answer["kwh"] - hourly_kwh) < 0.001
    for option in ("base", "hphc", "tempo"):
        assert abs(answer["options"][option]["kwh"] - hourly_kwh) < 0.001, option
    assert answer["daily_only"]["days"] == len(daily)
    assert abs(answer["daily_only"]["kwh"] - daily_kwh) < 0.001
    assert answer["incomplete"] is bool(answer["missing_days"])

    # the current contract's simulated cost against the cost statistics, same hours
    hours = {h for d in hourly for h in d.hours}
    costs = by_hour(
        await statistic_rows(hass, statistic_id(HOME_PDL, "consumption_cost"), start, end)
    )
    fixed = by_hour(await statistic_rows(hass, statistic_id(HOME_PDL, "fixed_cost"), start, end))
    stored_energy_eur = math.fsum(costs[h] for h in hours)
    stored_fixed_eur = math.fsum(fixed.get(h, 0.0) for h in hours)
    hphc = answer["options"]["hphc"]
    gap = (hphc["energy_eur"] - stored_energy_eur) / stored_energy_eur
    print(  # the measured gap, for the record
        f"energy {hphc['energy_eur']} vs {stored_energy_eur:.4f} ({gap:+.6%}); "
        f"subscription {hphc['subscription_eur']} vs {stored_fixed_eur:.4f}"
    )
    assert abs(gap) < 0.005
    assert hphc["subscription_eur"] == pytest.approx(stored_fixed_eur, rel=0.005)
    assert hphc["subscription_known"] is True
    assert hphc["difference_eur"] == 0

    totals = {
        option: cost["total_eur"]
        for option, cost in answer["options"].items()
        if cost["subscription_known"]  # an unknown subscription would flatter an option
    }
    assert answer["cheapest_option"] in totals
    assert totals[answer["cheapest_option"]] == min(totals.values())
    assert answer["hphc_break_even"] is not None
    assert sum(cell["days"] for cell in answer["tempo"].values()) >= len(hourly)

    # the sensors: the last 12 months' cheapest option and what it would have saved
    year = await _call(hass, SERVICE_COMPARE_TARIFFS, config_entry_id=entry.entry_id)
    assert sensor_state(hass, HOME_PDL, "cheapest_tariff") == year["cheapest_option"]
    options = year["options"]
    saving = options["hphc"]["total_eur"] - options[year["cheapest_option"]]["total_eur"]
    assert float(sensor_state(hass, HOME_PDL, "tariff_saving")) == pytest.approx(saving, abs=0.011)

    # X kWh a day from the peak hours into the off-peak window: X x (HP - HC) a day
    shift = await _call(
        hass,
        SERVICE_SIMULATE_LOAD_SHIFT,
        config_entry_id=entry.entry_id,
        kwh_per_day=BLOCK_KWH,
        target_window=WINDOW.as_text(),
        months=MONTHS,
    )
    assert shift["short_days"] == []
    assert shift["skipped_days"] == []
    assert shift["moved_kwh"] == pytest.approx(BLOCK_KWH * len(hourly), abs=1e-6)
    expected = math.fsum(
        BLOCK_KWH * (_hphc_price(Bucket.HP, d.day) - _hphc_price(Bucket.HC, d.day)) for d in hourly
    )
    saving = shift["options"]["hphc"]["saving_eur"]
    print(  # for the record
        f"totals {totals}, incomplete {answer['incomplete']} {answer['missing_days']}; "
        f"shift saving {saving} vs {expected:.5f} over {len(hourly)} days"
    )
    assert abs(saving - expected) <= 0.005 + 1e-9
    assert shift["options"]["hphc"]["before_eur"] == hphc["total_eur"]
    assert shift["options"]["base"]["saving_eur"] == 0  # Base: the same price at every hour
    assert len(emulator.requests) == requests

    # bad calls
    cases: list[tuple[dict[str, Any], str]] = [
        ({"target_window": "23:00-07:00"}, "shift_block_or_entity"),
        (
            {"target_window": "23:00-07:00", "kwh_per_day": 1, "entity_id": "sensor.boiler"},
            "shift_block_or_entity",
        ),
        ({"target_window": "23h-7h", "kwh_per_day": 1}, "shift_bad_window"),
        (
            {"target_window": "23:00-07:00", "entity_id": "sensor.boiler"},
            "shift_no_energy_statistics",
        ),
    ]
    for fields, key in cases:
        with pytest.raises(ServiceValidationError) as err:
            await _call(hass, SERVICE_SIMULATE_LOAD_SHIFT, config_entry_id=entry.entry_id, **fields)
        assert err.value.translation_key == key, fields
    await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    for service, fields in (
        (SERVICE_COMPARE_TARIFFS, {}),
        (SERVICE_SIMULATE_LOAD_SHIFT, {"target_window": "23:00-07:00", "kwh_per_day": 1}),
    ):
        with pytest.raises(ServiceValidationError) as err:
            await _call(hass, service, config_entry_id=entry.entry_id, **fields)
        assert err.value.translation_key == "service_config_entry_not_loaded"


def _import_load(hass: HomeAssistant, load: dict[datetime, float]) -> None:
    """A water heater's energy sensor statistics (kWh, cumulative), as the recorder keeps."""
    metadata = StatisticMetaData(
        mean_type=StatisticMeanType.NONE,
        has_sum=True,
        name="Water heater energy",
        source="recorder",
        statistic_id=HEATER,
        unit_class="energy",
        unit_of_measurement="kWh",
    )
    rows = [StatisticData(start=min(load) - timedelta(hours=1), state=0.0, sum=0.0)]
    total = 0.0
    for hour in sorted(load):
        total += load[hour]
        rows.append(StatisticData(start=hour, state=total, sum=total))
    async_import_statistics(hass, metadata, rows)


def _import_power(hass: HomeAssistant, watts: dict[datetime, float]) -> None:
    """Hourly means (W) of a power sensor, as the recorder compiles them."""
    metadata = StatisticMetaData(
        mean_type=StatisticMeanType.ARITHMETIC,
        has_sum=False,
        name="Water heater power",
        source="recorder",
        statistic_id=HEATER_POWER,
        unit_class="power",
        unit_of_measurement="W",
    )
    rows = [StatisticData(start=hour, mean=w, min=w, max=w) for hour, w in sorted(watts.items())]
    async_import_statistics(hass, metadata, rows)


@pytest.mark.freeze_time(NOW)
async def test_without_a_tariff_and_a_recorded_load(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str
) -> None:
    """No tariff, no subscribed power: Base is the reference at 6 kVA, said so. A water
    heater's recorded 0.3 kWh at 18:00 moved into the default off-peak window saves
    0.3 x (HP - HC) a day on HP/HC."""
    entry = meter_entry(
        emulator,
        emulator_url,
        HOME_PDL,
        **{
            CONF_DAILY_HISTORY_MONTHS: 2,
            CONF_TEMPO_URL: emulator_url.removesuffix("/api") + "/tempo/api",
        },
    )
    await setup_integration(hass, entry)
    answer = await _call(hass, SERVICE_COMPARE_TARIFFS, config_entry_id=entry.entry_id)
    assert answer["months"] == 12
    assert answer["current_option"] == "base"
    assert answer["current_configured"] is False
    assert answer["kva"] == 6
    assert answer["kva_configured"] is False
    assert answer["options"]["base"]["difference_eur"] == 0
    registry = er.async_get(hass)  # no tariff: no tariff sensors
    assert registry.async_get_entity_id("sensor", DOMAIN, f"{HOME_PDL}_cheapest_tariff") is None

    energy = by_hour(await statistic_rows(hass, statistic_id(HOME_PDL, "consumption")))
    hourly = [d for d in days_from_rows(sorted(energy.items())) if len(d.hours) > 1]
    load = {datetime.combine(d.day, time(18), PARIS).astimezone(UTC): HEATER_KWH for d in hourly}
    _import_load(hass, load)
    await async_wait_recording_done(hass)
    shift = await _call(
        hass,
        SERVICE_SIMULATE_LOAD_SHIFT,
        config_entry_id=entry.entry_id,
        entity_id=HEATER,
        target_window="22:00-06:00",
    )
    assert shift["entity_id"] == HEATER
    assert shift["short_days"] == []
    assert shift["requested_kwh"] == pytest.approx(HEATER_KWH * len(hourly), abs=1e-6)
    assert shift["moved_kwh"] == shift["requested_kwh"]
    expected = math.fsum(
        HEATER_KWH * (_hphc_price(Bucket.HP, d.day) - _hphc_price(Bucket.HC, d.day)) for d in hourly
    )
    assert abs(shift["options"]["hphc"]["saving_eur"] - expected) <= 0.005 + 1e-9

    # The same load recorded by a power sensor (300 W over the hour): the same saving.
    _import_power(hass, dict.fromkeys(load, HEATER_KWH * 1000))
    await async_wait_recording_done(hass)
    by_power = await _call(
        hass,
        SERVICE_SIMULATE_LOAD_SHIFT,
        config_entry_id=entry.entry_id,
        entity_id=HEATER_POWER,
        target_window="22:00-06:00",
    )
    assert by_power["requested_kwh"] == pytest.approx(shift["requested_kwh"], abs=1e-6)
    assert by_power["options"] == shift["options"]
