"""Degree-day least squares over a grid of balance points, for the energy signature
(`signature.py`): the candidates (intercept, heating, cooling, both), the sums every
candidate's normal equations need, vectorised over the grid, and the choice of the best
qualifying candidate; then, for a heating that bends (a heat pump), its balance point chosen
again near it and the HDD² term (`refine_heating`, `bent_heating`). No Home Assistant
import; numpy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from enum import StrEnum
import math
from typing import Final

import numpy as np
import numpy.typing as npt

type Vector = npt.NDArray[np.float64]
type Mask = npt.NDArray[np.bool_]

DAYS_PER_YEAR: Final = 365
GRID: Final = np.arange(8.0, 24.01, 0.5)
MIN_DEGREE_DAY_DAYS: Final = 10
MIN_DEGREE_DAYS_PER_YEAR: Final = 20.0
_TIE: Final = 1e-9
NEAR_BALANCE: Final = 5.0
"""°C below a heating balance point whose days estimate it again (`refine_heating`)."""


class ModelKind(StrEnum):
    """Which degree-days the model has."""

    INTERCEPT = "intercept"
    HEATING = "heating"
    COOLING = "cooling"
    HEATING_COOLING = "heating_cooling"


@dataclass(frozen=True, slots=True)
class Choice:
    """A candidate: its kind, its balance points (indices in GRID)."""

    kind: ModelKind
    heating: int | None = None
    cooling: int | None = None
    adjusted_r2: float = 0.0

    @property
    def balances(self) -> tuple[float | None, float | None]:
        heating, cooling = (
            None if i is None else float(GRID[i]) for i in (self.heating, self.cooling)
        )
        return heating, cooling


def columns(
    t: Vector, heating: float | None, cooling: float | None, *, bend: bool = False
) -> Vector:
    """The design matrix: 1, then HDD (and HDD² when the heating bends) and CDD when the
    model has them."""
    hdd = [] if heating is None else [np.maximum(heating - t, 0.0)]
    bent = [hdd[0] * hdd[0]] if bend and hdd else []
    cdd = [] if cooling is None else [np.maximum(t - cooling, 0.0)]
    return np.column_stack([np.ones_like(t), *hdd, *bent, *cdd])


@dataclass(frozen=True, slots=True)
class Sums:
    """What every candidate's least squares need, summed over days for each balance point of
    the grid (h: HDD, c: CDD, pos: days with degree-days), one row per group of days.
    Additive: the sums without a month are the sums less the month's."""

    n: Vector
    y: Vector
    yy: Vector
    h: Vector
    hh: Vector
    hy: Vector
    hpos: Vector
    c: Vector
    cc: Vector
    cy: Vector
    cpos: Vector
    hc: Vector

    @classmethod
    def of(cls, t: Vector, y: Vector, groups: Iterable[slice] = (slice(None),)) -> Sums:
        hdd, cdd = np.maximum(GRID[:, None] - t, 0.0), np.maximum(t - GRID[:, None], 0.0)
        rows = []
        for part in groups:
            h, c, v = hdd[:, part], cdd[:, part], y[part]
            sums = [
                (x.sum(axis=1), (x * x).sum(axis=1), x @ v, (x > 0).sum(axis=1)) for x in (h, c)
            ]
            rows.append((v.size, v.sum(), v @ v, *sums[0], *sums[1], h @ c.T))
        return cls(*(np.array(column, float) for column in zip(*rows, strict=True)))

    def total(self) -> Sums:
        return Sums(*(getattr(self, f.name).sum(axis=0, keepdims=True) for f in fields(self)))

    def __sub__(self, other: Sums) -> Sums:
        return Sums(*(getattr(self, f.name) - getattr(other, f.name) for f in fields(self)))

    def normal_equations(self, row: int, choice: Choice) -> tuple[Vector, Vector]:
        """X'X and X'y of the chosen model on the row's days (X'X's first row: the sums of
        the design rows)."""
        i, j = choice.heating or 0, choice.cooling or 0
        h, c, hc = self.h[row, i], self.c[row, j], self.hc[row, i, j]
        xtx = np.array([[self.n[row], h, c], [h, self.hh[row, i], hc], [c, hc, self.cc[row, j]]])
        xty = np.array([self.y[row], self.hy[row, i], self.cy[row, j]])
        terms = [0, *(k for k, x in ((1, choice.heating), (2, choice.cooling)) if x is not None)]
        return xtx[np.ix_(terms, terms)], xty[terms]

    def solve(self, row: int, choice: Choice) -> tuple[Vector, Vector]:
        """The chosen model's coefficients and (X'X)^-1 on the row's days."""
        xtx, xty = self.normal_equations(row, choice)
        xtx_inv = np.asarray(np.linalg.inv(xtx), np.float64)
        return xtx_inv @ xty, xtx_inv


def select(s: Sums, inflation: float, min_t: float) -> list[Choice | None]:
    """For each row, the qualifying candidate with the best adjusted R² (None: not even the
    intercept); `inflation` widens the slopes' variances (autocorrelation)."""
    n = s.n

    def adjusted(sse: Vector, parameters: int) -> Vector:
        days = _expand(n, sse)
        return 1 - (sse / (days - parameters)) / (_expand(syy, sse) / (days - 1))

    def significant(slope: Vector, s_xx: Vector, sse: Vector, parameters: int) -> Mask:
        variance = sse / (_expand(n, sse) - parameters) / s_xx * inflation
        return (slope > 0) & (slope >= min_t * np.sqrt(variance))

    candidates: list[tuple[ModelKind, Mask, Vector]] = []
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = s.y / n
        syy = s.yy - s.y * mean
        hmean, cmean = s.h / n[:, None], s.c / n[:, None]
        shh, scc = s.hh - s.h * hmean, s.cc - s.c * cmean
        shy, scy = s.hy - s.h * mean[:, None], s.cy - s.c * mean[:, None]
        per_year = (DAYS_PER_YEAR / n)[:, None]
        hok = (s.hpos >= MIN_DEGREE_DAY_DAYS) & (s.h * per_year >= MIN_DEGREE_DAYS_PER_YEAR)
        cok = (s.cpos >= MIN_DEGREE_DAY_DAYS) & (s.c * per_year >= MIN_DEGREE_DAYS_PER_YEAR)
        for kind, s_xx, s_xy, x_mean, ok in (
            (ModelKind.HEATING, shh, shy, hmean, hok),
            (ModelKind.COOLING, scc, scy, cmean, cok),
        ):
            slope = s_xy / s_xx
            sse = np.maximum(syy[:, None] - slope * s_xy, 0.0)
            good = ok & significant(slope, s_xx, sse, 2) & (mean[:, None] - slope * x_mean >= 0)
            candidates.append((kind, good, adjusted(sse, 2)))
        shc = s.hc - s.h[:, :, None] * cmean[:, None, :]
        shh3, scc3, shy3, scy3 = shh[:, :, None], scc[:, None, :], shy[:, :, None], scy[:, None, :]
        det = shh3 * scc3 - shc * shc
        bh, bc = (scc3 * shy3 - shc * scy3) / det, (shh3 * scy3 - shc * shy3) / det
        sse2 = np.maximum(syy[:, None, None] - bh * shy3 - bc * scy3, 0.0)
        good2 = (
            hok[:, :, None]
            & cok[:, None, :]
            & np.triu(np.ones(det.shape[1:], bool))  # the cooling balance not below the heating one
            & (det > 1e-9 * shh3 * scc3)
            & significant(bh, det / scc3, sse2, 3)
            & significant(bc, det / shh3, sse2, 3)
            & (mean[:, None, None] - bh * hmean[:, :, None] - bc * cmean[:, None, :] >= 0)
        )
        candidates.append((ModelKind.HEATING_COOLING, good2, adjusted(sse2, 3)))
    choices: list[Choice | None] = []
    for row in range(n.size):
        best = Choice(ModelKind.INTERCEPT) if mean[row] > 0 else None
        if best is not None and n[row] >= 4 and syy[row] > 1e-12 * n[row] * mean[row] ** 2:
            for kind, good, score in candidates:
                scores = np.where(good[row], score[row], -np.inf)
                index = np.unravel_index(np.argmax(scores), scores.shape)
                if float(scores[index]) > best.adjusted_r2 + _TIE:  # a tie: the simpler one
                    heating = int(index[0]) if kind is not ModelKind.COOLING else None
                    cooling = int(index[-1]) if kind is not ModelKind.HEATING else None
                    best = Choice(kind, heating, cooling, float(scores[index]))
        choices.append(best)
    return choices


def _expand(values: Vector, like: Vector) -> Vector:
    """`values` (one per row) shaped to broadcast against `like`."""
    return values.reshape(-1, *(1,) * (like.ndim - 1))


def refine_heating(t: Vector, y: Vector, choice: Choice) -> Choice:
    """`choice` with its heating balance point chosen again on the days at most
    NEAR_BALANCE °C colder than it, and all warmer ones: where heating starts shows near it.
    A heat pump's kWh per degree-day grows in the cold (its COP falls), and a straight line
    over every day then puts the balance point a degree too low (`benchmarks/signature.md`);
    a resistive heating's line is the same near it and far. Unchanged without heating, or
    when those days choose no heating balance (or one above the cooling balance)."""
    if choice.heating is None:
        return choice
    near = t >= GRID[choice.heating] - NEAR_BALANCE
    local = select(Sums.of(t[near], y[near]), 1.0, 0.0)[0]
    if local is None or local.heating is None:
        return choice
    if choice.cooling is not None and local.heating > choice.cooling:
        return choice
    return replace(choice, heating=local.heating)


def bent_heating(
    t: Vector, y: Vector, choice: Choice, inflation: float, min_t: float
) -> tuple[Choice, Vector, Vector] | None:
    """`choice` with a bending heating (HDD and HDD²), its balance point the one within 1 °C
    of `choice`'s whose fit leaves the smallest squared error, when that fit shows a bend: a
    base not below 0, a positive slope at the balance and an HDD² term positive and
    significant (t >= `min_t`, White's variance widened by `inflation`). The choice, its
    coefficients and (X'X)^-1; None without a bend."""
    assert choice.heating is not None
    fits = []
    last = len(GRID) - 1 if choice.cooling is None else choice.cooling
    for index in range(max(0, choice.heating - 2), min(last, choice.heating + 2) + 1):
        candidate = replace(choice, heating=index)
        x = columns(t, *candidate.balances, bend=True)
        xtx_inv = np.asarray(np.linalg.inv(x.T @ x), np.float64)
        beta = xtx_inv @ (x.T @ y)
        r = y - x @ beta
        fits.append((float(r @ r), index, candidate, beta, xtx_inv, x, r))
    _, _, candidate, beta, xtx_inv, x, r = min(fits, key=lambda fit: fit[:2])
    if beta[0] < 0 or (beta[1:] <= 0).any():
        return None
    floor = (1e-9 * float(y.mean())) ** 2  # exact data: rounding errors show no bend
    squares = np.maximum(r * r, floor) * y.size / (y.size - beta.size)
    bend = xtx_inv[2] @ x.T  # White's variance: cold days vary more
    variance = float((bend * bend) @ squares) * inflation
    if beta[2] < min_t * math.sqrt(variance):
        return None
    return candidate, beta, xtx_inv
