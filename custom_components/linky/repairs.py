"""Repair flows: the user confirms that Conso API lifted the block of this IP address."""

from __future__ import annotations

from homeassistant.components.repairs import ConfirmRepairFlow, RepairsFlow, RepairsFlowResult
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import probatio as vol

from .budgets import async_set_banned
from .const import CONF_BASE_URL, DOMAIN, ISSUE_BANNED
from .entity import CONFIGURATION_URL


class BannedRepairFlow(RepairsFlow):
    """Confirm that the IP block is lifted, then resume polling for every meter."""

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """Start with the confirmation."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Explain the block; on confirmation clear it and reload the loaded entries."""
        if user_input is None:
            return self.async_show_form(
                step_id="confirm",
                data_schema=vol.Schema({}),
                description_placeholders={"url": CONFIGURATION_URL},
            )
        entries = self.hass.config_entries.async_entries(DOMAIN)
        for base_url in {url for entry in entries if (url := entry.data.get(CONF_BASE_URL))}:
            await async_set_banned(self.hass, base_url, False)
        for entry in entries:
            if entry.state is ConfigEntryState.LOADED:
                self.hass.config_entries.async_schedule_reload(entry.entry_id)
        return self.async_create_entry(data={})


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """The fix flow of a fixable issue (only the IP block is fixable)."""
    if issue_id == ISSUE_BANNED:
        return BannedRepairFlow()
    return ConfirmRepairFlow()
