"""Tempo day colours in Home Assistant: where they come from, and today's/tomorrow's colour.
The entry's Tempo part (`LinkyRuntimeData.tempo`), used by costs, load shedding and sensors.

Two kinds of source, both filling a `TempoCache` (see `energy/tempo.py`) that the tariff
engine reads:

- The public Tempo calendar service (base URL configurable). One source per base URL for the
  whole Home Assistant instance, shared by every meter: one cache and one request budget,
  persisted with HA's `Store`, so a restart or a second meter never asks again what is known.
- An existing Home Assistant entity whose state is the current Tempo colour (e.g. the
  `rte_tempo` integration's `sensor.rte_tempo_couleur_actuelle`), optionally with a second
  one for tomorrow's colour. Past colours are read from the recorder's history of the
  current-colour entity (its state at noon of each day).

`TempoCoordinator` refreshes today's and tomorrow's colours a few times a day (after
midnight, 06:05, 11:10, 12:10 and 16:10 local time, plus a random minute per instance), and
at once when a source entity changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
import random
from typing import Any, Final, Protocol

from homeassistant.components.recorder import history
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.event import (
    async_track_point_in_utc_time,
    async_track_state_change_event,
)
from homeassistant.helpers.recorder import get_instance
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from ..conso.budget import RequestBudget
from ..const import DEFAULT_TEMPO_URL, DOMAIN, LOGGER
from ..energy.tempo_calendar import (
    REQUEST_CAP,
    REQUEST_WINDOW,
    TempoCache,
    TempoClient,
    TempoColour,
    TempoError,
    tempo_day_of,
)
from ..instance import PersistedRegistry, async_get_registry
from ..localtime import PARIS, local_date
from ..options import LinkyOptions, TempoSourceOptions

STORAGE_KEY: Final = f"{DOMAIN}.tempo"
SAVE_DELAY: Final = 5  # seconds

REFRESH_TIMES: Final = (time(0, 0, 30), time(6, 5), time(11, 10), time(12, 10), time(16, 10))
"""Local times of the daily refreshes (all but the first get the instance's random minute)."""
RANDOM_MINUTES: Final = 10
HISTORY_SAMPLE: Final = time(12)
"""A past Tempo day's colour is the current-colour entity's state at this local time."""

_COLOUR_NAMES: Final = {
    "bleu": TempoColour.BLUE,
    "blue": TempoColour.BLUE,
    "blanc": TempoColour.WHITE,
    "white": TempoColour.WHITE,
    "rouge": TempoColour.RED,
    "red": TempoColour.RED,
}


def parse_colour(state: str | None) -> TempoColour | None:
    """A colour from an entity state: Bleu/Blanc/Rouge, blue/white/red, any case, also
    prefixed ("TEMPO_ROUGE", "Tempo Bleu"); None for anything else (unknown, unavailable)."""
    if not state:
        return None
    words = state.strip().lower().replace("_", " ").replace("-", " ").split()
    return _COLOUR_NAMES.get(words[-1]) if words else None


def local_today() -> date:
    """Today's date in Europe/Paris (the Tempo calendar's time zone)."""
    return local_date(dt_util.utcnow())


class TempoSource(Protocol):
    """Where Tempo colours come from."""

    @property
    def cache(self) -> TempoCache:
        """Known colours (the tariff engine's colour lookup is `cache.colour`)."""

    async def async_fill(self, days: Iterable[date]) -> set[date]:
        """Learn the colours of `days` that can be known; return the days still unknown.
        Never raises for a failed request (the days stay unknown, to retry later)."""


# --- persistence shared by every source of this instance -----------------------------------


@dataclass
class _Registry(PersistedRegistry["CalendarTempoSource | EntityTempoSource"]):
    """Every Tempo source of this instance, persisted together."""

    minute: int = field(default_factory=lambda: random.randrange(RANDOM_MINUTES))  # noqa: S311


_DATA_KEY: HassKey[_Registry] = HassKey(f"{DOMAIN}_tempo")


async def _async_registry(hass: HomeAssistant) -> _Registry:
    return await async_get_registry(
        hass, _DATA_KEY, STORAGE_KEY, lambda store, raw: _Registry(store, raw, SAVE_DELAY)
    )


def _saved_cache(raw: Any) -> TempoCache:
    try:
        return (
            TempoCache.from_dict(raw.get("cache") or {}) if isinstance(raw, dict) else TempoCache()
        )
    except ValueError as err:
        LOGGER.warning("Ignoring a corrupt saved Tempo cache (%s)", err)
        return TempoCache()


async def async_get_source(hass: HomeAssistant, options: TempoSourceOptions) -> TempoSource:
    """The Tempo source an entry's options name: an entity if one is picked, else the
    public service at the configured (or default) base URL."""
    registry = await _async_registry(hass)
    if entity_id := options.entity:
        key = f"entity:{entity_id}"
        source = registry.items.get(key)
        if not isinstance(source, EntityTempoSource):
            source = EntityTempoSource(hass, entity_id, _saved_cache(registry.raw.get(key)))
            source.on_change = registry.async_schedule_save
            registry.items[key] = source
        source.tomorrow_entity = options.tomorrow_entity
        return source
    url = (options.url or DEFAULT_TEMPO_URL).rstrip("/")
    key = f"url:{url}"
    existing = registry.items.get(key)
    if isinstance(existing, CalendarTempoSource):
        return existing
    raw = registry.raw.get(key)
    budget = RequestBudget.from_dict(
        (raw.get("budget") if isinstance(raw, dict) else None) or {},
        cap=REQUEST_CAP,
        window=REQUEST_WINDOW,
        max_per_second=REQUEST_CAP,
        now=dt_util.utcnow,
    )
    budget.add_listener(registry.async_schedule_save)
    client = TempoClient(
        async_get_clientsession(hass),
        _saved_cache(raw),
        base_url=url,
        clock=dt_util.utcnow,
        budget=budget,
    )
    service = CalendarTempoSource(client, budget)
    service.on_change = registry.async_schedule_save
    registry.items[key] = service
    return service


async def async_create_tempo(
    hass: HomeAssistant, entry: ConfigEntry, options: LinkyOptions
) -> TempoCoordinator | None:
    """The Tempo colours of an entry whose contract is Tempo or which names a Tempo source
    (None otherwise): its source and the coordinator of today's and tomorrow's colours."""
    if not options.uses_tempo:
        return None
    source = await async_get_source(hass, options.tempo)
    minute = (await _async_registry(hass)).minute  # spreads the instances' refreshes
    return TempoCoordinator(hass, entry, source, minute)


# --- sources ---------------------------------------------------------------------------------


class CalendarTempoSource:
    """The public Tempo calendar service, through a cache and a request budget."""

    def __init__(self, client: TempoClient, budget: RequestBudget) -> None:
        self._client = client
        self._budget = budget
        self._lock = asyncio.Lock()
        self.on_change: CALLBACK_TYPE | None = None

    @property
    def cache(self) -> TempoCache:
        """Colours read so far."""
        return self._client.cache

    async def async_fill(self, days: Iterable[date]) -> set[date]:
        """Ask the service for the colours of `days` that it may know (see `TempoClient`)."""
        wanted = set(days)
        async with self._lock:
            try:
                missing = await self._client.async_fill(wanted)
            except TempoError as err:
                LOGGER.warning("Tempo colours could not be read: %s", err)
                missing = {day for day in wanted if self.cache.colour(day) is None}
        if self.on_change is not None:
            self.on_change()
        return missing

    def as_dict(self) -> dict[str, Any]:
        """What to persist."""
        return {"cache": self.cache.as_dict(), "budget": self._budget.as_dict()}


class EntityTempoSource:
    """Colours read from Home Assistant entities: the current colour (and its recorded
    history for past days), and optionally tomorrow's colour."""

    def __init__(self, hass: HomeAssistant, entity_id: str, cache: TempoCache) -> None:
        self._hass = hass
        self.entity_id = entity_id
        self.tomorrow_entity: str | None = None
        self._cache = cache
        self.on_change: CALLBACK_TYPE | None = None

    @property
    def cache(self) -> TempoCache:
        """Colours seen so far."""
        return self._cache

    @property
    def entity_ids(self) -> list[str]:
        """The entities this source reads."""
        return [self.entity_id, *([self.tomorrow_entity] if self.tomorrow_entity else [])]

    @callback
    def async_record_states(self) -> None:
        """Record what the entities show now."""
        now = dt_util.utcnow()
        today = local_date(now)
        for entity_id, day in (
            (self.entity_id, tempo_day_of(now)),
            (self.tomorrow_entity, today + timedelta(days=1)),
        ):
            state = self._hass.states.get(entity_id) if entity_id else None
            if state is not None and (colour := parse_colour(state.state)) is not None:
                self._cache.record(day, colour, now)

    async def async_fill(self, days: Iterable[date]) -> set[date]:
        """Colours of `days` from the live states, then from the recorder's history."""
        self.async_record_states()
        today = local_today()
        missing = {day for day in days if self._cache.colour(day) is None and day <= today}
        if missing:
            await self._async_read_history(min(missing), max(missing))
        if self.on_change is not None:
            self.on_change()
        return {day for day in days if self._cache.colour(day) is None}

    async def _async_read_history(self, first: date, last: date) -> None:
        start = datetime.combine(first, HISTORY_SAMPLE, PARIS)
        end = datetime.combine(last, HISTORY_SAMPLE, PARIS) + timedelta(seconds=1)
        changes = await get_instance(self._hass).async_add_executor_job(
            history.state_changes_during_period,
            self._hass,
            dt_util.as_utc(start),
            dt_util.as_utc(end),
            self.entity_id,
            True,  # no_attributes
            False,  # descending
            None,  # limit
            True,  # include_start_time_state
        )
        states = sorted(changes.get(self.entity_id, []), key=lambda state: state.last_changed)
        day = first
        index = -1
        while day <= last:
            sample = datetime.combine(day, HISTORY_SAMPLE, PARIS)
            while index + 1 < len(states) and states[index + 1].last_changed <= sample:
                index += 1
            if index >= 0 and (colour := parse_colour(states[index].state)) is not None:
                self._cache.record(day, colour, sample + timedelta(days=1))
            day += timedelta(days=1)

    def as_dict(self) -> dict[str, Any]:
        """What to persist."""
        return {"cache": self._cache.as_dict()}


# --- today / tomorrow ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TempoColours:
    """Colours of today's and tomorrow's local dates (None: not known yet)."""

    today: TempoColour | None
    tomorrow: TempoColour | None


class TempoCoordinator(DataUpdateCoordinator[TempoColours]):
    """Refreshes today's and tomorrow's colours at fixed local times (no polling interval)."""

    config_entry: ConfigEntry

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, source: TempoSource, minute: int
    ) -> None:
        super().__init__(hass, LOGGER, name=f"{entry.title} Tempo", config_entry=entry)
        self.source = source
        self._minute = minute
        self._unsubs: list[CALLBACK_TYPE] = []
        self._unsub_timer: CALLBACK_TYPE | None = None
        self.data = self._colours()

    def _colours(self) -> TempoColours:
        today = local_today()
        return TempoColours(
            self.source.cache.colour(today), self.source.cache.colour(today + timedelta(days=1))
        )

    async def _async_update_data(self) -> TempoColours:
        today = local_today()
        await self.source.async_fill([today, today + timedelta(days=1)])
        return self._colours()

    def next_refresh(self, now: datetime) -> datetime:
        """The next refresh time after `now`."""
        local = now.astimezone(PARIS)
        for offset in (0, 1):
            day = local.date() + timedelta(days=offset)
            for index, at in enumerate(REFRESH_TIMES):
                extra = timedelta(minutes=self._minute if index else 0)
                when = datetime.combine(day, at, PARIS) + extra
                if when > local:
                    return dt_util.as_utc(when)
        raise AssertionError("unreachable")  # pragma: no cover

    @callback
    def async_start(self) -> None:
        """Refresh now (in the background), then at the refresh times; follow the source
        entities' changes."""
        if isinstance(self.source, EntityTempoSource):
            self._unsubs.append(
                async_track_state_change_event(
                    self.hass, self.source.entity_ids, self._async_entity_changed
                )
            )
        self._async_timer(dt_util.utcnow())

    @callback
    def _async_entity_changed(self, _event: Event[EventStateChangedData]) -> None:
        self.config_entry.async_create_background_task(
            self.hass, self.async_refresh(), f"{DOMAIN} Tempo entity change"
        )

    @callback
    def _async_timer(self, _now: datetime) -> None:
        self.config_entry.async_create_background_task(
            self.hass, self.async_refresh(), f"{DOMAIN} Tempo refresh"
        )
        self._unsub_timer = async_track_point_in_utc_time(
            self.hass, self._async_timer, self.next_refresh(dt_util.utcnow())
        )

    async def async_shutdown(self) -> None:
        """Stop the timers and listeners (on unload)."""
        await super().async_shutdown()
        if self._unsub_timer is not None:
            self._unsub_timer()
            self._unsub_timer = None
        while self._unsubs:
            self._unsubs.pop()()
