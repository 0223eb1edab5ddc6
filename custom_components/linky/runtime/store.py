"""The Store files of one entry: `linky.<entry_id>` (what the sync engine remembers) and
`linky.<entry_id>.<part>` (each part's own state: costs, self-consumption, shedding...)."""

from __future__ import annotations

from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from ..const import DOMAIN

STORAGE_VERSION: Final = 1


def entry_store(
    hass: HomeAssistant, entry_id: str, part: str | None = None
) -> Store[dict[str, Any]]:
    """The Store of an entry (`part` None: the sync state) or of one of its parts."""
    key = f"{DOMAIN}.{entry_id}" if part is None else f"{DOMAIN}.{entry_id}.{part}"
    return Store(hass, STORAGE_VERSION, key)
