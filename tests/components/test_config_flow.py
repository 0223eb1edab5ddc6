"""Config, reauth, reconfigure and options flows, against the Conso API emulator on 127.0.0.1.

Every submit that reaches the validation must send exactly ONE request to the emulator (the
daily consumption of the last seven days); every check that fails locally must send none.
Every error must then recover to a created (or updated) entry.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import date, datetime, timedelta
import json
import logging
from pathlib import Path
import re
import socket
from typing import Any
from unittest.mock import AsyncMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_USER, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData, section
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from conso_emulator import (
    HOME_PDL,
    NEW_PDL,
    PV_PDL,
    Emulator,
    EmulatorServer,
    Fault,
)
from custom_components.linky.config_flow import SECTION_ADVANCED
from custom_components.linky.conso import ConsoApiClient, ConsoApiConnectionError
from custom_components.linky.const import (
    CONF_BASE_URL,
    CONF_DAILY_HISTORY_MONTHS,
    CONF_HOURLY_HISTORY_MONTHS,
    CONF_PDL,
    CONF_PRODUCTION,
    CONF_PRODUCTION_PDL,
    CONF_REMOVE_STATISTICS,
    CONF_REQUEST_CAP,
    CONF_RETENTION_YEARS,
    CONF_TOKEN,
    DEFAULT_BASE_URL,
    DEFAULT_DAILY_HISTORY_MONTHS,
    DEFAULT_HOURLY_HISTORY_MONTHS,
    DEFAULT_REQUEST_CAP,
    DOMAIN,
    MAX_REQUEST_CAP,
)
from custom_components.linky.instance import (
    API_STORAGE_KEY as STORAGE_KEY,
    STORAGE_VERSION,
    async_create_client,
    async_get_api_state,
    async_set_banned,
    async_user_agent,
)

PARIS_TZ = "Europe/Paris"
NOW = datetime(2026, 11, 20, 9, 34, 12, tzinfo=dt_util.UTC)
TODAY = date(2026, 11, 20)
DAILY = "consommation_quotidienne"
TRANSLATIONS_DIR = Path(__file__).parents[2] / "custom_components" / "linky" / "translations"
STRINGS: dict[str, dict[str, Any]] = {
    lang: json.loads((TRANSLATIONS_DIR / f"{lang}.json").read_text("utf-8"))
    for lang in ("en", "fr")
}
DEFAULT_OPTIONS = {
    CONF_PRODUCTION: False,
    CONF_PRODUCTION_PDL: HOME_PDL,
    CONF_DAILY_HISTORY_MONTHS: DEFAULT_DAILY_HISTORY_MONTHS,
    CONF_HOURLY_HISTORY_MONTHS: DEFAULT_HOURLY_HISTORY_MONTHS,
    CONF_REQUEST_CAP: DEFAULT_REQUEST_CAP,
    CONF_REMOVE_STATISTICS: False,
    CONF_RETENTION_YEARS: 0,
}


# --- fixtures and helpers -----------------------------------------------------------------


@pytest.fixture(autouse=True)
def frozen_now(freezer: FrozenDateTimeFactory) -> FrozenDateTimeFactory:
    """Every test runs at a fixed instant (the emulator follows HA's clock)."""
    freezer.move_to(NOW)
    return freezer


@pytest.fixture(autouse=True)
async def paris_time_zone(hass: HomeAssistant) -> None:
    """A French installation: retry times are shown in Europe/Paris."""
    await hass.config.async_set_time_zone(PARIS_TZ)


@pytest.fixture(autouse=True)
def mock_setup_entry() -> Iterator[AsyncMock]:
    """The integration's setup is not under test here: only that flows (re)load entries."""
    with (
        patch("custom_components.linky.async_setup_entry", return_value=True) as mock,
        patch("custom_components.linky.async_unload_entry", return_value=True),
    ):
        yield mock


@pytest.fixture
def home_pv_token(emulator: Emulator) -> str:
    """A token covering the household meter and the solar one."""
    return emulator.mint_token([HOME_PDL, PV_PDL], issued_at=NOW - timedelta(days=30))


@pytest.fixture
async def second_url(emulator: Emulator) -> AsyncIterator[str]:
    """The same emulator served at a second address (a changed base URL)."""
    async with EmulatorServer(emulator, host="127.0.0.1", port=0) as server:
        yield server.base_url


@pytest.fixture
def closed_port_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api"


def connection_input(token: str, base_url: str) -> dict[str, Any]:
    """What the user submits on the user and reconfigure steps."""
    return {CONF_TOKEN: token, SECTION_ADVANCED: {CONF_BASE_URL: base_url}}


def validation_requests(emulator: Emulator, pdl: str = HOME_PDL) -> int:
    """How many requests the emulator received; each must be the validation request."""
    expected = {
        "pointId": pdl,
        "dateDebut": (TODAY - timedelta(days=7)).isoformat(),
        "dateFin": TODAY.isoformat(),
    }
    for record in emulator.requests:
        assert (record.method, record.type, record.params) == ("GET", DAILY, expected)
    count = len(emulator.requests)
    emulator.clear_requests()
    return count


def assert_strings(result: ConfigFlowResult, flow: str = "config") -> None:
    """Every text of a form (title, description, each field's label and help, the errors) or
    of an abort exists in English and French, with the placeholders the flow provides."""
    placeholders = set(result.get("description_placeholders") or {})
    for lang, strings in STRINGS.items():
        texts: list[str] = []
        if result["type"] is FlowResultType.ABORT:
            texts.append(strings[flow]["abort"][result["reason"]])
        else:
            step = strings[flow]["step"][result["step_id"]]
            texts += [step["title"], step["description"]]
            texts += [strings[flow]["error"][error] for error in (result["errors"] or {}).values()]
            for key, value in result["data_schema"].schema.items():
                if isinstance(value, section):
                    texts.append(step["sections"][key.schema]["name"])
                    fields = step["sections"][key.schema]
                    keys = [inner.schema for inner in value.schema.schema]
                else:
                    fields, keys = step, [key.schema]
                for name in keys:
                    texts += [fields["data"][name], fields["data_description"][name]]
        for text in texts:
            assert set(re.findall(r"{(\w+)}", text)) <= placeholders, (lang, text)


def assert_form(
    result: ConfigFlowResult,
    step_id: str,
    errors: dict[str, str] | None = None,
    flow: str = "config",
) -> None:
    """A form of that step with exactly these errors, all translated."""
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == step_id
    assert (result["errors"] or {}) == (errors or {})
    assert_strings(result, flow)


async def start_user_flow(hass: HomeAssistant) -> ConfigFlowResult:
    """Open the user step."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert_form(result, "user")
    return result


async def submit(
    hass: HomeAssistant, result: ConfigFlowResult, user_input: dict[str, Any]
) -> ConfigFlowResult:
    """Submit a config flow step."""
    return await hass.config_entries.flow.async_configure(result["flow_id"], user_input)


def assert_home_entry(result: ConfigFlowResult, token: str, base_url: str) -> None:
    """The created entry of the household meter."""
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"Linky {HOME_PDL}"
    assert result["data"] == {CONF_TOKEN: token, CONF_PDL: HOME_PDL, CONF_BASE_URL: base_url}
    assert result["options"] == DEFAULT_OPTIONS
    assert result["result"].unique_id == HOME_PDL


# --- user step ----------------------------------------------------------------------------


async def test_user_single_prm_creates_entry(
    hass: HomeAssistant,
    emulator: Emulator,
    emulator_url: str,
    home_token: str,
    mock_setup_entry: AsyncMock,
) -> None:
    """A one-meter token goes straight to the entry, after one validation request."""
    result = await start_user_flow(hass)
    schema = result["data_schema"]({CONF_TOKEN: home_token, SECTION_ADVANCED: {}})
    assert schema[SECTION_ADVANCED] == {CONF_BASE_URL: DEFAULT_BASE_URL}

    result = await submit(hass, result, connection_input(f" {home_token}\n", f"{emulator_url}/"))

    assert_home_entry(result, home_token, emulator_url)
    assert validation_requests(emulator) == 1
    assert len(mock_setup_entry.mock_calls) == 1


async def test_user_several_prms_asks_which_meter(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str, home_pv_token: str
) -> None:
    """A token for several meters asks which one to add, then validates that one only."""
    result = await start_user_flow(hass)
    result = await submit(hass, result, connection_input(home_pv_token, emulator_url))

    assert_form(result, "pdl")
    assert result["data_schema"].schema[CONF_PDL].config["options"] == [HOME_PDL, PV_PDL]
    assert validation_requests(emulator) == 0

    result = await submit(hass, result, {CONF_PDL: PV_PDL})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"Linky {PV_PDL}"
    assert result["data"] == {
        CONF_TOKEN: home_pv_token,
        CONF_PDL: PV_PDL,
        CONF_BASE_URL: emulator_url,
    }
    assert result["options"] == {**DEFAULT_OPTIONS, CONF_PRODUCTION_PDL: PV_PDL}
    assert validation_requests(emulator, PV_PDL) == 1


async def test_pdl_step_error_then_recovers(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str, home_pv_token: str
) -> None:
    """A refusal for the chosen meter is shown on the meter step, which can be retried."""
    emulator.meters[PV_PDL].consent = False
    result = await start_user_flow(hass)
    result = await submit(hass, result, connection_input(home_pv_token, emulator_url))
    result = await submit(hass, result, {CONF_PDL: PV_PDL})

    assert_form(result, "pdl", {"base": "no_consent"})
    assert validation_requests(emulator, PV_PDL) == 1

    emulator.meters[PV_PDL].consent = True
    result = await submit(hass, result, {CONF_PDL: PV_PDL})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert validation_requests(emulator, PV_PDL) == 1


@pytest.mark.parametrize(
    ("make_token", "error"),
    [
        pytest.param(lambda emu: "not a token", "invalid_token", id="garbage"),
        pytest.param(lambda emu: "a.b.c", "invalid_token", id="not-base64-json"),
        pytest.param(lambda emu: emu.mint_token(["1234"]), "invalid_token", id="bad-prm"),
        pytest.param(
            lambda emu: emu.mint_token(
                [HOME_PDL], issued_at=NOW - timedelta(days=1100), expires_at=NOW
            ),
            "token_expired",
            id="expired",
        ),
    ],
)
async def test_user_token_checked_locally(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    emulator_url: str,
    home_token: str,
    make_token: Callable[[Emulator], str],
    error: str,
) -> None:
    """A token that cannot work is refused without any request."""
    result = await start_user_flow(hass)
    result = await submit(hass, result, connection_input(make_token(emulator), emulator_url))

    assert_form(result, "user", {CONF_TOKEN: error})
    assert validation_requests(emulator) == 0

    result = await submit(hass, result, connection_input(home_token, emulator_url))

    assert_home_entry(result, home_token, emulator_url)
    assert validation_requests(emulator) == 1


@pytest.mark.parametrize(
    "base_url", ["ftp://127.0.0.1/api", "127.0.0.1/api", "http://[::1/api", "", "https://"]
)
async def test_user_base_url_must_be_http(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str, home_token: str, base_url: str
) -> None:
    """Only http(s) URLs are accepted as the API address; nothing is sent otherwise."""
    result = await start_user_flow(hass)
    result = await submit(hass, result, connection_input(home_token, base_url))

    assert_form(result, "user", {"base": "invalid_url"})
    assert validation_requests(emulator) == 0

    result = await submit(hass, result, connection_input(home_token, emulator_url))

    assert_home_entry(result, home_token, emulator_url)


ENEDIS_REFUSALS = [
    pytest.param("consent", "no_consent", id="no-consent-ADAM-DC-0008"),
    pytest.param("holder", "not_holder", id="not-holder-ADAM-DC-0007"),
]


@pytest.mark.parametrize(("flag", "error"), ENEDIS_REFUSALS)
async def test_user_enedis_refusal_then_recovers(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    emulator_url: str,
    home_token: str,
    flag: str,
    error: str,
) -> None:
    """Enedis's refusals for the meter are explained; once fixed, the entry is created."""
    setattr(emulator.meters[HOME_PDL], flag, False)
    result = await start_user_flow(hass)
    result = await submit(hass, result, connection_input(home_token, emulator_url))

    assert_form(result, "user", {"base": error})
    assert validation_requests(emulator) == 1

    setattr(emulator.meters[HOME_PDL], flag, True)
    result = await submit(hass, result, connection_input(home_token, emulator_url))

    assert_home_entry(result, home_token, emulator_url)
    assert validation_requests(emulator) == 1


async def test_user_token_refused_by_service_then_recovers(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str, home_token: str
) -> None:
    """A token the service does not accept (401) is `auth`."""
    forged = Emulator(secret=b"another secret").mint_token([HOME_PDL], issued_at=NOW)
    result = await start_user_flow(hass)
    result = await submit(hass, result, connection_input(forged, emulator_url))

    assert_form(result, "user", {"base": "auth"})
    assert validation_requests(emulator) == 1

    result = await submit(hass, result, connection_input(home_token, emulator_url))

    assert_home_entry(result, home_token, emulator_url)
    assert validation_requests(emulator) == 1


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(Fault(status=500, kind="technical_error"), id="enedis-technical-error"),
        pytest.param(Fault(status=500, kind="token_refresh"), id="conso-token-refresh"),
        pytest.param(Fault(status=500, kind="plain_text_500"), id="enedis-plain-text"),
        pytest.param(Fault(status=502, kind="bad_gateway"), id="cloudflare-502"),
    ],
)
async def test_user_server_error_then_recovers(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str, home_token: str, fault: Fault
) -> None:
    """Outages (5xx) are `server`; the next try goes through."""
    emulator.faults.push(fault)
    result = await start_user_flow(hass)
    result = await submit(hass, result, connection_input(home_token, emulator_url))

    assert_form(result, "user", {"base": "server"})
    assert validation_requests(emulator) == 1

    result = await submit(hass, result, connection_input(home_token, emulator_url))

    assert_home_entry(result, home_token, emulator_url)
    assert validation_requests(emulator) == 1


async def test_user_connection_refused_then_recovers(
    hass: HomeAssistant,
    emulator: Emulator,
    emulator_url: str,
    home_token: str,
    closed_port_url: str,
) -> None:
    """Nothing listening at the address is `connection`."""
    result = await start_user_flow(hass)
    result = await submit(hass, result, connection_input(home_token, closed_port_url))

    assert_form(result, "user", {"base": "connection"})

    result = await submit(hass, result, connection_input(home_token, emulator_url))

    assert_home_entry(result, home_token, emulator_url)
    assert validation_requests(emulator) == 1


async def test_user_unexpected_answer_is_request_and_logged_without_token(
    hass: HomeAssistant,
    emulator: Emulator,
    emulator_url: str,
    home_token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A server that is not Conso API (a 404 page at a wrong path) is `request` (check the
    address), logged but never with the token."""
    wrong_path = emulator_url.removesuffix("/api") + "/not-the-api"
    result = await start_user_flow(hass)
    with caplog.at_level(logging.DEBUG):
        result = await submit(hass, result, connection_input(home_token, wrong_path))

    assert_form(result, "user", {"base": "request"})
    assert f"Checking the token with {wrong_path} failed" in caplog.text
    assert home_token not in caplog.text
    assert validation_requests(emulator) == 0  # the wrong path never reached the API

    result = await submit(hass, result, connection_input(home_token, emulator_url))

    assert_home_entry(result, home_token, emulator_url)
    assert validation_requests(emulator) == 1


async def test_user_banned_by_cloudflare_then_recovers(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str, home_token: str
) -> None:
    """Cloudflare's ban page (403 HTML) is `banned`."""
    emulator.ban_after(0)
    result = await start_user_flow(hass)
    result = await submit(hass, result, connection_input(home_token, emulator_url))

    assert_form(result, "user", {"base": "banned"})
    assert validation_requests(emulator) == 1

    emulator.ban_after(None)
    result = await submit(hass, result, connection_input(home_token, emulator_url))

    assert_home_entry(result, home_token, emulator_url)
    assert validation_requests(emulator) == 1


async def test_user_known_ban_sends_nothing_then_recovers(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str, home_token: str
) -> None:
    """When this instance is known to be banned, no request is sent at all."""
    await async_set_banned(hass, emulator_url, True)
    result = await start_user_flow(hass)
    result = await submit(hass, result, connection_input(home_token, emulator_url))

    assert_form(result, "user", {"base": "banned"})
    assert validation_requests(emulator) == 0

    await async_set_banned(hass, emulator_url, False)
    result = await submit(hass, result, connection_input(home_token, emulator_url))

    assert_home_entry(result, home_token, emulator_url)
    assert validation_requests(emulator) == 1


@pytest.mark.parametrize(
    ("fault", "retry_at", "shown"),
    [
        pytest.param(
            Fault(status=429, next_access_time=datetime(2026, 11, 20, 14, 0, tzinfo=dt_util.UTC)),
            datetime(2026, 11, 20, 14, 0, tzinfo=dt_util.UTC),
            "2026-11-20 15:00",
            id="nextAccessTime",
        ),
        pytest.param(
            Fault(status=429, kind="rate_limited_fault"),
            NOW + timedelta(hours=1),
            "2026-11-20 11:34",
            id="no-retry-time-waits-one-hour",
        ),
    ],
)
async def test_user_rate_limited_waits_then_recovers(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    emulator_url: str,
    home_token: str,
    frozen_now: FrozenDateTimeFactory,
    fault: Fault,
    retry_at: datetime,
    shown: str,
) -> None:
    """A 429 shows when to retry (local time); retrying earlier sends nothing; later works."""
    emulator.faults.push(fault)
    result = await start_user_flow(hass)
    result = await submit(hass, result, connection_input(home_token, emulator_url))

    assert_form(result, "user", {"base": "rate_limited"})
    assert result["description_placeholders"]["retry_at"] == shown
    assert validation_requests(emulator) == 1

    result = await submit(hass, result, connection_input(home_token, emulator_url))

    assert_form(result, "user", {"base": "budget_exhausted"})  # refused locally
    assert result["description_placeholders"]["retry_at"] == shown
    assert validation_requests(emulator) == 0

    frozen_now.move_to(retry_at + timedelta(seconds=1))
    result = await submit(hass, result, connection_input(home_token, emulator_url))

    assert_home_entry(result, home_token, emulator_url)
    assert validation_requests(emulator) == 1


async def test_user_local_budget_exhausted_sends_nothing(
    hass: HomeAssistant,
    *,
    hass_storage: dict[str, Any],
    emulator: Emulator,
    emulator_url: str,
    home_token: str,
    frozen_now: FrozenDateTimeFactory,
) -> None:
    """The persisted, shared budget is spent: refused locally, with the time it frees up."""
    spent_at = NOW - timedelta(hours=2)
    hass_storage[STORAGE_KEY] = {
        "version": STORAGE_VERSION,
        "minor_version": 1,
        "key": STORAGE_KEY,
        "data": {
            emulator_url: {
                "budget": {
                    "version": 1,
                    "sent": [spent_at.isoformat()] * DEFAULT_REQUEST_CAP,
                    "blocked_until": None,
                },
                "banned_at": None,
            }
        },
    }
    result = await start_user_flow(hass)
    result = await submit(hass, result, connection_input(home_token, emulator_url))

    assert_form(result, "user", {"base": "budget_exhausted"})
    assert result["description_placeholders"]["retry_at"] == "2026-11-20 20:34"
    assert validation_requests(emulator) == 0

    frozen_now.move_to(spent_at + timedelta(hours=12, seconds=1))
    result = await submit(hass, result, connection_input(home_token, emulator_url))

    assert_home_entry(result, home_token, emulator_url)
    assert validation_requests(emulator) == 1


async def test_user_new_meter_before_activation_is_accepted(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str
) -> None:
    """A meter activated within the checked week (ADAM-ERR0123) is valid, just new."""
    emulator.meters[NEW_PDL].activation_date = TODAY - timedelta(days=2)
    token = emulator.mint_token([NEW_PDL], issued_at=NOW)
    result = await start_user_flow(hass)
    result = await submit(hass, result, connection_input(token, emulator_url))

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_PDL] == NEW_PDL
    assert emulator.requests[0].status == 400
    assert validation_requests(emulator, NEW_PDL) == 1


async def test_user_meter_without_published_data_is_accepted(
    hass: HomeAssistant,
    emulator: Emulator,
    emulator_url: str,
    home_token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No data published for the whole week (404 no_data_found) still proves the access."""
    monkeypatch.setattr(emulator.truth, "is_published", lambda pdl, day: False)
    result = await start_user_flow(hass)
    result = await submit(hass, result, connection_input(home_token, emulator_url))

    assert_home_entry(result, home_token, emulator_url)
    assert emulator.requests[0].status == 404
    assert validation_requests(emulator) == 1


async def test_user_meter_already_configured_aborts(
    hass: HomeAssistant,
    emulator: Emulator,
    emulator_url: str,
    home_token: str,
    config_entry: MockConfigEntry,
) -> None:
    """One entry per meter: adding it again aborts before any request."""
    config_entry.add_to_hass(hass)
    result = await start_user_flow(hass)
    result = await submit(hass, result, connection_input(home_token, emulator_url))

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert_strings(result)
    assert validation_requests(emulator) == 0


async def test_pdl_step_meter_already_configured_aborts(
    hass: HomeAssistant,
    emulator: Emulator,
    emulator_url: str,
    home_pv_token: str,
    config_entry: MockConfigEntry,
) -> None:
    """Choosing a meter that already has an entry aborts before any request."""
    config_entry.add_to_hass(hass)
    result = await start_user_flow(hass)
    result = await submit(hass, result, connection_input(home_pv_token, emulator_url))
    result = await submit(hass, result, {CONF_PDL: HOME_PDL})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert validation_requests(emulator) == 0


async def test_validation_week_ends_today_in_paris(
    hass: HomeAssistant,
    emulator: Emulator,
    emulator_url: str,
    home_token: str,
    frozen_now: FrozenDateTimeFactory,
) -> None:
    """The checked week ends on today's date in Paris, not in UTC nor in HA's time zone."""
    await hass.config.async_set_time_zone("America/New_York")
    frozen_now.move_to(datetime(2026, 11, 20, 23, 30, tzinfo=dt_util.UTC))  # 00:30 in Paris
    result = await start_user_flow(hass)
    result = await submit(hass, result, connection_input(home_token, emulator_url))

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert [record.params for record in emulator.requests] == [
        {"pointId": HOME_PDL, "dateDebut": "2026-11-14", "dateFin": "2026-11-21"}
    ]


async def test_validation_uses_the_shared_budget(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str, home_token: str
) -> None:
    """The validation request is counted in the instance-wide budget of its base URL."""
    budget = (await async_get_api_state(hass, emulator_url)).budget
    result = await start_user_flow(hass)
    await submit(hass, result, connection_input(home_token, emulator_url))

    assert budget.used == 1
    assert validation_requests(emulator) == 1


async def test_client_factory_identifies_the_integration(
    hass: HomeAssistant, emulator_url: str, home_token: str
) -> None:
    """Clients carry `linky-ha/<manifest version>` and share the base URL's budget."""
    manifest = json.loads((TRANSLATIONS_DIR.parent / "manifest.json").read_text("utf-8"))
    user_agent = await async_user_agent(hass)
    client = await async_create_client(hass, home_token, emulator_url, cap=20)

    assert user_agent == f"linky-ha/{manifest['version']} (+https://github.com/linky-ha/linky)"
    assert client.budget.cap == 20
    assert client.budget is (await async_get_api_state(hass, emulator_url)).budget


# --- reauth -------------------------------------------------------------------------------


async def test_reauth_replaces_token_and_reloads(
    hass: HomeAssistant,
    emulator: Emulator,
    config_entry: MockConfigEntry,
    mock_setup_entry: AsyncMock,
) -> None:
    """A new token for the entry's meter is checked with one request, stored, reloaded."""
    config_entry.add_to_hass(hass)
    new_token = emulator.mint_token([HOME_PDL], issued_at=NOW)
    result = await config_entry.start_reauth_flow(hass)

    assert_form(result, "reauth_confirm")
    assert result["description_placeholders"][CONF_PDL] == HOME_PDL

    result = await submit(hass, result, {CONF_TOKEN: new_token})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert_strings(result)
    assert config_entry.data[CONF_TOKEN] == new_token
    assert validation_requests(emulator) == 1
    assert len(mock_setup_entry.mock_calls) == 1


async def test_reauth_token_for_another_meter_then_recovers(
    hass: HomeAssistant, emulator: Emulator, config_entry: MockConfigEntry
) -> None:
    """A token that does not cover the entry's meter is refused without a request."""
    config_entry.add_to_hass(hass)
    result = await config_entry.start_reauth_flow(hass)
    result = await submit(hass, result, {CONF_TOKEN: emulator.mint_token([PV_PDL])})

    assert_form(result, "reauth_confirm", {CONF_TOKEN: "pdl_not_in_token"})
    assert validation_requests(emulator) == 0

    new_token = emulator.mint_token([PV_PDL, HOME_PDL])
    result = await submit(hass, result, {CONF_TOKEN: new_token})

    assert result["reason"] == "reauth_successful"
    assert config_entry.data[CONF_TOKEN] == new_token
    assert validation_requests(emulator) == 1


@pytest.mark.parametrize(
    ("setup", "error", "requests"),
    [
        pytest.param(
            lambda emu: setattr(emu.meters[HOME_PDL], "consent", False),
            {"base": "no_consent"},
            1,
            id="no-consent",
        ),
        pytest.param(
            lambda emu: emu.faults.push(Fault(status=500)),
            {"base": "server"},
            1,
            id="outage",
        ),
        pytest.param(lambda emu: None, {CONF_TOKEN: "token_expired"}, 0, id="expired"),
    ],
)
async def test_reauth_errors_then_recovers(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    config_entry: MockConfigEntry,
    setup: Callable[[Emulator], None],
    error: dict[str, str],
    requests: int,
) -> None:
    """Reauth shows the same errors as the user step, keeps the meter, then succeeds."""
    config_entry.add_to_hass(hass)
    setup(emulator)
    expired = emulator.mint_token(
        [HOME_PDL], issued_at=NOW - timedelta(days=1100), expires_at=NOW - timedelta(days=6)
    )
    token = expired if error == {CONF_TOKEN: "token_expired"} else emulator.mint_token([HOME_PDL])
    result = await config_entry.start_reauth_flow(hass)
    result = await submit(hass, result, {CONF_TOKEN: token})

    assert_form(result, "reauth_confirm", error)
    assert result["description_placeholders"][CONF_PDL] == HOME_PDL
    assert validation_requests(emulator) == requests

    emulator.meters[HOME_PDL].consent = True
    new_token = emulator.mint_token([HOME_PDL], issued_at=NOW)
    result = await submit(hass, result, {CONF_TOKEN: new_token})

    assert result["reason"] == "reauth_successful"
    assert config_entry.data[CONF_TOKEN] == new_token
    assert validation_requests(emulator) == 1


async def test_reauth_uses_the_entry_request_cap(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str, home_token: str
) -> None:
    """The validation of an existing entry counts against the cap its options set."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"Linky {HOME_PDL}",
        unique_id=HOME_PDL,
        data={CONF_TOKEN: home_token, CONF_PDL: HOME_PDL, CONF_BASE_URL: emulator_url},
        options={**DEFAULT_OPTIONS, CONF_REQUEST_CAP: 24},
    )
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    result = await submit(hass, result, {CONF_TOKEN: home_token})

    assert result["reason"] == "reauth_successful"
    assert (await async_get_api_state(hass, emulator_url)).budget.cap == 24


# --- reconfigure --------------------------------------------------------------------------


async def test_reconfigure_changes_token_and_address(
    hass: HomeAssistant,
    emulator: Emulator,
    config_entry: MockConfigEntry,
    second_url: str,
    mock_setup_entry: AsyncMock,
) -> None:
    """The form shows the current connection; a new one is checked once, stored, reloaded."""
    config_entry.add_to_hass(hass)
    result = await config_entry.start_reconfigure_flow(hass)

    assert_form(result, "reconfigure")
    assert result["description_placeholders"][CONF_PDL] == HOME_PDL
    suggested = {
        key.schema: key.description["suggested_value"]
        for key in result["data_schema"].schema[SECTION_ADVANCED].schema.schema
    }
    assert suggested == {CONF_BASE_URL: config_entry.data[CONF_BASE_URL]}

    new_token = emulator.mint_token([HOME_PDL, PV_PDL], issued_at=NOW)
    result = await submit(hass, result, connection_input(new_token, second_url))

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert_strings(result)
    assert config_entry.data == {
        CONF_TOKEN: new_token,
        CONF_PDL: HOME_PDL,
        CONF_BASE_URL: second_url,
    }
    assert validation_requests(emulator) == 1
    assert len(mock_setup_entry.mock_calls) == 1


@pytest.mark.parametrize(
    ("user_input", "error", "requests"),
    [
        pytest.param(
            lambda emu, url: connection_input(emu.mint_token([HOME_PDL]), "ftp://x"),
            {"base": "invalid_url"},
            0,
            id="bad-url",
        ),
        pytest.param(
            lambda emu, url: connection_input(emu.mint_token([PV_PDL]), url),
            {CONF_TOKEN: "pdl_not_in_token"},
            0,
            id="other-meter",
        ),
        pytest.param(
            lambda emu, url: connection_input("garbage", url),
            {CONF_TOKEN: "invalid_token"},
            0,
            id="garbage",
        ),
        pytest.param(
            lambda emu, url: connection_input(
                Emulator(secret=b"another secret").mint_token([HOME_PDL]), url
            ),
            {"base": "auth"},
            1,
            id="refused",
        ),
    ],
)
async def test_reconfigure_errors_then_recovers(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    config_entry: MockConfigEntry,
    user_input: Callable[[Emulator, str], dict[str, Any]],
    error: dict[str, str],
    requests: int,
) -> None:
    """Errors keep the form (with what was typed); a good connection then updates the entry."""
    config_entry.add_to_hass(hass)
    url = config_entry.data[CONF_BASE_URL]
    result = await config_entry.start_reconfigure_flow(hass)
    result = await submit(hass, result, user_input(emulator, url))

    assert_form(result, "reconfigure", error)
    assert validation_requests(emulator) == requests

    new_token = emulator.mint_token([HOME_PDL], issued_at=NOW)
    result = await submit(hass, result, connection_input(new_token, url))

    assert result["reason"] == "reconfigure_successful"
    assert config_entry.data[CONF_TOKEN] == new_token
    assert validation_requests(emulator) == 1


async def test_reconfigure_entry_of_another_meter_aborts(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str, home_token: str
) -> None:
    """An entry whose unique id is not its meter's PDL is never rewritten (no request)."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"Linky {HOME_PDL}",
        unique_id=PV_PDL,
        data={CONF_TOKEN: home_token, CONF_PDL: HOME_PDL, CONF_BASE_URL: emulator_url},
        options=DEFAULT_OPTIONS,
    )
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await submit(hass, result, connection_input(home_token, emulator_url))

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "unique_id_mismatch"
    assert result["description_placeholders"] == {CONF_PDL: HOME_PDL}
    assert_strings(result)
    assert validation_requests(emulator) == 0


# --- options ------------------------------------------------------------------------------


def options_input(**changes: Any) -> dict[str, Any]:
    """A submitted options form: the defaults with `changes`."""
    return {**DEFAULT_OPTIONS, **changes}


async def open_meter_options(hass: HomeAssistant, entry_id: str) -> ConfigFlowResult:
    """Open the options menu and pick "Meter and import"."""
    result = await hass.config_entries.options.async_init(entry_id)
    assert result["type"] is FlowResultType.MENU
    assert "meter" in result["menu_options"]
    return await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "meter"}
    )


async def test_options_saved_and_entry_reloaded(
    hass: HomeAssistant,
    emulator: Emulator,
    emulator_url: str,
    home_pv_token: str,
    mock_setup_entry: AsyncMock,
) -> None:
    """Options are saved (typed, production PDL normalised), then the entry reloads; no
    request is sent."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"Linky {HOME_PDL}",
        unique_id=HOME_PDL,
        data={CONF_TOKEN: home_pv_token, CONF_PDL: HOME_PDL, CONF_BASE_URL: emulator_url},
        options=DEFAULT_OPTIONS,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    result = await open_meter_options(hass, entry.entry_id)

    assert_form(result, "meter", flow="options")
    assert result["description_placeholders"] == {CONF_PDL: HOME_PDL}

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        options_input(
            production=True,
            production_pdl=" 2594 6599 0931 50 ",
            daily_history_months=12.0,
            hourly_history_months=0.0,
            request_cap=float(MAX_REQUEST_CAP),
            remove_statistics=True,
        ),
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        CONF_PRODUCTION: True,
        CONF_PRODUCTION_PDL: PV_PDL,
        CONF_DAILY_HISTORY_MONTHS: 12,
        CONF_HOURLY_HISTORY_MONTHS: 0,
        CONF_REQUEST_CAP: MAX_REQUEST_CAP,
        CONF_REMOVE_STATISTICS: True,
        CONF_RETENTION_YEARS: 0,
    }
    numbers = (CONF_DAILY_HISTORY_MONTHS, CONF_HOURLY_HISTORY_MONTHS, CONF_REQUEST_CAP)
    assert all(type(entry.options[key]) is int for key in numbers)
    assert len(mock_setup_entry.mock_calls) == 2  # setup, then the reload
    assert validation_requests(emulator) == 0


async def test_options_form_suggests_current_values(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """The form starts from the saved options (defaults for an entry without any)."""
    config_entry.add_to_hass(hass)
    result = await open_meter_options(hass, config_entry.entry_id)

    suggested = {
        key.schema: key.description["suggested_value"] for key in result["data_schema"].schema
    }
    assert suggested == DEFAULT_OPTIONS


async def test_options_empty_production_pdl_is_the_entry_meter(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """Production on the consumption meter needs no second PDL."""
    config_entry.add_to_hass(hass)
    result = await open_meter_options(hass, config_entry.entry_id)
    user_input = options_input(production=True)
    del user_input[CONF_PRODUCTION_PDL]
    result = await hass.config_entries.options.async_configure(result["flow_id"], user_input)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert config_entry.options[CONF_PRODUCTION_PDL] == HOME_PDL


@pytest.mark.parametrize(
    ("production_pdl", "error"),
    [
        ("1234", "invalid_pdl"),
        ("2594659909314A", "invalid_pdl"),
        (PV_PDL, "pdl_not_in_token"),
    ],
)
async def test_options_production_pdl_errors_then_recovers(
    hass: HomeAssistant,
    emulator: Emulator,
    config_entry: MockConfigEntry,
    production_pdl: str,
    error: str,
) -> None:
    """The production PDL must be 14 digits and covered by the entry's token."""
    config_entry.add_to_hass(hass)
    result = await open_meter_options(hass, config_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], options_input(production=True, production_pdl=production_pdl)
    )

    assert_form(result, "meter", {CONF_PRODUCTION_PDL: error}, flow="options")
    assert validation_requests(emulator) == 0

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], options_input(production=True, production_pdl=HOME_PDL)
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert config_entry.options[CONF_PRODUCTION] is True


@pytest.mark.parametrize(
    "change",
    [
        {CONF_DAILY_HISTORY_MONTHS: 0},
        {CONF_DAILY_HISTORY_MONTHS: 37},
        {CONF_HOURLY_HISTORY_MONTHS: -1},
        {CONF_HOURLY_HISTORY_MONTHS: 25},
        {CONF_REQUEST_CAP: 9},
        {CONF_REQUEST_CAP: MAX_REQUEST_CAP + 1},
    ],
)
async def test_options_limits_enforced(
    hass: HomeAssistant, config_entry: MockConfigEntry, change: dict[str, int]
) -> None:
    """History depths and the request cap cannot leave their allowed ranges."""
    config_entry.add_to_hass(hass)
    result = await open_meter_options(hass, config_entry.entry_id)

    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(
            result["flow_id"], options_input(**change)
        )


# --- strings --------------------------------------------------------------------------------


def _shape(node: Any) -> Any:
    """The key tree of a translation section, with each text's placeholders."""
    if isinstance(node, dict):
        return {key: _shape(value) for key, value in node.items()}
    return sorted(re.findall(r"{(\w+)}", node))


def test_french_and_english_strings_match() -> None:
    """Both languages have the same texts with the same placeholders."""
    for flow in ("config", "options"):
        assert _shape(STRINGS["fr"][flow]) == _shape(STRINGS["en"][flow])


# --- options: contract and prices ---------------------------------------------------------


async def open_options_step(
    hass: HomeAssistant, entry: MockConfigEntry, step: str
) -> ConfigFlowResult:
    """Open the options menu and pick `step`."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert step in result["menu_options"], result["menu_options"]
    for lang in STRINGS.values():
        assert set(result["menu_options"]) <= set(lang["options"]["step"]["init"]["menu_options"])
    return await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": step}
    )


def suggested_values(result: ConfigFlowResult) -> dict[str, Any]:
    """The values a form is pre-filled with."""
    return {
        key.schema: (key.description or {}).get("suggested_value")
        for key in result["data_schema"].schema
    }


async def set_tariff(
    hass: HomeAssistant, entry: MockConfigEntry, option: str, prices: dict
) -> None:
    """Set a contract through the options flow."""
    result = await open_options_step(hass, entry, "contract")
    assert_form(result, "contract", flow="options")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"option": option, "kva": "6"}
    )
    assert_form(result, "prices", flow="options")
    result = await hass.config_entries.options.async_configure(result["flow_id"], prices)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_contract_prices_prefilled_with_dated_public_prices(
    hass: HomeAssistant, emulator: Emulator, config_entry: MockConfigEntry
) -> None:
    """The prices form shows the newest public grid and its date; saving keeps the meter
    options and stores the dated periods (earlier public ones included); no request."""
    config_entry.add_to_hass(hass)
    result = await open_options_step(hass, config_entry, "contract")
    menu = await hass.config_entries.options.async_init(config_entry.entry_id)
    assert "add_period" not in menu["menu_options"]  # no tariff yet
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"option": "hphc", "kva": "6"}
    )
    assert_form(result, "prices", flow="options")
    assert result["description_placeholders"] == {"source_date": "2026-02-01", "kva": "6"}
    suggested = suggested_values(result)
    assert suggested["hp"] == 0.2065
    assert suggested["hc"] == 0.1579
    assert suggested["start"] == "2026-02-01"
    assert suggested["offpeak"] == "22:00-06:00"

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            **{key: value for key, value in suggested.items() if value is not None},
            "offpeak": "01:30-07:30, 12:30-14:30",
            "earlier_public": True,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    tariff = config_entry.options["tariff"]
    starts = [p["start"] for p in tariff["periods"]]
    assert starts == ["2024-02-01", "2025-02-01", "2025-08-01", "2026-02-01"]
    assert tariff["periods"][2]["prices"] == {"hp": "0.2081", "hc": "0.1635"}
    assert tariff["periods"][3]["prices"] == {"hp": "0.2065", "hc": "0.1579"}
    assert all(p["offpeak"] == ["01:30-07:30", "12:30-14:30"] for p in tariff["periods"])
    assert validation_requests(emulator) == 0


@pytest.mark.parametrize(
    ("offpeak", "error"),
    [
        ("22h-6h", "offpeak_invalid"),
        ("22:00-06:00, 05:00-07:00", "offpeak_overlap"),
        ("", "offpeak_missing"),
    ],
)
async def test_contract_offpeak_errors_then_recovers(
    hass: HomeAssistant, config_entry: MockConfigEntry, offpeak: str, error: str
) -> None:
    """Off-peak windows are checked; the error is on the field, translated."""
    config_entry.add_to_hass(hass)
    result = await open_options_step(hass, config_entry, "contract")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"option": "hphc", "kva": "6"}
    )
    form = {"start": "2026-02-01", "hp": 0.2, "hc": 0.15, "offpeak": offpeak}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**form, "earlier_public": False}
    )
    assert_form(result, "prices", {"offpeak": error}, flow="options")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**form, "offpeak": "22:00-06:00", "earlier_public": False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_price_periods_added_removed_buyback_and_cleared(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """Add a period (duplicate date refused), a buy-back price, remove a period, clear."""
    config_entry.add_to_hass(hass)
    await set_tariff(
        hass, config_entry, "base", {"start": "2026-01-01", "base": 0.2, "earlier_public": False}
    )
    result = await open_options_step(hass, config_entry, "add_period")
    assert_form(result, "add_period", flow="options")
    assert result["description_placeholders"] == {"last_start": "2026-01-01"}
    assert suggested_values(result)["start"] == "2026-02-01"  # the newer public grid
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"start": "2026-01-01", "base": 0.21}
    )
    assert_form(result, "add_period", {"start": "duplicate_start"}, flow="options")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"start": "2026-08-01", "base": 0.21, "subscription": 16.0}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    periods = config_entry.options["tariff"]["periods"]
    assert [(p["start"], p["prices"], p["subscription_monthly"]) for p in periods] == [
        ("2026-01-01", {"base": "0.2"}, None),
        ("2026-08-01", {"base": "0.21"}, "16.0"),
    ]

    result = await open_options_step(hass, config_entry, "buyback")
    assert_form(result, "buyback", flow="options")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"start": "2026-03-01", "price": 0.04}
    )
    assert config_entry.options["tariff"]["buyback"] == [{"start": "2026-03-01", "price": "0.04"}]

    result = await open_options_step(hass, config_entry, "remove_period")
    assert_form(result, "remove_period", flow="options")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"period": "2026-08-01"}
    )
    assert [p["start"] for p in config_entry.options["tariff"]["periods"]] == ["2026-01-01"]
    menu = await hass.config_entries.options.async_init(config_entry.entry_id)
    assert "remove_period" not in menu["menu_options"]  # never below one period

    result = await open_options_step(hass, config_entry, "clear_tariff")
    assert_form(result, "clear_tariff", flow="options")
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert "tariff" not in config_entry.options


async def test_tempo_source_url_checked_and_entities_saved(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """The Tempo service address must be a URL; entities are optional and saved."""
    config_entry.add_to_hass(hass)
    result = await open_options_step(hass, config_entry, "tempo_source")
    assert_form(result, "tempo_source", flow="options")
    assert suggested_values(result)["tempo_url"] == "https://www.api-couleur-tempo.fr/api"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"tempo_url": "not a url"}
    )
    assert_form(result, "tempo_source", {"tempo_url": "invalid_url"}, flow="options")
    hass.states.async_set("sensor.rte_tempo_couleur_actuelle", "Bleu")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "tempo_url": "http://127.0.0.1:9/tempo/api/",
            "tempo_entity": "sensor.rte_tempo_couleur_actuelle",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert config_entry.options["tempo_url"] == "http://127.0.0.1:9/tempo/api"
    assert config_entry.options["tempo_entity"] == "sensor.rte_tempo_couleur_actuelle"
    assert "tempo_tomorrow_entity" not in config_entry.options


# --- where the token goes -----------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["http://conso.boris.sh/api", "http://192.168.1.20:8099/api", "ftp://127.0.0.1/api"]
)
async def test_token_never_sent_unencrypted_off_this_machine(
    hass: HomeAssistant, emulator: Emulator, home_token: str, url: str
) -> None:
    """Plain http is refused unless the service runs on this machine: the token would
    travel in clear text. Nothing is sent."""
    result = await start_user_flow(hass)
    result = await submit(hass, result, connection_input(home_token, url))
    assert_form(
        result, "user", {"base": "insecure_url" if url.startswith("http:") else "invalid_url"}
    )
    assert validation_requests(emulator) == 0


async def test_another_host_is_confirmed_before_the_token_goes_there(
    hass: HomeAssistant, home_token: str
) -> None:
    """A self-hosted address (not Conso API's) is shown, and only after the user confirms
    is the one validation request sent there; the form never shows the token back."""
    sent: list[str] = []

    async def unreachable(client: ConsoApiClient, *args: Any, **kwargs: Any) -> Any:
        sent.append(client._base_url)
        raise ConsoApiConnectionError("nothing answers")

    url = "https://conso.example.invalid/api"
    with patch.object(ConsoApiClient, "daily_energy", unreachable):
        result = await start_user_flow(hass)
        result = await submit(hass, result, connection_input(home_token, url))
        assert_form(result, "confirm_url")
        assert result["description_placeholders"]["host"] == "conso.example.invalid"
        assert sent == []

        result = await submit(hass, result, {})
    assert sent == [url]
    assert_form(result, "user", {"base": "connection"})
    suggested = {
        key.schema: (key.description or {}).get("suggested_value")
        for key in result["data_schema"].schema
    }
    assert suggested.get(CONF_TOKEN) is None


async def test_the_token_is_never_shown_back_after_an_error(
    hass: HomeAssistant, emulator: Emulator, emulator_url: str
) -> None:
    """A refused token shows the form again without the token typed in it."""
    forged = Emulator(secret=b"another secret").mint_token([HOME_PDL], issued_at=NOW)
    result = await start_user_flow(hass)
    result = await submit(hass, result, connection_input(forged, emulator_url))
    assert_form(result, "user", {"base": "auth"})
    suggested = {
        key.schema: (key.description or {}).get("suggested_value")
        for key in result["data_schema"].schema
    }
    assert suggested.get(CONF_TOKEN) is None
