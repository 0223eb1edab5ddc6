"""The energy signature of a meter, end to end (emulator over 127.0.0.1, a real recorder,
frozen time): the electrically heated household's four months of days against imported
temperatures give a provisional heating model near the emulator's truth (16.5 °C balance,
170 W per degree); the sensors show it, the action returns it with its points; without any
temperature the quality sensor says so."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from conso_emulator import HOME_PDL, Emulator
from conso_emulator.truth import outdoor_temperature
from custom_components.linky.analytics.anomalies import Finding, WeatherModel
from custom_components.linky.analytics.insights import find as insights_find
from custom_components.linky.const import (
    CONF_DAILY_HISTORY_MONTHS,
    CONF_INSIGHTS,
    CONF_TEMPERATURE_ENTITY,
    DOMAIN,
)
from custom_components.linky.energy.hourly import day_hours
from custom_components.linky.localtime import local_date
from custom_components.linky.runtime import insights as runtime_insights
from custom_components.linky.runtime.insight_sources import async_import_temperatures
from custom_components.linky.services import SERVICE_GET_ENERGY_SIGNATURE

from .helpers import (
    capture_insight_events,
    import_sensor_temperatures,
    meter_entry,
    sensor_state,
    setup_integration,
    statistic_rows,
)
from .test_insights import NOW

TRUE_SLOPE = 170 * 24 / 1000  # kWh per degree-day
OUTDOOR = "sensor.outdoor_temperature"


@pytest.mark.freeze_time(NOW)
@pytest.mark.parametrize("source", ["file", "sensor"])
async def test_signature_of_a_heated_household(
    hass: HomeAssistant,
    emulator: Emulator,
    emulator_url: str,
    source: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same truth, the temperatures imported from a file or recorded by a sensor."""
    models: list[WeatherModel | None] = []

    def find(*args: Any) -> list[Finding]:
        models.append(args[-1])
        return insights_find(*args)

    monkeypatch.setattr(runtime_insights, "find", find)
    options: dict[str, Any] = {CONF_DAILY_HISTORY_MONTHS: 5, CONF_INSIGHTS: {}}
    first, last = date(2026, 6, 1), date(2026, 11, 22)
    if source == "sensor":
        import_sensor_temperatures(hass, OUTDOOR, first, last)
        await async_wait_recording_done(hass)
        options[CONF_TEMPERATURE_ENTITY] = OUTDOOR
    entry = meter_entry(emulator, emulator_url, HOME_PDL, **options)
    entry.add_to_hass(hass)
    if source == "file":
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        await async_import_temperatures(
            hass, entry.entry_id, {day: outdoor_temperature(day) for day in days}
        )
    fired = capture_insight_events(hass, HOME_PDL)
    await setup_integration(hass, entry)

    answer = await hass.services.async_call(
        DOMAIN,
        SERVICE_GET_ENERGY_SIGNATURE,
        {"config_entry_id": entry.entry_id},
        blocking=True,
        return_response=True,
    )
    assert answer is not None
    signature = answer["signature"]
    assert isinstance(signature, dict)
    assert signature["kind"] == "heating"

    def expected_kwh_at(temperature: float) -> float:
        cold = max(0.0, signature["heating_balance"] - temperature)
        return (
            signature["base_kwh"]
            + signature["heating_slope"] * cold
            + (signature["heating_bend"] or 0.0) * cold * cold
        )

    def expected_kwh(day: date) -> float:
        return expected_kwh_at(outdoor_temperature(day))

    assert signature["provisional"] is True  # fewer than 365 days
    assert abs(signature["heating_balance"] - 16.5) <= 1.5
    assert signature["heating_slope"] == pytest.approx(TRUE_SLOPE, rel=0.25)
    points = answer["points"]
    assert isinstance(points, list)
    assert (
        len(points)
        == signature["days_used"] + signature["days_outliers"] + signature["days_excluded"]
    )
    assert {"day", "temperature", "kwh", "status"} <= set(points[0])

    # the expected kWh of each day with a temperature, hour by hour (23, 24 or 25 rows a
    # day) in the meter's usual shape, and nothing written twice: a reload (and its fit
    # again) adds no row and moves no sum
    rows = await statistic_rows(hass, f"linky:{HOME_PDL}_expected_consumption")
    by_day: dict[date, list[dict[str, Any]]] = {}
    for row in rows:
        by_day.setdefault(local_date(datetime.fromtimestamp(row["start"], UTC)), []).append(row)
    used = [p for p in points if p["status"] != "outside"]
    assert len(by_day) == len(points)
    assert all(len(day_rows) == len(day_hours(day)) for day, day_rows in by_day.items())
    assert {len(day_rows) for day_rows in by_day.values()} == {24, 25}  # the October day: 25
    first_used = date.fromisoformat(used[0]["day"])
    expected = expected_kwh(first_used)
    assert sum(r["state"] for r in by_day[first_used]) == pytest.approx(expected, abs=0.05)
    night, evening = (by_day[first_used][n]["state"] for n in (2, 18))  # UTC 02:00, 18:00
    assert evening > night  # the household's shape, not a flat day
    assert rows[-1]["sum"] == pytest.approx(sum(r["state"] for r in rows), abs=0.01)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert await statistic_rows(hass, f"linky:{HOME_PDL}_expected_consumption") == rows

    # the weekly report's weather part is the signature's: expected kWh of the week's days
    # less those of the week before
    week = [date(2026, 11, 16) + timedelta(days=n) for n in range(7)]
    weather = sum(map(expected_kwh, week)) - sum(
        expected_kwh(day - timedelta(days=7)) for day in week
    )
    report = next(data for kind, data in fired if kind == "weekly_report")
    assert report["vs_previous"]["weather_kwh"] == pytest.approx(weather, abs=0.05)

    # the unusual days are checked against the signature (the insights run after it)
    assert models
    model = models[-1]
    assert model is not None
    assert model.base == pytest.approx(signature["base_kwh"], abs=1e-3)
    assert model.expected(2.0) == pytest.approx(expected_kwh_at(2.0), abs=1e-3)

    assert sensor_state(hass, HOME_PDL, "signature_quality") in {"good", "fair", "poor"}
    assert float(sensor_state(hass, HOME_PDL, "balance_temperature")) == pytest.approx(
        signature["heating_balance"], abs=0.05
    )
    assert 0 < float(sensor_state(hass, HOME_PDL, "heating_share")) < 100
    assert float(sensor_state(hass, HOME_PDL, "normal_year_consumption")) > 0


@pytest.mark.freeze_time(NOW)
async def test_without_temperature_the_signature_says_so(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str
) -> None:
    entry = meter_entry(emulator, emulator_url, HOME_PDL, **{CONF_DAILY_HISTORY_MONTHS: 2})
    await setup_integration(hass, entry)
    assert sensor_state(hass, HOME_PDL, "signature_quality") == "no_temperature"
    assert sensor_state(hass, HOME_PDL, "heating_share") == "unknown"
