"""The fleet policy (`sync/fleet.py`), driven by hand: no engine, no simulation, fake
outcomes on a fake clock. Each test pins one rule of the module docstring."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
import random

import pytest

from custom_components.linky.const import SERIES_CONSUMPTION
from custom_components.linky.localtime import PARIS, local_date
from custom_components.linky.sync.fleet import (
    DAILY_KINDS,
    Action,
    ActionKind,
    FleetConfig,
    FleetMeter,
    FleetPolicy,
    Outcome,
    probe_offset,
)

DAY = date(2026, 3, 10)
CONFIG = FleetConfig()

type Decide = Callable[[Action, datetime], Outcome]


def at(clock: time, day: date = DAY) -> datetime:
    """A Paris wall-clock time."""
    return datetime.combine(day, clock, PARIS)


def pdl(index: int) -> str:
    """A 14-digit PDL."""
    return f"{index:014d}"


def fleet(count: int, cap: int = 50, *, seed: str = "test", **fields: object) -> FleetPolicy:
    """`count` imported meters, max power fetched today (no background work), last fresh
    yesterday."""
    policy = FleetPolicy(cap, seed=seed)
    for index in range(count):
        meter = FleetMeter(pdl(index), fresh_on=DAY - timedelta(days=1), max_power_on=DAY)
        for name, value in fields.items():
            setattr(meter, name, value)
        policy.add_meter(meter)
    return policy


def cost(action: Action) -> int:
    """Requests an action sends."""
    return action.grant


def drive(
    policy: FleetPolicy,
    start: datetime,
    end: datetime,
    decide: Decide,
    *,
    pending: Callable[[str], bool] = lambda _pdl: False,
    sent: list[datetime] | None = None,
) -> list[tuple[datetime, Action]]:
    """Ask the policy until `end`, as the coordinator would; returns the actions run. A run
    that does not fit in the cap is refused (nothing sent), as the budget would."""
    sent = [] if sent is None else sent
    log: list[tuple[datetime, Action]] = []
    now = start
    while now < end:
        decision = policy.next_action(now, sent, pending)
        if isinstance(decision, datetime):
            assert decision > now
            now = decision
            continue
        in_window = sum(instant > now - policy.window for instant in sent)
        if in_window + cost(decision) > policy.cap:
            outcome = Outcome(got_yesterday=False, refused=True)
        else:
            outcome = decide(decision, now)
            if not outcome.refused:
                sent.extend([now] * cost(decision))
        policy.done(decision, now, outcome)
        log.append((now, decision))
        now += timedelta(seconds=1)
    return log


def never(_action: Action, _now: datetime) -> Outcome:
    """Yesterday never comes."""
    return Outcome(got_yesterday=False)


def published(when: datetime) -> Decide:
    """Every meter's yesterday comes at `when`."""

    def decide(_action: Action, now: datetime) -> Outcome:
        return Outcome(got_yesterday=now >= when)

    return decide


def daily(log: list[tuple[datetime, Action]]) -> list[tuple[datetime, Action]]:
    """The daily-data actions of a log."""
    return [(now, action) for now, action in log if action.kind in DAILY_KINDS]


# --- attempts ------------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "cap"), [(1, 50), (3, 50), (12, 15), (40, 50)])
def test_attempts_never_exceed_two_per_meter_per_day(count: int, cap: int) -> None:
    """Whatever happens (late or no publication, failures, refusals, a new meter), no meter
    makes more than 2 daily-data attempts in a local day, and none before the first probe."""
    policy = fleet(count, cap)
    policy.add_meter(FleetMeter(pdl(99), imported=False))
    rng = random.Random(f"{count}|{cap}")  # noqa: S311
    publication: dict[date, datetime | None] = {}

    def decide(action: Action, now: datetime) -> Outcome:
        day = local_date(now)
        if day not in publication:
            hour = rng.choice([7, 8, 9, 11, 14, 18, 23])
            publication[day] = None if hour == 23 else at(time(hour, rng.randrange(60)), day)
        if rng.random() < 0.1:
            return Outcome(got_yesterday=False, failed=True)
        when = publication[day]
        return Outcome(got_yesterday=when is not None and now >= when)

    log = drive(policy, at(time(0)), at(time(0), DAY + timedelta(days=8)), decide)
    counts = Counter(
        (action.pdl, local_date(now)) for now, action in daily(log) if now >= at(time(0))
    )
    assert counts, "no daily runs at all"
    assert max(counts.values()) <= 2
    for now, action in daily(log):
        if action.kind is not ActionKind.FIRST_IMPORT:  # a new meter's: background work
            assert now >= at(policy.probe_times[0], local_date(now))


def test_restored_attempts_are_kept() -> None:
    """A restart gives the meters today's attempts: a meter at 2 is left alone today, one
    at 1 has only its afternoon retry left."""
    policy = fleet(2)
    policy.meters[pdl(0)].attempts = 2
    policy.meters[pdl(1)].attempts = 1
    log = drive(policy, at(time(6)), at(time(23)), never)
    assert [(now, action.pdl) for now, action in log] == [
        (at(policy.probe_times[policy.morning]), pdl(1))
    ]
    # The next day both start again from 0.
    tomorrow = DAY + timedelta(days=1)
    log = drive(policy, at(time(6), tomorrow), at(time(23), tomorrow), never)
    assert Counter(action.pdl for _, action in log) == {pdl(0): 2, pdl(1): 2}


# --- probes --------------------------------------------------------------------------------


def test_one_meter_probes_once_late_then_retries_in_the_afternoon() -> None:
    """One meter: its daily run at the last morning probe time (09:45 + the offset), its
    retry at the first afternoon one (13:30 + the offset), then nothing until tomorrow."""
    policy = fleet(1)
    times = policy.probe_times
    log = drive(policy, at(time(0, 0, 5)), at(time(23, 59)), never)
    assert [(now, action.kind) for now, action in log] == [
        (at(times[policy.morning - 1]), ActionKind.PROBE),
        (at(times[policy.morning]), ActionKind.PROBE),
    ]
    assert time(9, 45) <= times[policy.morning - 1] < time(9, 55)
    assert policy.meters[pdl(0)].attempts == 2
    assert policy.expected_run(pdl(0), at(time(15))) == at(times[0], DAY + timedelta(days=1))


def test_one_meter_found_at_its_morning_run_spends_nothing_more() -> None:
    """Found at the first try: one request that day."""
    policy = fleet(1)
    log = drive(policy, at(time(0, 0, 5)), at(time(23, 59)), published(at(time(8))))
    assert len(log) == 1
    assert policy.meters[pdl(0)].fresh_on == DAY


def test_few_meters_use_the_last_morning_probe_times() -> None:
    """3 stale meters: the last 3 morning probe times, one meter each; then the afternoon
    probes take retries."""
    policy = fleet(3)
    times, morning = policy.probe_times, policy.morning
    log = drive(policy, at(time(0, 0, 5)), at(time(23, 59)), never)
    probes = [(now, action.pdl) for now, action in log if action.kind is ActionKind.PROBE]
    assert [now for now, _ in probes] == [at(clock) for clock in times[morning - 3 :]]
    assert len({meter for _, meter in probes[:3]}) == 3
    assert [now for now, _ in probes[3:]] == [at(clock) for clock in times[morning:]]
    assert len({meter for _, meter in probes[3:]}) == 2
    assert len(log) == 5


def test_probes_rotate_among_many_meters() -> None:
    """40 meters, publication unseen all day: one probe per probe time (8 in the morning,
    2 in the afternoon), each a different meter's first attempt; no other daily run."""
    policy = fleet(40)
    log = drive(policy, at(time(0, 0, 5)), at(time(23, 59)), never)
    assert [now for now, _ in log] == [at(clock) for clock in policy.probe_times]
    assert {action.kind for _, action in log} == {ActionKind.PROBE}
    assert len({action.pdl for _, action in log}) == len(policy.probe_times)
    # The rotation moves every day: the next day starts with another meter.
    tomorrow = DAY + timedelta(days=1)
    again = drive(policy, at(time(0, 0, 5), tomorrow), at(time(12), tomorrow), never)
    assert again[0][1].pdl != log[0][1].pdl


def test_probe_times_missed_are_caught_up_once() -> None:
    """Started at 09:10 (a restart): one probe at once for the times missed, then the next
    time; started at 10:30: nothing before the first afternoon probe time."""
    policy = fleet(40)
    times, start = policy.probe_times, at(time(9, 10, 30))
    log = drive(policy, start, at(time(9, 59, 59)), never)
    later = [at(clock) for clock in times[: policy.morning] if at(clock) > start]
    assert [now for now, _ in log] == [start, *later]
    policy = fleet(40)
    log = drive(policy, at(time(10, 30)), at(time(14)), never)
    assert [now for now, _ in log] == [at(times[policy.morning])]


# --- the burst -----------------------------------------------------------------------------


def test_burst_order_and_slots() -> None:
    """Once a probe finds yesterday, the others run `settle` later, `spread` apart: the
    longest without data first, then the day's rotation, the new meter last."""
    policy = fleet(4, cap=12)
    policy.meters[pdl(2)].fresh_on = DAY - timedelta(days=3)
    policy.add_meter(FleetMeter(pdl(9), imported=False, max_power_on=DAY))
    first = at(policy.probe_times[policy.morning - 4])
    log = drive(policy, at(time(0, 0, 5)), at(time(12)), published(at(time(7))))
    assert [(now, action.pdl, action.kind) for now, action in log[:1]] == [
        (first, pdl(2), ActionKind.PROBE)
    ]
    rotation = [
        meter.pdl for meter in policy.rotation(DAY) if meter.pdl in {pdl(0), pdl(1), pdl(3)}
    ]
    start = first + CONFIG.settle
    expected = [(start + CONFIG.spread * rank, meter) for rank, meter in enumerate(rotation)]
    assert [(now, action.pdl) for now, action in log[1:4]] == expected
    assert {action.kind for _, action in log[1:4]} == {ActionKind.DAILY}
    assert (log[4][1].pdl, log[4][1].kind) == (pdl(9), ActionKind.FIRST_IMPORT)
    assert log[4][0] == start + CONFIG.spread * 3
    assert all(meter.fresh_on == DAY for meter in policy.meters.values())


def test_burst_is_the_retry_of_a_meter_that_probed() -> None:
    """3 meters: the first probe (09:05 + offset) misses, the second finds: the burst gives
    the first meter its retry, then it is done for the day."""
    policy = fleet(3)
    times, morning = policy.probe_times, policy.morning
    log = drive(policy, at(time(0, 0, 5)), at(time(23)), published(at(times[morning - 2])))
    counts = Counter(action.pdl for _, action in log)
    assert sorted(counts.values()) == [1, 1, 2]
    assert all(meter.fresh_on == DAY for meter in policy.meters.values())


def test_burst_miss_retries_once_in_the_afternoon() -> None:
    """A meter whose data do not come (never published) misses in the burst and retries
    once, at the first afternoon probe time; the others are fresh."""
    policy = fleet(5)
    lost = policy.rotation(DAY)[-1].pdl  # not the one that probes

    def decide(action: Action, now: datetime) -> Outcome:
        return Outcome(got_yesterday=action.pdl != lost and now >= at(time(8)))

    log = drive(policy, at(time(0, 0, 5)), at(time(23, 59)), decide)
    runs = [now for now, action in log if action.pdl == lost]
    assert len(runs) == 2
    assert runs[0] < at(time(10))
    assert runs[1] == at(policy.probe_times[policy.morning])
    assert policy.expected_run(lost, at(time(15))) == at(
        policy.probe_times[0], DAY + timedelta(days=1)
    )


def test_burst_failure_retries_after_the_pause() -> None:
    """A server error pauses the fleet 5 minutes (then 10 at the next in a row); the failed
    meter's retry comes after the pause; a success ends the doubling."""
    policy = fleet(3)
    failures = iter([True, True])

    def decide(action: Action, now: datetime) -> Outcome:
        if action.kind is ActionKind.DAILY and next(failures, False):
            return Outcome(got_yesterday=False, failed=True)
        return Outcome(got_yesterday=True)

    log = drive(policy, at(time(0, 0, 5)), at(time(12)), decide)
    probe, first, second, third, fourth = log
    assert probe[1].kind is ActionKind.PROBE
    assert second[0] == first[0] + CONFIG.failure_pause  # the other meter's slot waited
    assert third[0] == second[0] + 2 * CONFIG.failure_pause
    assert first[1].pdl == third[1].pdl != second[1].pdl == fourth[1].pdl
    assert all(meter.fresh_on == DAY for meter in policy.meters.values())
    assert sorted(meter.attempts for meter in policy.meters.values()) == [1, 2, 2]
    # A success resets the pause to 5 minutes.
    policy.done(Action(ActionKind.MAX_POWER, pdl(0)), at(time(13)), Outcome(False))
    policy.done(Action(ActionKind.MAX_POWER, pdl(0)), at(time(13)), Outcome(False, failed=True))
    assert policy.next_action(at(time(13)), [], lambda _pdl: False) == at(time(13, 5))


# --- jitter --------------------------------------------------------------------------------


def test_probe_times_shift_per_installation() -> None:
    """The offset is deterministic for a seed, differs between seeds, is under 10 minutes
    and never a round minute; the first probe stays >= 07:45, the last morning one < 10:00."""
    assert probe_offset("abc") == probe_offset("abc")
    assert FleetPolicy(50, seed="abc").probe_times == FleetPolicy(50, seed="abc").probe_times
    offsets = {probe_offset(f"instance-{index}") for index in range(200)}
    assert len(offsets) > 100
    for offset in offsets:
        assert timedelta(0) < offset < timedelta(minutes=10)
        assert offset.seconds % 60 != 0
    for index in range(200):
        policy = FleetPolicy(50, seed=f"instance-{index}")
        times = policy.probe_times
        assert times[0] >= time(7, 45)
        assert times[policy.morning - 1] < time(10, 0) <= times[policy.morning]
        assert all(clock.second != 0 for clock in times)
        base = datetime.combine(DAY, CONFIG.probe_times[0])
        assert datetime.combine(DAY, times[0]) - base == probe_offset(f"instance-{index}")


# --- background ----------------------------------------------------------------------------


def test_allowance_keeps_room_for_the_daily_runs() -> None:
    """40 meters, cap 50: before publication the reserve is every meter plus the probes and
    the safety margin; once all are fresh it is the cap; at 21:00 tomorrow's runs are
    within 12 h and the reserve is back."""
    policy = fleet(40)
    morning = at(time(8))
    sent = [morning - timedelta(hours=1)] * 2
    expected = 50 - CONFIG.safety - 2 - 40 - CONFIG.probe_reserve
    assert policy.allowance(morning, sent) == expected
    for meter in policy.meters.values():
        meter.fresh_on = DAY
    assert policy.allowance(at(time(12)), sent) == 50 - CONFIG.safety - 2
    evening = at(time(21))
    assert policy.allowance(evening, sent) == 50 - CONFIG.safety - 40 - CONFIG.probe_reserve
    # A meter at 2 attempts is not counted among today's runs any more.
    policy = fleet(40)
    for meter in list(policy.meters.values())[:10]:
        meter.attempts = 2
    assert policy.allowance(morning, sent) == expected + 10


def test_backfill_round_robin() -> None:
    """Back-fill goes one window per meter in turn, only for meters with gaps."""
    policy = fleet(3, fresh_on=DAY)
    pending = {pdl(0), pdl(2)}
    served = []
    for _ in range(4):
        action = policy.next_action(at(time(15)), [], lambda meter: meter in pending)
        assert isinstance(action, Action)
        assert (action.kind, action.grant) == (ActionKind.BACKFILL, 1)
        served.append(action.pdl)
    assert served == [pdl(0), pdl(2), pdl(0), pdl(2)]


def test_max_power_every_7_days() -> None:
    """The max power is asked when 7 days old, for the days since (plus one); not before."""
    policy = fleet(2, fresh_on=DAY)
    policy.meters[pdl(0)].max_power_on = DAY - timedelta(days=6)
    policy.meters[pdl(1)].max_power_on = DAY - timedelta(days=9)
    action = policy.next_action(at(time(15)), [], lambda _pdl: False)
    assert action == Action(ActionKind.MAX_POWER, pdl(1), max_power_days=10)
    policy.done(action, at(time(15)), Outcome(got_yesterday=True))
    assert policy.meters[pdl(1)].max_power_on == DAY
    assert isinstance(policy.next_action(at(time(15)), [], lambda _pdl: False), datetime)
    tomorrow = DAY + timedelta(days=1)
    for meter in policy.meters.values():
        meter.fresh_on = tomorrow
    action = policy.next_action(at(time(15), tomorrow), [], lambda _pdl: False)
    assert action == Action(ActionKind.MAX_POWER, pdl(0), max_power_days=8)


def test_new_meter_first_import_waits_for_room() -> None:
    """A new meter's first import (4 requests) goes as background work when the reserve
    for tomorrow's runs leaves room for all of it; then it is imported."""
    policy = fleet(3, fresh_on=DAY)
    policy.add_meter(FleetMeter(pdl(9), imported=False))
    evening = at(time(21))
    reserve = 3 + CONFIG.first_import_cost + CONFIG.probe_reserve
    room = 50 - CONFIG.safety - reserve
    full = [evening - timedelta(minutes=30)] * (room - CONFIG.first_import_cost + 1)
    assert isinstance(policy.next_action(evening, full, lambda _pdl: False), datetime)
    action = policy.next_action(evening, full[:-1], lambda _pdl: False)
    grant = CONFIG.first_import_cost
    assert action == Action(ActionKind.FIRST_IMPORT, pdl(9), grant, (SERIES_CONSUMPTION,))
    policy.done(action, evening, Outcome(got_yesterday=True))
    meter = policy.meters[pdl(9)]
    assert (meter.imported, meter.fresh_on, meter.attempts) == (True, DAY, 1)


# --- expected run --------------------------------------------------------------------------


def test_expected_run() -> None:
    """The next run a sensor shows: the first probe time this meter may take while stale,
    its burst slot once yesterday is seen, tomorrow's first probe once fresh."""
    policy = fleet(2)
    times, morning = policy.probe_times, policy.morning
    assert policy.expected_run("unknown", at(time(6))) is None
    assert policy.expected_run(pdl(0), at(time(6))) == at(times[morning - 2])
    # The first probe misses: that meter's retry is in the afternoon.
    log = drive(policy, at(time(6)), at(times[morning - 2]) + timedelta(seconds=2), never)
    prober = log[0][1].pdl
    other = pdl(1) if prober == pdl(0) else pdl(0)
    between = at(times[morning - 2]) + timedelta(minutes=1)
    assert policy.expected_run(prober, between) == at(times[morning])
    assert policy.expected_run(other, between) == at(times[morning - 1])
    # The other meter's probe finds yesterday: the first one's retry is in the burst.
    now = at(times[morning - 1])
    action = policy.next_action(now, [], lambda _pdl: False)
    assert action == Action(ActionKind.PROBE, other, series=(SERIES_CONSUMPTION,))
    policy.done(action, now, Outcome(got_yesterday=True))
    assert policy.expected_run(prober, now) == now + CONFIG.settle
    tomorrow = at(times[0], DAY + timedelta(days=1))
    assert policy.expected_run(other, now) == tomorrow


def test_morning_probe_is_never_a_retry() -> None:
    """2 meters: the first probe fails (a server error, its first attempt), the other meter
    probes after the pause and misses; the last morning probe time has no first attempt
    left, so nobody probes until the afternoon, which takes a retry."""
    policy = fleet(2)
    times, morning = policy.probe_times, policy.morning
    outcomes = iter([Outcome(got_yesterday=False, failed=True)])

    def decide(_action: Action, _now: datetime) -> Outcome:
        return next(outcomes, Outcome(got_yesterday=False))

    log = drive(policy, at(time(6)), at(time(14)), decide)
    first = at(times[morning - 2])
    assert [now for now, _ in log] == [first, first + CONFIG.failure_pause, at(times[morning])]
    assert log[0][1].pdl != log[1][1].pdl


def test_new_meter_without_attempts_left_waits_for_tomorrow() -> None:
    """A new meter whose first import failed twice today is not tried again today."""
    policy = fleet(1, fresh_on=DAY)
    policy.add_meter(FleetMeter(pdl(9), imported=False, attempts=2))
    assert isinstance(policy.next_action(at(time(15)), [], lambda _pdl: False), datetime)
    tomorrow = at(time(15), DAY + timedelta(days=1))
    policy.meters[pdl(0)].fresh_on = local_date(tomorrow)
    action = policy.next_action(tomorrow, [], lambda _pdl: False)
    assert isinstance(action, Action)
    assert (action.kind, action.pdl) == (ActionKind.FIRST_IMPORT, pdl(9))
