"""A dict sink and an in-process client for the sync engine's HA-free tests."""

from __future__ import annotations

from collections.abc import Callable
import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from conso_emulator import Emulator
import conso_emulator.api
from conso_emulator.session import BASE_URL, EmulatorSession
from custom_components.linky.conso import ConsoApiClient, RequestBudget
from custom_components.linky.energy.ledger import WritePlan
from custom_components.linky.localtime import PARIS
from custom_components.linky.sync.engine import MeterSync
from custom_components.linky.sync.model import SyncOptions
from custom_components.linky.sync.state import SyncState


@dataclass
class DictSink:
    """The recorder's statistics table as the engine sees it: per series, UTC hour start to
    (state, sum) in kWh; adjustments then rows, in order, as the recorder runs its queue."""

    series: dict[str, dict[datetime, tuple[float, float]]] = field(default_factory=dict)
    plans: int = 0

    async def async_write(self, series: str, plan: WritePlan) -> None:
        """Apply a plan."""
        rows = self.series.setdefault(series, {})
        for adjustment in plan.adjustments:
            for start, (state, total) in list(rows.items()):
                if start >= adjustment.start:
                    rows[start] = (state, total + adjustment.delta_kwh)
        for row in plan.rows:
            rows[row.start] = (row.state_kwh, row.sum_kwh)
        self.plans += 1

    def hours(self, series: str) -> dict[datetime, float]:
        """kWh per UTC hour start, sorted."""
        return {start: state for start, (state, _) in sorted(self.series[series].items())}

    def assert_exact(self, series: str) -> None:
        """Every sum is the running total of the states, from zero."""
        running = 0.0
        for start, (state, total) in sorted(self.series[series].items()):
            assert state >= 0, start
            running += state
            assert total == pytest.approx(running, abs=1e-6), start


class Clock:
    """A settable clock (aware UTC)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def move_to_local(self, day: date, at: time) -> None:
        """Move to a Paris wall-clock time."""
        self.now = datetime.combine(day, at, PARIS).astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        """Move forward."""
        self.now += delta


@dataclass
class Meter:
    """One meter's engine wired to the in-process emulator."""

    emulator: Emulator
    clock: Clock
    budget: RequestBudget
    sink: DictSink
    sync: MeterSync

    def restarted(self) -> Meter:
        """The same meter after a restart: its state read back from its stored form."""
        state = SyncState.from_dict(self.sync.state.as_dict())
        sync = make_sync(
            self.emulator, self.clock, self.budget, self.sync.options, state, self.sink
        )
        return Meter(self.emulator, self.clock, self.budget, self.sink, sync)


async def _no_sleep(_seconds: float) -> None:
    return None


def make_budget(clock: Callable[[], datetime], cap: int = 1000) -> RequestBudget:
    """A request budget on the clock, with no pacing wait."""
    return RequestBudget(cap=cap, max_per_second=cap, now=clock, sleep=_no_sleep)


def make_sync(
    emulator: Emulator,
    clock: Clock,
    budget: RequestBudget,
    options: SyncOptions,
    state: SyncState | None = None,
    sink: DictSink | None = None,
    *,
    reserve: int = 10,
) -> MeterSync:
    """An engine reading `options.pdl` from the emulator through a real client."""
    client = ConsoApiClient(
        EmulatorSession(emulator),  # type: ignore[arg-type]
        emulator.mint_token([options.pdl], issued_at=datetime(2026, 1, 1, tzinfo=UTC)),
        base_url=BASE_URL,
        budget=budget,
    )
    return MeterSync(
        client,
        options,
        state or SyncState(),
        sink or DictSink(),
        clock,
        remaining=lambda: budget.remaining,
        backfill_reserve=reserve,
    )


def make_meter(now: datetime, options: SyncOptions, *, cap: int = 1000, reserve: int = 10) -> Meter:
    """A meter on a fresh emulator whose clock is the test's."""
    clock = Clock(now)
    emulator = Emulator(now=clock)
    budget = make_budget(clock, cap)
    sink = DictSink()
    return Meter(
        emulator,
        clock,
        budget,
        sink,
        make_sync(emulator, clock, budget, options, None, sink, reserve=reserve),
    )


def edit_curves(
    monkeypatch: pytest.MonkeyPatch, edit: Callable[[list[dict[str, Any]]], object]
) -> None:
    """Pass the points of every load-curve answer of the emulator through `edit` (which
    changes the list in place, or returns a whole body to send instead)."""
    answer = conso_emulator.api.answer_measure

    def edited(*args: Any) -> Any:
        reply = answer(*args)
        body = reply.json
        if reply.status == 200 and isinstance(body, dict) and "courbe" in str(args[2]):
            points = body["grandeur"][0]["points"]
            replaced = edit(points)
            if replaced is not None:
                return dataclasses.replace(reply, json=replaced)
        return reply

    monkeypatch.setattr(conso_emulator.api, "answer_measure", edited)
