"""The energy signature of a meter, as PRISM and CalTRACK 2.0's daily method fit it: daily
kWh = base + heating slope x HDD + cooling slope x CDD, HDD = max(0, Tb - T), CDD = max(0,
T - Tc), T the day's mean outdoor temperature. No Home Assistant import; numpy.

Candidates: intercept only, heating, cooling, both; balance points on a grid of 8 to 24 °C by
0.5 °C (Tc >= Tb); least squares on sums over the days, vectorised over the grid. A candidate
qualifies when base >= 0 and slopes > 0, each degree-day has 10 non-zero days and 20
degree-days per year, and each slope is significant (t >= 3, its variance widened for the
residuals' autocorrelation: the best of 33 balance points otherwise reads many unheated
homes as heated, see `benchmarks/signature.md`; CalTRACK 1 screened p < 0.1). The best
adjusted R² wins, a tie the simpler model. Days beyond 3 IQR of the first fit's residuals
are left out and the fit redone once. A heating that bends (a heat pump: its kWh per
degree-day grows in the cold) gets an HDD² term when the data show it (positive, t >= 3),
at a balance point chosen again on the days near it (`degree_days.refine_heating`): the
best straight line would put it a degree too low. Goodness of fit: ASHRAE Guideline 14's
CV(RMSE) and NMBE on the days and on each month predicted without it (leave-one-month-out).
Variances are widened by (1 + r) / (1 - r), r the residuals' lag-1 autocorrelation (ASHRAE
14's effective sample size).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, timedelta
from enum import StrEnum
from itertools import pairwise
import math
from statistics import NormalDist
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from .degree_days import (
    ModelKind,
    Sums,
    Vector,
    bent_heating,
    columns,
    refine_heating,
    select,
)

WINDOW_DAYS: Final = 365
"""Sufficiency, on the last 365 days: a full model when the data span them with at most
10 % missing (no kWh or no temperature; excluded days are not missing); a provisional one
from 90 used days of which 30 heating days (colder than 16 °C); otherwise none."""
MAX_MISSING_SHARE: Final = 0.10
MIN_DAYS: Final = 90
MIN_HEATING_DAYS: Final = 30
HEATING_DAY_BALANCE: Final = 16.0
MIN_T: Final = 3.0
OUTLIER_IQR: Final = 3.0
MAX_AUTOCORRELATION: Final = 0.9
LEVEL: Final = 0.90
MIN_MONTH_DAYS: Final = 10
MIN_MONTHS: Final = 3
GOOD: Final = (0.15, 0.05)
"""Monthly CV(RMSE) and |NMBE| of a GOOD fit (ASHRAE Guideline 14's monthly criteria)."""
FAIR: Final = (0.25, 0.10)


class NoModelReason(StrEnum):
    """Why there is no signature yet (NO_VALID_MODEL: no consumption to model)."""

    NO_TEMPERATURE = "no_temperature"
    NOT_ENOUGH_DAYS = "not_enough_days"
    NOT_ENOUGH_HEATING_DAYS = "not_enough_heating_days"
    NO_VALID_MODEL = "no_valid_model"


class Grade(StrEnum):
    """How well the model predicts the months it did not see: GOOD within ASHRAE Guideline
    14's monthly criteria (CV(RMSE) <= 15 %, |NMBE| <= 5 %), FAIR within 25 % and 10 %, POOR
    beyond or when fewer than 3 months can be checked."""

    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"


@dataclass(frozen=True, slots=True)
class Goodness:
    """ASHRAE Guideline 14's figures, shares of the mean actual value: CV(RMSE) = sqrt(sum
    r² / (n - p)) / mean, NMBE = sum r / ((n - p) mean), r = actual - predicted (NMBE > 0:
    the model predicts too little)."""

    cvrmse: float
    nmbe: float

    @property
    def grade(self) -> Grade:
        for grade, (cvrmse, nmbe) in ((Grade.GOOD, GOOD), (Grade.FAIR, FAIR)):
            if self.cvrmse <= cvrmse and abs(self.nmbe) <= nmbe:
                return grade
        return Grade.POOR


def goodness(actual: Iterable[float], predicted: Iterable[float], parameters: int = 0) -> Goodness:
    """CV(RMSE) and NMBE of `predicted` against `actual`; `parameters` fitted on these very
    values (0: values the model did not see)."""
    a, p = np.fromiter(actual, float), np.fromiter(predicted, float)
    dof, mean = a.size - parameters, float(a.mean()) if a.size else 0.0
    if a.size != p.size or dof <= 0 or mean <= 0:
        raise ValueError("as many predictions as values, more values than parameters")
    r = a - p
    return Goodness(math.sqrt(float(r @ r) / dof) / mean, float(r.sum()) / (dof * mean))


@dataclass(frozen=True, slots=True)
class NormalYear:
    """A normal year's weather, to which PRISM's normalised annual consumption applies the
    model: 365 daily mean temperatures (°C, from 1 January) and how far a day usually strays
    from its normal (`spread`, a standard deviation, °C). A day's degree-days are their
    expectation over that spread (those of the mean temperature alone would miss the mild
    days of winter and the cold ones of spring). Spread 0: the days as given (a real or a
    typical meteorological year)."""

    temperatures: tuple[float, ...]
    spread: float = 0.0

    @classmethod
    def seasonal(cls, mean: float, amplitude: float, coldest_day: int, spread: float) -> NormalYear:
        """A cosine seasonal curve, coldest on day of year `coldest_day` (1: 1 January)."""
        days = np.arange(1, WINDOW_DAYS + 1)
        curve = mean - amplitude * np.cos(2 * math.pi * (days - coldest_day) / WINDOW_DAYS)
        return cls(tuple(curve.tolist()), spread)

    def degree_days(self, balance: float, *, heating: bool) -> Vector:
        """Each day's expected heating (or cooling) degree-days at `balance`."""
        gap = (balance - np.asarray(self.temperatures)) * (1 if heating else -1)
        if self.spread <= 0:
            return np.maximum(gap, 0.0)
        cdf, pdf = self._normal(gap)
        expected: Vector = gap * cdf + self.spread * pdf
        return expected

    def squared_heating(self, balance: float) -> Vector:
        """Each day's expected squared heating degree-days at `balance`."""
        gap = balance - np.asarray(self.temperatures)
        if self.spread <= 0:
            squared: Vector = np.maximum(gap, 0.0) ** 2
            return squared
        cdf, pdf = self._normal(gap)
        expected: Vector = (gap * gap + self.spread**2) * cdf + gap * self.spread * pdf
        return expected

    def _normal(self, gap: Vector) -> tuple[Vector, Vector]:
        """The normal CDF and density (over the spread) of each day's gap to the balance."""
        z = gap / self.spread
        cdf = np.array([0.5 * (1 + math.erf(v / math.sqrt(2))) for v in z.tolist()])
        return cdf, np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


PARIS_NORMAL: Final = NormalYear.seasonal(mean=12.0, amplitude=7.5, coldest_day=15, spread=3.0)
"""The built-in normal year, an assumption for a Paris-like lowland climate: annual mean
12 °C, 4.5 °C in mid-January, 19.5 °C in mid-July, a day 3 °C (one standard deviation) from
its normal; about the Météo-France 1991-2020 normals of the Paris region's stations
(Montsouris, in the city, is warmer). Pass the home's own normals where known."""


def _lag1(residuals: Vector, ordinals: npt.NDArray[np.int64]) -> float:
    """Lag-1 autocorrelation of the residuals over pairs of consecutive days, 0 to 0.9."""
    consecutive = np.diff(ordinals) == 1
    r = residuals - residuals.mean()
    variance = float(r @ r) / r.size
    if consecutive.sum() < 10 or variance <= 0:
        return 0.0
    covariance = float((r[:-1] * r[1:])[consecutive].mean())
    return float(min(max(covariance / variance, 0.0), MAX_AUTOCORRELATION))


def _inflation(rho: float) -> float:
    """How many times an autocorrelated series' variance of a sum exceeds the iid one's."""
    return (1 + rho) / (1 - rho)


def _t_quantile(p: float, dof: float) -> float:
    """Student's t quantile (Cornish-Fisher expansion, close enough from 3 degrees)."""
    z, dof = NormalDist().inv_cdf(p), max(dof, 3.0)
    z3 = z * z * z
    return z + (z3 + z) / (4 * dof) + (5 * z3 * z * z + 16 * z3 + 3 * z) / (96 * dof * dof)


@dataclass(frozen=True, slots=True)
class Signature:
    """A meter's energy signature. Slopes in kWh per degree-day, balances in °C, None when
    the model has no such term; `heating_share`: the modelled heating of the used days over
    their kWh; the normal year's kWh (PRISM's NAC) and its 90 % prediction interval for the
    normal weather; `monthly`: the leave-one-month-out figures (None: fewer than 3 months).
    A period's total (`interval`, the normal year) also has the days left out as outliers
    on average (`outlier_kwh` per day), as a coming year will have such days too."""

    kind: ModelKind
    base_kwh: float
    heating_slope: float | None
    heating_balance: float | None
    heating_bend: float | None
    """kWh per degree-day² (None: a straight heating line): a heat pump's kWh per
    degree-day grows in the cold; `heating_slope` is then the slope at the balance point."""
    cooling_slope: float | None
    cooling_balance: float | None
    provisional: bool
    first_day: date
    last_day: date
    days_used: int
    days_outliers: int
    days_excluded: int
    days_missing: int
    adjusted_r2: float
    autocorrelation: float
    daily: Goodness
    monthly: Goodness | None
    heating_share: float = 0.0
    normal_year_kwh: float = 0.0
    normal_year_low: float = 0.0
    normal_year_high: float = 0.0
    outliers: frozenset[date] = field(default=frozenset(), repr=False)
    covariance: tuple[tuple[float, ...], ...] = field(default=(), repr=False)
    """The coefficients' covariance (base, then slopes), autocorrelation included."""
    residual_variance: float = field(default=0.0, repr=False)
    dof: float = field(default=math.inf, repr=False)
    """Effective degrees of freedom of the residuals."""
    outlier_kwh: float = field(default=0.0, repr=False)
    outlier_variance: float = field(default=0.0, repr=False)
    """Mean square of the outliers' residuals per day fitted (kWh²)."""

    @property
    def grade(self) -> Grade:
        return Grade.POOR if self.monthly is None else self.monthly.grade

    def expected_kwh(self, temperature: float) -> float:
        """The kWh a usual day takes at this daily mean temperature."""
        return float(self._coefficients @ self._design(np.array([temperature]))[0])

    def heating_kwh(self, temperatures: Iterable[float]) -> float:
        """The modelled heating kWh of days at these temperatures."""
        if self.heating_slope is None or self.heating_balance is None:
            return 0.0
        hdd = np.maximum(self.heating_balance - np.fromiter(temperatures, float), 0.0)
        return self.heating_slope * float(hdd.sum()) + (self.heating_bend or 0.0) * float(hdd @ hdd)

    def interval(
        self, temperatures: Iterable[float], level: float = LEVEL
    ) -> tuple[float, float, float]:
        """(expected, low, high): the kWh of days at these temperatures, its prediction
        interval (the weather given)."""
        t = np.fromiter(temperatures, float)
        return self._interval(self._design(t).sum(axis=0), t.size, level)

    def with_normal(self, normal: NormalYear) -> Signature:
        """This signature with the normal year's kWh and interval for `normal`."""
        design = [float(len(normal.temperatures))]
        if self.heating_balance is not None:
            design.append(float(normal.degree_days(self.heating_balance, heating=True).sum()))
            if self.heating_bend is not None:
                design.append(float(normal.squared_heating(self.heating_balance).sum()))
        if self.cooling_balance is not None:
            design.append(float(normal.degree_days(self.cooling_balance, heating=False).sum()))
        expected, low, high = self._interval(np.array(design), len(normal.temperatures), LEVEL)
        return replace(self, normal_year_kwh=expected, normal_year_low=low, normal_year_high=high)

    @property
    def _coefficients(self) -> Vector:
        terms = (self.heating_slope, self.heating_bend, self.cooling_slope)
        return np.array([self.base_kwh, *(term for term in terms if term is not None)])

    def _design(self, t: Vector) -> Vector:
        bend = self.heating_bend is not None
        return columns(t, self.heating_balance, self.cooling_balance, bend=bend)

    def _interval(self, design: Vector, days: int, level: float) -> tuple[float, float, float]:
        """The total of `days` days whose design rows sum to `design`: the coefficients'
        uncertainty, the days' own (autocorrelated) residuals, and the outliers' share (a
        rate estimated on the fitted days, as the intercept is). The outliers' variance
        rests on a few days: the degrees of freedom are Welch-Satterthwaite's."""
        expected = float(design @ self._coefficients) + days * self.outlier_kwh
        cov = np.asarray(self.covariance, float).reshape(design.size, design.size)
        fitted = self.days_used + self.days_outliers
        usual = float(design @ cov @ design) + days * self.residual_variance * _inflation(
            self.autocorrelation
        )
        unusual = days * self.outlier_variance * (1 + days / fitted)
        dof = (
            (usual + unusual) ** 2
            / (usual**2 / self.dof + (unusual**2 / self.days_outliers if unusual else 0.0))
            if usual + unusual > 0
            else self.dof
        )
        half = _t_quantile(0.5 + level / 2, dof) * math.sqrt(usual + unusual)
        return expected, expected - half, expected + half

    def as_dict(self) -> dict[str, Any]:
        """JSON form (attributes, diagnostics): the public figures, rounded."""
        data: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self) if f.repr}
        for name, figures in (("daily", self.daily), ("monthly", self.monthly)):
            data[f"cvrmse_{name}"] = None if figures is None else figures.cvrmse
            data[f"nmbe_{name}"] = None if figures is None else figures.nmbe
            del data[name]
        return {key: _json(value) for key, value in (data | {"grade": self.grade}).items()}


def _plain(record: Any) -> dict[str, Any]:
    return {f.name: _json(getattr(record, f.name)) for f in fields(record)}


def _json(value: object) -> object:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, float):
        return round(value, 4)
    return value.isoformat() if isinstance(value, date) else value


@dataclass(frozen=True, slots=True)
class NoSignature:
    """No signature yet: why, and what the last 365 days hold."""

    reason: NoModelReason
    days_used: int = 0
    heating_days: int = 0
    days_missing: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return _plain(self)


def fit_signature(
    kwh: Mapping[date, float],
    temperatures: Mapping[date, float],
    excluded: frozenset[date] = frozenset(),
    *,
    normal: NormalYear = PARIS_NORMAL,
    min_t: float = MIN_T,
    bend: bool = True,
) -> Signature | NoSignature:
    """The signature of the last 365 days of `kwh` (per local day) against `temperatures`
    (the days' mean, °C), without the `excluded` days (incomplete, load shedding, holidays)
    and the days without a temperature. `min_t` 0 drops the slopes' significance screen;
    `bend` False keeps the heating straight (the other model form, for its uncertainty)."""
    usable = sorted(d for d, v in kwh.items() if _finite(v, temperatures.get(d)))
    if not usable:
        return NoSignature(NoModelReason.NO_TEMPERATURE if kwh else NoModelReason.NOT_ENOUGH_DAYS)
    last = usable[-1]
    first = last - timedelta(days=WINDOW_DAYS - 1)
    left_out = {d for d in excluded if first <= d <= last}
    used = [d for d in usable if d >= first and d not in left_out]
    missing = WINDOW_DAYS - len(left_out.union(d for d in usable if d >= first))
    t = np.array([temperatures[d] for d in used], float)
    y = np.array([kwh[d] for d in used], float)
    heating_days = int((t < HEATING_DAY_BALANCE).sum())
    full = usable[0] <= first and missing <= MAX_MISSING_SHARE * WINDOW_DAYS
    why = None
    if len(used) < MIN_DAYS:
        why = NoModelReason.NOT_ENOUGH_DAYS
    elif not full and heating_days < MIN_HEATING_DAYS:
        why = NoModelReason.NOT_ENOUGH_HEATING_DAYS
    sums = Sums.of(t, y)
    choice = None if why else select(sums, 1.0, min_t)[0]
    if choice is None:
        return NoSignature(why or NoModelReason.NO_VALID_MODEL, len(used), heating_days, missing)
    ordinals = np.array([d.toordinal() for d in used], np.int64)
    r = y - columns(t, *choice.balances) @ sums.solve(0, choice)[0]
    q1, q3 = (float(q) for q in np.percentile(r, [25, 75]))
    iqr = max(q3 - q1, 1e-9 * float(y.mean()))  # exact data: rounding errors are no outliers
    keep = (r >= q1 - OUTLIER_IQR * iqr) & (r <= q3 + OUTLIER_IQR * iqr)
    inflation = _inflation(_lag1(r[keep], ordinals[keep]))
    kept = [d for d, k in zip(used, keep.tolist(), strict=True) if k]
    months = Sums.of(t[keep], y[keep], _months(kept))
    sums = months.total()
    choice = select(sums, inflation, min_t)[0] or choice
    beta, xtx_inv = sums.solve(0, choice)
    allow_bend, bend = bend, False
    if allow_bend and (refined := refine_heating(t[keep], y[keep], choice)).heating is not None:
        bent = bent_heating(t[keep], y[keep], refined, inflation, min_t)
        if bent is not None:
            (choice, beta, xtx_inv), bend = bent, True
    r = y - columns(t, *choice.balances, bend=bend) @ beta
    rho = _lag1(r[keep], ordinals[keep])
    n, p = len(kept), beta.size
    variance = float(r[keep] @ r[keep]) / (n - p)
    x = columns(t[keep], *choice.balances, bend=bend)  # White's: cold days vary more
    meat = x.T @ (x * (r[keep] * r[keep])[:, None]) * n / (n - p)
    slopes = iter(beta[1:].tolist())
    signature = Signature(
        kind=choice.kind,
        base_kwh=float(beta[0]),
        heating_slope=next(slopes) if choice.heating is not None else None,
        heating_balance=choice.balances[0],
        heating_bend=next(slopes) if bend else None,
        cooling_slope=next(slopes, None),
        cooling_balance=choice.balances[1],
        provisional=not full,
        first_day=first,
        last_day=last,
        days_used=n,
        days_outliers=y.size - n,
        days_excluded=len(left_out),
        days_missing=missing,
        adjusted_r2=1 - variance / float(np.var(y[keep], ddof=1)) if bend else choice.adjusted_r2,
        autocorrelation=rho,
        daily=goodness(y[keep], y[keep] - r[keep], p),
        monthly=_leave_month_out(months, inflation, min_t),
        outliers=frozenset(used) - frozenset(kept),
        covariance=tuple(map(tuple, (xtx_inv @ meat @ xtx_inv * _inflation(rho)).tolist())),
        residual_variance=variance,
        dof=n / _inflation(rho) - p,
        outlier_kwh=float(r[~keep].sum()) / y.size,
        outlier_variance=float(r[~keep] @ r[~keep]) / y.size,
    )
    share = signature.heating_kwh(t[keep].tolist()) / float(y[keep].sum())
    return replace(signature, heating_share=share).with_normal(normal)


def _months(days: list[date]) -> list[slice]:
    """The runs of `days` (sorted) in the same month."""
    starts = [k for k in range(len(days)) if not k or days[k].month != days[k - 1].month]
    return [slice(a, b) for a, b in pairwise([*starts, len(days)])]


def _finite(kwh: float, temperature: float | None) -> bool:
    return temperature is not None and math.isfinite(kwh) and math.isfinite(temperature)


def _leave_month_out(months: Sums, inflation: float, min_t: float) -> Goodness | None:
    """Each month (with 10 used days) predicted by the model chosen and fitted without it,
    all months at once on the sums; the months' CV(RMSE) and NMBE (None: fewer than 3)."""
    rest = months.total() - months
    actual, predicted = [], []
    for row, choice in enumerate(select(rest, inflation, min_t)):
        if choice is not None and months.n[row] >= MIN_MONTH_DAYS:
            actual.append(float(months.y[row]))
            predicted.append(
                float(months.normal_equations(row, choice)[0][0] @ rest.solve(row, choice)[0])
            )
    return goodness(actual, predicted) if len(actual) >= MIN_MONTHS else None


class PointStatus(StrEnum):
    """How a point of the scatter chart counts in the signature."""

    USED = "used"
    OUTLIER = "outlier"
    EXCLUDED = "excluded"
    OUTSIDE = "outside"
    """Before the signature's 365 days."""


@dataclass(frozen=True, slots=True)
class Point:
    """One day of the signature's scatter chart."""

    day: date
    temperature: float
    kwh: float
    status: PointStatus

    @property
    def used(self) -> bool:
        return self.status is PointStatus.USED

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return _plain(self)


def points(
    kwh: Mapping[date, float],
    temperatures: Mapping[date, float],
    excluded: frozenset[date] = frozenset(),
    signature: Signature | None = None,
) -> list[Point]:
    """Every day with a kWh and a temperature, oldest first, and whether `signature` (the
    one fitted on these data, if any) used it."""
    result = []
    for day in sorted(d for d, v in kwh.items() if _finite(v, temperatures.get(d))):
        status = PointStatus.USED
        if day in excluded:
            status = PointStatus.EXCLUDED
        elif signature is not None and not signature.first_day <= day <= signature.last_day:
            status = PointStatus.OUTSIDE
        elif signature is not None and day in signature.outliers:
            status = PointStatus.OUTLIER
        result.append(Point(day, temperatures[day], kwh[day], status))
    return result
