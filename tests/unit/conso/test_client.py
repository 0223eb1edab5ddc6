"""The client against a real aiohttp server on 127.0.0.1 serving recorded bodies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
import json
import logging
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
import pytest

from custom_components.linky.conso import (
    DEFAULT_USER_AGENT,
    BudgetExhaustedError,
    ConsoApiAuthError,
    ConsoApiBannedError,
    ConsoApiClient,
    ConsoApiConnectionError,
    ConsoApiError,
    ConsoApiHistoryLimitError,
    ConsoApiMalformedResponseError,
    ConsoApiNoConsentError,
    ConsoApiNoDataError,
    ConsoApiNotHolderError,
    ConsoApiRateLimitedError,
    ConsoApiRequestError,
    ConsoApiServerError,
    ErrorKind,
    InvalidPdlError,
    RequestBudget,
)
from custom_components.linky.localtime import PARIS

from .common import REAL_FIXTURES

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOlsiOTk5OTk5OTk5OTk5OTEiXX0.c2VjcmV0LXNpZ25hdHVyZQ"
PDL = "99999999999991"
USER_AGENT = "linky-ha/0.1.0 (+https://github.com/linky-ha/linky)"
JSON = "application/json"


@dataclass
class Reply:
    status: int
    body: str
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeConsoApi:
    """Records each request and answers with the next queued reply."""

    replies: list[Reply] = field(default_factory=list)
    requests: list[web.Request] = field(default_factory=list)
    delay: float = 0.0
    base_url: str = ""

    def reply_file(self, relative: str, status: int = 200, content_type: str = JSON) -> None:
        body = (REAL_FIXTURES / relative).read_text(encoding="utf-8")
        self.replies.append(Reply(status, body, content_type))

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        reply = self.replies.pop(0)
        return web.Response(
            status=reply.status,
            body=reply.body.encode(),
            headers={"Content-Type": reply.content_type, **reply.headers},
        )


@pytest.fixture
async def api(socket_enabled: None) -> AsyncIterator[FakeConsoApi]:
    """A fake Conso API on 127.0.0.1 (phacc blocks sockets unless `socket_enabled`)."""
    fake = FakeConsoApi()
    app = web.Application()
    app.router.add_get("/api/{type}", fake.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    fake.base_url = str(server.make_url("/api"))
    yield fake
    await server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def budget() -> RequestBudget:
    return RequestBudget(cap=50, max_per_second=100)


@pytest.fixture
def client(
    api: FakeConsoApi, session: aiohttp.ClientSession, budget: RequestBudget
) -> ConsoApiClient:
    return ConsoApiClient(
        session, TOKEN, base_url=api.base_url, budget=budget, user_agent=USER_AGENT
    )


def _local(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


# --- requests and successful answers --------------------------------------------------------


async def test_daily_energy_request_and_result(
    api: FakeConsoApi, client: ConsoApiClient, budget: RequestBudget
) -> None:
    api.reply_file("v2/mesure_consommation_quotidienne.json")

    days = await client.daily_energy(PDL, date(2026, 9, 29), date(2026, 10, 1))

    assert [(d.day, d.wh) for d in days] == [(date(2026, 9, 29), 33495), (date(2026, 9, 30), 38022)]
    (request,) = api.requests
    assert request.path == "/api/consommation_quotidienne"
    assert dict(request.query) == {
        "pointId": PDL,
        "dateDebut": "2026-09-29",
        "dateFin": "2026-10-01",
    }
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["User-Agent"] == USER_AGENT
    assert request.headers["Accept"] == "application/json"
    assert budget.used == 1


@pytest.mark.parametrize(
    ("method", "kwargs", "fixture", "path", "count"),
    [
        (
            "daily_energy",
            {"production": True},
            "v2/mesure_production_quotidienne.json",
            "production_quotidienne",
            2,
        ),
        (
            "load_curve",
            {},
            "v2/mesure_courbe_de_charge_consommation.json",
            "courbe_de_charge_consommation",
            96,
        ),
        (
            "load_curve",
            {"production": True},
            "v2/mesure_courbe_de_charge_production.json",
            "courbe_de_charge_production",
            96,
        ),
        (
            "max_power",
            {},
            "v2/mesure_puissance_conso_max_quotidienne.json",
            "puissance_conso_max_quotidienne",
            2,
        ),
    ],
)
async def test_each_measure_uses_its_type(
    api: FakeConsoApi,
    client: ConsoApiClient,
    method: str,
    kwargs: dict[str, Any],
    fixture: str,
    path: str,
    count: int,
) -> None:
    api.reply_file(fixture)
    result = await getattr(client, method)(PDL, date(2026, 9, 29), date(2026, 10, 1), **kwargs)
    assert len(result) == count
    assert api.requests[0].path == f"/api/{path}"


async def test_load_curve_result(api: FakeConsoApi, client: ConsoApiClient) -> None:
    api.reply_file("v2/mesure_courbe_de_charge_consommation.json")
    intervals = await client.load_curve(PDL, date(2026, 9, 29), date(2026, 10, 1))
    assert intervals[0].start == _local(2026, 9, 29, 0, 0)
    assert intervals[-1].end == _local(2026, 10, 1, 0, 0)
    assert sum(i.wh for i in intervals) == 33495 + 38022


async def test_legacy_body_is_accepted(api: FakeConsoApi, client: ConsoApiClient) -> None:
    api.reply_file("legacy/conso_consumption_load_curve_2023-04-01_2023-04-02.json")
    intervals = await client.load_curve(PDL, date(2023, 4, 1), date(2023, 4, 2))
    assert sum(i.wh for i in intervals) == 11776


async def test_defaults(api: FakeConsoApi, session: aiohttp.ClientSession) -> None:
    client = ConsoApiClient(session, f" {TOKEN}\n", base_url=api.base_url + "/")
    assert client.budget.cap == 50
    api.reply_file("v2/mesure_consommation_quotidienne.json")
    await client.daily_energy(PDL, date(2026, 9, 29), date(2026, 10, 1))
    request = api.requests[0]
    assert request.path == "/api/consommation_quotidienne"
    assert request.headers["User-Agent"] == DEFAULT_USER_AGENT
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert client.budget.used == 1


# --- refused before sending -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "start", "end"),
    [
        ("daily_energy", date(2026, 10, 1), date(2026, 10, 1)),
        ("daily_energy", date(2026, 10, 2), date(2026, 10, 1)),
        ("daily_energy", date(2025, 1, 1), date(2026, 1, 2)),  # 366 days
        ("max_power", date(2025, 1, 1), date(2026, 1, 2)),
        ("load_curve", date(2026, 10, 1), date(2026, 10, 9)),  # 8 days
        ("load_curve", date(2026, 10, 1), date(2026, 10, 1)),
    ],
)
async def test_illegal_ranges_raise_before_sending(
    api: FakeConsoApi, client: ConsoApiClient, method: str, start: date, end: date
) -> None:
    with pytest.raises(ValueError, match=r"range|days"):
        await getattr(client, method)(PDL, start, end)
    assert api.requests == []
    assert client.budget.used == 0


async def test_longest_legal_ranges_are_sent(api: FakeConsoApi, client: ConsoApiClient) -> None:
    api.replies += [Reply(200, '{"grandeur": []}')] * 2
    assert await client.load_curve(PDL, date(2026, 10, 1), date(2026, 10, 8)) == []
    assert await client.daily_energy(PDL, date(2025, 1, 1), date(2026, 1, 1)) == []
    assert len(api.requests) == 2


@pytest.mark.parametrize("pdl", ["9999999999999", "9999 9999 9999 91", "abcdefghijklmn"])
async def test_invalid_pdl_is_not_sent(api: FakeConsoApi, client: ConsoApiClient, pdl: str) -> None:
    with pytest.raises(InvalidPdlError):
        await client.daily_energy(pdl, date(2026, 9, 29), date(2026, 10, 1))
    assert api.requests == []


async def test_exhausted_budget_sends_nothing(api: FakeConsoApi, client: ConsoApiClient) -> None:
    client.budget.cap = 1
    api.reply_file("v2/mesure_consommation_quotidienne.json")
    await client.daily_energy(PDL, date(2026, 9, 29), date(2026, 10, 1))
    with pytest.raises(BudgetExhaustedError) as info:
        await client.daily_energy(PDL, date(2026, 9, 29), date(2026, 10, 1))
    assert isinstance(info.value, ConsoApiError)
    assert len(api.requests) == 1


# --- error answers ------------------------------------------------------------------------------

ERROR_FILES: list[tuple[str, type[ConsoApiError]]] = [
    ("conso_400_adam_dc_0007_not_holder.json", ConsoApiNotHolderError),
    ("conso_400_adam_err0123_before_activation.json", ConsoApiHistoryLimitError),
    ("conso_400_invalid_request_start_after_end.json", ConsoApiRequestError),
    ("conso_401_invalid_token.json", ConsoApiAuthError),
    ("conso_403_adam_dc_0008_no_consent.json", ConsoApiNoConsentError),
    ("conso_404_no_data_found.json", ConsoApiNoDataError),
    ("conso_500_enedis_plain_text_error.json", ConsoApiServerError),
    ("conso_500_token_refresh_failed.json", ConsoApiServerError),
    ("enedis_403_900908_api_not_subscribed.json", ConsoApiRequestError),
    ("cloudflare_403_blocked_truncated.html", ConsoApiBannedError),
]


@pytest.mark.parametrize(("name", "cls"), ERROR_FILES)
async def test_error_answers_raise_once_without_retry(
    api: FakeConsoApi, client: ConsoApiClient, name: str, cls: type[ConsoApiError]
) -> None:
    status = int(name.split("_")[1])
    content_type = "text/html; charset=UTF-8" if name.endswith(".html") else JSON
    api.reply_file(f"errors/{name}", status=status, content_type=content_type)

    with pytest.raises(ConsoApiError) as info:
        await client.load_curve(PDL, date(2026, 9, 29), date(2026, 10, 1))

    assert type(info.value) is cls
    assert info.value.status == status
    assert len(api.requests) == 1
    assert client.budget.used == 1
    assert client.budget.blocked_until is None


async def test_429_with_next_access_time_blocks_the_budget(
    api: FakeConsoApi, session: aiohttp.ClientSession
) -> None:
    now = datetime(2026, 7, 17, 3, 12, tzinfo=UTC)
    budget = RequestBudget(now=lambda: now)
    client = ConsoApiClient(session, TOKEN, base_url=api.base_url, budget=budget)
    api.reply_file("errors/conso_429_900804_quota_next_access_time.json", status=429)

    with pytest.raises(ConsoApiRateLimitedError) as info:
        await client.load_curve(PDL, date(2026, 7, 15), date(2026, 7, 17))

    retry_at = datetime(2026, 7, 17, 5, 0, tzinfo=UTC)
    assert info.value.retry_at == retry_at
    assert info.value.code == "900804"
    assert budget.blocked_until == retry_at
    with pytest.raises(BudgetExhaustedError) as refused:
        await client.load_curve(PDL, date(2026, 7, 15), date(2026, 7, 17))
    assert refused.value.retry_at == retry_at
    assert len(api.requests) == 1


async def test_429_without_time_blocks_one_hour(
    api: FakeConsoApi, session: aiohttp.ClientSession
) -> None:
    now = datetime(2026, 5, 2, 6, 0, tzinfo=UTC)
    budget = RequestBudget(now=lambda: now)
    client = ConsoApiClient(session, TOKEN, base_url=api.base_url, budget=budget)
    api.reply_file("errors/conso_429_900807_fault_quota.json", status=429)

    with pytest.raises(ConsoApiRateLimitedError) as info:
        await client.load_curve(PDL, date(2026, 5, 1), date(2026, 5, 2))

    assert info.value.retry_at is None
    assert budget.blocked_until == now + timedelta(hours=1)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_redirect_is_not_followed(
    api: FakeConsoApi, client: ConsoApiClient, budget: RequestBudget, status: int
) -> None:
    """A redirect is never followed: it would be a request the budget never counted, and
    the token would go wherever it points. It is a refused request, counted once."""
    target = api.base_url + "/consommation_quotidienne"
    api.replies.append(Reply(status, "", headers={"Location": target}))
    api.reply_file("v2/mesure_consommation_quotidienne.json")

    with pytest.raises(ConsoApiRequestError) as err:
        await client.daily_energy(PDL, date(2026, 9, 29), date(2026, 10, 1))

    assert err.value.status == status
    assert err.value.kind is ErrorKind.REQUEST
    assert len(api.requests) == 1
    assert budget.used == 1


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, "<html>maintenance</html>", "text/html"),
        Reply(200, '{"status": 200}'),
        Reply(200, "[1, 2]"),
    ],
)
async def test_malformed_success(api: FakeConsoApi, client: ConsoApiClient, reply: Reply) -> None:
    api.replies.append(reply)
    with pytest.raises(ConsoApiMalformedResponseError):
        await client.daily_energy(PDL, date(2026, 9, 29), date(2026, 10, 1))


async def test_timeout_is_a_connection_error_and_counts(
    api: FakeConsoApi, session: aiohttp.ClientSession, budget: RequestBudget
) -> None:
    api.delay = 5
    api.reply_file("v2/mesure_consommation_quotidienne.json")
    client = ConsoApiClient(session, TOKEN, base_url=api.base_url, budget=budget, timeout=0.2)
    with pytest.raises(ConsoApiConnectionError, match="Timeout"):
        await client.daily_energy(PDL, date(2026, 9, 29), date(2026, 10, 1))
    assert budget.used == 1


async def test_unreachable_server_is_a_connection_error_and_counts(
    socket_enabled: None, session: aiohttp.ClientSession, budget: RequestBudget
) -> None:
    server = TestServer(web.Application(), host="127.0.0.1")
    await server.start_server()
    closed_url = str(server.make_url("/api"))
    await server.close()
    client = ConsoApiClient(session, TOKEN, base_url=closed_url, budget=budget)
    with pytest.raises(ConsoApiConnectionError):
        await client.daily_energy(PDL, date(2026, 9, 29), date(2026, 10, 1))
    assert budget.used == 1


# --- logging --------------------------------------------------------------------------------


async def test_logs_never_contain_the_token_or_the_pdl(
    api: FakeConsoApi, client: ConsoApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    api.reply_file("v2/mesure_consommation_quotidienne.json")
    api.reply_file("errors/conso_401_invalid_token.json", status=401)
    api.replies.append(Reply(401, json.dumps({"status": 401, "message": f"bad {TOKEN}"})))

    with caplog.at_level(logging.DEBUG):
        await client.daily_energy(PDL, date(2026, 9, 29), date(2026, 10, 1))
        with pytest.raises(ConsoApiAuthError):
            await client.daily_energy(PDL, date(2026, 9, 29), date(2026, 10, 1))
        with pytest.raises(ConsoApiAuthError) as info:
            await client.daily_energy(PDL, date(2026, 9, 29), date(2026, 10, 1))

    # The fake server's own access log (aiohttp.access) shows the query; the client's not.
    client_side = "\n".join(
        record.getMessage()
        for record in caplog.records
        if not record.name.startswith(("aiohttp.access", "aiohttp.server", "asyncio"))
    )
    assert "consommation_quotidienne 2026-09-29..2026-10-01 -> HTTP 200" in client_side
    assert "HTTP 401" in client_side
    assert TOKEN not in client_side
    assert PDL not in client_side
    assert TOKEN not in caplog.text
    assert TOKEN not in str(info.value)


@pytest.mark.parametrize("error", [OverflowError, ValueError, KeyError, TypeError])
async def test_any_parsing_failure_is_a_client_error(
    api: FakeConsoApi,
    client: ConsoApiClient,
    monkeypatch: pytest.MonkeyPatch,
    error: type[Exception],
) -> None:
    """Whatever goes wrong while reading an answer, the caller gets a ConsoApiError (the
    run ends cleanly), never a bare Python error."""

    def broken(_body: object) -> Any:
        raise error("boom")

    monkeypatch.setattr("custom_components.linky.conso.client.parse_daily", broken)
    api.reply_file("v2/mesure_consommation_quotidienne.json")
    with pytest.raises(ConsoApiMalformedResponseError):
        await client.daily_energy(PDL, date(2026, 9, 29), date(2026, 10, 1))
