"""Repair issues and the IP-block fix flow, and the texts users read (issues, exceptions)."""

from __future__ import annotations

from datetime import datetime, timedelta
from http import HTTPStatus
import json
from pathlib import Path
import re

from freezegun.api import FrozenDateTimeFactory
from homeassistant.auth.models import Credentials
from homeassistant.components.repairs import ConfirmRepairFlow
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    CLIENT_ID,
    MockConfigEntry,
    MockUser,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from conso_emulator import HOME_PDL, NO_CURVE_PDL, Emulator
from custom_components.linky.const import (
    CONF_BASE_URL,
    CONF_PDL,
    CONF_TOKEN,
    CONSENT_URL,
    DOMAIN,
    ISSUE_ADOPT,
    ISSUE_BANNED,
    ISSUE_CONSENT_EXPIRING,
    ISSUE_CONSENT_REVOKED,
    ISSUE_HOURLY_COLLECTION,
    ISSUE_TOO_MANY_METERS,
)
from custom_components.linky.coordinator import LinkyCoordinator
from custom_components.linky.repairs import BannedRepairFlow, async_create_fix_flow

from .helpers import setup_integration

NOW = "2026-11-20 09:30:00+01:00"
INTEGRATION = Path(__file__).parents[2] / "custom_components" / DOMAIN
ISSUE_PLACEHOLDERS = {"pdl", "title", "expires"}  # what the coordinator passes


def _entry(emulator: Emulator, url: str, pdl: str, **token_args: datetime) -> MockConfigEntry:
    token = emulator.mint_token(
        [pdl], issued_at=datetime(2026, 1, 1, tzinfo=dt_util.UTC), **token_args
    )
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Linky {pdl}",
        unique_id=pdl,
        data={CONF_TOKEN: token, CONF_PDL: pdl, CONF_BASE_URL: url},
    )


def _translations(language: str) -> dict:
    return json.loads((INTEGRATION / "translations" / f"{language}.json").read_text())


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


@pytest.mark.freeze_time(NOW)
async def test_ban_stops_polling_until_the_user_confirms(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_admin_user: MockUser,
    hass_admin_credential: Credentials,
    freezer: FrozenDateTimeFactory,
    emulator: Emulator,
    config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """A Cloudflare ban raises a fixable issue and stops every request; confirming in the
    repair flow clears the ban, reloads the entry and the import runs."""
    emulator.ban_after(0)
    coordinator = await setup_integration(hass, config_entry)

    issue = issue_registry.async_get_issue(DOMAIN, ISSUE_BANNED)
    assert issue is not None
    assert issue.is_fixable
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_key == ISSUE_BANNED
    assert coordinator.api.banned_at is not None
    assert coordinator.next_run is None
    sent = len(emulator.requests)
    assert sent == 1

    # Days pass: not a single request while banned.
    freezer.move_to("2026-11-22 09:30:00+01:00")
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(emulator.requests) == sent

    emulator.ban_after(None)  # the service lifted the block
    assert await async_setup_component(hass, "repairs", {})
    # A fresh access token: the fixture's one expired while the days passed.
    refresh_token = await hass.auth.async_create_refresh_token(
        hass_admin_user, CLIENT_ID, credential=hass_admin_credential
    )
    client = await hass_client(hass.auth.async_create_access_token(refresh_token))
    response = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": ISSUE_BANNED}
    )
    assert response.status == HTTPStatus.OK
    form = await response.json()
    assert form["type"] == "form"
    assert form["step_id"] == "confirm"
    assert form["description_placeholders"] == {"url": CONSENT_URL}
    # Nothing happens until the user confirms.
    assert coordinator.api.banned_at is not None

    response = await client.post(f"/api/repairs/issues/fix/{form['flow_id']}", json={})
    assert response.status == HTTPStatus.OK
    assert (await response.json())["type"] == "create_entry"
    await hass.async_block_till_done(wait_background_tasks=True)

    assert issue_registry.async_get_issue(DOMAIN, ISSUE_BANNED) is None
    assert config_entry.state is ConfigEntryState.LOADED
    reloaded: LinkyCoordinator = config_entry.runtime_data.coordinator
    assert reloaded is not coordinator
    assert reloaded.api.banned_at is None
    assert len(emulator.requests) > sent  # the first import ran
    entity_id = entity_registry.async_get_entity_id(
        "sensor", DOMAIN, f"{HOME_PDL}_consumption_yesterday"
    )
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    assert float(state.state) > 0
    assert reloaded.next_run is not None


async def test_only_the_ban_has_a_fix_flow(hass: HomeAssistant) -> None:
    """The ban gets its own flow; any other fixable issue a plain confirmation."""
    assert isinstance(await async_create_fix_flow(hass, ISSUE_BANNED, None), BannedRepairFlow)
    assert type(await async_create_fix_flow(hass, "other", None)) is ConfirmRepairFlow


@pytest.mark.freeze_time(NOW)
async def test_consent_revoked_issue(
    hass: HomeAssistant,
    emulator: Emulator,
    config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """ADAM-DC-0008 raises the consent issue (with the meter's placeholders) and a reauth."""
    emulator.meters[HOME_PDL].consent = False
    await setup_integration(hass, config_entry)

    issue = issue_registry.async_get_issue(DOMAIN, f"{ISSUE_CONSENT_REVOKED}_{HOME_PDL}")
    assert issue is not None
    assert issue.translation_key == ISSUE_CONSENT_REVOKED
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["pdl"] == HOME_PDL
    assert issue.translation_placeholders["title"] == config_entry.title
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


@pytest.mark.freeze_time(NOW)
async def test_hourly_collection_issue(
    hass: HomeAssistant,
    emulator: Emulator,
    emulator_url: str,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A meter without load curve (daily data only) raises the hourly collection issue."""
    await setup_integration(hass, _entry(emulator, emulator_url, NO_CURVE_PDL))

    issue = issue_registry.async_get_issue(
        DOMAIN, f"{ISSUE_HOURLY_COLLECTION}_{NO_CURVE_PDL}_consumption"
    )
    assert issue is not None
    assert issue.translation_key == ISSUE_HOURLY_COLLECTION
    assert issue.severity is ir.IssueSeverity.WARNING
    assert not issue.is_fixable


@pytest.mark.freeze_time(NOW)
async def test_consent_expiring_issue(
    hass: HomeAssistant,
    emulator: Emulator,
    emulator_url: str,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A token expiring within 30 days raises the renewal issue with its date."""
    expires = dt_util.utcnow() + timedelta(days=10)
    await setup_integration(hass, _entry(emulator, emulator_url, HOME_PDL, expires_at=expires))

    issue = issue_registry.async_get_issue(DOMAIN, f"{ISSUE_CONSENT_EXPIRING}_{HOME_PDL}")
    assert issue is not None
    assert issue.translation_key == ISSUE_CONSENT_EXPIRING
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["expires"] == expires.date().isoformat()


@pytest.mark.parametrize(
    ("token_args", "key"),
    [
        ({"expires_at": datetime(2026, 11, 1, tzinfo=dt_util.UTC)}, "token_expired"),
        (None, "invalid_token"),
    ],
)
@pytest.mark.freeze_time(NOW)
async def test_setup_errors_are_translated(
    hass: HomeAssistant,
    emulator: Emulator,
    emulator_url: str,
    token_args: dict[str, datetime] | None,
    key: str,
) -> None:
    """A token that cannot work stops setup with the translated message and a reauth."""
    entry = _entry(emulator, emulator_url, HOME_PDL, **(token_args or {}))
    if token_args is None:
        entry = MockConfigEntry(
            domain=DOMAIN,
            unique_id=HOME_PDL,
            data={**entry.data, CONF_TOKEN: "not-a-token"},
        )
    entry.add_to_hass(hass)

    assert not await hass.config_entries.async_setup(entry.entry_id)

    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.error_reason_translation_key == key
    # Home Assistant drops the final period of exception messages.
    assert entry.reason == _translations("en")["exceptions"][key]["message"].rstrip(".")
    assert not emulator.requests


@pytest.mark.parametrize("language", ["en", "fr"])
def test_issue_and_exception_texts(language: str) -> None:
    """Every issue the integration raises has a title and a description (the fix flow's for
    the ban) using only the placeholders it is given, in English and French alike."""
    texts = _translations(language)
    english = _translations("en")
    issues = texts["issues"]
    assert set(issues) == {
        ISSUE_ADOPT,
        ISSUE_BANNED,
        ISSUE_CONSENT_EXPIRING,
        ISSUE_CONSENT_REVOKED,
        ISSUE_HOURLY_COLLECTION,
        ISSUE_TOO_MANY_METERS,
    }
    flow_placeholders = {
        ISSUE_BANNED: {"url"},
        ISSUE_ADOPT: {"pdl", "sources", "series", "energy"},
        ISSUE_TOO_MANY_METERS: {"host", "meters", "capacity", "cap", "max_cap"},
    }
    fix_flows = {ISSUE_BANNED, ISSUE_ADOPT}
    for key, issue in issues.items():
        step = issue["fix_flow"]["step"]["confirm"] if key in fix_flows else issue
        allowed = flow_placeholders.get(key, ISSUE_PLACEHOLDERS)
        assert issue["title"]
        assert step["description"]
        assert _placeholders(issue["title"] + step["description"]) <= allowed
        english_issue = english["issues"][key]
        english_step = (
            english_issue["fix_flow"]["step"]["confirm"] if key in fix_flows else english_issue
        )
        assert _placeholders(step["description"]) == _placeholders(english_step["description"])
    assert (
        "Enregistrement de la consommation horaire"
        in issues[ISSUE_HOURLY_COLLECTION]["description"]
    )
    assert "Collecte de la consommation horaire" in issues[ISSUE_HOURLY_COLLECTION]["description"]
    assert "ADAM-DC-0008" in issues[ISSUE_CONSENT_REVOKED]["description"]
    assert set(texts["exceptions"]) >= {"invalid_token", "token_expired"}
    assert all(value["message"] for value in texts["exceptions"].values())
