"""The hard request budget: cap, rolling window, pacing, server blocks, persistence."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
import json
import logging
from typing import Any

import pytest

from custom_components.linky.conso.budget import MAX_BLOCK, RequestBudget
from custom_components.linky.conso.errors import BudgetExhaustedError

T0 = datetime(2026, 10, 26, 8, 34, 45, tzinfo=UTC)
WINDOW = timedelta(hours=12)


class FakeClock:
    """A controllable clock; `sleep` advances it instead of waiting."""

    def __init__(self, start: datetime = T0) -> None:
        self.current = start
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.current += timedelta(seconds=seconds)

    def advance(self, delta: timedelta) -> None:
        self.current += delta


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make(clock: FakeClock, **kwargs: Any) -> RequestBudget:
    return RequestBudget(now=clock.now, sleep=clock.sleep, **kwargs)


async def _send_and_fail(budget: RequestBudget) -> None:
    """A request that is sent then fails (a timeout, a 500...): it still counts."""
    await budget.acquire()
    raise ConnectionError


async def test_cap_is_never_exceeded_over_a_burst_with_failures(clock: FakeClock) -> None:
    budget = make(clock, cap=10, max_per_second=1000)
    sent = 0
    retry_times = []
    for attempt in range(40):
        clock.advance(timedelta(minutes=1))
        try:
            if attempt % 2:
                await _send_and_fail(budget)
            else:
                await budget.acquire()
            sent += 1
        except ConnectionError:
            sent += 1
        except BudgetExhaustedError as err:
            retry_times.append(err.retry_at)
    assert sent == 10
    assert retry_times == [T0 + timedelta(minutes=1) + WINDOW] * 30
    assert budget.used == 10
    assert budget.remaining == 0


async def test_concurrent_acquires_never_exceed_the_cap(clock: FakeClock) -> None:
    budget = make(clock, cap=7, max_per_second=3)
    results = await asyncio.gather(*(budget.acquire() for _ in range(25)), return_exceptions=True)
    assert sum(result is None for result in results) == 7
    assert all(isinstance(r, BudgetExhaustedError) for r in results if r is not None)
    assert budget.used == 7


async def test_rolling_window_frees_slots_one_by_one(clock: FakeClock) -> None:
    budget = make(clock, cap=3)
    for _ in range(3):
        await budget.acquire()
        clock.advance(timedelta(hours=1))
    # Sent at T0, T0+1h, T0+2h; now T0+3h.
    with pytest.raises(BudgetExhaustedError) as info:
        await budget.acquire()
    assert info.value.retry_at == T0 + WINDOW
    assert budget.next_available_at() == T0 + WINDOW

    clock.current = T0 + WINDOW - timedelta(seconds=1)
    with pytest.raises(BudgetExhaustedError):
        await budget.acquire()
    clock.current = T0 + WINDOW
    assert budget.remaining == 1
    await budget.acquire()
    with pytest.raises(BudgetExhaustedError) as info:
        await budget.acquire()
    assert info.value.retry_at == T0 + timedelta(hours=1) + WINDOW


async def test_pacing_at_most_five_per_second(clock: FakeClock) -> None:
    budget = make(clock, cap=50, max_per_second=5)
    send_times = []
    for _ in range(12):
        await budget.acquire()
        send_times.append(clock.now())
    assert clock.sleeps  # it waited instead of sending a 6th request in the same second
    for index in range(len(send_times) - 5):
        assert send_times[index + 5] - send_times[index] >= timedelta(seconds=1)
    assert send_times[-1] - send_times[0] == timedelta(seconds=2)
    assert budget.used == 12


async def test_pacing_waits_only_as_needed(clock: FakeClock) -> None:
    budget = make(clock, max_per_second=2)
    await budget.acquire()
    clock.advance(timedelta(milliseconds=600))
    await budget.acquire()
    await budget.acquire()
    assert clock.sleeps == [pytest.approx(0.4)]


async def test_real_sleep_pacing_is_short() -> None:
    budget = RequestBudget(max_per_second=2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(3):
        await budget.acquire()
    assert 0.9 <= loop.time() - started < 2
    assert budget.next_available_at().tzinfo is not None


async def test_restart_restores_the_count_and_still_refuses(clock: FakeClock) -> None:
    budget = make(clock, cap=5)
    for _ in range(5):
        await budget.acquire()
        clock.advance(timedelta(minutes=10))
    saved = json.loads(json.dumps(budget.as_dict()))

    restarted = RequestBudget.from_dict(saved, cap=5, now=clock.now, sleep=clock.sleep)
    assert restarted.used == 5
    with pytest.raises(BudgetExhaustedError) as info:
        await restarted.acquire()
    assert info.value.retry_at == T0 + WINDOW

    clock.current = T0 + WINDOW
    await restarted.acquire()
    assert restarted.used == 5


async def test_restart_with_partial_use_allows_only_the_rest(clock: FakeClock) -> None:
    budget = make(clock, cap=10)
    for _ in range(7):
        await budget.acquire()
    restarted = RequestBudget.from_dict(budget.as_dict(), cap=10, now=clock.now, sleep=clock.sleep)
    for _ in range(3):
        await restarted.acquire()
    with pytest.raises(BudgetExhaustedError):
        await restarted.acquire()


async def test_restart_with_lower_cap_refuses(clock: FakeClock) -> None:
    budget = make(clock, cap=10)
    for _ in range(6):
        await budget.acquire()
    restarted = RequestBudget.from_dict(budget.as_dict(), cap=5, now=clock.now)
    with pytest.raises(BudgetExhaustedError):
        await restarted.acquire()


async def test_lowering_the_cap_at_runtime(clock: FakeClock) -> None:
    budget = make(clock, cap=10)
    for _ in range(4):
        await budget.acquire()
    budget.cap = 4
    with pytest.raises(BudgetExhaustedError):
        await budget.acquire()


async def test_restored_future_times_are_kept(clock: FakeClock) -> None:
    """A clock set back at boot then corrected must not free slots early: send times in the
    future stay where they are (at most one window ahead, so that a clock that was far
    ahead cannot block for ever)."""
    soon = T0 + timedelta(hours=3)
    data = {
        "version": 1,
        "sent": [soon.isoformat(), (T0 + timedelta(days=365)).isoformat()],
        "blocked_until": None,
    }
    budget = RequestBudget.from_dict(data, cap=2, now=clock.now)
    assert budget.used == 2
    assert budget.next_available_at() == soon + WINDOW
    clock.advance(timedelta(hours=3) + WINDOW)  # the clock caught up: the first one expires
    assert budget.used == 1
    clock.advance(WINDOW)
    assert budget.used == 0


async def test_write_ahead_persists_each_request_before_it_goes(clock: FakeClock) -> None:
    """With `persist`, a request is written durably before `acquire` returns: a crash
    between the request and the end of the run cannot forget it."""
    written: list[dict[str, Any]] = []
    budget = make(clock, cap=5)

    async def persist() -> None:
        written.append(budget.as_dict())

    budget.persist = persist
    for expected in range(1, 4):
        await budget.acquire()
        assert len(written) == expected
        assert len(written[-1]["sent"]) == expected
    restored = RequestBudget.from_dict(written[-1], cap=5, now=clock.now)
    assert restored.used == 3


async def test_expired_sends_are_dropped_on_restore(clock: FakeClock) -> None:
    data = {"version": 1, "sent": [(T0 - WINDOW).isoformat(), T0.isoformat()]}
    assert RequestBudget.from_dict(data, now=clock.now).used == 1


@pytest.mark.parametrize(
    "data",
    [
        {"version": 1, "sent": "nope"},
        {"version": 1, "sent": [1, 2]},
        {"version": 1, "sent": ["yesterday"]},
        {"version": 1, "sent": ["2026-10-26T08:00:00"]},  # naive
        {"version": 1},
        {"version": 1, "sent": [], "blocked_until": "soon"},
        {"version": 99, "sent": []},
        {"sent": [T0.isoformat()]},
    ],
)
async def test_corrupt_data_starts_empty_and_logs(
    clock: FakeClock, data: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        budget = RequestBudget.from_dict(data, cap=3, now=clock.now)
    assert budget.used == 0
    assert "corrupt" in caplog.text or "unknown version" in caplog.text
    await budget.acquire()


async def test_empty_data_is_a_fresh_budget(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        budget = RequestBudget.from_dict({}, cap=3, now=clock.now)
    assert budget.used == 0
    assert budget.cap == 3
    assert not caplog.records


async def test_block_until_refuses_without_sending(clock: FakeClock) -> None:
    budget = make(clock)
    until = T0 + timedelta(hours=3)
    budget.block_until(until)
    assert budget.blocked_until == until
    with pytest.raises(BudgetExhaustedError) as info:
        await budget.acquire()
    assert info.value.retry_at == until
    assert budget.used == 0
    assert budget.next_available_at() == until

    clock.current = until
    assert budget.blocked_until is None
    await budget.acquire()
    assert budget.used == 1


async def test_block_default_extend_and_limits(clock: FakeClock) -> None:
    budget = make(clock)
    budget.block_until(None)
    assert budget.blocked_until == T0 + timedelta(hours=1)
    budget.block_until(T0 + timedelta(minutes=5))  # never shortens
    assert budget.blocked_until == T0 + timedelta(hours=1)
    budget.block_until(T0 + timedelta(days=365))  # absurd retry time
    assert budget.blocked_until == T0 + MAX_BLOCK


async def test_block_in_the_past_means_the_default_block(clock: FakeClock) -> None:
    """A 429 whose retry time is already past (the server's clock behind ours) still stops
    requests for the default hour: it never means "go on at once"."""
    budget = make(clock)
    budget.block_until(T0 - timedelta(minutes=1))
    assert budget.blocked_until == T0 + timedelta(hours=1)
    with pytest.raises(BudgetExhaustedError):
        await budget.acquire()


async def test_block_survives_a_restart(clock: FakeClock) -> None:
    budget = make(clock)
    budget.block_until(T0 + timedelta(hours=2))
    restarted = RequestBudget.from_dict(json.loads(json.dumps(budget.as_dict())), now=clock.now)
    assert restarted.blocked_until == T0 + timedelta(hours=2)
    with pytest.raises(BudgetExhaustedError):
        await restarted.acquire()


async def test_block_set_while_waiting_for_pacing_is_honoured(clock: FakeClock) -> None:
    budget = make(clock, max_per_second=1)
    await budget.acquire()

    async def sleep_then_block(seconds: float) -> None:
        await clock.sleep(seconds)
        budget.block_until(clock.now() + timedelta(hours=1))

    budget._sleep = sleep_then_block
    with pytest.raises(BudgetExhaustedError):
        await budget.acquire()
    assert budget.used == 1


async def test_listeners(clock: FakeClock) -> None:
    budget = make(clock, cap=1)
    calls: list[str] = []
    remove = budget.add_listener(lambda: calls.append("a"))
    budget.add_listener(lambda: calls.append("b"))

    await budget.acquire()
    assert calls == ["a", "b"]
    with pytest.raises(BudgetExhaustedError):
        await budget.acquire()
    assert calls == ["a", "b"]  # a refusal changes nothing
    budget.block_until(T0 + timedelta(hours=1))
    assert calls == ["a", "b", "a", "b"]

    remove()
    remove()  # idempotent
    budget.block_until(T0 + timedelta(hours=2))
    assert calls == ["a", "b", "a", "b", "b"]


@pytest.mark.parametrize(
    "kwargs",
    [{"cap": 0}, {"max_per_second": 0}, {"window": timedelta(0)}],
)
def test_invalid_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="positive"):
        RequestBudget(**kwargs)
