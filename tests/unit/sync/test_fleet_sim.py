"""The fleet simulation's invariants (`benchmarks/fleet_sim.py`, `sync/fleet.py`):
a few meters over a few days, fast; nothing here is timed or tuned to a figure of the report."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, time, timedelta
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
from custom_components.linky.sync.fleet import ActionKind, FleetMeter, FleetPolicy
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
    assert imported == {"async_scheduled_run", "next_run_time"}
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
    probes = sim.policy.config.probe_times
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


def test_allowance_keeps_the_daily_runs() -> None:
    """40 meters, cap 50: before publication the reserve is every meter plus the probes and
    the safety margin; once all are fresh it is the cap (less what the window holds)."""
    policy = FleetPolicy(50)
    for index in range(40):
        policy.add_meter(FleetMeter(pdl_of(0, index)))
    day = date(2026, 3, 10)
    morning = datetime.combine(day, time(8, 0), PARIS)
    sent = [morning - timedelta(hours=1)] * 2
    config = policy.config
    assert policy.allowance(morning, sent) == 50 - config.safety - 2 - 40 - config.probe_reserve
    for meter in policy.meters.values():
        meter.fresh_on = day
    noon = datetime.combine(day, time(12, 0), PARIS)
    assert policy.allowance(noon, sent) == 50 - config.safety - 2
    # At 21:00 tomorrow's 40 daily runs are within 12 h: the 2 sends of the morning left
    # the window, the reserve is back.
    evening = datetime.combine(day, time(21, 0), PARIS)
    assert policy.allowance(evening, sent) == 50 - config.safety - 40 - config.probe_reserve


def test_policy_background_round_robin() -> None:
    """Back-fill goes one window per meter in turn; a first import waits for room for all
    its requests."""
    policy = FleetPolicy(50)
    pdls = [pdl_of(0, index) for index in range(3)]
    for pdl in pdls:
        policy.add_meter(FleetMeter(pdl, max_power_on=date(2026, 3, 10)))
    now = datetime.combine(date(2026, 3, 10), time(15, 0), PARIS)
    for meter in policy.meters.values():
        meter.fresh_on = now.date()
    served = []
    for _ in range(6):
        action = policy.next_action(now, [], lambda _pdl: True)
        assert not isinstance(action, datetime)
        assert action.kind is ActionKind.BACKFILL
        served.append(action.pdl)
    assert served == pdls + pdls
    # After the cutoff, a new meter's first import (4 requests) is background work: it
    # waits for room above the reserve of tomorrow's runs (3 + 4 + the probes).
    policy.add_meter(FleetMeter(pdl_of(0, 9), imported=False))
    evening = datetime.combine(now.date(), time(21, 0), PARIS)
    config = policy.config
    reserve = 3 + config.first_import_cost + config.probe_reserve
    room = 50 - config.safety - reserve
    full = [evening - timedelta(minutes=30)] * (room - config.first_import_cost + 1)
    assert isinstance(policy.next_action(evening, full, lambda _pdl: True), datetime)
    action = policy.next_action(evening, full[:-1], lambda _pdl: True)
    assert not isinstance(action, datetime)
    assert action.kind is ActionKind.FIRST_IMPORT
