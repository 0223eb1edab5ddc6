"""The real client against the Conso API emulator on 127.0.0.1: DST days, mixed steps,
chunked back-fill planned by the planner, budget and errors, checked against the emulator's
ground truth."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
import itertools

import aiohttp
import pytest

from conso_emulator import (
    HOME_PDL,
    NEW_PDL,
    NO_CURVE_PDL,
    PV_PDL,
    Emulator,
    EmulatorServer,
    Fault,
)
from custom_components.linky.conso import (
    BudgetExhaustedError,
    ConsoApiAuthError,
    ConsoApiBannedError,
    ConsoApiClient,
    ConsoApiConnectionError,
    ConsoApiHistoryLimitError,
    ConsoApiNoConsentError,
    ConsoApiNoDataError,
    ConsoApiNotHolderError,
    ConsoApiRateLimitedError,
    ConsoApiRequestError,
    ConsoApiServerError,
    EnergyInterval,
    MeasureType,
    RequestBudget,
    check_pdl,
    parse_token,
    plan_requests,
)
from custom_components.linky.localtime import PARIS

NOW = datetime(2026, 11, 20, 9, 17, 23, tzinfo=PARIS)  # after the 08:00 publication
TODAY = NOW.date()
SPRING = date(2026, 3, 29)
AUTUMN = date(2026, 10, 25)


class Clock:
    """One settable clock for the emulator and the budget; `sleep` advances it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now.astimezone(UTC)

    async def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def emu(clock: Clock) -> Emulator:
    return Emulator(now=clock)


@pytest.fixture
async def base_url(emu: Emulator, socket_enabled: None) -> AsyncIterator[str]:
    """The emulator served on 127.0.0.1 (phacc blocks sockets unless `socket_enabled`)."""
    async with EmulatorServer(emu, host="127.0.0.1", port=0) as server:
        yield server.base_url


@pytest.fixture
def budget(clock: Clock) -> RequestBudget:
    return RequestBudget(now=clock, sleep=clock.sleep)


@pytest.fixture
async def client(
    emu: Emulator, base_url: str, budget: RequestBudget
) -> AsyncIterator[ConsoApiClient]:
    token = emu.mint_token([HOME_PDL, PV_PDL, NO_CURVE_PDL, NEW_PDL])
    async with aiohttp.ClientSession() as session:
        yield ConsoApiClient(
            session,
            token,
            base_url=base_url,
            budget=budget,
            user_agent="linky-ha/test (+https://github.com/linky-ha/linky)",
        )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=PARIS)


def _hourly(intervals: list[EnergyInterval]) -> dict[datetime, float]:
    """Wh per UTC hour start (every step divides the hour, so no interval spans two)."""
    hours: dict[datetime, float] = defaultdict(float)
    for interval in intervals:
        hour = interval.start.astimezone(UTC).replace(minute=0, second=0)
        assert interval.end.astimezone(UTC) <= hour + timedelta(hours=1)
        hours[hour] += interval.wh
    return dict(hours)


def _truth_hourly(
    emu: Emulator, pdl: str, start: date, end: date, *, production: bool = False
) -> dict[datetime, int]:
    return emu.truth.hourly_wh(pdl, production, _midnight(start), _midnight(end))


def _assert_contiguous(intervals: list[EnergyInterval]) -> None:
    for previous, current in itertools.pairwise(intervals):
        assert current.start == previous.end


# --- DST and steps --------------------------------------------------------------------------


async def test_autumn_week_hourly_matches_truth(emu: Emulator, client: ConsoApiClient) -> None:
    """2026-10-25 (25 h) served at PT60M, neighbours at PT10M/PT30M."""
    start, end = date(2026, 10, 22), date(2026, 10, 29)
    intervals = await client.load_curve(HOME_PDL, start, end)

    assert _hourly(intervals) == _truth_hourly(emu, HOME_PDL, start, end)
    _assert_contiguous(intervals)
    autumn = [i for i in intervals if i.start.date() == AUTUMN]
    assert len(autumn) == 25  # PT60M on a 25-hour day
    assert sum((i.end - i.start for i in autumn), timedelta()) == timedelta(hours=25)
    assert {i.end - i.start for i in intervals} == {
        timedelta(minutes=m)
        for m in {emu.truth.step_minutes(HOME_PDL, d) for d in _days(start, end)}
    }


async def test_autumn_day_half_hours_production(emu: Emulator, client: ConsoApiClient) -> None:
    intervals = await client.load_curve(PV_PDL, AUTUMN, AUTUMN + timedelta(days=1), production=True)
    assert len(intervals) == 50
    assert intervals[0].start == _midnight(AUTUMN)
    assert intervals[-1].end == _midnight(AUTUMN + timedelta(days=1))
    assert _hourly(intervals) == _truth_hourly(
        emu, PV_PDL, AUTUMN, AUTUMN + timedelta(days=1), production=True
    )


async def test_spring_day_has_23_hours(emu: Emulator, client: ConsoApiClient) -> None:
    intervals = await client.load_curve(HOME_PDL, SPRING, SPRING + timedelta(days=1))
    assert len(intervals) == 46
    assert intervals[-1].end - intervals[0].start == timedelta(hours=23)
    hourly = _hourly(intervals)
    assert len(hourly) == 23
    assert hourly == _truth_hourly(emu, HOME_PDL, SPRING, SPRING + timedelta(days=1))


async def test_daily_energy_equals_summed_curve_across_dst(
    emu: Emulator, client: ConsoApiClient
) -> None:
    start, end = date(2026, 10, 22), date(2026, 10, 29)
    days = await client.daily_energy(HOME_PDL, start, end)
    intervals = await client.load_curve(HOME_PDL, start, end)

    per_day: dict[date, float] = defaultdict(float)
    for interval in intervals:
        per_day[interval.start.date()] += interval.wh
    assert {d.day: d.wh for d in days} == per_day
    assert [d.wh for d in days] == [emu.truth.daily_wh(HOME_PDL, False, d.day) for d in days]
    assert days[3].day == AUTUMN
    assert days[3].start == _midnight(AUTUMN)


async def test_max_power_matches_truth(emu: Emulator, client: ConsoApiClient) -> None:
    maxima = await client.max_power(HOME_PDL, date(2026, 10, 22), date(2026, 10, 29))
    assert len(maxima) == 7
    for item in maxima:
        assert (item.va, item.at) == emu.truth.max_power(HOME_PDL, item.day)


# --- back-fill ------------------------------------------------------------------------------


async def test_chunked_load_curve_backfill(
    emu: Emulator, client: ConsoApiClient, budget: RequestBudget
) -> None:
    """Ask for 3 years: the planner clamps to 24 months; fetch 5 weeks newest first."""
    chunks = plan_requests(
        MeasureType.CONSUMPTION_LOAD_CURVE, date(2023, 1, 1), TODAY, TODAY, newest_first=True
    )
    assert chunks[0].end == TODAY
    assert chunks[-1].start == date(2024, 11, 20)
    wanted = chunks[:5]

    intervals: list[EnergyInterval] = []
    for chunk in wanted:
        intervals = await client.load_curve(HOME_PDL, chunk.start, chunk.end) + intervals

    start = wanted[-1].start
    assert _hourly(intervals) == _truth_hourly(emu, HOME_PDL, start, TODAY)
    assert [
        (r.type, r.params["dateDebut"], r.params["dateFin"], r.status) for r in emu.requests
    ] == [
        ("courbe_de_charge_consommation", c.start.isoformat(), c.end.isoformat(), 200)
        for c in wanted
    ]
    assert budget.used == 5


async def test_oldest_legal_chunks_are_accepted(emu: Emulator, client: ConsoApiClient) -> None:
    curve = plan_requests(MeasureType.CONSUMPTION_LOAD_CURVE, date(2020, 1, 1), TODAY, TODAY)[0]
    daily = plan_requests(MeasureType.CONSUMPTION_DAILY, date(2020, 1, 1), TODAY, TODAY)
    await client.load_curve(HOME_PDL, curve.start, curve.end)
    results = [await client.daily_energy(HOME_PDL, c.start, c.end) for c in daily]

    total = sum(d.wh for result in results for d in result)
    expected_days = [
        day
        for day in _days(daily[0].start, TODAY)
        if emu.truth.daily_wh(HOME_PDL, False, day) is not None
    ]
    assert total == sum(emu.truth.daily_wh(HOME_PDL, False, d) or 0 for d in expected_days)
    assert sum(len(result) for result in results) == len(expected_days)
    assert all(record.status == 200 for record in emu.requests)


async def test_missing_day_is_absent_not_invented(emu: Emulator, client: ConsoApiClient) -> None:
    missing = emu.truth.missing_days(HOME_PDL, date(2025, 11, 1), date(2025, 11, 8))
    assert missing == [date(2025, 11, 2)]
    days = await client.daily_energy(HOME_PDL, date(2025, 11, 1), date(2025, 11, 8))
    assert [d.day for d in days] == [
        d for d in _days(date(2025, 11, 1), date(2025, 11, 8)) if d not in missing
    ]


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days)]


# --- token ----------------------------------------------------------------------------------


def test_emulator_token_decodes(emu: Emulator, clock: Clock) -> None:
    token = parse_token(emu.mint_token([HOME_PDL, PV_PDL]))
    assert token.prms == (HOME_PDL, PV_PDL)
    assert token.issued_at is not None
    assert token.expires_at == token.issued_at + timedelta(days=1094)
    check_pdl(token, HOME_PDL, clock())


# --- errors -----------------------------------------------------------------------------------


async def test_pdl_not_in_token_is_an_auth_error(
    emu: Emulator, base_url: str, budget: RequestBudget
) -> None:
    async with aiohttp.ClientSession() as session:
        client = ConsoApiClient(session, emu.mint_token([PV_PDL]), base_url=base_url, budget=budget)
        with pytest.raises(ConsoApiAuthError) as info:
            await client.daily_energy(HOME_PDL, date(2026, 11, 1), date(2026, 11, 2))
    assert info.value.status == 401


async def test_expired_token_is_an_auth_error(
    emu: Emulator, base_url: str, budget: RequestBudget
) -> None:
    token = emu.mint_token([HOME_PDL], expires_at=NOW - timedelta(days=1))
    async with aiohttp.ClientSession() as session:
        client = ConsoApiClient(session, token, base_url=base_url, budget=budget)
        with pytest.raises(ConsoApiAuthError):
            await client.daily_energy(HOME_PDL, date(2026, 11, 1), date(2026, 11, 2))


async def test_load_curve_without_hourly_collection(client: ConsoApiClient) -> None:
    with pytest.raises(ConsoApiNoDataError) as info:
        await client.load_curve(NO_CURVE_PDL, date(2026, 11, 10), date(2026, 11, 17))
    assert info.value.code == "no_data_found"
    assert len(await client.daily_energy(NO_CURVE_PDL, date(2026, 11, 10), date(2026, 11, 17))) >= 6


async def test_before_activation(client: ConsoApiClient) -> None:
    with pytest.raises(ConsoApiHistoryLimitError) as info:
        await client.daily_energy(NEW_PDL, TODAY - timedelta(days=365), TODAY)
    assert info.value.before_activation


async def test_end_in_the_future_is_a_request_error(client: ConsoApiClient) -> None:
    with pytest.raises(ConsoApiRequestError):
        await client.daily_energy(HOME_PDL, TODAY - timedelta(days=2), TODAY + timedelta(days=1))


async def test_consent_and_holder(emu: Emulator, client: ConsoApiClient) -> None:
    emu.meters[HOME_PDL].consent = False
    with pytest.raises(ConsoApiNoConsentError):
        await client.daily_energy(HOME_PDL, date(2026, 11, 1), date(2026, 11, 2))
    emu.meters[HOME_PDL].consent = True
    emu.meters[HOME_PDL].holder = False
    with pytest.raises(ConsoApiNotHolderError):
        await client.daily_energy(HOME_PDL, date(2026, 11, 1), date(2026, 11, 2))
    emu.meters[HOME_PDL].holder = True
    with pytest.raises(ConsoApiNoConsentError):  # this meter does not produce
        await client.daily_energy(HOME_PDL, date(2026, 11, 1), date(2026, 11, 2), production=True)


async def test_quota_blocks_the_shared_budget(
    emu: Emulator, client: ConsoApiClient, budget: RequestBudget
) -> None:
    emu.faults.push(Fault(429))
    with pytest.raises(ConsoApiRateLimitedError) as info:
        await client.load_curve(HOME_PDL, date(2026, 11, 10), date(2026, 11, 17))
    retry_at = datetime(2026, 11, 20, 10, 0, tzinfo=PARIS)  # the next full hour
    assert info.value.retry_at == retry_at
    assert budget.blocked_until == retry_at

    with pytest.raises(BudgetExhaustedError):
        await client.daily_energy(PV_PDL, date(2026, 11, 10), date(2026, 11, 17))
    assert len(emu.requests) == 1


async def test_quota_without_time_blocks_an_hour(
    emu: Emulator, client: ConsoApiClient, budget: RequestBudget, clock: Clock
) -> None:
    emu.faults.push(Fault(429, kind="rate_limited_fault"))
    with pytest.raises(ConsoApiRateLimitedError):
        await client.daily_energy(HOME_PDL, date(2026, 11, 10), date(2026, 11, 17))
    assert budget.blocked_until == clock() + timedelta(hours=1)


@pytest.mark.parametrize(
    ("fault", "cls", "code"),
    [
        (Fault(500, kind="technical_error"), ConsoApiServerError, "technical_error"),
        (Fault(500, kind="token_refresh"), ConsoApiServerError, None),
        (Fault(500, kind="unknown_error"), ConsoApiServerError, None),
        (Fault(500, kind="plain_text_500"), ConsoApiServerError, None),
        (Fault(502, kind="bad_gateway"), ConsoApiServerError, "origin_bad_gateway"),
        (Fault(403, kind="banned"), ConsoApiBannedError, None),
    ],
)
async def test_scripted_faults(
    emu: Emulator, client: ConsoApiClient, fault: Fault, cls: type[Exception], code: str | None
) -> None:
    emu.faults.push(fault)
    with pytest.raises(cls) as info:
        await client.daily_energy(HOME_PDL, date(2026, 11, 10), date(2026, 11, 17))
    assert getattr(info.value, "code", None) == code
    assert len(emu.requests) == 1  # never retried


async def test_ban_page(emu: Emulator, client: ConsoApiClient) -> None:
    emu.ban_after(1)
    await client.daily_energy(HOME_PDL, date(2026, 11, 10), date(2026, 11, 17))
    with pytest.raises(ConsoApiBannedError):
        await client.daily_energy(HOME_PDL, date(2026, 11, 10), date(2026, 11, 17))


async def test_slow_answer_times_out(emu: Emulator, base_url: str, budget: RequestBudget) -> None:
    emu.faults.push(Fault(200, kind="slow", delay=0.5))
    async with aiohttp.ClientSession() as session:
        client = ConsoApiClient(
            session, emu.mint_token([HOME_PDL]), base_url=base_url, budget=budget, timeout=0.1
        )
        with pytest.raises(ConsoApiConnectionError):
            await client.daily_energy(HOME_PDL, date(2026, 11, 10), date(2026, 11, 17))
    assert budget.used == 1


async def test_budget_cap_holds_against_the_emulator(
    emu: Emulator, client: ConsoApiClient, budget: RequestBudget
) -> None:
    budget.cap = 8
    emu.faults.push(Fault(500, kind="technical_error", times=3))
    sent = 0
    for chunk in plan_requests(MeasureType.CONSUMPTION_LOAD_CURVE, date(2026, 1, 1), TODAY, TODAY):
        try:
            await client.load_curve(HOME_PDL, chunk.start, chunk.end)
        except ConsoApiServerError:
            pass
        except BudgetExhaustedError:
            break
        sent += 1
    assert sent == 8
    assert len(emu.requests) == 8
