"""Emulated meters (PDL/PRM) and the default set served by the emulator."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

PROFILES = ("heating", "base", "pv")
"""Load profiles: `heating` = household with electric heating, `base` = household without
electric heating, `pv` = household without electric heating plus solar panels (surplus
injected into the grid)."""

UNUSUAL_RATIO = 1.8
"""How much more an injected unusual day takes."""

HOME_PDL = "25946599093143"
"""Household with electric heating, consumption only."""
PV_PDL = "25946599093150"
"""Household with solar panels: consumption and production (surplus injection)."""
NO_CURVE_PDL = "25946599093167"
"""Consumption only, hourly collection disabled: daily data works, load curves answer 404."""
NEW_PDL = "25946599093174"
"""Consumption only, activated 20 days before the emulator's "today"."""


@dataclass(slots=True)
class Meter:
    """One meter as Enedis sees it. Mutable: tests flip consent, holder, load curve..."""

    pdl: str
    consumption: bool = True
    production: bool = False
    load_curve_enabled: bool = True
    activation_date: date | None = None
    holder: bool = True
    consent: bool = True
    profile: str = "heating"
    extra_base_w: tuple[tuple[date, float], ...] = ()
    """Injected events (tests of the insights): from each date on, this many W more base
    load (a step, e.g. a heater left on). Set before the days are first served."""
    unusual_days: tuple[date, ...] = ()
    """Injected events: on these days every slot takes `UNUSUAL_RATIO` times more."""

    def __post_init__(self) -> None:
        if len(self.pdl) != 14 or not self.pdl.isdigit():
            raise ValueError(f"a PDL has 14 digits, got {self.pdl!r}")
        if self.profile not in PROFILES:
            raise ValueError(f"unknown profile {self.profile!r}, expected one of {PROFILES}")

    def to_json(self) -> dict[str, Any]:
        """JSON-ready view (dates as ISO strings)."""
        data = asdict(self)
        data["activation_date"] = self.activation_date and self.activation_date.isoformat()
        data["extra_base_w"] = [[day.isoformat(), watts] for day, watts in self.extra_base_w]
        data["unusual_days"] = [day.isoformat() for day in self.unusual_days]
        return data

    def base_extra_w(self, day: date) -> float:
        """The injected base load of `day` (W)."""
        return sum(watts for start, watts in self.extra_base_w if day >= start)


def default_meters(today: date) -> list[Meter]:
    """The four meters every emulator starts with, relative to the emulator's `today`."""
    return [
        Meter(HOME_PDL, profile="heating"),
        Meter(PV_PDL, production=True, profile="pv"),
        Meter(NO_CURVE_PDL, load_curve_enabled=False, profile="base"),
        Meter(NEW_PDL, activation_date=date.fromordinal(today.toordinal() - 20), profile="base"),
    ]
