"""Tempo colours: the public calendar service (the emulator's, over 127.0.0.1) or entities of
another integration; today's and tomorrow's colour sensors; Tempo costs from an entity's
recorded history."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from conso_emulator import HOME_PDL, Emulator
from custom_components.linky.energy.tempo_calendar import TempoColour
from custom_components.linky.localtime import PARIS
from custom_components.linky.runtime.costs import CostSeries
from custom_components.linky.runtime.tempo_source import parse_colour
from custom_components.linky.statistics import statistic_id

from .helpers import (
    KWH,
    by_hour,
    derived_part,
    hand_costs,
    meter_entry,
    options_flow,
    sensor_state,
    setup_integration,
    statistic_rows,
)

NOW = "2026-11-20 09:30:00+01:00"
COLOURS = {1: "blue", 2: "white", 3: "red"}
TODAY_ENTITY = "sensor.rte_tempo_couleur_actuelle"
TOMORROW_ENTITY = "sensor.rte_tempo_prochaine_couleur"


@pytest.mark.parametrize(
    ("text", "colour"),
    [
        ("Bleu", TempoColour.BLUE),
        ("BLANC", TempoColour.WHITE),
        ("rouge", TempoColour.RED),
        ("blue", TempoColour.BLUE),
        ("White", TempoColour.WHITE),
        ("TEMPO_ROUGE", TempoColour.RED),
        ("Inconnu", None),
        ("unknown", None),
        ("unavailable", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_colour(text: str | None, colour: TempoColour | None) -> None:
    """French and English colour names, any case, prefixed or not."""
    assert parse_colour(text) == colour


@pytest.mark.freeze_time(NOW)
async def test_service_sensors_today_then_tomorrow_after_publication(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    emulator_url: str,
) -> None:
    """Today's colour at once; tomorrow's unknown before 11:00 and known after the 11:10
    refresh; only a handful of calendar requests."""
    entry = meter_entry(emulator, emulator_url, HOME_PDL)
    entry.add_to_hass(hass)
    tempo_url = emulator_url.removesuffix("/api") + "/tempo/api"
    await options_flow(hass, entry, "tempo_source", {"tempo_url": tempo_url})
    await setup_integration(hass, entry)

    today = date(2026, 11, 20)
    assert sensor_state(hass, HOME_PDL, "tempo_today") == COLOURS[emulator.tempo.colour(today)]
    assert sensor_state(hass, HOME_PDL, "tempo_tomorrow") == "unknown"
    served = len(emulator.tempo.served)
    assert 0 < served <= 2

    freezer.move_to(datetime(2026, 11, 20, 11, 25, tzinfo=PARIS))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    tomorrow = today + timedelta(days=1)
    assert (
        sensor_state(hass, HOME_PDL, "tempo_tomorrow") == COLOURS[emulator.tempo.colour(tomorrow)]
    )
    assert len(emulator.tempo.served) == served + 1  # only tomorrow was asked again


@pytest.mark.freeze_time(NOW)
async def test_entity_source_sensors_and_costs_from_history(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    emulator_url: str,
) -> None:
    """Colours from another integration's entities: live for the sensors, recorded history
    for past days' costs; days without a known colour stay pending; no calendar request."""
    history = {date(2026, 11, 18): "Blanc", date(2026, 11, 19): "Rouge"}
    for day, state in history.items():
        freezer.move_to(datetime.combine(day, time(8), PARIS))
        hass.states.async_set(TODAY_ENTITY, state)
        await hass.async_block_till_done()
    freezer.move_to(datetime(2026, 11, 20, 9, 30, tzinfo=PARIS))
    hass.states.async_set(TODAY_ENTITY, "Bleu")
    hass.states.async_set(TOMORROW_ENTITY, "Inconnu")
    await async_wait_recording_done(hass)

    entry = meter_entry(emulator, emulator_url, HOME_PDL)
    entry.add_to_hass(hass)
    await options_flow(
        hass,
        entry,
        "tempo_source",
        {"tempo_entity": TODAY_ENTITY, "tempo_tomorrow_entity": TOMORROW_ENTITY},
    )
    prices = {
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
        {"start": "2026-01-01", **prices, "earlier_public": False},
    )
    await setup_integration(hass, entry)
    assert emulator.tempo.served == []

    assert sensor_state(hass, HOME_PDL, "tempo_today") == "blue"
    assert sensor_state(hass, HOME_PDL, "tempo_tomorrow") == "unknown"
    hass.states.async_set(TOMORROW_ENTITY, "ROUGE")
    await hass.async_block_till_done(wait_background_tasks=True)
    assert sensor_state(hass, HOME_PDL, "tempo_tomorrow") == "red"

    # 19 November needs the colours of Tempo days 18 (until 06:00) and 19: both recorded.
    day = date(2026, 11, 19)
    start = datetime.combine(day, time(), PARIS)
    truth = emulator.truth.hourly_wh(HOME_PDL, False, start, start + timedelta(days=1))
    colours = {date(2026, 11, 18): "white", day: "red"}

    def price(_d: date, minute: int, tempo_day: date) -> Decimal:
        offpeak = minute >= 22 * 60 or minute < 6 * 60
        return Decimal(str(prices[f"{colours[tempo_day]}_{'hc' if offpeak else 'hp'}"]))

    stored = by_hour(await statistic_rows(hass, statistic_id(HOME_PDL, "consumption_cost")))
    expected = hand_costs(truth, price)
    assert set(stored) == set(expected)  # 18 November needs the unknown 17th: pending
    for hour, cost in expected.items():
        assert stored[hour] == pytest.approx(float(cost), abs=1e-9)
    assert date(2026, 11, 18) in derived_part(entry, CostSeries).pending
    assert sum(Decimal(wh) for wh in truth.values()) / KWH > 0
    assert all(hour.tzinfo is UTC for hour in stored)
