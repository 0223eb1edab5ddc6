"""What the meters of one API host may spend (`sync/capacity.py`), and the engine asking for
the max power at the planned cadence.

A meter alone keeps its own run and retry, with the max power whenever yesterday's is
missing, and the back-fill reserve of 10. Several meters share the fleet scheduler: in the
busiest 12 hours each needs 1 + 1/14 requests (its daily run, half a weekly max power
cycle), so the cap less the headroom of 5 keeps 14/15 of it fresh. Figures below are worked
out by hand from that.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
import itertools

import pytest

from conso_emulator import HOME_PDL
from custom_components.linky.localtime import PARIS
from custom_components.linky.sync.capacity import MIN_RESERVE, max_power_due, plan_fleet
from custom_components.linky.sync.model import SyncOptions

from .helpers import make_meter

MAX_POWER = "puissance_conso_max_quotidienne"
TODAY = date(2026, 11, 20)


def test_one_meter_keeps_its_own_cadence_and_reserve() -> None:
    plan = plan_fleet(50, [False])
    assert plan.max_power_every == 1
    assert plan.reserve == MIN_RESERVE
    assert plan.capacity == 42  # 45 / (15 / 14)
    assert not plan.over_capacity
    assert not plan_fleet(20, [True]).over_capacity, "one meter always fits"


def test_several_meters_follow_the_fleet() -> None:
    plan = plan_fleet(50, [False] * 10)
    assert plan.max_power_every == 7
    assert plan.reserve == 10 + 3 + 2  # every daily run, the probes, the safety
    assert not plan.over_capacity


def test_over_capacity_from_the_43rd_meter_at_cap_50() -> None:
    assert not plan_fleet(50, [False] * 42).over_capacity  # 42 x 15/14 + 5 = 50
    plan = plan_fleet(50, [False] * 43)  # 43 x 15/14 + 5 = 51.1
    assert plan.over_capacity
    assert plan.reserve == 48
    assert plan.as_dict() == {
        "meters": 43,
        "meters_kept_fresh": 42,
        "max_power_every_days": 7,
        "backfill_reserve": 48,
        "over_capacity": True,
    }
    assert plan_fleet(50, [False] * 48).reserve == 50, "the reserve never exceeds the cap"


def test_cap_80_keeps_70_meters_cap_20_keeps_14_and_production_counts() -> None:
    assert plan_fleet(80, [False]).capacity == 70  # 75 x 14/15
    assert not plan_fleet(80, [False] * 70).over_capacity
    assert plan_fleet(80, [False] * 71).over_capacity
    assert plan_fleet(20, [False]).capacity == 14
    assert not plan_fleet(20, [False] * 14).over_capacity
    assert plan_fleet(20, [False] * 15).over_capacity
    # production's load curve every 3 days: 1/6 request per producing meter
    plan = plan_fleet(80, [True] * 12 + [False] * 55)
    assert plan.production_meters == 12
    assert plan.need() == pytest.approx(67 * 15 / 14 + 12 / 6)
    assert not plan.over_capacity  # 71.8 + 2 + 5 = 78.8
    assert plan_fleet(80, [True] * 70).over_capacity  # 75 + 11.7 + 5


@pytest.mark.parametrize(
    ("newest", "every", "due"),
    [
        (None, 1, True),
        (TODAY - timedelta(days=1), 1, False),  # yesterday's is there (the retry skips it)
        (TODAY - timedelta(days=2), 1, True),
        (None, 7, True),
        (TODAY - timedelta(days=1), 7, False),
        (TODAY - timedelta(days=8), 7, True),  # a whole cycle old: a missed day
    ],
)
def test_max_power_due(newest: date | None, every: int, due: bool) -> None:
    assert max_power_due(HOME_PDL, TODAY, newest, every) is due


def test_weekly_max_power_on_the_meter_s_own_day_of_the_cycle() -> None:
    """With yesterday's max power missing but not a whole cycle old, a meter asks on one day
    of every 7, its own; 40 meters spread over the week."""
    days = [TODAY + timedelta(days=n) for n in range(7)]
    for pdl in (HOME_PDL, "25946599093198"):
        due = [day for day in days if max_power_due(pdl, day, day - timedelta(days=2), 7)]
        assert len(due) == 1, (pdl, due)
    own_days = {
        next(day for day in days if max_power_due(pdl, day, day - timedelta(days=2), 7))
        for pdl in (f"2594659909{k:04d}" for k in range(40))
    }
    assert len(own_days) >= 5


async def test_engine_asks_for_the_max_power_at_the_planned_cadence() -> None:
    """At the weekly cadence, the daily runs refresh the energy every day and ask for the
    max power on one or two days in ten (its own day of each cycle), for every day since the
    newest stored."""
    now = datetime(2026, 11, 20, 9, 30, tzinfo=PARIS).astimezone(UTC)
    meter = make_meter(now, SyncOptions(HOME_PDL, hourly_history_months=0))
    await meter.sync.async_run()
    first = len([r for r in meter.emulator.requests if r.type == MAX_POWER])
    assert first == 1
    before = len(meter.emulator.requests)
    meter.sync.max_power_every = 7
    for _ in range(10):
        meter.clock.advance(timedelta(days=1))
        await meter.sync.async_run(backfill=False)
    asked = [r.params["dateDebut"] for r in meter.emulator.requests if r.type == MAX_POWER]
    refreshes = [r for r in meter.emulator.requests[before:] if r.type != MAX_POWER]
    assert len(refreshes) == 10, "the daily refresh every day"
    assert len(asked) - first in (1, 2), asked
    stored = sorted(meter.sync.state.max_power)
    assert stored[-1] >= date(2026, 11, 30) - timedelta(days=7)
    gaps = {(b - a).days for a, b in itertools.pairwise(stored)}
    assert gaps == {1}, "every day since the newest was asked for"
