"""What the meters of one Conso API host may spend, and how many the request budget keeps
fresh. No Home Assistant import.

Every meter of an instance that uses the same Conso API host shares one request budget (the
cap per rolling 12 hours, `conso.budget.RequestBudget`). In the busiest 12 hours (the
morning's daily runs and the early afternoon's retries) each meter may need:

- its daily run: the load curve of the last 7 days (one request per series: consumption,
  and production when enabled);
- its single retry when yesterday was not published yet: the same again;
- its max power (one request for up to 60 days) on the days it is due, by the daily run and
  again by the retry when yesterday's was not published yet: due every day while the
  budget keeps every meter fresh that way, else every `SLOW_MAX_POWER_EVERY` days, each
  meter on its own day of the cycle (so the meters do not all ask on the same morning);
- a share for healing (`HEALING_PER_METER`).

`plan_fleet` turns the cap and the meters into a `FleetPlan`: the max power cadence, the
reserve that back-fill and gap healing leave for the daily runs (sized from the meters, not
a constant), and how many consumption meters the cap keeps fresh (`capacity`). Above that
count, the daily runs of some meters wait for requests to leave the rolling window: a
repair issue tells the user to raise the cap (up to `const.MAX_REQUEST_CAP`) or to accept a
slower refresh. `benchmarks/fleet.md` measures these rules with the sync engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
import hashlib
import math
from typing import Final

HEADROOM: Final = 5
"""Requests kept out of every plan: the config flow's checks, a reauthentication, an action
the user runs."""
MIN_RESERVE: Final = 10
"""The reserve of a small instance (one or two meters): back-fill stops this far from the
cap, as it always did."""
SLOW_MAX_POWER_EVERY: Final = 7
"""Days between two max power requests of a meter when the budget cannot afford one a day."""
HEALING_PER_METER: Final = 0.25
"""Requests per meter in the busiest 12 hours for what the runs do besides (a day published
late healed, a run cut by the cap started again). Measured with the sync engine
(`benchmarks/fleet_sim.py`, today's rules, 30 days, seeds 0-2): without it the budget
refused requests from 19 meters at cap 50 and 30 at cap 80; with it the plan's capacity
(17 and 29) had no refusal."""


@dataclass(frozen=True, slots=True)
class FleetPlan:
    """What the meters of one API host may spend (see the module docstring)."""

    cap: int
    meters: int
    """The meters (config entries) using the host."""
    production_meters: int
    max_power_every: int
    """Days between two max power requests of a meter (1: every daily run)."""
    reserve: int
    """Requests the back-fill leaves for the daily runs and retries (may reach the cap: then
    no back-fill at all until meters are removed or the cap raised)."""
    capacity: int
    """Consumption-only meters the cap keeps fresh with the slow max power cadence."""

    @property
    def over_capacity(self) -> bool:
        """More meters than the cap keeps fresh (production counted as the meters' need)."""
        return self.need(self.max_power_every) + HEADROOM > self.cap

    def need(self, max_power_every: int) -> float:
        """Requests every meter may need in the busiest 12 hours."""
        return _need(self.meters, self.production_meters, max_power_every)

    def as_dict(self) -> dict[str, int | bool]:
        """For the diagnostics and the request budget sensor's attributes."""
        return {
            "meters": self.meters,
            "meters_kept_fresh": self.capacity,
            "max_power_every_days": self.max_power_every,
            "backfill_reserve": self.reserve,
            "over_capacity": self.over_capacity,
        }


def _need(meters: int, production_meters: int, max_power_every: int) -> float:
    """Daily run and retry for each series of each meter, each with the max power when due,
    and the healing share."""
    return (
        2 * (meters + production_meters) + 2 * meters / max_power_every + HEALING_PER_METER * meters
    )


def plan_fleet(cap: int, productions: Sequence[bool]) -> FleetPlan:
    """The plan for the meters of one host (`productions`: one flag per meter, whether it
    imports production too) under `cap` requests per rolling 12 hours."""
    meters, producing = len(productions), sum(productions)
    every = 1 if _need(meters, producing, 1) + HEADROOM <= cap else SLOW_MAX_POWER_EVERY
    reserve = max(MIN_RESERVE, math.ceil(_need(meters, producing, every)) + HEADROOM)
    capacity = max(0, math.floor((cap - HEADROOM) / _need(1, 0, SLOW_MAX_POWER_EVERY) + 1e-9))
    return FleetPlan(cap, meters, producing, every, min(reserve, cap), capacity)


def _cycle_day(pdl: str, every: int) -> int:
    digest = hashlib.sha256(f"linky-max-power:{pdl}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % every


def max_power_due(pdl: str, today: date, newest: date | None, every: int) -> bool:
    """Whether a daily run on `today` asks for the max power, given the newest day stored.

    Every day (`every` 1) while yesterday's is missing; otherwise on the meter's own day of
    the cycle, or as soon as the newest day is a whole cycle old (a missed day)."""
    yesterday = today - timedelta(days=1)
    if newest is not None and newest >= yesterday:
        return False
    if every <= 1 or newest is None or (yesterday - newest).days >= every:
        return True
    return today.toordinal() % every == _cycle_day(pdl, every)
