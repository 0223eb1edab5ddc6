"""Base entities of the Linky integration: one device (a Conso API service) per meter.

Every entity's unique id is `<pdl>_<description key>`; it belongs to the meter's device.
Three bases, by what the entity follows: the meter coordinator's snapshot (`LinkyEntity`),
load shedding's evaluations (`LinkySheddingEntity`), or a derived part's updates
(`LinkyPartEntity`).
"""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import CONSENT_URL, DOMAIN
from .coordinator import LinkyCoordinator
from .runtime.derived import DerivedPart
from .runtime.shedding import LoadShedding


def meter_device(pdl: str) -> DeviceInfo:
    """The device of a meter."""
    return DeviceInfo(
        identifiers={(DOMAIN, pdl)},
        name=f"Linky {pdl}",
        manufacturer="Enedis",
        model="Linky",
        entry_type=DeviceEntryType.SERVICE,
        configuration_url=CONSENT_URL,
    )


class LinkyEntity(CoordinatorEntity[LinkyCoordinator]):
    """An entity of one meter, named after its description's translation key."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: LinkyCoordinator, description: EntityDescription) -> None:
        """Bind the entity to its meter's coordinator and device."""
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = f"{coordinator.pdl}_{description.key}"
        self._attr_device_info = meter_device(coordinator.pdl)


class _FollowingEntity(Entity):
    """An entity updated by a callback registration of what it shows."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, pdl: str, description: EntityDescription) -> None:
        self.entity_description = description
        self._attr_unique_id = f"{pdl}_{description.key}"
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, pdl)})


class LinkySheddingEntity(_FollowingEntity):
    """An entity of a meter's load shedding, updated after each of its evaluations."""

    def __init__(self, shedding: LoadShedding, description: EntityDescription) -> None:
        """Bind the entity to the meter's load-shedding runtime and device."""
        super().__init__(shedding.pdl, description)
        self.shedding = shedding

    async def async_added_to_hass(self) -> None:
        """Follow the runtime's evaluations."""
        await super().async_added_to_hass()
        self.async_on_remove(self.shedding.async_add_listener(self.async_write_ha_state))


class LinkyPartEntity[P: DerivedPart](_FollowingEntity):
    """An entity showing a derived part's figures, updated after each of its updates."""

    def __init__(self, part: P, description: EntityDescription) -> None:
        """Bind the entity to the part and the meter's device."""
        super().__init__(part.pdl, description)
        self.part = part

    async def async_added_to_hass(self) -> None:
        """Follow the part's updates."""
        await super().async_added_to_hass()
        self.async_on_remove(self.part.async_add_listener(self.async_write_ha_state))
