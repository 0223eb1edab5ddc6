"""Tempo calendar: the emulator's deterministic calendar, and the client against it on
127.0.0.1 (cache hits send nothing, the rolling budget holds, unknown colours are not guessed)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
import json

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
import pytest

from conso_emulator.tempo import BLUE, RED, WHITE, TempoCalendar, add_tempo_routes
from custom_components.linky.energy.hourly import day_hours
from custom_components.linky.energy.pricing import TariffEngine
from custom_components.linky.energy.tariffs import (
    OPTION_BUCKETS,
    ContractOption,
    Tariff,
    TariffPeriod,
)
from custom_components.linky.energy.tempo_calendar import (
    REQUEST_CAP,
    TempoBudgetExhaustedError,
    TempoCache,
    TempoClient,
    TempoColour,
    TempoConnectionError,
    TempoResponseError,
    season_of,
    tempo_budget,
    tempo_day_of,
)
from custom_components.linky.localtime import PARIS

COLOURS = {BLUE: TempoColour.BLUE, WHITE: TempoColour.WHITE, RED: TempoColour.RED}
TODAY = date(2026, 1, 20)


def paris(day: date, hour: int, minute: int = 0) -> datetime:
    """A Europe/Paris instant."""
    return datetime.combine(day, time(hour, minute), PARIS)


@dataclass
class Clock:
    """A settable clock shared by the emulator and the client."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    """Paris 20 January 2026 at 09:00."""
    return Clock(paris(TODAY, 9))


@pytest.fixture
def calendar(clock: Clock) -> TempoCalendar:
    """The emulator's calendar on the shared clock."""
    return TempoCalendar(clock)


@pytest.fixture
async def base_url(calendar: TempoCalendar, socket_enabled: None) -> AsyncIterator[str]:
    """The calendar served on 127.0.0.1 under /tempo/api (phacc blocks sockets unless
    `socket_enabled`; only 127.0.0.1 is used)."""
    app = web.Application()
    add_tempo_routes(app, calendar)
    async with TestServer(app, host="127.0.0.1") as server:
        yield str(server.make_url("/tempo/api"))


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session, closed after the test."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def client(session: aiohttp.ClientSession, base_url: str, clock: Clock) -> TempoClient:
    """A client with an empty cache, pointed at the emulator."""
    return TempoClient(session, TempoCache(), base_url=base_url, clock=clock)


# --- Helpers and the emulator calendar ------------------------------------------------------


def test_tempo_day_and_season_helpers() -> None:
    """A Tempo day starts at 06:00 local; a season starts on 1 September."""
    assert tempo_day_of(paris(date(2026, 1, 15), 5, 59)) == date(2026, 1, 14)
    assert tempo_day_of(paris(date(2026, 1, 15), 6)) == date(2026, 1, 15)
    # 04:30 UTC on the October DST day is 05:30 CET: still the previous Tempo day.
    assert tempo_day_of(datetime(2025, 10, 26, 4, 30, tzinfo=UTC)) == date(2025, 10, 25)
    assert tempo_day_of(datetime(2025, 10, 26, 5, tzinfo=UTC)) == date(2025, 10, 26)
    assert season_of(date(2025, 8, 31)) == "2024-2025"
    assert season_of(date(2025, 9, 1)) == "2025-2026"


@pytest.mark.parametrize("first_year", [2023, 2024, 2025])
def test_emulator_calendar_follows_the_tempo_rules(first_year: int) -> None:
    """22 red weekdays between 1 Nov and 31 Mar, 43 white days never on Sunday, rest blue."""
    truth = TempoCalendar(lambda: paris(date(2027, 1, 1), 12))
    start, end = date(first_year, 9, 1), date(first_year + 1, 9, 1)
    days = [start + timedelta(days=i) for i in range((end - start).days)]
    codes = {day: truth.colour(day) for day in days}
    red = [day for day, code in codes.items() if code == RED]
    white = [day for day, code in codes.items() if code == WHITE]
    assert len(red) == 22
    assert all(day.weekday() < 5 for day in red)
    assert all(date(first_year, 11, 1) <= day <= date(first_year + 1, 3, 31) for day in red)
    assert len(white) == 43
    assert all(day.weekday() != 6 for day in white)
    assert sum(code == BLUE for code in codes.values()) == len(days) - 65
    again = TempoCalendar(lambda: paris(date(2027, 1, 1), 12))
    assert all(again.colour(day) == code for day, code in codes.items())


def test_emulator_publishes_tomorrow_at_eleven(calendar: TempoCalendar, clock: Clock) -> None:
    """Tomorrow is 0 until 11:00 Paris; the day after is 0; later dates do not exist."""
    tomorrow = TODAY + timedelta(days=1)
    clock.now = paris(TODAY, 10, 59)
    assert calendar.published(TODAY) == calendar.colour(TODAY)
    assert calendar.published(tomorrow) == 0
    assert calendar.published(tomorrow + timedelta(days=1)) == 0
    assert calendar.published(tomorrow + timedelta(days=2)) is None
    assert calendar.published(date(2020, 8, 31)) is None
    clock.now = paris(TODAY, 11)
    assert calendar.published(tomorrow) == calendar.colour(tomorrow)


async def test_emulator_serves_the_public_paths(
    session: aiohttp.ClientSession, base_url: str, calendar: TempoCalendar
) -> None:
    """Same paths and body shape as api-couleur-tempo.fr."""
    async with session.get(f"{base_url}/jourTempo/today") as response:
        today = await response.json()
    assert today == {
        "dateJour": "2026-01-20",
        "codeJour": calendar.colour(TODAY),
        "periode": "2025-2026",
        "libCouleur": {BLUE: "Bleu", WHITE: "Blanc", RED: "Rouge"}[calendar.colour(TODAY)],
    }
    async with session.get(f"{base_url}/jourTempo/tomorrow") as response:
        assert (await response.json())["codeJour"] == 0  # 09:00: not published yet
    async with session.get(f"{base_url}/jourTempo/2026-01-25") as response:
        assert response.status == 404
    async with session.get(f"{base_url}/joursTempo", params={"periode": "2024-2025"}) as response:
        season = await response.json()
    assert len(season) == 365
    assert season[0]["dateJour"] == "2024-09-01"
    assert season[-1]["dateJour"] == "2025-08-31"
    async with session.get(f"{base_url}/joursTempo", params={"periode": "2025-2026"}) as response:
        current = await response.json()
    assert current[-1] == {
        "dateJour": "2026-01-22",
        "codeJour": 0,
        "periode": "2025-2026",
        "libCouleur": "Inconnu",
    }
    assert len(calendar.served) == 5


# --- Client ------------------------------------------------------------------------------


async def test_known_colour_is_read_once(client: TempoClient, calendar: TempoCalendar) -> None:
    """A past colour is fetched, final, and never asked again."""
    day = date(2026, 1, 12)
    assert await client.async_colour(day) is COLOURS[calendar.colour(day)]
    assert client.cache.is_final(day)
    assert calendar.served == ["/tempo/api/jourTempo/2026-01-12"]
    assert await client.async_colour(day) is COLOURS[calendar.colour(day)]
    assert await client.async_fill([day]) == set()
    assert len(calendar.served) == 1


async def test_tomorrow_unknown_then_provisional_then_final(
    client: TempoClient, calendar: TempoCalendar, clock: Clock
) -> None:
    """Before 11:00 no colour (no guess); asked again only after an hour; a colour read
    before 12:00 is provisional and read once more after 12:00, then never again."""
    tomorrow = TODAY + timedelta(days=1)
    clock.now = paris(TODAY, 10, 15)
    assert await client.async_colour(tomorrow) is None
    assert len(calendar.served) == 1
    clock.now = paris(TODAY, 11, 0)
    assert await client.async_colour(tomorrow) is None  # checked 45 min ago: no request
    assert len(calendar.served) == 1
    clock.now = paris(TODAY, 11, 20)
    expected = COLOURS[calendar.colour(tomorrow)]
    assert await client.async_colour(tomorrow) is expected
    assert not client.cache.is_final(tomorrow)
    assert len(calendar.served) == 2
    clock.now = paris(TODAY, 11, 50)
    assert await client.async_colour(tomorrow) is expected
    assert len(calendar.served) == 2  # provisional, but not final-able before 12:00
    clock.now = paris(TODAY, 12, 5)
    assert await client.async_colour(tomorrow) is expected
    assert client.cache.is_final(tomorrow)
    assert len(calendar.served) == 3
    clock.now = paris(TODAY, 18)
    await client.async_colour(tomorrow)
    assert len(calendar.served) == 3


async def test_dates_after_tomorrow_are_never_asked(
    client: TempoClient, calendar: TempoCalendar
) -> None:
    """Nobody knows the colour of D+2: no request is spent on it."""
    assert await client.async_fill([TODAY + timedelta(days=2), date(2026, 6, 1)]) == {
        TODAY + timedelta(days=2),
        date(2026, 6, 1),
    }
    assert calendar.served == []


async def test_date_the_service_does_not_hold_is_unknown(
    client: TempoClient, calendar: TempoCalendar, clock: Clock
) -> None:
    """A 404 is "not known", not an error nor a guess; it is asked again only an hour later."""
    old = date(2019, 1, 7)
    assert await client.async_colour(old) is None
    clock.now += timedelta(minutes=59)
    assert await client.async_colour(old) is None
    assert calendar.served == ["/tempo/api/jourTempo/2019-01-07"]
    clock.now += timedelta(minutes=1)
    assert await client.async_colour(old) is None
    assert len(calendar.served) == 2
    assert client.cache.as_dict()["unknown_checked"] == {"2019-01-07": "2026-01-20T09:00:00+00:00"}


async def test_many_dates_of_a_season_take_one_request(
    client: TempoClient, calendar: TempoCalendar
) -> None:
    """A month of history is one season request; the cache then answers everything."""
    days = [date(2025, 12, 1) + timedelta(days=i) for i in range(31)]
    assert await client.async_fill(days) == set()
    assert calendar.served == ["/tempo/api/joursTempo?periode=2025-2026"]
    assert all(client.cache.colour(day) is COLOURS[calendar.colour(day)] for day in days)
    assert client.cache.colour(TODAY + timedelta(days=1)) is None  # served as 0: unknown
    await client.async_fill(days)
    assert len(calendar.served) == 1


async def test_rolling_budget_is_respected(
    client: TempoClient, calendar: TempoCalendar, clock: Clock
) -> None:
    """At most REQUEST_CAP requests in 24 h; the refused call sends nothing."""
    first = clock.now
    for i in range(REQUEST_CAP):
        await client.async_colour(date(2025, 11, 1) + timedelta(days=i))
    with pytest.raises(TempoBudgetExhaustedError) as err:
        await client.async_colour(date(2025, 10, 1))
    assert err.value.retry_at == first + timedelta(hours=24)
    assert len(calendar.served) == REQUEST_CAP
    clock.now = first + timedelta(hours=24)
    assert await client.async_colour(date(2025, 10, 1)) is not None
    assert len(calendar.served) == REQUEST_CAP + 1


async def test_cache_persists_colours_and_budget(
    client: TempoClient,
    calendar: TempoCalendar,
    session: aiohttp.ClientSession,
    base_url: str,
    clock: Clock,
) -> None:
    """A cache restored from JSON answers without asking again."""
    await client.async_fill([date(2026, 1, 12)])
    clock.now = paris(TODAY, 11, 30)
    await client.async_fill([TODAY + timedelta(days=1)])
    restored = TempoCache.from_dict(json.loads(json.dumps(client.cache.as_dict())))
    assert restored.colours == client.cache.colours
    assert restored.is_final(date(2026, 1, 12))
    assert not restored.is_final(TODAY + timedelta(days=1))
    again = TempoClient(session, restored, base_url=base_url, clock=clock)
    await again.async_fill([date(2026, 1, 12), TODAY + timedelta(days=1)])
    assert len(calendar.served) == 2
    with pytest.raises(ValueError, match="malformed"):
        TempoCache.from_dict({"days": {"2026-01-12": {"colour": "blue"}}})


async def test_costs_can_be_recomputed_once_colours_arrive(
    client: TempoClient, calendar: TempoCalendar
) -> None:
    """The engine reports missing days; the client fills them; the recompute is complete."""
    prices = dict.fromkeys(OPTION_BUCKETS[ContractOption.TEMPO], Decimal("0.1"))
    tariff = Tariff((TariffPeriod(date(2025, 9, 1), ContractOption.TEMPO, prices),))
    consumption = dict.fromkeys(day_hours(date(2026, 1, 14)), 1000.0)
    engine = TariffEngine(tariff, client.cache.colour)
    first = engine.compute(consumption)
    assert first.missing_colours == {date(2026, 1, 13), date(2026, 1, 14)}
    assert first.total_energy_cost == {}
    await client.async_fill(first.missing_colours)
    second = engine.compute(consumption)
    assert not second.missing_colours
    assert len(second.total_energy_cost) == 24


# --- Errors ------------------------------------------------------------------------------


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def faulty_url(socket_enabled: None) -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    """Serve one handler for every path on 127.0.0.1."""
    servers: list[TestServer] = []

    async def serve(handler: Handler) -> str:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", handler)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return str(server.make_url("/api"))

    yield serve
    for server in servers:
        await server.close()


async def test_server_error_is_typed(
    session: aiohttp.ClientSession, faulty_url: Callable[[Handler], Awaitable[str]]
) -> None:
    """A 500 becomes TempoResponseError with the status, and counts in the budget."""

    async def fail(_request: web.Request) -> web.Response:
        return web.Response(status=500, text="boom")

    budget = tempo_budget()
    client = TempoClient(session, TempoCache(), base_url=await faulty_url(fail), budget=budget)
    with pytest.raises(TempoResponseError) as err:
        await client.async_colour(date(2025, 12, 1))
    assert err.value.status == 500
    assert budget.used == 1


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        '{"dateJour": "2025-12-01", "codeJour": 7}',
        '{"dateJour": "2025-12-02", "codeJour": 1}',
        '["a list"]',
    ],
)
async def test_malformed_answers_are_typed(
    session: aiohttp.ClientSession, faulty_url: Callable[[Handler], Awaitable[str]], body: str
) -> None:
    """Bad JSON, an unknown code, the wrong date or the wrong shape: TempoResponseError."""

    async def answer(_request: web.Request) -> web.Response:
        return web.Response(text=body, content_type="application/json")

    client = TempoClient(session, TempoCache(), base_url=await faulty_url(answer))
    with pytest.raises(TempoResponseError):
        await client.async_colour(date(2025, 12, 1))
    assert client.cache.colour(date(2025, 12, 1)) is None


async def test_unreachable_service_is_a_connection_error(
    session: aiohttp.ClientSession, socket_enabled: None
) -> None:
    """Nothing listening on the port: TempoConnectionError."""
    server = TestServer(web.Application(), host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("/api"))
    await server.close()
    client = TempoClient(session, TempoCache(), base_url=url)
    with pytest.raises(TempoConnectionError):
        await client.async_colour(date(2025, 12, 1))
