"""What every entry of this Home Assistant instance shares, persisted with `Store`.

- Per Conso API host (scheme, host and port: `https://HOST/api`, `https://host:443/api/` and
  `https://host/other` are one host): the request budget and the ban state (`ApiState`).
  Conso API bans an IP that makes 100 requests in 12 hours: every request this instance
  sends to one host (config flow checks, daily runs, back-fill, retries, for every meter)
  goes through the same `RequestBudget`, written to storage before it is sent, so neither a
  restart nor a crash forgets what was sent. Once banned, no entry polls that host until the
  user confirms the ban is lifted (the repair flow). What the host's meters may spend
  (the max power cadence, the back-fill's reserve, how many meters the cap keeps fresh) is
  planned from the entries using it (`fleet_plan`, `sync/capacity.py`).
- The Conso API clients (`async_create_client`): HA's shared aiohttp session, the shared
  budget of their URL, and the User-Agent Conso API asks public apps to send.
- `PersistedRegistry`: objects saved together in one Store, one JSON entry per key (the API
  states above, the Tempo colour sources of `runtime/tempo_source.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.storage import Store
from homeassistant.loader import async_get_integration
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .conso import ConsoApiClient, RequestBudget
from .const import (
    CONF_BASE_URL,
    DOMAIN,
    LOGGER,
    MAX_REQUEST_CAP,
)
from .localtime import parse_optional_instant
from .options import LinkyOptions
from .sync.capacity import FleetPlan, plan_fleet

STORAGE_VERSION: Final = 1
API_STORAGE_KEY: Final = f"{DOMAIN}.service"  # the file name of version 0.1.0, kept
API_SAVE_DELAY: Final = 5  # seconds; a crash within this delay can lose the last few counts
PROJECT_URL: Final = "https://github.com/linky-ha/linky"
_DEFAULT_PORTS: Final = {"https": 443, "http": 80}


# --- objects persisted together ---------------------------------------------------------------


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


# --- Conso API base URLs ----------------------------------------------------------------------


@dataclass
class ApiState:
    """What this instance knows about one Conso API base URL."""

    budget: RequestBudget
    banned_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable state."""
        return {
            "budget": self.budget.as_dict(),
            "banned_at": self.banned_at.isoformat() if self.banned_at else None,
        }


type ApiRegistry = PersistedRegistry[ApiState]

_API_KEY: HassKey[ApiRegistry] = HassKey(f"{DOMAIN}_service")


async def _async_api_registry(hass: HomeAssistant) -> ApiRegistry:
    return await async_get_registry(
        hass,
        _API_KEY,
        API_STORAGE_KEY,
        lambda store, raw: PersistedRegistry[ApiState](store, raw, API_SAVE_DELAY),
    )


async def _async_pace_sleep(seconds: float) -> None:
    """Wait for the per-second pace (a seam for tests, where time is frozen)."""
    await asyncio.sleep(seconds)


def api_host(base_url: str) -> str:
    """The host a base URL sends to, as `scheme://host:port` in lower case (the key of its
    budget and ban state)."""
    parts = urlsplit(base_url.strip())
    scheme = (parts.scheme or "https").lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme, 443)
    except ValueError:
        port = _DEFAULT_PORTS.get(scheme, 443)
    return f"{scheme}://{host}:{port}"


def _merge_saved(raw: dict[str, Any], host: str) -> dict[str, Any]:
    """What was saved for `host`, merging the entries 0.1.0 kept per URL text: every send
    of any of them counts, the longest server block and any ban hold."""
    sent: list[str] = []
    blocked: list[str] = []
    banned: list[str] = []
    for key, saved in raw.items():
        if api_host(key) != host or not isinstance(saved, dict):
            continue
        budget = saved.get("budget") or {}
        if isinstance(budget.get("sent"), list):
            sent.extend(str(item) for item in budget["sent"])  # several sends per second
        if budget.get("blocked_until"):
            blocked.append(str(budget["blocked_until"]))
        if saved.get("banned_at"):
            banned.append(str(saved["banned_at"]))
    if not sent and not blocked and not banned:
        return {}
    return {
        "budget": {
            "version": 1,
            "sent": sent,
            "blocked_until": max(blocked, key=_instant_key) if blocked else None,
        },
        "banned_at": min(banned, key=_instant_key) if banned else None,
    }


def _instant_key(text: str) -> float:
    moment = parse_optional_instant(text)
    return moment.timestamp() if moment is not None else 0.0


def _effective_cap(hass: HomeAssistant, url: str, cap: int) -> int:
    """The lowest request cap configured by any entry using this base URL (and `cap`): one
    entry can never raise the cap another entry relies on, and raising every entry's option
    raises the shared cap."""
    caps = [cap]
    for entry in hass.config_entries.async_entries(DOMAIN):
        if api_host(str(entry.data.get(CONF_BASE_URL, ""))) == url:
            caps.append(LinkyOptions.parse(entry.options).meter.request_cap)
    return min(caps)


def fleet_plan(hass: HomeAssistant, base_url: str, cap: int) -> FleetPlan:
    """What the meters using the host of `base_url` may spend under the shared `cap`: the
    entries set up (or being set up) count, not those unloaded, failed or being deleted."""
    url = api_host(base_url)
    productions = [
        LinkyOptions.parse(entry.options).meter.production
        for entry in hass.config_entries.async_entries(DOMAIN)
        if api_host(str(entry.data.get(CONF_BASE_URL, ""))) == url
        and entry.state in (ConfigEntryState.LOADED, ConfigEntryState.SETUP_IN_PROGRESS)
    ]
    return plan_fleet(cap, productions)


async def async_get_api_state(
    hass: HomeAssistant, base_url: str, cap: int = MAX_REQUEST_CAP
) -> ApiState:
    """The (persisted) state of the host of a base URL, created on first use. The budget's
    cap is recomputed every time from the configured entries (see `_effective_cap`); `cap`
    can only lower it further."""
    registry = await _async_api_registry(hass)
    url = api_host(base_url)
    if (state := registry.items.get(url)) is None:
        saved = _merge_saved(registry.raw, url)
        budget = RequestBudget.from_dict(
            saved.get("budget") or {},
            cap=cap,
            now=dt_util.utcnow,
            sleep=_async_pace_sleep,
            persist=registry.async_save_now,
        )
        state = ApiState(budget=budget, banned_at=parse_optional_instant(saved.get("banned_at")))
        for key in [key for key in registry.raw if api_host(key) == url]:
            del registry.raw[key]  # the per-URL entries of 0.1.0, merged into this one
        registry.items[url] = state
        budget.add_listener(registry.async_schedule_save)
        LOGGER.debug("Request budget for %s: %s used", url, budget.used)
    state.budget.cap = _effective_cap(hass, url, cap)
    return state


async def async_set_banned(hass: HomeAssistant, base_url: str, banned: bool) -> None:
    """Record (or clear) a ban of this instance's IP by the service."""
    registry = await _async_api_registry(hass)
    state = await async_get_api_state(hass, base_url)
    state.banned_at = dt_util.utcnow() if banned else None
    registry.async_schedule_save()


async def async_flush_budgets(hass: HomeAssistant) -> None:
    """Write pending budget changes now (server blocks, bans; the sends themselves are
    written before they go)."""
    if (registry := hass.data.get(_API_KEY)) is not None:
        await registry.async_save_now()


async def async_user_agent(hass: HomeAssistant) -> str:
    """The User-Agent Conso API asks public apps to send: `linky-ha/<version> (+<url>)`."""
    integration = await async_get_integration(hass, DOMAIN)
    return f"linky-ha/{integration.version} (+{PROJECT_URL})"


async def async_create_client(
    hass: HomeAssistant, token: str, base_url: str, *, cap: int = MAX_REQUEST_CAP
) -> ConsoApiClient:
    """A client for `base_url` using the shared budget of that URL (whose cap is the lowest
    configured by any entry for that URL, and at most `cap`)."""
    state = await async_get_api_state(hass, base_url, cap)
    return ConsoApiClient(
        async_get_clientsession(hass),
        token,
        base_url=base_url,
        budget=state.budget,
        user_agent=await async_user_agent(hass),
    )
