"""How a meter spreads a day's energy over the hours: the mean share of each local hour in
its recent days, and a day total spread by those shares. Used to write a modelled day (the
energy signature's expected kWh) hour by hour, so that an hourly graph shows it beside the
meter's hours and every day, week or month sums to the modelled total. No Home Assistant
import.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
import math
from typing import Final

from ..localtime import PARIS
from .hourly import day_hours

HOURS: Final = 24


@dataclass(frozen=True, slots=True)
class DayProfile:
    """The share (0..1, summing to 1) of each local hour 0-23 in a usual day."""

    shares: tuple[float, ...]

    @classmethod
    def flat(cls) -> DayProfile:
        """Every hour alike (no day known hour by hour)."""
        return cls((1 / HOURS,) * HOURS)

    @classmethod
    def of(cls, days: Iterable[Mapping[datetime, float]]) -> DayProfile:
        """The mean share of each local hour over `days` (each the Wh of one local day's UTC
        hours); the repeated hour of the October day counts twice, the missing one of March
        not at all. Days that took nothing tell no shape; flat without any day."""
        totals = [0.0] * HOURS
        count = 0
        for hours in days:
            day_wh = math.fsum(hours.values())
            if day_wh <= 0:
                continue
            count += 1
            for start, wh in hours.items():
                totals[start.astimezone(PARIS).hour] += wh / day_wh
        if not count:
            return cls.flat()
        whole = math.fsum(totals)
        return cls(tuple(total / whole for total in totals))

    def spread(self, day: date, wh: float) -> dict[datetime, float]:
        """`wh` over the UTC hours of the local `day` (23, 24 or 25) in proportion to their
        local hour's share; they sum to `wh`."""
        hours = day_hours(day)
        weights = [self.shares[hour.astimezone(PARIS).hour] for hour in hours]
        whole = math.fsum(weights)
        if whole <= 0:  # a profile without these hours: spread evenly
            weights, whole = [1.0] * len(hours), float(len(hours))
        return {
            hour.astimezone(UTC): wh * w / whole for hour, w in zip(hours, weights, strict=True)
        }
