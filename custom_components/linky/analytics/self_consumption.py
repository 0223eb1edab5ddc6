"""PV self-consumption from hourly series. No Home Assistant import.

Inputs are Wh per aware UTC hour start: the PV production (the user's own sensor or
statistic), the injection measured by the Linky (its production series) and the consumption
drawn from the grid (its consumption series). Per hour:

- self-consumed = production - injection, clamped at 0 when the injection exceeds the
  production (meter and PV sensor disagree: reported in `clamped`);
- self-consumption rate = self-consumed / production;
- self-sufficiency rate = self-consumed / (self-consumed + grid consumption).

An hour counts only when all three series have it; other hours are listed in
`incomplete_hours`. Daily figures (local Europe/Paris days) sum the complete hours and say
whether every hour of the day was complete: the glue publishes complete days only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
import math

from ..energy.hourly import day_hours, utc_hour
from ..localtime import local_date


@dataclass(frozen=True, slots=True)
class Figures:
    """Energies of one hour or one day, in Wh, and the rates (None when undefined)."""

    production_wh: float
    injection_wh: float
    grid_wh: float
    self_consumed_wh: float

    @property
    def self_consumption_rate(self) -> float | None:
        """Share of the production used on site (None without production)."""
        return self.self_consumed_wh / self.production_wh if self.production_wh > 0 else None

    @property
    def self_sufficiency_rate(self) -> float | None:
        """Share of the consumption covered by the production (None without consumption)."""
        used = self.self_consumed_wh + self.grid_wh
        return self.self_consumed_wh / used if used > 0 else None


@dataclass(frozen=True, slots=True)
class DayFigures(Figures):
    """Daily totals over the day's complete hours; `complete` when every hour was."""

    complete: bool = False


@dataclass(slots=True)
class SelfConsumption:
    """Result of `self_consumption`."""

    hours: dict[datetime, Figures] = field(default_factory=dict)
    """Complete hours, by UTC hour start, sorted."""
    days: dict[date, DayFigures] = field(default_factory=dict)
    """Local days with at least one complete hour, sorted."""
    clamped: dict[datetime, float] = field(default_factory=dict)
    """Hours whose injection exceeded the production, with the excess in Wh."""
    incomplete_hours: list[datetime] = field(default_factory=list)
    """Hours present in some series but not all, sorted."""


def self_consumption(
    production: Mapping[datetime, float],
    injection: Mapping[datetime, float],
    grid: Mapping[datetime, float],
) -> SelfConsumption:
    """Self-consumption figures per hour and per local day. Raises ValueError on a key that
    is not an aware whole hour or on a negative energy."""
    series = [_utc_hours(rows) for rows in (production, injection, grid)]
    common = set(series[0]).intersection(*series[1:])
    result = SelfConsumption()
    result.incomplete_hours = sorted(set().union(*series) - common)
    per_day: dict[date, list[Figures]] = {}
    for hour in sorted(common):
        produced, injected, drawn = (rows[hour] for rows in series)
        if produced < injected:
            result.clamped[hour] = injected - produced
        figures = Figures(produced, injected, drawn, max(produced - injected, 0.0))
        result.hours[hour] = figures
        per_day.setdefault(local_date(hour), []).append(figures)
    for day, rows in per_day.items():
        result.days[day] = DayFigures(
            production_wh=math.fsum(row.production_wh for row in rows),
            injection_wh=math.fsum(row.injection_wh for row in rows),
            grid_wh=math.fsum(row.grid_wh for row in rows),
            self_consumed_wh=math.fsum(row.self_consumed_wh for row in rows),
            complete=len(rows) == len(day_hours(day)),
        )
    return result


def _utc_hours(rows: Mapping[datetime, float]) -> dict[datetime, float]:
    hours: dict[datetime, float] = {}
    for start, wh in rows.items():
        if not wh >= 0:
            raise ValueError(f"negative or invalid energy {wh!r} at {start}")
        hours[utc_hour(start)] = float(wh)
    return hours
