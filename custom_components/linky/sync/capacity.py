"""What the meters of one Conso API host may spend, and how many the request budget keeps
fresh. No Home Assistant import.

Every meter of an instance that uses the same Conso API host shares one request budget (the
cap per rolling 12 hours, `conso.budget.RequestBudget`).

- **A meter alone** on its host runs on its own timer (`runs.py`): its daily run and its
  single retry, each with the max power when yesterday's is missing (`max_power_due`), and
  back-fill down to a reserve of `MIN_RESERVE`.
- **Several meters** share one scheduler (`fleet.py`): one request per meter per day (the
  last 7 days of load curve), the max power every `FleetConfig.max_power_every` days and
  production every `FleetConfig.production_every` days, as background work that leaves room
  for the daily runs. In the busiest 12 hours a meter needs its daily run and half a max
  power cycle's request (the morning's runs and the background of either side of them):
  `1 + 1 / (2 x max_power_every)` requests. `benchmarks/fleet.md` measures the most meters
  kept fresh with every max power served: 42 at cap 50 and 70 at cap 80, which this
  formula gives (`capacity`).

`plan_fleet` turns the cap and the meters into a `FleetPlan`, shown by the request budget
sensor and the diagnostics; above the capacity a repair issue tells the user to raise the
cap (up to `const.MAX_REQUEST_CAP`) or to accept a slower refresh.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
import hashlib
import math
from typing import Final

from .fleet import FleetConfig

HEADROOM: Final = 5
"""Requests kept out of every plan: the config flow's checks, a reauthentication, an action
the user runs."""
MIN_RESERVE: Final = 10
"""The back-fill of a meter alone stops this far from the cap (its run and retry, each with
the max power, and a share for healing)."""
FLEET: Final = FleetConfig()


@dataclass(frozen=True, slots=True)
class FleetPlan:
    """What the meters of one API host may spend (see the module docstring)."""

    cap: int
    meters: int
    """The meters (config entries) using the host."""
    production_meters: int
    max_power_every: int
    """Days between two max power requests of a meter (1: whenever yesterday's is missing)."""
    reserve: int
    """Requests the background work (back-fill, gap healing) leaves for the daily runs."""
    capacity: int
    """Consumption-only meters the cap keeps fresh, each with its max power."""

    @property
    def over_capacity(self) -> bool:
        """More meters than the cap keeps fresh (production counted as the meters' need)."""
        return self.meters > 1 and self.need() + HEADROOM > self.cap

    def need(self) -> float:
        """Requests the meters of a shared scheduler need in the busiest 12 hours."""
        return self.meters * _per_meter() + self.production_meters / (2 * FLEET.production_every)

    def as_dict(self) -> dict[str, int | bool]:
        """For the diagnostics and the request budget sensor's attributes."""
        return {
            "meters": self.meters,
            "meters_kept_fresh": self.capacity,
            "max_power_every_days": self.max_power_every,
            "backfill_reserve": self.reserve,
            "over_capacity": self.over_capacity,
        }


def _per_meter() -> float:
    """A meter's daily run and half a max power cycle's request (see the module docstring)."""
    return 1 + 1 / (2 * FLEET.max_power_every)


def plan_fleet(cap: int, productions: Sequence[bool]) -> FleetPlan:
    """The plan for the meters of one host (`productions`: one flag per meter, whether it
    imports production too) under `cap` requests per rolling 12 hours."""
    meters, producing = len(productions), sum(productions)
    capacity = max(0, math.floor((cap - HEADROOM) / _per_meter() + 1e-9))
    if meters <= 1:
        return FleetPlan(cap, meters, producing, 1, min(MIN_RESERVE, cap), capacity)
    reserve = min(cap, meters + producing + FLEET.probe_reserve + FLEET.safety)
    return FleetPlan(cap, meters, producing, FLEET.max_power_every, reserve, capacity)


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
