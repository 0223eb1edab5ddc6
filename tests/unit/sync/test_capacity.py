"""What the meters of one API host may spend (`sync/capacity.py`), and the engine asking for
the max power at the planned cadence.

The busiest 12 hours of a meter hold its daily run and its retry, each with one load-curve
request per series and the max power when it is due, and a healing share of 0.25: 4.25
requests at the daily cadence, 2 + 2/7 + 0.25 = 2.54 at the weekly one. Figures below are
worked out by hand from that.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
import itertools

import pytest

from conso_emulator import HOME_PDL
from custom_components.linky.localtime import PARIS
from custom_components.linky.sync.capacity import (
    HEADROOM,
    MIN_RESERVE,
    SLOW_MAX_POWER_EVERY,
    max_power_due,
    plan_fleet,
)
from custom_components.linky.sync.model import SyncOptions

from .helpers import make_meter

MAX_POWER = "puissance_conso_max_quotidienne"
TODAY = date(2026, 11, 20)


def test_one_meter_keeps_the_daily_cadence_and_the_old_reserve() -> None:
    plan = plan_fleet(50, [False])
    assert plan.max_power_every == 1
    assert plan.reserve == MIN_RESERVE  # ceil(4.25) + 5 is the floor
    assert plan.capacity == 17  # (50 - 5) / 2.54 = 17.7
    assert not plan.over_capacity


def test_ten_meters_keep_the_daily_cadence_at_cap_50() -> None:
    """10 x 4.25 + 5 = 47.5: the daily runs may take all but 2 requests of the busiest 12
    hours; an 11th meter makes the max power weekly."""
    plan = plan_fleet(50, [False] * 10)
    assert (plan.max_power_every, plan.reserve, plan.over_capacity) == (1, 48, False)
    plan = plan_fleet(50, [False] * 11)
    assert plan.max_power_every == SLOW_MAX_POWER_EVERY
    assert plan.reserve == 28 + HEADROOM  # ceil(11 x 2 + 22/7 + 2.75) + 5
    assert not plan.over_capacity


def test_over_capacity_from_the_18th_meter_at_cap_50() -> None:
    assert not plan_fleet(50, [False] * 17).over_capacity  # 17 x 2.54 + 5 = 48.1
    plan = plan_fleet(50, [False] * 18)  # 18 x 2.54 + 5 = 50.6
    assert plan.over_capacity
    assert plan.reserve == 50, "the reserve never exceeds the cap"
    assert plan.as_dict() == {
        "meters": 18,
        "meters_kept_fresh": 17,
        "max_power_every_days": 7,
        "backfill_reserve": 50,
        "over_capacity": True,
    }


def test_cap_80_keeps_29_meters_and_production_counts() -> None:
    assert plan_fleet(80, [False]).capacity == 29  # 75 / 2.54 = 29.6
    assert not plan_fleet(80, [False] * 29).over_capacity  # 73.5 + 5
    assert plan_fleet(80, [False] * 30).over_capacity  # 76.1 + 5
    # production is a second load curve in each run and retry
    plan = plan_fleet(80, [True] * 10 + [False] * 10)
    assert plan.production_meters == 10
    assert plan.need(7) == pytest.approx(2 * 30 + 2 * 20 / 7 + 0.25 * 20)
    assert not plan.over_capacity
    assert plan_fleet(80, [True] * 20).over_capacity  # 80 + 40/7 + 5 + 5 > 80


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
