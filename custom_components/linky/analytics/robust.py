"""Robust statistics for the insights: percentiles, median, MAD, robust z-scores and a
weather-adjusted baseline. No Home Assistant import, no numpy: the samples are a few dozen
days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import compress
import math
from operator import mul
import statistics

MAD_SCALE = 1.4826
"""MAD x this estimates the standard deviation of normal data."""


def percentile(values: Sequence[float], share: float) -> float:
    """The `share` (0..1) percentile with linear interpolation between ranks."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    position = share * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True, slots=True)
class Spread:
    """Where most values lie: the median and the robust scale (MAD x 1.4826), with a floor
    so that a very regular series does not make a tiny change look huge."""

    median: float
    scale: float

    @classmethod
    def of(cls, values: Sequence[float], floor: float) -> Spread:
        """The spread of `values`; `floor` is the smallest scale (same unit)."""
        median = statistics.median(values)
        mad = statistics.median(abs(value - median) for value in values)
        return cls(median, max(mad * MAD_SCALE, floor))

    def z(self, value: float) -> float:
        """The robust z-score of `value`."""
        return (value - self.median) / self.scale


@dataclass(frozen=True, slots=True)
class WeatherLine:
    """`value = intercept + slope x heating degree-days(temperature)`: what a day (or a
    night) usually takes at a given outdoor temperature. A slope of 0 means no heating (or
    no temperature): the line is then the median."""

    intercept: float
    slope: float
    balance: float

    def expected(self, temperature: float | None) -> float:
        """The value expected at `temperature` (None: no weather correction)."""
        if temperature is None or self.slope == 0:
            return self.intercept
        return self.intercept + self.slope * max(0.0, self.balance - temperature)

    @classmethod
    def fit(
        cls,
        values: Sequence[float],
        temperatures: Sequence[float | None],
        balance: float = 16.0,
        min_heating_days: int = 10,
    ) -> WeatherLine:
        """A least-squares line on the heating degree-days, refitted once without the days
        far from it (3 robust scales); the median when there is no heating to see (too few
        cold days, a slope that is not positive, or no temperatures)."""
        if len(values) != len(temperatures):
            raise ValueError("as many temperatures as values are needed")
        ys = [v for v, t in zip(values, temperatures, strict=True) if t is not None]
        xs = [max(0.0, balance - t) for t in temperatures if t is not None]
        median = cls(statistics.median(values), 0.0, balance) if values else cls(0.0, 0.0, balance)
        if sum(1 for x in xs if x > 1) < min_heating_days:
            return median
        line = cls._least_squares(xs, ys, balance)
        if line is None:
            return median
        residuals = [y - line.intercept - line.slope * x for x, y in zip(xs, ys, strict=True)]
        spread = Spread.of(residuals, floor=1e-9)
        kept = [abs(spread.z(r)) <= 3 for r in residuals]
        if sum(kept) < 2 * min_heating_days:
            return line
        refit = cls._least_squares(list(compress(xs, kept)), list(compress(ys, kept)), balance)
        return refit or line

    @classmethod
    def _least_squares(
        cls, xs: Sequence[float], ys: Sequence[float], balance: float
    ) -> WeatherLine | None:
        n = len(xs)
        sum_x, sum_y = sum(xs), sum(ys)
        sxx = sum(map(mul, xs, xs, strict=False)) - sum_x * sum_x / n
        if sxx <= 1e-9:
            return None
        slope = (sum(map(mul, xs, ys, strict=False)) - sum_x * sum_y / n) / sxx
        if slope <= 0:
            return None
        return cls((sum_y - slope * sum_x) / n, slope, balance)
