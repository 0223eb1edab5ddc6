"""Linky for Home Assistant: Enedis Linky meter data from the Conso API.

Setup makes no request: it restores what was imported, checks it against the recorder, and
schedules the next run (see `coordinator.py`). Requests only happen in scheduled runs.
"""

from __future__ import annotations

from datetime import datetime

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.recorder import get_instance
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .api import async_create_client
from .budgets import async_flush, async_get_service_state
from .conso.token import ConsentToken, TokenError, parse_token
from .const import (
    CONF_BASE_URL,
    CONF_DAILY_HISTORY_MONTHS,
    CONF_HOURLY_HISTORY_MONTHS,
    CONF_PDL,
    CONF_PRODUCTION,
    CONF_PRODUCTION_PDL,
    CONF_REMOVE_STATISTICS,
    CONF_REQUEST_CAP,
    CONF_TOKEN,
    DEFAULT_DAILY_HISTORY_MONTHS,
    DEFAULT_HOURLY_HISTORY_MONTHS,
    DEFAULT_REQUEST_CAP,
    DOMAIN,
    SERIES_CONSUMPTION,
    SERIES_PRODUCTION,
)
from .coordinator import STORAGE_VERSION, LinkyConfigEntry, LinkyCoordinator
from .costs import async_remove_costs
from .load_shedding import async_remove_shedding
from .self_consumption import async_remove_self_consumption
from .statistics import statistic_id
from .sync import MeterOptions

PLATFORMS: list[Platform] = [Platform.BINARY_SENSOR, Platform.SENSOR, Platform.SWITCH]


def meter_options(entry: LinkyConfigEntry) -> MeterOptions:
    """What to synchronise, from the entry's data and options."""
    pdl: str = entry.data[CONF_PDL]
    options = entry.options
    return MeterOptions(
        pdl=pdl,
        production_pdl=(options.get(CONF_PRODUCTION_PDL) or pdl)
        if options.get(CONF_PRODUCTION)
        else None,
        daily_history_months=int(
            options.get(CONF_DAILY_HISTORY_MONTHS, DEFAULT_DAILY_HISTORY_MONTHS)
        ),
        hourly_history_months=int(
            options.get(CONF_HOURLY_HISTORY_MONTHS, DEFAULT_HOURLY_HISTORY_MONTHS)
        ),
    )


def _parse_token(entry: LinkyConfigEntry, now: datetime) -> ConsentToken:
    try:
        token = parse_token(entry.data[CONF_TOKEN])
    except TokenError as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="invalid_token"
        ) from err
    if token.expires_at is not None and token.expires_at <= now:
        raise ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="token_expired")
    return token


async def async_setup_entry(hass: HomeAssistant, entry: LinkyConfigEntry) -> bool:
    """Set up a meter from a config entry."""
    token = _parse_token(entry, dt_util.utcnow())
    base_url: str = entry.data[CONF_BASE_URL]
    cap = int(entry.options.get(CONF_REQUEST_CAP, DEFAULT_REQUEST_CAP))
    client = await async_create_client(hass, entry.data[CONF_TOKEN], base_url, cap=cap)
    service = await async_get_service_state(hass, base_url, cap)
    coordinator = LinkyCoordinator(
        hass, entry, client=client, service=service, token=token, options=meter_options(entry)
    )
    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = coordinator
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    coordinator.async_start()
    return True


async def async_unload_entry(hass: HomeAssistant, entry: LinkyConfigEntry) -> bool:
    """Unload a config entry (statistics are kept)."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    await async_flush(hass)
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: LinkyConfigEntry) -> None:
    """Delete the entry's saved state; its statistics only if the user asked for it."""
    await Store[dict[str, object]](
        hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}"
    ).async_remove()
    remove = bool(entry.options.get(CONF_REMOVE_STATISTICS))
    pdl: str = entry.data[CONF_PDL]
    await async_remove_costs(hass, entry, pdl, clear=remove)
    await async_remove_self_consumption(hass, entry, pdl, clear=remove)
    await async_remove_shedding(hass, entry)
    if remove:
        get_instance(hass).async_clear_statistics(
            [statistic_id(pdl, series) for series in (SERIES_CONSUMPTION, SERIES_PRODUCTION)]
        )
