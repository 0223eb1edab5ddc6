"""One request budget per Conso API base URL, shared by every meter of this instance.

Conso API bans an IP that makes 100 requests in 12 hours. Every request this Home Assistant
instance sends to one base URL (config flow validations, daily runs, back-fill, retries, for
every meter) goes through the same `RequestBudget`, which is persisted with HA's `Store` so a
restart never forgets what was already sent. The ban state (Cloudflare's 403 page) is kept
here too: once banned, no entry polls that base URL until the user says the ban is lifted.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .conso.budget import RequestBudget
from .const import (
    CONF_BASE_URL,
    CONF_REQUEST_CAP,
    DEFAULT_REQUEST_CAP,
    DOMAIN,
    LOGGER,
    MAX_REQUEST_CAP,
)
from .persist import PersistedRegistry, async_get_registry

STORAGE_KEY = f"{DOMAIN}.service"
SAVE_DELAY = 5  # seconds; a crash within this delay can lose at most the last few counts

_DATA_KEY: HassKey[ServiceRegistry] = HassKey(f"{DOMAIN}_service")


@dataclass
class ServiceState:
    """What this instance knows about one Conso API base URL."""

    budget: RequestBudget
    banned_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable state."""
        return {
            "budget": self.budget.as_dict(),
            "banned_at": self.banned_at.isoformat() if self.banned_at else None,
        }


type ServiceRegistry = PersistedRegistry[ServiceState]


async def _async_registry(hass: HomeAssistant) -> ServiceRegistry:
    return await async_get_registry(
        hass,
        _DATA_KEY,
        STORAGE_KEY,
        lambda store, raw: PersistedRegistry[ServiceState](store, raw, SAVE_DELAY),
    )


async def _async_pace_sleep(seconds: float) -> None:
    """Wait for the per-second pace (a seam for tests, where time is frozen)."""
    await asyncio.sleep(seconds)


def _normalize(base_url: str) -> str:
    return base_url.rstrip("/")


def _effective_cap(hass: HomeAssistant, url: str, cap: int) -> int:
    """The lowest request cap configured by any entry using this base URL (and `cap`): one
    entry can never raise the cap another entry relies on, and raising every entry's option
    raises the shared cap."""
    caps = [cap]
    for entry in hass.config_entries.async_entries(DOMAIN):
        if _normalize(str(entry.data.get(CONF_BASE_URL, ""))) == url:
            caps.append(int(entry.options.get(CONF_REQUEST_CAP, DEFAULT_REQUEST_CAP)))
    return min(caps)


async def async_get_service_state(
    hass: HomeAssistant, base_url: str, cap: int = MAX_REQUEST_CAP
) -> ServiceState:
    """Return the (persisted) state of a base URL, creating it on first use.

    The budget's cap is recomputed every time from the configured entries (see
    `_effective_cap`); `cap` can only lower it further.
    """
    registry = await _async_registry(hass)
    url = _normalize(base_url)
    if (state := registry.items.get(url)) is None:
        saved = registry.raw.get(url) or {}
        budget = RequestBudget.from_dict(
            saved.get("budget") or {}, cap=cap, now=dt_util.utcnow, sleep=_async_pace_sleep
        )
        banned_at = dt_util.parse_datetime(saved["banned_at"]) if saved.get("banned_at") else None
        state = ServiceState(budget=budget, banned_at=banned_at)
        registry.items[url] = state
        budget.add_listener(registry.async_schedule_save)
        LOGGER.debug("Request budget for %s: %s used", url, budget.used)
    state.budget.cap = _effective_cap(hass, url, cap)
    return state


async def async_set_banned(hass: HomeAssistant, base_url: str, banned: bool) -> None:
    """Record (or clear) a ban of this instance's IP by the service."""
    registry = await _async_registry(hass)
    state = await async_get_service_state(hass, base_url)
    state.banned_at = dt_util.utcnow() if banned else None
    registry.async_schedule_save()


async def async_flush(hass: HomeAssistant) -> None:
    """Write pending budget changes now (on unload/stop)."""
    if (registry := hass.data.get(_DATA_KEY)) is not None:
        await registry.async_save_now()
