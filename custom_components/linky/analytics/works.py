"""Before/after proof of works (insulation, a heat pump...): the energy the works avoided, the
weather accounted for, with its uncertainty. No Home Assistant import.

Method (CalTRACK 2.0 daily / IPMVP option C, "avoided energy"):
- Baseline: the meter's energy signature (`signature.py`) fitted on the (up to) 365 days
  before the works start; the works period itself is never used.
- Reporting period: the days after the works end that have a kWh and a temperature and are
  not left out (load shedding, holidays: the same days the signature leaves out).
- Avoided energy = the baseline model's kWh on the reporting days' temperatures minus the
  kWh measured on them. Its 90 % interval is the baseline's prediction interval of that
  total (`Signature.interval`: the coefficients' uncertainty, the days' autocorrelated
  residuals and the share of unusual days, the ASHRAE Guideline 14 fractional savings
  uncertainty's parts; the measured kWh are exact), widened for the heating's form
  (`model_form_half`): the baseline is fitted again in the other form (straight for a
  bending heating, bending for a straight one) and the two forms' totals compared. The gap
  is an uncorrected systematic error: added linearly, not in quadrature (the "SUMU" of
  Phillips, Eberhardt & Parry, J. Res. NIST 102, 1997; in quadrature it under-covers once
  the reporting weather leaves the baseline's, a colder year for a heat pump). The gap is
  itself estimated: the richer form's extra prediction variance (Hausman's: that of the
  difference when the simpler form holds) goes in quadrature with the statistical part. It
  is the leverage of the unknown curvature on the reporting days: near nil on the baseline's
  weather, growing with extrapolation.
- Not significant when that uncertainty (the interval's half width) exceeds half the
  avoided energy (ASHRAE Guideline 14's rule of thumb: savings at least twice their
  uncertainty).
- Money at the price the caller gives (EUR per kWh: what the user paid on average).

This is evidence measured on the meter. It is not a CEE document: standard CEE operations
are paid on deemed savings, whatever a meter shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, timedelta
from enum import StrEnum
import math
from statistics import NormalDist
from typing import Any, Final

import numpy as np

from .degree_days import columns
from .signature import (
    LEVEL,
    MIN_T,
    PARIS_NORMAL,
    NoModelReason,
    NormalYear,
    NoSignature,
    Signature,
    fit_signature,
)

BASELINE_DAYS: Final = 365
MAX_REPORTING_DAYS: Final = 365
MIN_REPORTING_DAYS: Final = 30


class WorksError(StrEnum):
    """Why there is no before/after result (stable: the action's error keys)."""

    BAD_PERIOD = "bad_period"
    """The works end before they start, or after the last day stored."""
    NO_BASELINE = "no_baseline"
    """No energy signature before the works (see `baseline_reason`)."""
    NOT_ENOUGH_REPORTING_DAYS = "not_enough_reporting_days"


@dataclass(frozen=True, slots=True)
class WorksSavings:
    """The avoided energy of works, its 90 % interval, and what it rests on. kWh and EUR over
    the reporting days; `share`: the avoided kWh over what the baseline expected."""

    works_start: date
    works_end: date
    baseline_first: date
    baseline_last: date
    reporting_first: date
    reporting_last: date
    reporting_days: int
    expected_kwh: float
    actual_kwh: float
    avoided_kwh: float
    avoided_low: float
    avoided_high: float
    share: float
    significant: bool
    price_eur_per_kwh: float | None
    baseline: Signature

    @property
    def uncertainty_kwh(self) -> float:
        """The half width of the 90 % interval."""
        return (self.avoided_high - self.avoided_low) / 2

    @property
    def avoided_eur(self) -> float | None:
        if self.price_eur_per_kwh is None:
            return None
        return self.avoided_kwh * self.price_eur_per_kwh

    def as_dict(self) -> dict[str, Any]:
        """JSON form (action response data): rounded figures, the baseline's fit."""
        data: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, float):
                value = round(value, 4 if item.name in {"share", "price_eur_per_kwh"} else 1)
            elif isinstance(value, Signature):
                value = value.as_dict()
            data[item.name] = value
        eur = self.avoided_eur
        data["avoided_eur"] = None if eur is None else round(eur, 2)
        data["uncertainty_kwh"] = round(self.uncertainty_kwh, 1)
        data["level"] = LEVEL
        return data


@dataclass(frozen=True, slots=True)
class NoWorksSavings:
    """No result: why (and, without a baseline, why there is no signature before)."""

    error: WorksError
    baseline_reason: NoModelReason | None = None
    reporting_days: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "error": self.error.value,
            "baseline_reason": None if self.baseline_reason is None else self.baseline_reason.value,
            "reporting_days": self.reporting_days,
        }


def works_savings(
    kwh: Mapping[date, float],
    temperatures: Mapping[date, float],
    works_start: date,
    works_end: date,
    excluded: frozenset[date] = frozenset(),
    *,
    reporting_end: date | None = None,
    price_eur_per_kwh: float | None = None,
    normal: NormalYear | None = None,
) -> WorksSavings | NoWorksSavings:
    """The avoided energy of works from `works_start` to `works_end` (both included) on the
    daily `kwh` and `temperatures` (see the module docstring). The reporting period runs
    from the day after the works to `reporting_end` (default: the last day with a kWh), at
    most 365 days."""
    last_known = max(kwh, default=None)
    if works_end < works_start or last_known is None or works_end >= last_known:
        return NoWorksSavings(WorksError.BAD_PERIOD)
    before = works_start - timedelta(days=1)
    first = works_start - timedelta(days=BASELINE_DAYS)
    baseline_kwh = {d: v for d, v in kwh.items() if first <= d <= before}
    baseline = fit_signature(baseline_kwh, temperatures, excluded, normal=normal or PARIS_NORMAL)
    if isinstance(baseline, NoSignature):
        return NoWorksSavings(WorksError.NO_BASELINE, baseline.reason)
    start = works_end + timedelta(days=1)
    end = min(
        reporting_end or last_known, start + timedelta(days=MAX_REPORTING_DAYS - 1), last_known
    )
    days = [
        d
        for d in (start + timedelta(days=n) for n in range((end - start).days + 1))
        if d in kwh
        and d in temperatures
        and d not in excluded
        and math.isfinite(kwh[d])
        and math.isfinite(temperatures[d])
    ]
    if len(days) < MIN_REPORTING_DAYS:
        return NoWorksSavings(WorksError.NOT_ENOUGH_REPORTING_DAYS, reporting_days=len(days))
    reporting_t = [temperatures[d] for d in days]
    expected, low, high = baseline.interval(reporting_t)
    actual = math.fsum(kwh[d] for d in days)
    avoided = expected - actual
    half = (high - low) / 2
    if baseline.heating_slope is not None:
        # The heating's other form: a straight line for a bending heating (a heat pump), a
        # bend however weak for a straight one. Where the reporting days are colder or
        # milder than the baseline's, the two forms part (`model_form_half`).
        bends = baseline.heating_bend is not None
        other = fit_signature(
            baseline_kwh,
            temperatures,
            excluded,
            normal=normal or PARIS_NORMAL,
            min_t=MIN_T if bends else 0.0,
            bend=not bends,
        )
        if isinstance(other, Signature) and (other.heating_bend is None) == bends:
            richer, simpler = (baseline, other) if bends else (other, baseline)
            half = model_form_half(
                half,
                other.interval(reporting_t)[0] - expected,
                coefficient_variance(richer, reporting_t),
                coefficient_variance(simpler, reporting_t),
            )
    return WorksSavings(
        works_start=works_start,
        works_end=works_end,
        baseline_first=baseline.first_day,
        baseline_last=baseline.last_day,
        reporting_first=days[0],
        reporting_last=days[-1],
        reporting_days=len(days),
        expected_kwh=expected,
        actual_kwh=actual,
        avoided_kwh=avoided,
        avoided_low=avoided - half,
        avoided_high=avoided + half,
        share=avoided / expected if expected > 0 else 0.0,
        significant=half <= abs(avoided) / 2,
        price_eur_per_kwh=price_eur_per_kwh,
        baseline=baseline,
    )


def coefficient_variance(signature: Signature, temperatures: Sequence[float]) -> float:
    """The variance of the modelled total of days at these temperatures that the
    coefficients' uncertainty makes: x0' C x0, x0 the sum of the days' design rows, C the
    coefficients' covariance (White's, autocorrelation included)."""
    design = columns(
        np.asarray(temperatures, float),
        signature.heating_balance,
        signature.cooling_balance,
        bend=signature.heating_bend is not None,
    ).sum(axis=0)
    cov = np.asarray(signature.covariance, float).reshape(design.size, design.size)
    return float(design @ cov @ design)


def model_form_half(
    statistical: float,
    gap: float,
    richer_variance: float,
    simpler_variance: float,
    level: float = LEVEL,
) -> float:
    """The interval's half width with the heating's form: `statistical` (the selected
    form's half width at `level`) in quadrature with the gap's own sampling error, plus the
    `gap` (the other form's total less the selected one's) linearly, as an uncorrected
    systematic error. The gap's variance is the richer form's coefficient variance less the
    simpler one's (kWh², Hausman's: that of the difference when the simpler form holds; 0
    if negative), its half width at `level` the normal quantile's (hundreds of days)."""
    z = NormalDist().inv_cdf(0.5 + level / 2)
    sampling = z * math.sqrt(max(richer_variance - simpler_variance, 0.0))
    return math.hypot(statistical, sampling) + abs(gap)
