"""Synthetic houses for the energy signature's benchmark (`benchmarks/signature.py`): daily
kWh and daily mean outdoor temperatures with a known truth. numpy; not in the integration.

- Weather: a Paris-like seasonal curve (annual mean 12 °C, 7.5 °C amplitude, coldest on
  15 January) plus an AR(1) anomaly (lag-1 correlation 0.8, stationary standard deviation
  3 °C: cold and mild spells of several days). Consecutive years continue the same series.
- Houses (`draw`), their parameters drawn per seed:
  - resistive electric heating: kWh = base + slope x max(0, balance - T);
  - heat pump: the heat needed follows the degree-days, but the COP falls as it gets colder
    (3.2 at 7 °C, 0.08 per °C, at least 1.5), so the kWh per degree-day grows:
    slope x HDD x COP(balance) / COP(T) (x1.3 at 5 °C, x1.75 at -5 °C for a 16 °C balance);
  - no electric heating: kWh = base, no dependence on the weather at all.
  Base 4-12 kWh/day, balance 14-18 °C; slope 0.8-2.5 kWh per degree-day (resistive), 0.5-1.5
  at the balance (heat pump). Every day x (1 + 12 % Gaussian noise, at least x0.3).
- Each year also has a holiday of 7 to 21 days (kWh x 0.3 to 0.6; flagged, so left out),
  0 to 3 % of days missing, and unusual days (guests, a party, a device left on: a Poisson
  count of mean 3 a year, each x2 to x3, not flagged).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
import math
from typing import Final

import numpy as np
import numpy.typing as npt

type Vector = npt.NDArray[np.float64]

MEAN_C: Final = 12.0
AMPLITUDE_C: Final = 7.5
COLDEST_DAY: Final = 15
PERSISTENCE: Final = 0.8
ANOMALY_SD: Final = 3.0
NOISE: Final = 0.12
COP_7: Final = 3.2
COP_PER_DEGREE: Final = 0.08
COP_MIN: Final = 1.5
UNUSUAL_PER_YEAR: Final = 3.0
UNUSUAL_FACTOR: Final = (2.0, 3.0)


class HouseKind(StrEnum):
    RESISTIVE = "resistive"
    HEAT_PUMP = "heat_pump"
    UNHEATED = "unheated"


def cop(temperature: Vector) -> Vector:
    """A heat pump's coefficient of performance at these outdoor temperatures."""
    return np.maximum(COP_7 + COP_PER_DEGREE * (temperature - 7.0), COP_MIN)


@dataclass(frozen=True, slots=True)
class House:
    """The truth of one house: base kWh/day, kWh per degree-day (at the balance for a heat
    pump; 0 unheated), balance point (°C)."""

    kind: HouseKind
    base: float
    slope: float
    balance: float

    def heating(self, temperature: Vector) -> Vector:
        """The heating kWh a day at this temperature takes, before noise."""
        hdd = np.maximum(self.balance - temperature, 0.0)
        if self.kind is HouseKind.UNHEATED:
            return np.zeros_like(temperature)
        if self.kind is HouseKind.HEAT_PUMP:
            return self.slope * hdd * cop(np.array(self.balance)) / cop(temperature)
        return self.slope * hdd

    def normal_year_kwh(self, days: list[date]) -> float:
        """The expected kWh of these days over the weather (the curve and the anomaly's
        spread, Gauss-Hermite quadrature) and the unusual days: what a normal year costs
        (no holiday)."""
        nodes, weights = np.polynomial.hermite_e.hermegauss(40)
        weights = weights / weights.sum()
        temps = seasonal(days)[:, None] + ANOMALY_SD * nodes[None, :]
        heating = self.heating(temps.ravel()).reshape(temps.shape) @ weights
        unusual = UNUSUAL_PER_YEAR / 365 * (sum(UNUSUAL_FACTOR) / 2 - 1)
        return float((len(days) * self.base + heating.sum()) * (1 + unusual))


def draw(kind: HouseKind, rng: np.random.Generator) -> House:
    """A house of this kind with its parameters drawn."""
    base, balance = rng.uniform(4.0, 12.0), rng.uniform(14.0, 18.0)
    slope = {
        HouseKind.RESISTIVE: rng.uniform(0.8, 2.5),
        HouseKind.HEAT_PUMP: rng.uniform(0.5, 1.5),
        HouseKind.UNHEATED: 0.0,
    }[kind]
    return House(kind, float(base), float(slope), float(balance))


def seasonal(days: list[date]) -> Vector:
    """The seasonal curve's temperature of each day."""
    doy = np.array([d.timetuple().tm_yday for d in days], float)
    return MEAN_C - AMPLITUDE_C * np.cos(2 * math.pi * (doy - COLDEST_DAY) / 365.0)


def weather(rng: np.random.Generator, days: list[date]) -> Vector:
    """Daily mean temperatures: the curve plus a stationary AR(1) anomaly."""
    shocks = rng.normal(0.0, ANOMALY_SD * math.sqrt(1 - PERSISTENCE**2), len(days))
    anomaly = np.empty(len(days))
    current = rng.normal(0.0, ANOMALY_SD)
    for n, shock in enumerate(shocks):
        current = PERSISTENCE * current + shock if n else current
        anomaly[n] = current
    return seasonal(days) + anomaly


@dataclass(frozen=True, slots=True)
class Simulated:
    """Days of one house: temperature, kWh, the heating part of the kWh (truth), and which
    days are flagged (excluded), missing (no kWh) or unusual."""

    days: list[date]
    temperature: Vector
    kwh: Vector
    heating: Vector
    excluded: frozenset[date]
    missing: frozenset[date]
    unusual: frozenset[date]

    def inputs(
        self, first: date, last: date
    ) -> tuple[dict[date, float], dict[date, float], frozenset[date]]:
        """What the integration would pass for the days first..last: kWh (none on the
        missing days), temperatures, the excluded days."""
        kwh, temps = {}, {}
        for day, t, value in zip(self.days, self.temperature, self.kwh, strict=True):
            if first <= day <= last:
                temps[day] = float(t)
                if day not in self.missing:
                    kwh[day] = float(value)
        return kwh, temps, frozenset(d for d in self.excluded if first <= d <= last)

    def usable(self, first: date, last: date) -> npt.NDArray[np.bool_]:
        """Days first..last with a kWh and not excluded."""
        return np.array(
            [
                first <= d <= last and d not in self.missing and d not in self.excluded
                for d in self.days
            ]
        )


def simulate(
    house: House,
    rng: np.random.Generator,
    first: date,
    years: int,
    *,
    change_from: int | None = None,
    heating_cut: float = 0.0,
    colder_by: float = 0.0,
) -> Simulated:
    """`years` x 365 days of `house` from `first`, new weather and noise. From day
    `change_from` on (if given), the heating takes `heating_cut` less (works) and the
    weather is `colder_by` °C colder; the random draws are the same as without them."""
    days = [first + timedelta(days=n) for n in range(365 * years)]
    temperature = weather(rng, days)
    noise = np.maximum(1 + NOISE * rng.normal(size=len(days)), 0.3)
    if change_from is not None:
        temperature[change_from:] -= colder_by
    heating = house.heating(temperature) * noise
    if change_from is not None:
        heating[change_from:] *= 1 - heating_cut
    kwh = house.base * noise + heating
    excluded, missing, unusual = set(), set(), set()
    for year in range(years):
        offset = 365 * year
        start, length = int(rng.integers(0, 365 - 21)), int(rng.integers(7, 22))
        holiday = range(offset + start, offset + start + length)
        kwh[holiday.start : holiday.stop] *= rng.uniform(0.3, 0.6)
        excluded |= {days[n] for n in holiday}
        gaps = rng.choice(365, int(rng.integers(0, 12)), replace=False) + offset
        missing |= {days[n] for n in gaps.tolist()}
        count = int(rng.poisson(UNUSUAL_PER_YEAR))
        odd = [
            n for n in (rng.choice(365, count, replace=False) + offset).tolist() if n not in holiday
        ]
        kwh[odd] *= rng.uniform(*UNUSUAL_FACTOR, len(odd))
        unusual |= {days[n] for n in odd}
    return Simulated(
        days, temperature, kwh, heating, frozenset(excluded), frozenset(missing), frozenset(unusual)
    )
