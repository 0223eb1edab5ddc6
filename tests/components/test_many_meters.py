"""Many meters on one instance, through the emulator over 127.0.0.1 (issue 15).

At the lowest cap (20 requests per 12 hours) the fleet scheduler keeps (20 - 5) x 14/15
= 14 consumption meters fresh (`sync/capacity.py`). With 15 meters on the same host:

- the request budget sensor of each meter says so (meters, meters kept fresh, the max power
  cadence), and so do the diagnostics;
- a repair issue explains what to do, and goes away when a meter is deleted;
- two and a half days of scheduled runs (every meter new: its first import first) never
  exceed the cap in any rolling 12 hours, ask for each meter's max power at most once, and
  every meter has the 21st by the evening of the 22nd (if the emulator published it: it
  leaves a few days out, as Enedis does).
"""

from __future__ import annotations

from datetime import date, timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from conso_emulator import Emulator
from conso_emulator.meters import Meter
from custom_components.linky.const import (
    CONF_DAILY_HISTORY_MONTHS,
    CONF_HOURLY_HISTORY_MONTHS,
    CONF_REQUEST_CAP,
    DOMAIN,
    ISSUE_TOO_MANY_METERS,
)
from custom_components.linky.coordinator import LinkyCoordinator

from .helpers import meter_entry, setup_integration

NOW = "2026-11-20 09:30:00+01:00"
PDLS = [f"3000000000{k:04d}" for k in range(15)]
MAX_POWER = "puissance_conso_max_quotidienne"


def _entry(emulator: Emulator, url: str, pdl: str) -> MockConfigEntry:
    emulator.add_meter(Meter(pdl, profile="base"))
    return meter_entry(
        emulator,
        url,
        pdl,
        **{CONF_REQUEST_CAP: 20, CONF_DAILY_HISTORY_MONTHS: 1, CONF_HOURLY_HISTORY_MONTHS: 0},
    )


def _budget_attributes(hass: HomeAssistant, pdl: str) -> dict[str, object]:
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{pdl}_request_budget")
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    return dict(state.attributes)


def _fleet_issues(hass: HomeAssistant) -> list[ir.IssueEntry]:
    return [
        issue
        for (domain, issue_id), issue in ir.async_get(hass).issues.items()
        if domain == DOMAIN and issue_id.startswith(ISSUE_TOO_MANY_METERS)
    ]


@pytest.mark.freeze_time(NOW)
async def test_more_meters_than_the_cap_keeps_fresh(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    emulator_url: str,
    entity_registry_enabled_by_default: None,
) -> None:
    entries = [_entry(emulator, emulator_url, pdl) for pdl in PDLS]
    coordinators: list[LinkyCoordinator] = []
    for entry in entries[:14]:
        coordinators.append(await setup_integration(hass, entry))
    assert _fleet_issues(hass) == [], "14 meters fit cap 20"
    coordinators.append(await setup_integration(hass, entries[14]))

    (issue,) = _fleet_issues(hass)
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["meters"] == "15"
    assert issue.translation_placeholders["capacity"] == "14"
    assert issue.translation_placeholders["cap"] == "20"
    assert issue.severity is ir.IssueSeverity.WARNING
    attributes = _budget_attributes(hass, PDLS[0])
    assert attributes["cap"] == 20
    assert attributes["meters"] == 15
    assert attributes["meters_kept_fresh"] == 14
    assert attributes["max_power_every_days"] == 7
    assert attributes["over_capacity"] is True

    # Scheduled runs until the evening of the 22nd.
    sent_before = len(emulator.requests)
    for _ in range(int(58.5 * 4)):
        freezer.tick(timedelta(minutes=15))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
    times = sorted(record.time for record in emulator.requests)
    for index, first in enumerate(times):
        assert len([t for t in times[index:] if t < first + timedelta(hours=12)]) <= 20
    later = emulator.requests[sent_before:]
    max_power = [record for record in later if record.type == MAX_POWER]
    assert len(max_power) <= len(PDLS), "each meter's max power once (weekly)"
    for coordinator in coordinators:
        assert coordinator.sync is not None
        day = date(2026, 11, 21)
        published = emulator.truth.is_published(coordinator.pdl, day)
        assert coordinator.sync.has_day("consumption", day) is published, (coordinator.pdl, day)

    # One meter deleted: the 14 others fit, the issue goes.
    assert await hass.config_entries.async_remove(entries[14].entry_id)
    await hass.async_block_till_done()
    assert _fleet_issues(hass) == []
