"""What the insights read besides the energy: the outdoor temperature of each local day and
the days the user flagged as holidays.

- Temperature: the hourly means of the temperature sensor chosen in the options, from the
  recorder's long-term statistics, as daily means (`analytics/weather.py`); for the days the
  sensor has none (a new installation), the daily means imported from a file with the
  action `linky.import_temperatures` (saved per entry).
- Holidays: an `input_boolean` (days it was on at some moment, from the recorder's history)
  or a `calendar` (days any of its events covers, through `calendar.get_events`).

Both are optional: a source that is missing or cannot be read gives nothing (logged), and
the insights work without it (no weather correction, no holidays left out).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

from homeassistant.components.recorder import history
from homeassistant.const import STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.recorder import get_instance
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ..analytics.weather import daily_means
from ..const import LOGGER
from ..localtime import days_touched, local_date
from ..statistics import read_hourly_means
from .store import entry_store

IMPORTED_TEMPERATURES: Final = "temperatures"
"""The Store part of the daily means imported from files (action `import_temperatures`)."""


async def async_read_temperatures(
    hass: HomeAssistant, entity_id: str, start: datetime, end: datetime
) -> dict[date, float]:
    """The daily mean outdoor temperature of the local days between `start` and `end`."""
    instance = get_instance(hass)
    hourly = await instance.async_add_executor_job(read_hourly_means, hass, entity_id, start, end)
    if not hourly:
        LOGGER.debug("No temperature statistics for %s yet", entity_id)
    return daily_means(hourly)


async def async_day_temperatures(
    hass: HomeAssistant, entry_id: str, entity_id: str | None, start: datetime, end: datetime
) -> dict[date, float] | None:
    """The daily mean outdoor temperature of the local days between `start` and `end`: the
    sensor's where it has one, else the imported file's; None without either source."""
    imported = await async_load_imported_temperatures(hass, entry_id)
    if entity_id is None and not imported:
        return None
    first, last = local_date(start), local_date(end)
    days = {day: value for day, value in imported.items() if first <= day < last}
    if entity_id is not None:
        days.update(await async_read_temperatures(hass, entity_id, start, end))
    return dict(sorted(days.items()))


def _imported_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    return entry_store(hass, entry_id, IMPORTED_TEMPERATURES)


async def async_load_imported_temperatures(hass: HomeAssistant, entry_id: str) -> dict[date, float]:
    """The daily means imported from files for an entry (none: empty)."""
    saved = await _imported_store(hass, entry_id).async_load() or {}
    try:
        return {date.fromisoformat(day): float(value) for day, value in saved["days"].items()}
    except KeyError, TypeError, ValueError, AttributeError:
        return {}


async def async_import_temperatures(
    hass: HomeAssistant, entry_id: str, days: dict[date, float]
) -> dict[date, float]:
    """Adds `days` to the entry's imported daily means (a day imported again takes the new
    value) and saves them; returns them all."""
    merged = {**await async_load_imported_temperatures(hass, entry_id), **days}
    merged = dict(sorted(merged.items()))
    await _imported_store(hass, entry_id).async_save(
        {"days": {day.isoformat(): round(value, 2) for day, value in merged.items()}}
    )
    return merged


async def async_remove_imported_temperatures(hass: HomeAssistant, entry_id: str) -> None:
    """Forgets the imported daily means of a deleted entry."""
    await _imported_store(hass, entry_id).async_remove()


async def async_read_holidays(
    hass: HomeAssistant, entity_id: str, start: datetime, end: datetime
) -> frozenset[date]:
    """The local days flagged by `entity_id` (an input_boolean or a calendar)."""
    try:
        if entity_id.startswith("calendar."):
            return await _async_calendar_days(hass, entity_id, start, end)
        return await _async_boolean_days(hass, entity_id, start, end)
    except (HomeAssistantError, KeyError, TypeError, ValueError) as err:
        LOGGER.warning("Could not read the holidays of %s: %s", entity_id, err)
        return frozenset()


async def _async_boolean_days(
    hass: HomeAssistant, entity_id: str, start: datetime, end: datetime
) -> frozenset[date]:
    changes = await get_instance(hass).async_add_executor_job(
        history.state_changes_during_period,
        hass,
        start,
        end,
        entity_id,
        True,  # no_attributes
        False,  # descending
        None,  # limit
        True,  # include_start_time_state
    )
    states = sorted(changes.get(entity_id, []), key=lambda state: state.last_changed)
    days: set[date] = set()
    for index, state in enumerate(states):
        if state.state != STATE_ON:
            continue
        until = states[index + 1].last_changed if index + 1 < len(states) else end
        days.update(days_touched(max(state.last_changed, start), min(until, end)))
    return frozenset(days)


async def _async_calendar_days(
    hass: HomeAssistant, entity_id: str, start: datetime, end: datetime
) -> frozenset[date]:
    response = await hass.services.async_call(
        "calendar",
        "get_events",
        {"entity_id": entity_id, "start_date_time": start, "end_date_time": end},
        blocking=True,
        return_response=True,
    )
    events: list[dict[str, Any]] = (response or {}).get(entity_id, {}).get("events", [])  # type: ignore[union-attr, assignment]
    days: set[date] = set()
    for event in events:
        days.update(_event_days(str(event["start"]), str(event["end"])))
    return frozenset(days)


def _event_days(start: str, end: str) -> list[date]:
    """The days of a calendar event: those of an all-day event (dates, the end excluded),
    or the local days its times touch."""
    if len(start) == 10 and len(end) == 10:
        first, after = date.fromisoformat(start), date.fromisoformat(end)
        return [date.fromordinal(n) for n in range(first.toordinal(), after.toordinal())]
    return days_touched(_instant(start), _instant(end))


def _instant(value: str) -> datetime:
    parsed = dt_util.parse_datetime(value)
    if parsed is None:
        raise ValueError(f"not a time: {value}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt_util.get_default_time_zone())
