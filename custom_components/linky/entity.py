"""Base entity of the Linky integration: one device (a Conso API service) per meter."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import LinkyCoordinator
from .load_shedding import LoadShedding

CONFIGURATION_URL = "https://conso.boris.sh"


class LinkyEntity(CoordinatorEntity[LinkyCoordinator]):
    """An entity of one meter, named after its description's translation key."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: LinkyCoordinator, description: EntityDescription) -> None:
        """Bind the entity to its meter's coordinator and device."""
        super().__init__(coordinator)
        self.entity_description = description
        pdl = coordinator.pdl
        self._attr_unique_id = f"{pdl}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, pdl)},
            name=f"Linky {pdl}",
            manufacturer="Enedis",
            model="Linky",
            entry_type=DeviceEntryType.SERVICE,
            configuration_url=CONFIGURATION_URL,
        )


class LinkySheddingEntity(Entity):
    """An entity of a meter's load shedding, updated after each of its evaluations."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, shedding: LoadShedding, description: EntityDescription) -> None:
        """Bind the entity to the meter's load-shedding runtime and device."""
        self.shedding = shedding
        self.entity_description = description
        self._attr_unique_id = f"{shedding.pdl}_{description.key}"
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, shedding.pdl)})

    async def async_added_to_hass(self) -> None:
        """Follow the runtime's evaluations."""
        await super().async_added_to_hass()
        self.async_on_remove(self.shedding.async_add_listener(self.async_write_ha_state))
