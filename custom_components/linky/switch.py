"""The switch that enables or disables a meter's load shedding (saved with the controller's
state, so it survives a restart)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import LinkySheddingEntity
from .runtime import LinkyConfigEntry

PARALLEL_UPDATES = 0

SHEDDING = SwitchEntityDescription(
    key="load_shedding", translation_key="load_shedding", entity_category=EntityCategory.CONFIG
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: LinkyConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the switch when load shedding is configured."""
    if (shedding := entry.runtime_data.shedding) is not None:
        async_add_entities([SheddingSwitch(shedding, SHEDDING)])


class SheddingSwitch(LinkySheddingEntity, SwitchEntity):
    """Off: every shed load is restored at once and nothing is shed; batteries idle."""

    @property
    def is_on(self) -> bool:
        """Whether shedding is enabled."""
        return self.shedding.enabled

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Enable shedding."""
        await self.shedding.async_set_enabled(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Disable shedding (restores every shed load)."""
        await self.shedding.async_set_enabled(False)
