"""The insights event entity of a meter: one event per finding and per weekly report.

Event types (stable, for automations and the blueprint): `weekly_report`, `baseload_high`,
`baseload_drift`, `unusual_day`, `threshold_exceeded`; the figures are in the event data.
Each is fired once: the insights part keeps what it told, and holds the events found before
this entity exists (at start) until it does.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import LinkyPartEntity
from .options import INSIGHT_KINDS
from .runtime import LinkyConfigEntry
from .runtime.insights import InsightsPart

PARALLEL_UPDATES = 0

INSIGHTS = EventEntityDescription(
    key="insights", translation_key="insights", event_types=list(INSIGHT_KINDS)
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: LinkyConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the insights event entity when the insights are on."""
    async_add_entities(
        InsightsEvent(part, INSIGHTS)
        for part in entry.runtime_data.derived
        if isinstance(part, InsightsPart)
    )


class InsightsEvent(LinkyPartEntity[InsightsPart], EventEntity):
    """Fires the findings and weekly reports of a meter's insights."""

    async def async_added_to_hass(self) -> None:
        """Receive the part's events (the held ones at once)."""
        await super().async_added_to_hass()
        self.async_on_remove(self.part.async_attach_events(self._async_fire))

    @callback
    def _async_fire(self, event_type: str, data: dict[str, Any]) -> None:
        self._trigger_event(event_type, data)
        self.async_write_ha_state()
