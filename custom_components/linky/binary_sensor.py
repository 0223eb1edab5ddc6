"""Binary sensors of a meter's load shedding: the peak (with its reason) and, with a Tempo
source, the pre-heat window before a red Tempo day."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.components.binary_sensor import BinarySensorEntity, BinarySensorEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import LinkySheddingEntity
from .runtime import LinkyConfigEntry

PARALLEL_UPDATES = 0

PEAK = BinarySensorEntityDescription(key="peak", translation_key="peak")
PREHEAT = BinarySensorEntityDescription(key="preheat", translation_key="preheat")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: LinkyConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the peak sensor when load shedding is configured (and pre-heat with Tempo)."""
    shedding = entry.runtime_data.shedding
    if shedding is None:
        return
    entities: list[BinarySensorEntity] = [PeakBinarySensor(shedding, PEAK)]
    if shedding.tempo is not None:
        entities.append(PreheatBinarySensor(shedding, PREHEAT))
    async_add_entities(entities)


class PeakBinarySensor(LinkySheddingEntity, BinarySensorEntity):
    """On during a peak: tariff peak hours or live power above the subscribed share."""

    @property
    def is_on(self) -> bool:
        """Whether a peak is on."""
        return self.shedding.peak.active

    @property
    def extra_state_attributes(self) -> Mapping[str, Any]:
        """Why (`hp`, `tempo_red`, `power`...), since when, the next tariff change, the
        live power read (W)."""
        peak = self.shedding.peak
        change = self.shedding.next_change
        return {
            "reason": None if peak.reason is None else peak.reason.value,
            "since": None if peak.since is None else peak.since.isoformat(),
            "next_change": None if change is None else change.isoformat(),
            "power": self.shedding.power_w,
        }


class PreheatBinarySensor(LinkySheddingEntity, BinarySensorEntity):
    """On during the pre-heat window before a red Tempo day (06:00)."""

    @property
    def is_on(self) -> bool:
        """Whether to pre-heat now."""
        return self.shedding.preheat.active

    @property
    def extra_state_attributes(self) -> Mapping[str, Any]:
        """The Tempo day pre-heated for and the window (set as soon as it is known)."""
        preheat = self.shedding.preheat
        return {
            "tempo_day": None if preheat.tempo_day is None else preheat.tempo_day.isoformat(),
            "start": None if preheat.start is None else preheat.start.isoformat(),
            "end": None if preheat.end is None else preheat.end.isoformat(),
        }
