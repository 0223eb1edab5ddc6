"""Instance-wide objects persisted together in one `Store` (one JSON entry per key).

Used for what every entry of this Home Assistant shares: the request budget and ban state of
each Conso API base URL (`budgets.py`), and each Tempo colour source (`tempo.py`). The
registry is created once per instance, on first use, behind a lock; objects are added by
their owners and saved (debounced) whenever they call `async_schedule_save`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.storage import Store
from homeassistant.util.hass_dict import HassKey

STORAGE_VERSION = 1


class Persistable(Protocol):
    """What a registry can save."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable state."""


@dataclass
class PersistedRegistry[T: Persistable]:
    """Objects saved together; `raw` holds what was loaded, for keys not in use yet."""

    store: Store[dict[str, Any]]
    raw: dict[str, Any]
    save_delay: float
    items: dict[str, T] = field(default_factory=dict)

    @callback
    def async_schedule_save(self) -> None:
        """Persist soon (debounced)."""
        self.store.async_delay_save(self.data_to_save, self.save_delay)

    @callback
    def data_to_save(self) -> dict[str, Any]:
        """What to write: the loaded entries, updated with the objects in use."""
        data = dict(self.raw)
        for key, item in self.items.items():
            data[key] = item.as_dict()
        return data

    async def async_save_now(self) -> None:
        """Write now (e.g. after a run, rather than debounced)."""
        await self.store.async_save(self.data_to_save())


async def async_get_registry[R: PersistedRegistry[Any]](
    hass: HomeAssistant,
    key: HassKey[R],
    storage_key: str,
    factory: Callable[[Store[dict[str, Any]], dict[str, Any]], R],
) -> R:
    """The instance's registry for `key`, loaded from `storage_key` on first use."""
    if (registry := hass.data.get(key)) is not None:
        return registry
    lock = hass.data.setdefault(HassKey[asyncio.Lock](f"{key}_lock"), asyncio.Lock())
    async with lock:
        if (registry := hass.data.get(key)) is not None:
            return registry
        store: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, storage_key)
        raw = await store.async_load() or {}
        registry = factory(store, raw if isinstance(raw, dict) else {})
        hass.data[key] = registry
        return registry
