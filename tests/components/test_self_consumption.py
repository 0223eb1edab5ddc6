"""PV self-consumption end to end: the PV meter's consumption and injection imported from the
emulator over 127.0.0.1, a PV production sensor's recorded statistics, and the derived
`linky:<pdl>_self_consumption` statistics and yesterday's sensors, checked against values
computed here by hand from the emulator's ground truth."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from homeassistant.components.recorder.models import (
    StatisticData,
    StatisticMeanType,
    StatisticMetaData,
)
from homeassistant.components.recorder.statistics import async_import_statistics
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from conso_emulator import PV_PDL, Emulator
from custom_components.linky.const import CONF_PRODUCTION, CONF_PV_ENTITY, DOMAIN
from custom_components.linky.localtime import PARIS
from custom_components.linky.statistics import statistic_id

from .helpers import (
    assert_sums_exact,
    by_hour,
    meter_entry,
    setup_integration,
    statistic_rows,
)

FIRST_HOURLY = date(2026, 10, 20)  # one month of hourly history
LAST_DAY = date(2026, 11, 19)


def _local_range() -> tuple[datetime, datetime]:
    start = datetime.combine(FIRST_HOURLY, time(), PARIS)
    return start, datetime.combine(LAST_DAY + timedelta(days=1), time(), PARIS)


NOW = "2026-11-20 09:30:00+01:00"
PV_SENSOR = "sensor.pv_energy"
CLAMPED_EXCESS_WH = 100


def _pv_production(injection: dict[datetime, int]) -> dict[datetime, int]:
    """A PV sensor's hourly production: the injection plus 300 Wh used on site from 08:00
    to 17:59 local time, except one hour where it reads less than the meter injected."""
    production = {
        hour: wh + (300 if 8 <= hour.astimezone(PARIS).hour < 18 else 0)
        for hour, wh in injection.items()
    }
    clamped = max(injection, key=lambda hour: injection[hour])
    production[clamped] = injection[clamped] - CLAMPED_EXCESS_WH
    return production


def _import_pv(hass: HomeAssistant, production: dict[datetime, int]) -> None:
    """Record the PV sensor's hourly statistics (kWh, cumulative sum) as the recorder would."""
    metadata = StatisticMetaData(
        mean_type=StatisticMeanType.NONE,
        has_sum=True,
        name="PV energy",
        source="recorder",
        statistic_id=PV_SENSOR,
        unit_class="energy",
        unit_of_measurement="kWh",
    )
    first = min(production)
    rows = [StatisticData(start=first - timedelta(hours=1), state=0.0, sum=0.0)]
    total = 0.0
    for hour in sorted(production):
        total += production[hour] / 1000
        rows.append(StatisticData(start=hour, state=total, sum=total))
    async_import_statistics(hass, metadata, rows)


def _sensor(hass: HomeAssistant, key: str) -> float:
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{PV_PDL}_{key}")
    assert entity_id is not None, key
    state = hass.states.get(entity_id)
    assert state is not None
    return float(state.state)


@pytest.mark.freeze_time(NOW)
async def test_self_consumption_equals_hand_computed(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str
) -> None:
    """Hourly self-consumed energy = PV production - injection (clamped at 0); yesterday's
    energy, self-consumption and self-sufficiency rates from the same hand sums."""
    start, end = _local_range()
    injection = emulator.truth.hourly_wh(PV_PDL, True, start, end)
    grid = emulator.truth.hourly_wh(PV_PDL, False, start, end)
    assert any(injection.values())
    assert any(grid.values())
    production = _pv_production(injection)
    _import_pv(hass, production)
    await async_wait_recording_done(hass)

    entry = meter_entry(
        emulator, emulator_url, PV_PDL, **{CONF_PRODUCTION: True, CONF_PV_ENTITY: PV_SENSOR}
    )
    entry.add_to_hass(hass)
    await setup_integration(hass, entry)
    await async_wait_recording_done(hass)

    expected = {hour: max(production[hour] - injection[hour], 0) for hour in production}
    assert sum(1 for hour in expected if production[hour] < injection[hour]) == 1
    rows = await statistic_rows(hass, statistic_id(PV_PDL, "self_consumption"))
    assert_sums_exact(rows, from_zero=True)
    stored = by_hour(rows)
    assert set(stored) == set(expected)
    for hour, wh in expected.items():
        assert stored[hour] == pytest.approx(wh / 1000, abs=1e-9), hour

    day_start = datetime.combine(LAST_DAY, datetime.min.time(), PARIS).astimezone(UTC)
    hours = [hour for hour in expected if day_start <= hour < day_start + timedelta(days=1)]
    assert len(hours) == 24
    self_wh = sum(expected[hour] for hour in hours)
    produced_wh = sum(production[hour] for hour in hours)
    grid_wh = sum(grid[hour] for hour in hours)
    assert _sensor(hass, "self_consumed_yesterday") == pytest.approx(self_wh / 1000, abs=1e-3)
    assert _sensor(hass, "self_consumption_rate_yesterday") == pytest.approx(
        round(100 * self_wh / produced_wh, 1)
    )
    assert _sensor(hass, "self_sufficiency_rate_yesterday") == pytest.approx(
        round(100 * self_wh / (self_wh + grid_wh), 1)
    )
