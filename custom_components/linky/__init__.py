"""Linky for Home Assistant: Enedis Linky meter data from the Conso API.

Setup makes no request: it restores what was imported and schedules the next run (see
`coordinator.py`); requests only happen in scheduled runs. The entry's runtime data is the
meter coordinator and the parts composed around it (`runtime/`).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from homeassistant.config_entries import (
    SIGNAL_CONFIG_ENTRY_CHANGED,
    ConfigEntry,
    ConfigEntryChange,
    ConfigEntryState,
    ConfigSubentry,
)
from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.typing import ConfigType
from homeassistant.util import dt as dt_util

from .conso.token import ConsentToken, TokenError, parse_token
from .const import (
    CONF_BASE_URL,
    CONF_PDL,
    CONF_TOKEN,
    DOMAIN,
    LOGGER,
    SUBENTRY_LOAD,
)
from .coordinator import LinkyCoordinator
from .instance import (
    api_host,
    async_create_client,
    async_flush_budgets,
    async_get_api_state,
    fleet_plan,
)
from .options import OPTIONS_VERSION, LinkyOptions, migrate
from .repairs import async_update_fleet_issue
from .runtime import (
    LinkyConfigEntry,
    LinkyRuntimeData,
    async_build_parts,
    async_remove_entry_data,
)
from .runtime.adopt import async_offer_adoption
from .runtime.fleet import async_update_fleet
from .runtime.shedding import async_restore_when_setup_fails
from .services import async_setup_services

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.EVENT,
    Platform.SENSOR,
    Platform.SWITCH,
]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions (once, for every entry)."""
    async_setup_services(hass)
    return True


def entry_options(entry: ConfigEntry) -> LinkyOptions:
    """The typed options of an entry (its options and its load subentries)."""
    options = LinkyOptions.parse(
        entry.options,
        [
            subentry.data
            for subentry in entry.subentries.values()
            if subentry.subentry_type == SUBENTRY_LOAD
        ],
    )
    for problem in options.problems:
        LOGGER.error("Ignoring options of %s that are not valid: %s", entry.title, problem)
    return options


def _consent(entry: ConfigEntry) -> ConsentToken:
    """The entry's token, or ConfigEntryAuthFailed when it is unreadable or expired."""
    try:
        token = parse_token(entry.data[CONF_TOKEN])
    except TokenError as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="invalid_token"
        ) from err
    if token.expired(dt_util.utcnow()):
        raise ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="token_expired")
    return token


async def async_setup_entry(hass: HomeAssistant, entry: LinkyConfigEntry) -> bool:
    """Set up a meter from a config entry. When it cannot be, the loads its shedding left
    shed at the last stop are put back all the same."""
    options = entry_options(entry)
    pdl: str = entry.data[CONF_PDL]
    try:
        return await _async_setup(hass, entry, options, pdl)
    except Exception:
        await async_restore_when_setup_fails(hass, entry, pdl, options)
        raise


async def _async_setup(
    hass: HomeAssistant, entry: LinkyConfigEntry, options: LinkyOptions, pdl: str
) -> bool:
    token = _consent(entry)
    base_url: str = entry.data[CONF_BASE_URL]
    cap = options.meter.request_cap
    client = await async_create_client(hass, entry.data[CONF_TOKEN], base_url, cap=cap)
    parts = await async_build_parts(hass, entry, pdl, options)
    coordinator = LinkyCoordinator(
        hass,
        entry,
        client=client,
        api=await async_get_api_state(hass, base_url, cap),
        token=token,
        options=options.sync_options(pdl),
        derived=parts.derived,
    )
    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = LinkyRuntimeData(
        coordinator, options, parts.tempo, parts.shedding, parts.derived
    )
    if parts.tempo is not None:
        parts.tempo.async_start()
    for part in parts.derived:
        await part.async_start()
    if parts.shedding is not None:
        await parts.shedding.async_setup()
    entry.async_on_unload(_async_reload_on_new_loads(hass, entry))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    _async_fleet_changed(hass, base_url)  # first: a meter joining others never runs alone
    coordinator.async_start()
    if parts.shedding is not None:
        parts.shedding.async_start_after_startup()
    entry.async_create_background_task(
        hass, async_offer_adoption(hass, entry), f"{DOMAIN} adoption offer"
    )
    return True


def _loads(entry: ConfigEntry) -> list[tuple[str, dict[str, Any]]]:
    return [
        (subentry.subentry_id, dict(subentry.data))
        for subentry in entry.subentries.values()
        if subentry.subentry_type == SUBENTRY_LOAD
    ]


@callback
def _async_reload_on_new_loads(hass: HomeAssistant, entry: ConfigEntry) -> CALLBACK_TYPE:
    """Set the entry up again when a load (subentry) is added, changed or removed. (Saved
    options and connections reload it through their flows.)"""
    loads = _loads(entry)

    @callback
    def changed(change: ConfigEntryChange, changed_entry: ConfigEntry) -> None:
        if (
            change is ConfigEntryChange.UPDATED
            and changed_entry.entry_id == entry.entry_id
            and _loads(changed_entry) != loads
        ):
            hass.config_entries.async_schedule_reload(entry.entry_id)

    return async_dispatcher_connect(hass, SIGNAL_CONFIG_ENTRY_CHANGED, changed)


async def async_unload_entry(hass: HomeAssistant, entry: LinkyConfigEntry) -> bool:
    """Unload a config entry (statistics are kept)."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    runtime = entry.runtime_data
    if runtime.shedding is not None:
        await runtime.shedding.async_unload()
    for part in runtime.derived:
        await part.async_unload()
    await async_flush_budgets(hass)
    _async_fleet_changed(hass, entry.data[CONF_BASE_URL])
    return unloaded


@callback
def _async_fleet_changed(hass: HomeAssistant, base_url: str) -> None:
    """A meter of an API host came or went: the others plan again (`sync/capacity.py`),
    and share one scheduler when they are several (`runtime/fleet.py`)."""
    host = api_host(base_url)
    peers = [
        entry.runtime_data.coordinator
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.state in (ConfigEntryState.LOADED, ConfigEntryState.SETUP_IN_PROGRESS)
        and getattr(entry, "runtime_data", None) is not None  # the one being set up has it
        and api_host(str(entry.data.get(CONF_BASE_URL, ""))) == host
    ]
    plan = None
    if peers:  # planned once for the host, not by each meter
        plan = fleet_plan(hass, base_url, peers[0].api.budget.cap)
        for coordinator in peers:
            coordinator.async_fleet_changed(plan)
    async_update_fleet(hass, host, peers)
    async_update_fleet_issue(hass, base_url, plan)


async def async_remove_entry(hass: HomeAssistant, entry: LinkyConfigEntry) -> None:
    """Delete the entry's saved state; its statistics only if the user asked for it. The
    other meters of its API host may now fit the request limit."""
    await async_remove_entry_data(
        hass,
        entry.entry_id,
        entry.data[CONF_PDL],
        clear_statistics=entry_options(entry).meter.remove_statistics,
    )
    _async_fleet_changed(hass, entry.data[CONF_BASE_URL])


async def async_migrate_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Bring an entry written by an older version to `OPTIONS_VERSION` (see `options.py`):
    version 0.1.0's loads become `load` subentries."""
    if entry.version > 1:
        return False  # written by a newer version: refuse rather than lose anything
    if entry.minor_version >= OPTIONS_VERSION:
        return True
    options, loads = migrate(entry.minor_version, entry.options)
    for data in loads:
        hass.config_entries.async_add_subentry(
            entry,
            ConfigSubentry(
                data=MappingProxyType(data),
                subentry_type=SUBENTRY_LOAD,
                title=str(data.get("entity_id", "")),
                unique_id=str(data.get("entity_id", "")),
            ),
        )
    hass.config_entries.async_update_entry(entry, options=options, minor_version=OPTIONS_VERSION)
    LOGGER.info("Migrated %s to options version %s", entry.title, OPTIONS_VERSION)
    return True
