"""Conso API clients bound to this Home Assistant instance.

Every client made here uses HA's shared aiohttp session and the instance-wide request budget
of its base URL (see `budgets.py`), so all requests of all meters count against one cap.
"""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.loader import async_get_integration

from .budgets import async_get_service_state
from .conso import ConsoApiClient
from .const import DOMAIN, MAX_REQUEST_CAP

PROJECT_URL = "https://github.com/linky-ha/linky"


async def async_user_agent(hass: HomeAssistant) -> str:
    """The User-Agent Conso API asks public apps to send: `linky-ha/<version> (+<url>)`."""
    integration = await async_get_integration(hass, DOMAIN)
    return f"linky-ha/{integration.version} (+{PROJECT_URL})"


async def async_create_client(
    hass: HomeAssistant, token: str, base_url: str, *, cap: int = MAX_REQUEST_CAP
) -> ConsoApiClient:
    """A client for `base_url` using the shared budget of that URL (whose cap is the lowest
    configured by any entry for that URL, and at most `cap`)."""
    state = await async_get_service_state(hass, base_url, cap)
    return ConsoApiClient(
        async_get_clientsession(hass),
        token,
        base_url=base_url,
        budget=state.budget,
        user_agent=await async_user_agent(hass),
    )
