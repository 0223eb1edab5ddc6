"""Robust statistics for the insights: percentiles, median, MAD, robust z-scores and a
weather-adjusted baseline. No Home Assistant import, no numpy: the samples are a few dozen
days.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate, compress
import math
from operator import mul
import statistics

MAD_SCALE = 1.4826
"""MAD x this estimates the standard deviation of normal data."""
BALANCES = tuple(13.0 + 0.5 * n for n in range(11))
"""Balance temperatures (°C) a household's heating is tried against: 13 to 18."""


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
        return self.intercept + self.heating(temperature)

    def heating(self, temperature: float | None) -> float:
        """The part of `expected` due to the cold (0 above the balance or without one)."""
        if temperature is None or self.slope == 0:
            return 0.0
        return self.slope * max(0.0, self.balance - temperature)

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
    def fit_balance(
        cls,
        values: Sequence[float],
        temperatures: Sequence[float | None],
        balances: Sequence[float] = BALANCES,
        min_heating_days: int = 10,
    ) -> WeatherLine:
        """`fit` at the balance temperature (one of `balances`) whose least-squares line
        leaves the smallest squared error: the temperature below which this household
        heats is learned, not assumed. Prefix sums over the values sorted by temperature
        make each candidate O(log n)."""
        if len(values) != len(temperatures):
            raise ValueError("as many temperatures as values are needed")
        pairs = sorted((t, v) for v, t in zip(values, temperatures, strict=True) if t is not None)
        best, best_error = balances[len(balances) // 2], math.inf
        n = len(pairs)
        if n:
            temps = [t for t, _ in pairs]
            sum_t = list(accumulate(temps, initial=0.0))
            sum_tt = list(accumulate((t * t for t in temps), initial=0.0))
            sum_v = list(accumulate((v for _, v in pairs), initial=0.0))
            sum_tv = list(accumulate((t * v for t, v in pairs), initial=0.0))
            total = sum_v[-1]
            for balance in balances:
                k = bisect_left(temps, balance)  # the days colder than the balance
                sx = k * balance - sum_t[k]
                sxx = k * balance * balance - 2 * balance * sum_t[k] + sum_tt[k] - sx * sx / n
                sxy = balance * sum_v[k] - sum_tv[k] - sx * total / n
                if sxx <= 1e-9 or sxy <= 0:
                    continue
                error = -sxy * sxy / sxx  # the squared error, less what every candidate shares
                if error < best_error:
                    best, best_error = balance, error
        return cls.fit(values, temperatures, best, min_heating_days)

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
