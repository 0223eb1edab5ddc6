"""Typed results of the Conso API client. No Home Assistant import.

Every datetime is timezone-aware. Interval starts and ends are real instants (Europe/Paris
local labels resolved to the right UTC offset, including the repeated hour of the October
DST change), so `end - start` is the true duration of the interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class MeasureType(StrEnum):
    """Conso API types (Enedis "Mesure synchrone V2" names)."""

    CONSUMPTION_DAILY = "consommation_quotidienne"
    CONSUMPTION_LOAD_CURVE = "courbe_de_charge_consommation"
    CONSUMPTION_MAX_POWER = "puissance_conso_max_quotidienne"
    PRODUCTION_DAILY = "production_quotidienne"
    PRODUCTION_LOAD_CURVE = "courbe_de_charge_production"

    @property
    def legacy_name(self) -> str:
        """The pre-2026 (Metering Data v5) Conso API type with the same data."""
        return _LEGACY_NAMES[self]

    @property
    def is_load_curve(self) -> bool:
        """Whether the type is a load curve (7-day windows, 24 months of history)."""
        return self in (MeasureType.CONSUMPTION_LOAD_CURVE, MeasureType.PRODUCTION_LOAD_CURVE)

    @property
    def is_production(self) -> bool:
        """Whether the type measures energy injected into the grid."""
        return self in (MeasureType.PRODUCTION_DAILY, MeasureType.PRODUCTION_LOAD_CURVE)


_LEGACY_NAMES: dict[MeasureType, str] = {
    MeasureType.CONSUMPTION_DAILY: "daily_consumption",
    MeasureType.CONSUMPTION_LOAD_CURVE: "consumption_load_curve",
    MeasureType.CONSUMPTION_MAX_POWER: "consumption_max_power",
    MeasureType.PRODUCTION_DAILY: "daily_production",
    MeasureType.PRODUCTION_LOAD_CURVE: "production_load_curve",
}


@dataclass(frozen=True, slots=True)
class EnergyInterval:
    """Energy measured over one load-curve interval.

    `start` and `end` are aware datetimes (Europe/Paris); `wh` = average W x minutes / 60.
    """

    start: datetime
    end: datetime
    wh: float


@dataclass(frozen=True, slots=True)
class DailyEnergy:
    """Energy of one local calendar day, in Wh.

    `start` is the day's local midnight (aware, Europe/Paris).
    """

    day: date
    start: datetime
    wh: int


@dataclass(frozen=True, slots=True)
class MaxPower:
    """Highest apparent power of one local day, in VA, and when it occurred (aware)."""

    day: date
    va: int
    at: datetime


@dataclass(frozen=True, slots=True)
class DateRange:
    """A request range: `start` inclusive, `end` exclusive (the API's dateDebut/dateFin)."""

    start: date
    end: date

    @property
    def days(self) -> int:
        """Number of days covered."""
        return (self.end - self.start).days
