"""Where the insights are told: notify entities and a persistent notification.

- Findings: after an update that found some, one message to the meter's targets.
- Weekly report: one message per ISO week for every meter of this Home Assistant together
  (a multi-site report with their total), sent once each meter whose insights are on has
  submitted its week (complete, or incomplete after its grace time). The weeks submitted and
  sent are saved (`linky.insights_reports`): a restart neither sends a week twice nor loses
  one submitted before it.

The targets are those chosen in the options of each meter (`notify.*` entities, and a
persistent notification if wanted); a failing target is logged and never stops the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from homeassistant.components import persistent_notification
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.start import async_at_started
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from ..analytics.anomalies import Finding
from ..analytics.insights import REPORT_GRACE
from ..analytics.report_text import finding_text, render
from ..analytics.weekly import IsoWeek, MeterWeek, WeeklyReport
from ..const import DOMAIN, LOGGER
from ..options import WEEKLY_REPORT, InsightsOptions

HUB_PATIENCE: Final = REPORT_GRACE + timedelta(days=1)
"""How long after a week's end the weekly message waits for a meter that has not
submitted it (its import is stuck), before it is sent without it."""
STORAGE_KEY: Final = f"{DOMAIN}.insights_reports"
STORAGE_VERSION: Final = 1
WEEKS_KEPT: Final = 8
DATA_HUB: HassKey[ReportHub] = HassKey(f"{DOMAIN}_report_hub")


@dataclass(frozen=True, slots=True)
class Targets:
    """Where a meter's insights are told."""

    notify_entities: tuple[str, ...] = ()
    persistent: bool = False

    @classmethod
    def of(cls, options: InsightsOptions) -> Targets:
        """The targets chosen in the options."""
        return cls(options.notify_entities, options.persistent_notification)

    @classmethod
    def union(cls, targets: Iterable[Targets]) -> Targets:
        """Every target of several meters, each once."""
        entities: dict[str, None] = {}
        persistent = False
        for target in targets:
            entities |= dict.fromkeys(target.notify_entities)
            persistent = persistent or target.persistent
        return cls(tuple(entities), persistent)

    @property
    def empty(self) -> bool:
        """Whether nothing is to be told."""
        return not self.notify_entities and not self.persistent


async def async_tell(
    hass: HomeAssistant, targets: Targets, title: str, message: str, notification_id: str
) -> None:
    """Send one message to every target."""
    if targets.persistent:
        persistent_notification.async_create(hass, message, title, notification_id)
    for entity_id in targets.notify_entities:
        try:
            async with asyncio.timeout(30):
                await hass.services.async_call(
                    "notify",
                    "send_message",
                    {"entity_id": entity_id, "title": title, "message": message},
                    blocking=True,
                )
        except (HomeAssistantError, TimeoutError) as err:
            LOGGER.warning("Could not send the Linky insights to %s: %s", entity_id, err)


async def async_tell_findings(
    hass: HomeAssistant, pdl: str, name: str, targets: Targets, findings: Sequence[Finding]
) -> None:
    """One message with the new findings of a meter (`name`: the entry's title)."""
    if targets.empty or not findings:
        return
    language = hass.config.language
    title = f"{name} : alerte" if language.startswith("fr") else f"{name}: alert"
    message = "\n".join(f"- {finding_text(finding, language)}" for finding in findings)
    await async_tell(hass, targets, title, message, f"{DOMAIN}_findings_{pdl}")


class ReportHub:
    """Gathers the meters' weeks and sends one weekly message (see the module docstring)."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        self._store: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, STORAGE_KEY)
        self._lock = asyncio.Lock()
        self._loaded = False
        self.sent: set[IsoWeek] = set()
        self.weeks: dict[IsoWeek, dict[str, dict[str, Any]]] = {}
        """Per week, the submitted meter weeks (as dicts) by entry id."""
        self._members: dict[str, Targets] = {}
        self._names: dict[str, str] = {}
        """The meters' names (the entries' titles) by PDL, for the message."""
        self._waiting_start = False

    def join(self, entry_id: str, targets: Targets, pdl: str, name: str) -> None:
        """A meter whose weekly report is on (its week is awaited)."""
        self._members[entry_id] = targets
        self._names[pdl] = name

    def leave(self, entry_id: str) -> None:
        """The meter unloads: its week is no longer awaited."""
        self._members.pop(entry_id, None)

    async def async_submit(self, entry_id: str, meter_week: MeterWeek) -> None:
        """A meter's week is ready: send the weekly message if every meter's is."""
        async with self._lock:
            await self._async_load()
            week = meter_week.week
            if week not in self.sent:
                self.weeks.setdefault(week, {})[entry_id] = meter_week.as_dict()
            await self._async_send_ready()
            await self._async_save()

    async def async_poll(self) -> None:
        """Send the weeks some meter never submitted (it is stuck: no import runs) once
        their patience is over; called after each update of any meter's insights."""
        async with self._lock:
            await self._async_load()
            if self.weeks and await self._async_send_ready():
                await self._async_save()

    async def _async_started(self, _hass: HomeAssistant) -> None:
        async with self._lock:
            if await self._async_send_ready():
                await self._async_save()

    async def _async_send_ready(self) -> bool:
        """Send the weeks that are ready; whether any was."""
        if not self.hass.is_running:
            # The other meters may not have joined yet: decide once Home Assistant started.
            if not self._waiting_start:
                self._waiting_start = True
                async_at_started(self.hass, self._async_started)
            return False
        sent = False
        for week in sorted(self.weeks):
            sent = await self._async_send_if_ready(week) or sent
        return sent

    async def _async_send_if_ready(self, week: IsoWeek) -> bool:
        submitted = self.weeks.get(week, {})
        waiting = [entry_id for entry_id in self._members if entry_id not in submitted]
        patience_over = dt_util.utcnow() >= week.bounds()[1] + HUB_PATIENCE
        if not submitted or (waiting and not patience_over):
            return False
        report = WeeklyReport(week, tuple(MeterWeek.from_dict(data) for data in submitted.values()))
        self.sent.add(week)
        self.weeks.pop(week, None)
        targets = Targets.union(
            self._members[entry_id] for entry_id in submitted if entry_id in self._members
        )
        if not targets.empty:
            title, message = render(report, self.hass.config.language, self._names)
            await async_tell(self.hass, targets, title, message, f"{DOMAIN}_{WEEKLY_REPORT}")
        return True

    async def _async_load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        saved = await self._store.async_load() or {}
        try:
            self.sent = {IsoWeek.parse(text) for text in saved.get("sent", [])}
            self.weeks = {
                IsoWeek.parse(text): dict(meters)
                for text, meters in (saved.get("weeks") or {}).items()
            }
        except (AttributeError, TypeError, ValueError) as err:
            LOGGER.warning("Saved weekly reports are unreadable (%s)", err)
            self.sent, self.weeks = set(), {}

    async def _async_save(self) -> None:
        latest = sorted(self.sent | set(self.weeks))[-WEEKS_KEPT:]
        self.sent = {week for week in self.sent if week in latest}
        self.weeks = {week: meters for week, meters in self.weeks.items() if week in latest}
        await self._store.async_save(
            {
                "sent": sorted(str(week) for week in self.sent),
                "weeks": {str(week): meters for week, meters in sorted(self.weeks.items())},
            }
        )


def async_get_hub(hass: HomeAssistant) -> ReportHub:
    """The instance's report hub."""
    if (hub := hass.data.get(DATA_HUB)) is None:
        hub = hass.data[DATA_HUB] = ReportHub(hass)
    return hub
