"""Every repair issue of the integration (what the user must fix), and the fix flows.

- `ip_banned` (error, fixable): Conso API blocked this IP; polling stops for every meter
  until the user confirms the block is lifted (the fix flow clears it and reloads entries).
- `consent_revoked_<pdl>` (error): Enedis has no consent for the meter any more.
- `hourly_collection_disabled_<pdl>_<series>` (warning): the load curve is not collected.
- `consent_expiring_<pdl>` (warning): the token expires within 30 days.
- `adopt_history_<entry_id>` (warning, fixable): another Linky tool's statistics exist for
  the meter; the fix flow shows what adopting them would write, adopts them and, if asked,
  switches the Energy dashboard (`runtime/adopt.py`). Raised at set-up, gone once adopted.
- `too_many_meters_<host key>` (warning): more meters use one Conso API host than its
  request limit keeps fresh (`sync/capacity.py`); raise the limit or accept a slower
  refresh. Updated once per host when a meter is set up, unloaded or deleted.

Issues are raised and cleared from the meter's saved state (`async_update_meter_issues`) at
start, after each run and at midnight, so they survive a restart and go away by themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
import hashlib

from homeassistant.components.repairs import ConfirmRepairFlow, RepairsFlow, RepairsFlowResult
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import probatio as vol

from .const import (
    CONF_BASE_URL,
    CONF_PDL,
    CONSENT_EXPIRY_WARNING_DAYS,
    CONSENT_URL,
    DOMAIN,
    ISSUE_ADOPT,
    ISSUE_BANNED,
    ISSUE_CONSENT_EXPIRING,
    ISSUE_CONSENT_REVOKED,
    ISSUE_HOURLY_COLLECTION,
    ISSUE_TOO_MANY_METERS,
    MAX_REQUEST_CAP,
)
from .instance import api_host, async_set_banned
from .sync.capacity import FleetPlan

ATTR_SWITCH_ENERGY = "switch_energy_dashboard"
LEARN_MORE_URL = "https://github.com/linky-ha/linky#troubleshooting"


@callback
def _async_issue(
    hass: HomeAssistant,
    issue_id: str,
    *,
    active: bool,
    key: str,
    severity: ir.IssueSeverity,
    placeholders: dict[str, str] | None = None,
    data: dict[str, str | int | float | None] | None = None,
) -> None:
    """Create the issue when `active`, else delete it."""
    if not active:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=key in (ISSUE_BANNED, ISSUE_ADOPT),
        data=data,
        is_persistent=False,
        severity=severity,
        translation_key=key,
        translation_placeholders=placeholders,
        learn_more_url=LEARN_MORE_URL,
    )


def _placeholders(entry: ConfigEntry, pdl: str, expires: datetime | None) -> dict[str, str]:
    return {
        "pdl": pdl,
        "title": entry.title,
        "expires": expires.date().isoformat() if expires else "",
    }


@callback
def async_update_meter_issues(
    hass: HomeAssistant,
    entry: ConfigEntry,
    pdl: str,
    *,
    series: Iterable[str],
    curve_unavailable: Iterable[str],
    consent_expires: datetime | None,
) -> None:
    """The issues that follow from a meter's saved state: hourly collection disabled at
    Enedis (per series) and the consent expiring soon."""
    placeholders = _placeholders(entry, pdl, consent_expires)
    unavailable = set(curve_unavailable)
    for name in series:
        _async_issue(
            hass,
            f"{ISSUE_HOURLY_COLLECTION}_{pdl}_{name}",
            active=name in unavailable,
            key=ISSUE_HOURLY_COLLECTION,
            severity=ir.IssueSeverity.WARNING,
            placeholders=placeholders,
        )
    _async_issue(
        hass,
        f"{ISSUE_CONSENT_EXPIRING}_{pdl}",
        active=consent_expires is not None
        and consent_expires - dt_util.utcnow() < timedelta(days=CONSENT_EXPIRY_WARNING_DAYS),
        key=ISSUE_CONSENT_EXPIRING,
        severity=ir.IssueSeverity.WARNING,
        placeholders=placeholders,
    )


@callback
def async_update_fleet_issue(hass: HomeAssistant, base_url: str, plan: FleetPlan | None) -> None:
    """Raise (or clear) the issue of an API host with more meters than its cap keeps fresh
    (`plan` None: no meter uses the host any more)."""
    host = api_host(base_url)
    key = hashlib.sha256(host.encode()).hexdigest()[:12]
    _async_issue(
        hass,
        f"{ISSUE_TOO_MANY_METERS}_{key}",
        active=plan is not None and plan.over_capacity,
        key=ISSUE_TOO_MANY_METERS,
        severity=ir.IssueSeverity.WARNING,
        placeholders=None
        if plan is None
        else {
            "host": host,
            "meters": str(plan.meters),
            "capacity": str(plan.capacity),
            "cap": str(plan.cap),
            "max_cap": str(MAX_REQUEST_CAP),
        },
    )


@callback
def async_set_consent_revoked(
    hass: HomeAssistant, entry: ConfigEntry, pdl: str, revoked: bool
) -> None:
    """Raise (or clear) the issue of a meter whose consent Enedis no longer has."""
    _async_issue(
        hass,
        f"{ISSUE_CONSENT_REVOKED}_{pdl}",
        active=revoked,
        key=ISSUE_CONSENT_REVOKED,
        severity=ir.IssueSeverity.ERROR,
        placeholders=_placeholders(entry, pdl, None),
    )


async def async_report_banned(hass: HomeAssistant, entry: ConfigEntry, pdl: str) -> None:
    """Conso API blocked this IP: stop polling its URL and tell the user."""
    await async_set_banned(hass, entry.data[CONF_BASE_URL], True)
    _async_issue(
        hass,
        ISSUE_BANNED,
        active=True,
        key=ISSUE_BANNED,
        severity=ir.IssueSeverity.ERROR,
        placeholders=_placeholders(entry, pdl, None),
    )


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
                description_placeholders={"url": CONSENT_URL},
            )
        entries = self.hass.config_entries.async_entries(DOMAIN)
        for base_url in {url for entry in entries if (url := entry.data.get(CONF_BASE_URL))}:
            await async_set_banned(self.hass, base_url, False)
        for entry in entries:
            if entry.state is ConfigEntryState.LOADED:
                self.hass.config_entries.async_schedule_reload(entry.entry_id)
        return self.async_create_entry(data={})


@callback
def async_set_adoption_offer(
    hass: HomeAssistant, entry: ConfigEntry, pdl: str, sources: list[str]
) -> None:
    """Offer to adopt `sources` (none: withdraw the offer)."""
    _async_issue(
        hass,
        f"{ISSUE_ADOPT}_{entry.entry_id}",
        active=bool(sources),
        key=ISSUE_ADOPT,
        severity=ir.IssueSeverity.WARNING,
        placeholders={"pdl": pdl, "title": entry.title, "sources": ", ".join(sources)},
        data={"entry_id": entry.entry_id},
    )


class AdoptRepairFlow(RepairsFlow):
    """Show what adopting another tool's statistics would write, then adopt them."""

    def __init__(self, entry_id: str) -> None:
        self.entry_id = entry_id

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """Start with the preview."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, bool] | None = None
    ) -> RepairsFlowResult:
        """The preview; on confirmation, adopt (and switch the Energy dashboard if asked)."""
        from .runtime.adopt import MODE_ADOPT, MODE_PREVIEW, async_adopt_history  # noqa: PLC0415

        entry = self.hass.config_entries.async_get_entry(self.entry_id)
        if entry is None or entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="entry_not_loaded")
        mode = MODE_PREVIEW if user_input is None else MODE_ADOPT
        switch = bool(user_input and user_input.get(ATTR_SWITCH_ENERGY))
        try:
            result = await async_adopt_history(self.hass, entry, mode, {}, switch)
        except ServiceValidationError as err:  # e.g. the series was removed, or not energy
            return self.async_abort(
                reason="adopt_failed", description_placeholders={"error": str(err)}
            )
        if user_input is not None:
            return self.async_create_entry(data={})
        lines = [
            f"- {item['sources'][0]} → {item['statistic_id']}: {item['days']} "
            f"({item['first_day'] or '-'} … {item['last_day'] or '-'}), {item['kwh']} kWh"
            for item in result["series"]
        ]
        changes = [f"- {c['from']} → {c['to']}" for c in result["energy_dashboard"]]
        return self.async_show_form(
            step_id="confirm",
            data_schema=vol.Schema({vol.Optional(ATTR_SWITCH_ENERGY, default=bool(changes)): bool}),
            description_placeholders={
                "pdl": entry.data[CONF_PDL],
                "sources": ", ".join(src for item in result["series"] for src in item["sources"]),
                "series": "\n".join(lines),
                "energy": "\n".join(changes) or "-",
            },
        )


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """The fix flow of a fixable issue (the IP block, adopting another tool's history)."""
    if issue_id == ISSUE_BANNED:
        return BannedRepairFlow()
    if issue_id.startswith(ISSUE_ADOPT) and data and isinstance(data.get("entry_id"), str):
        return AdoptRepairFlow(str(data["entry_id"]))
    return ConfirmRepairFlow()
