"""The fleet simulation's invariants (`benchmarks/fleet_sim.py`, `sync/fleet.py`):
a few meters over a few days, fast; nothing here is timed or tuned to a figure of the report."""

from __future__ import annotations

import ast
from datetime import UTC, time, timedelta
from pathlib import Path

import pytest

from benchmarks import fleet_sim
from benchmarks.fleet_sim import (
    START,
    FakeClient,
    FakeConso,
    Faults,
    FleetMeterSync,
    FleetSim,
    Publication,
    RecordingSink,
    Rules,
    Scenario,
    SimClock,
    SimResult,
    local,
    max_in_window,
    pdl_of,
    steady_state,
)
from custom_components.linky.conso.budget import RequestBudget
from custom_components.linky.const import SERIES_CONSUMPTION
from custom_components.linky.localtime import PARIS, local_date
from custom_components.linky.sync import runs
from custom_components.linky.sync.model import SyncOptions
from custom_components.linky.sync.runs import next_run_time
from custom_components.linky.sync.schedule import (
    ScheduleState,
    daily_slot,
    next_daily_run,
    retry_slot,
)

COORDINATOR = Path(__file__).parents[3] / "custom_components" / "linky" / "coordinator.py"


async def _sim(scenario: Scenario, rules: Rules, seed: int = 1) -> tuple[FleetSim, SimResult]:
    sim = FleetSim(scenario, rules, seed)
    return sim, await sim.run()


def test_coordinator_constants_match() -> None:
    """The harness drives today's rules with the coordinator's own scheduling (`sync/runs.py`,
    which the coordinator calls), not a copy of it."""
    tree = ast.parse(COORDINATOR.read_text(encoding="utf-8"))
    imported = {
        alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module == "sync.runs"
        for alias in node.names
    }
    assert {"async_scheduled_run", "next_run_time"} <= imported
    assert fleet_sim.next_run_time is runs.next_run_time
    assert fleet_sim.async_scheduled_run is runs.async_scheduled_run


@pytest.mark.parametrize(
    "schedule",
    [
        ScheduleState(last_run_day=START - timedelta(days=1)),
        ScheduleState(last_run_day=START),
        ScheduleState(last_run_day=START, retry_day=START),
        ScheduleState(last_run_day=START, retry_day=START, retry_done_day=START),
    ],
)
def test_today_next_run_matches_next_daily_run(schedule: ScheduleState) -> None:
    """Without gaps, failures nor budget pressure, the harness's `_next_run_time` is
    `next_daily_run`'s time at every hour of the day."""
    pdl = pdl_of(0, 3)
    options = SyncOptions(pdl)
    clock = SimClock(local(START, time(0)))
    budget = RequestBudget(now=clock, sleep=clock.sleep)
    conso = FakeConso(clock, budget, Publication(0), Faults(0, enabled=False))
    state = steady_state(options, START)
    state.schedule = schedule
    sync = FleetMeterSync(FakeClient(conso, pdl), options, state, RecordingSink(clock), clock)
    assert not sync.backfill_pending()
    for minutes in range(0, 24 * 60, 7):
        clock.now = local(START, time(0)) + timedelta(minutes=minutes)
        expected, _ = next_daily_run(clock.now, pdl, schedule)
        assert next_run_time(clock.now, pdl, sync, budget) == expected


async def test_today_rules_run_at_the_slot_and_retry() -> None:
    """One meter under today's rules: each day's first request is at its daily slot; a
    retry at the retry slot exactly when yesterday was missing at the slot."""
    sim, _ = await _sim(Scenario("one", 1, days=5, faults=False), Rules.TODAY)
    meter = next(iter(sim.meters.values()))
    requests = sim.conso.sent
    for offset in range(5):
        day = START + timedelta(days=offset)
        of_day = [sent for sent in requests if local_date(sent.at) == day]
        slot = daily_slot(meter.pdl, day)
        assert of_day[0].at == slot.astimezone(UTC)
        assert [sent.kind for sent in of_day[:2]] == ["curve", "max_power"]
        published = sim.publication.published_at(meter.pdl, day - timedelta(days=1))
        missing = published is None or published > slot
        retries = [sent for sent in of_day if sent.at >= retry_slot(meter.pdl, day)]
        assert bool(retries) == missing
        if missing:
            assert retries[0].at == retry_slot(meter.pdl, day).astimezone(UTC)


@pytest.mark.parametrize("rules", list(Rules))
async def test_cap_never_exceeded_under_pressure(rules: Rules) -> None:
    """Too many meters for the cap, faults on, a meter added: the rolling 12 h never holds
    more than the cap (`measure` asserts it too)."""
    sim, result = await _sim(Scenario("tight", 7, cap=10, days=4, added=2, added_day=1), rules)
    assert result.requests > 10
    assert result.max_12h <= 10
    assert max_in_window(sim.conso.sent_times) == result.max_12h


@pytest.mark.parametrize("rules", list(Rules))
async def test_published_data_is_stored(rules: Rules) -> None:
    """Every meter-day published before the last morning is stored by the end; with the
    proposed policy, a day published by noon is stored the same day."""
    sim, _ = await _sim(Scenario("few", 3, days=5, faults=False), rules)
    end = local(START + timedelta(days=4), time(7, 0))
    for meter in sim.meters.values():
        for offset in range(-1, 4):
            day = START + timedelta(days=offset)
            published = sim.publication.published_at(meter.pdl, day)
            written = meter.sink.first_written.get((SERIES_CONSUMPTION, day))
            if published is None or published > end:
                continue
            assert written is not None, (meter.pdl, day)
            if rules is Rules.PROPOSED and published.astimezone(PARIS).time() <= time(12, 0):
                assert local_date(written) == local_date(published), (meter.pdl, day)


async def test_proposed_probe_alone_before_publication() -> None:
    """Before yesterday is published, the fleet sends at most one load curve per probe
    time (the probe); the others wait."""
    sim, _ = await _sim(Scenario("probe", 5, days=5, faults=False), Rules.PROPOSED)
    probes = sim.policy.probe_times
    for offset in range(5):
        day = START + timedelta(days=offset)
        published = sim.publication.fleet_time(day - timedelta(days=1))
        before = [
            sent
            for sent in sim.conso.sent
            if sent.kind == "curve" and local_date(sent.at) == day and sent.at < published
        ]
        passed = sum(local(day, probe) <= published for probe in probes)
        assert len(before) <= passed
