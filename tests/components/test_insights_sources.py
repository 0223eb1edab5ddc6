"""Insights with the user's sources and choices, end to end (emulator over 127.0.0.1, a real
recorder, frozen time):

- an outdoor temperature sensor (its hourly statistics): the weekly changes of an electrically
  heated household are also given weather-corrected;
- holidays from a calendar (`calendar.get_events`): an injected unusual day inside them is not
  reported; from an input boolean: the local days it was on, read from the recorder;
- muted kinds fire nothing; a persistent notification when asked;
- two meters: one weekly message with both and their total; a stuck meter delays it only
  until its patience is over;
- the options step turns the insights on and off (the event entity comes and goes).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import persistent_notification
from homeassistant.const import SERVICE_TURN_OFF, SERVICE_TURN_ON
from homeassistant.core import HomeAssistant, SupportsResponse
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_mock_service
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from conso_emulator import HOME_PDL, Emulator
from conso_emulator.meters import Meter
from conso_emulator.truth import outdoor_temperature
from custom_components.linky.analytics.isoweek import IsoWeek
from custom_components.linky.analytics.weekly import MeterWeek
from custom_components.linky.const import (
    CONF_DAILY_HISTORY_MONTHS,
    CONF_HOLIDAY_ENTITY,
    CONF_HOURLY_HISTORY_MONTHS,
    CONF_INSIGHTS,
    CONF_MUTED,
    CONF_NOTIFY_ENTITIES,
    CONF_PERSISTENT_NOTIFICATION,
    CONF_TEMPERATURE_ENTITY,
    DOMAIN,
)
from custom_components.linky.localtime import PARIS
from custom_components.linky.runtime.insight_sources import async_read_holidays
from custom_components.linky.runtime.reports import HUB_PATIENCE, Targets, async_get_hub

from .helpers import (
    capture_insight_events,
    event_keys,
    import_sensor_temperatures,
    meter_entry,
    options_flow,
    setup_integration,
)
from .test_insights import NOTIFY, NOW, PDL, STEP_DAY, UNUSUAL_DAY, WEEK

OTHER_PDL = "25946599093204"
OUTDOOR = "sensor.outdoor_temperature"


def _entry(emulator: Emulator, url: str, pdl: str, **insights: Any) -> MockConfigEntry:
    return meter_entry(
        emulator,
        url,
        pdl,
        **{CONF_DAILY_HISTORY_MONTHS: 4, CONF_HOURLY_HISTORY_MONTHS: 3, CONF_INSIGHTS: insights},
    )


@pytest.mark.freeze_time(NOW)
async def test_weekly_changes_weather_corrected_with_a_temperature_sensor(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str
) -> None:
    """The heated household's week against the week before: the part the weather explains
    is given, and the corrected change is what is left."""
    import_sensor_temperatures(hass, OUTDOOR, date(2026, 7, 1), date(2026, 11, 22))
    await async_wait_recording_done(hass)
    fired = capture_insight_events(hass, HOME_PDL)
    entry = _entry(emulator, emulator_url, HOME_PDL)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_TEMPERATURE_ENTITY: OUTDOOR}
    )
    await setup_integration(hass, entry)
    report = next(data for kind, data in fired if kind == "weekly_report")
    change = report["vs_previous"]
    assert change["weather_kwh"] is not None
    assert change["corrected_kwh"] == pytest.approx(
        change["delta_kwh"] - change["weather_kwh"], abs=0.002
    )
    colder = sum(outdoor_temperature(date(2026, 11, 16) + timedelta(days=n)) for n in range(7))
    before = sum(outdoor_temperature(date(2026, 11, 9) + timedelta(days=n)) for n in range(7))
    assert (change["weather_kwh"] > 0) == (colder < before), (
        "a colder week is expected to take more"
    )


@pytest.mark.freeze_time(NOW)
async def test_a_day_in_the_holidays_calendar_is_not_reported(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str
) -> None:
    """The injected unusual day is inside an all-day calendar event: left out."""
    emulator.add_meter(Meter(PDL, profile="base", unusual_days=(UNUSUAL_DAY,)))
    holidays = async_mock_service(
        hass,
        "calendar",
        "get_events",
        response={
            "calendar.holidays": {
                "events": [
                    {
                        "start": UNUSUAL_DAY.isoformat(),
                        "end": (UNUSUAL_DAY + timedelta(days=2)).isoformat(),
                        "summary": "Away",
                    }
                ]
            }
        },
        supports_response=SupportsResponse.ONLY,
    )
    fired = capture_insight_events(hass, PDL)
    await setup_integration(
        hass, _entry(emulator, emulator_url, PDL, **{CONF_HOLIDAY_ENTITY: "calendar.holidays"})
    )
    assert holidays, "the calendar was asked"
    assert ("unusual_day", UNUSUAL_DAY.isoformat()) not in event_keys(fired)
    assert event_keys(fired, "weekly_report") == [("weekly_report", WEEK)]


@pytest.mark.freeze_time("2026-11-17 08:00:00+01:00")
async def test_holidays_from_an_input_boolean(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The local days an input boolean was on at some moment, from the recorder's history."""
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": {"away": {}}})
    await hass.services.async_call(
        "input_boolean", SERVICE_TURN_ON, {"entity_id": "input_boolean.away"}, blocking=True
    )
    freezer.move_to("2026-11-18 23:30:00+01:00")
    await hass.services.async_call(
        "input_boolean", SERVICE_TURN_OFF, {"entity_id": "input_boolean.away"}, blocking=True
    )
    freezer.move_to("2026-11-23 09:00:00+01:00")
    await async_wait_recording_done(hass)
    start = datetime(2026, 10, 1, tzinfo=PARIS)
    end = datetime(2026, 11, 23, tzinfo=PARIS)
    days = await async_read_holidays(hass, "input_boolean.away", start, end)
    assert days == {date(2026, 11, 17), date(2026, 11, 18)}
    assert await async_read_holidays(hass, "input_boolean.unknown", start, end) == frozenset()


@pytest.mark.freeze_time(NOW)
async def test_muted_kinds_fire_nothing_and_persistent_notification(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str
) -> None:
    """Unusual days and the weekly report muted: only the base load step fires, and it is
    shown as a persistent notification."""
    emulator.add_meter(
        Meter(PDL, profile="base", extra_base_w=((STEP_DAY, 300.0),), unusual_days=(UNUSUAL_DAY,))
    )
    fired = capture_insight_events(hass, PDL)
    await setup_integration(
        hass,
        _entry(
            emulator,
            emulator_url,
            PDL,
            **{
                CONF_MUTED: ["unusual_day", "weekly_report"],
                CONF_PERSISTENT_NOTIFICATION: True,
            },
        ),
    )
    kinds = {kind for kind, _ in fired}
    assert "baseload_high" in kinds
    assert not kinds & {"unusual_day", "weekly_report"}
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    assert [n["title"] for n in notifications.values()] == [f"Linky {PDL}: alert"]


@pytest.mark.freeze_time(NOW)
async def test_one_weekly_message_for_two_meters(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str
) -> None:
    """Two meters, the same notify entity: one weekly message, with each meter and the total."""
    emulator.add_meter(Meter(PDL, profile="base"))
    emulator.add_meter(Meter(OTHER_PDL, profile="base"))
    notified = async_mock_service(hass, "notify", "send_message")
    first = _entry(emulator, emulator_url, PDL, **{CONF_NOTIFY_ENTITIES: [NOTIFY]})
    second = _entry(emulator, emulator_url, OTHER_PDL, **{CONF_NOTIFY_ENTITIES: [NOTIFY]})
    first.add_to_hass(hass)
    second.add_to_hass(hass)
    await setup_integration(hass, first)
    await setup_integration(hass, second)
    weekly = [call.data for call in notified if WEEK in call.data["title"]]
    assert len(weekly) == 1
    message = weekly[0]["message"]
    assert f"Linky {PDL}" in message
    assert f"Linky {OTHER_PDL}" in message
    assert "2 meters" in message


@pytest.mark.freeze_time(NOW)
async def test_options_turn_the_insights_on_and_off(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str
) -> None:
    entry = meter_entry(emulator, emulator_url, HOME_PDL)
    await setup_integration(hass, entry)
    registry = er.async_get(hass)
    assert registry.async_get_entity_id("event", DOMAIN, f"{HOME_PDL}_insights") is None
    await options_flow(
        hass,
        entry,
        "insights",
        {
            "enabled": True,
            "daily_limit_kwh": 40,
            "max_power_share": 80,
            "persistent_notification": False,
            "muted": ["unusual_day"],
            CONF_TEMPERATURE_ENTITY: OUTDOOR,
        },
    )
    assert entry.options[CONF_INSIGHTS] == {
        "holiday_entity": None,
        "daily_limit_kwh": 40.0,
        "weekly_limit_eur": None,
        "max_power_share": 0.8,
        "notify_entities": [],
        "persistent_notification": False,
        "muted": ["unusual_day"],
    }
    assert entry.options[CONF_TEMPERATURE_ENTITY] == OUTDOOR
    event_id = registry.async_get_entity_id("event", DOMAIN, f"{HOME_PDL}_insights")
    assert event_id is not None
    assert hass.states.get(event_id) is not None
    await options_flow(
        hass,
        entry,
        "insights",
        {"enabled": False, "max_power_share": 90, "persistent_notification": False},
    )
    assert CONF_INSIGHTS not in entry.options
    assert hass.states.get(event_id) is None or hass.states.get(event_id).state == "unavailable"  # type: ignore[union-attr]


@pytest.mark.freeze_time(NOW)
async def test_weekly_message_waits_for_a_stuck_meter_then_goes_without_it(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """A meter whose imports are stuck never submits its week: the others' weekly message
    waits for it until 80 hours after the week's end, then goes without it, once."""
    notified = async_mock_service(hass, "notify", "send_message")
    hub = async_get_hub(hass)
    targets = Targets((NOTIFY,))
    hub.join("first", targets, PDL, "Home")
    hub.join("stuck", targets, OTHER_PDL, "Shop")
    week = IsoWeek(2026, 47)
    await hub.async_submit("first", MeterWeek(week=week, pdl=PDL, consumption_kwh=80.0))
    await hub.async_poll()
    assert notified == []
    freezer.move_to(week.bounds()[1] + HUB_PATIENCE - timedelta(minutes=1))
    await hub.async_poll()
    assert notified == []
    freezer.move_to(week.bounds()[1] + HUB_PATIENCE)
    await hub.async_poll()
    await hub.async_poll()
    assert len(notified) == 1
    assert "Home" in notified[0].data["message"]
    assert "Shop" not in notified[0].data["message"]
    await hub.async_submit("stuck", MeterWeek(week=week, pdl=OTHER_PDL, consumption_kwh=5.0))
    assert len(notified) == 1, "a week is sent once"
