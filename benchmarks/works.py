"""Accuracy of the before/after proof of works (`analytics/works.py`) on synthetic houses with
a known truth.

`scripts/run python -m benchmarks.works [--seeds 200] [--jobs N] [--out benchmarks/works.md]`

Not part of `scripts/test`. Each seed draws the three houses of `benchmarks/signature_houses.py`
(resistive electric heating, a heat pump, no electric heating) and simulates two years of
each three times with the same random draws: unchanged; with works (the heating slope cut by
30 % from the works on, heated houses only); unchanged but with a reporting year 2 °C colder.
The works take the first 30 days of the second year; the baseline is the first year, the
reporting period the 335 days after the works. The Markdown report gives the method and the
figures against the targets of issue 13.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
import os
from pathlib import Path
import platform
import sys
import time

import numpy as np

from benchmarks.runner import run_seeds
from benchmarks.signature import NORMAL, START
from benchmarks.signature_houses import HouseKind, Simulated, draw, simulate
from custom_components.linky.analytics.works import WorksSavings, works_savings

WORKS_FROM = 365
WORKS_DAYS = 30
CUT = 0.30
COLDER = 2.0
KINDS = tuple(HouseKind)
SCENARIOS = ("works", "unchanged", "colder")


@dataclass(slots=True)
class Outcome:
    """One house in one scenario: the truth and what the integration estimates (plain data:
    it crosses processes)."""

    seed: int
    kind: HouseKind
    scenario: str
    true_share: float
    true_kwh: float
    estimate: tuple[float, float, float, float] | None  # share, avoided, low, high
    significant: bool = False

    @property
    def covered(self) -> bool:
        return self.estimate is not None and self.estimate[2] <= self.true_kwh <= self.estimate[3]


def _sim(seed: int, index: int, **change: float) -> Simulated:
    rng = np.random.default_rng([seed, index])
    house = draw(KINDS[index], rng)
    return simulate(house, rng, START, 2, **change)  # type: ignore[arg-type]


def one_seed(seed: int) -> list[Outcome]:
    """Every house and scenario of one seed."""
    works_start = START + timedelta(days=WORKS_FROM)
    works_end = works_start + timedelta(days=WORKS_DAYS - 1)
    last = START + timedelta(days=729)
    outcomes = []
    for index, kind in enumerate(KINDS):
        unchanged = _sim(seed, index)
        for scenario in SCENARIOS:
            if scenario == "works" and kind is HouseKind.UNHEATED:
                continue
            change = {
                "works": {"heating_cut": CUT},
                "unchanged": {},
                "colder": {"colder_by": COLDER},
            }[scenario]
            sim = _sim(seed, index, change_from=WORKS_FROM, **change)
            kwh, temps, excluded = sim.inputs(START, last)
            result = works_savings(kwh, temps, works_start, works_end, excluded, normal=NORMAL)
            reporting = sim.usable(works_end + timedelta(days=1), last)
            counterfactual = unchanged.kwh if scenario == "works" else sim.kwh
            true_kwh = float((counterfactual - sim.kwh)[reporting].sum())
            true_share = true_kwh / float(counterfactual[reporting].sum())
            estimate = None
            significant = False
            if isinstance(result, WorksSavings):
                estimate = (
                    result.share,
                    result.avoided_kwh,
                    result.avoided_low,
                    result.avoided_high,
                )
                significant = result.significant
            outcomes.append(
                Outcome(seed, kind, scenario, true_share, true_kwh, estimate, significant)
            )
    return outcomes


def _pct(count: int, total: int) -> str:
    return f"{100 * count / total:.1f} % ({count}/{total})" if total else "n/a"


def _status(ok: bool) -> str:
    return "**PASS**" if ok else "**FAIL**"


def _quantiles(values: list[float]) -> str:
    if not values:
        return "n/a"
    median, p90 = np.percentile(values, [50, 90])
    return f"median {median:.2f}, p90 {p90:.2f}, max {max(values):.2f}"


def _targets(outcomes: list[Outcome]) -> list[str]:
    lines = ["| Measure | Houses | Target | Measured | |", "|---|---|---|---|---|"]
    for kind in (HouseKind.RESISTIVE, HouseKind.HEAT_PUMP):
        works = [o for o in outcomes if o.kind is kind and o.scenario == "works"]
        errors = [100 * abs(o.estimate[0] - o.true_share) for o in works if o.estimate is not None]
        within = sum(1 for e in errors if e <= 3.0)
        lines.append(
            f"| Savings share within ±3 points of the truth | {kind} | >= 90 % of seeds | "
            f"{_pct(within, len(works))}; error (points) {_quantiles(errors)} | "
            f"{_status(within >= 0.9 * len(works))} |"
        )
        covered = sum(o.covered for o in works)
        share = covered / len(works)
        lines.append(
            f"| 90 % interval covers the true avoided kWh | {kind} | 85-95 % of seeds | "
            f"{_pct(covered, len(works))} | {_status(0.85 <= share <= 0.95)} |"
        )
    for scenario, name in (
        ("unchanged", "Unchanged house"),
        ("colder", "Reporting year 2 °C colder"),
    ):
        for kind in KINDS:
            group = [o for o in outcomes if o.kind is kind and o.scenario == scenario]
            covered = sum(o.covered for o in group)
            lines.append(
                f"| {name}: the interval covers 0 | {kind} | >= 88 % of seeds | "
                f"{_pct(covered, len(group))} | {_status(covered >= 0.88 * len(group))} |"
            )
    return lines


def _details(outcomes: list[Outcome]) -> list[str]:
    lines = ["| Scenario | Houses | Measured |", "|---|---|---|"]
    for scenario in SCENARIOS:
        for kind in KINDS:
            group = [o for o in outcomes if o.kind is kind and o.scenario == scenario]
            if not group:
                continue
            fitted = [o for o in group if o.estimate is not None]
            shares = [100 * o.estimate[0] for o in fitted if o.estimate is not None]
            truth = [100 * o.true_share for o in group]
            half = [
                100 * (o.estimate[3] - o.estimate[2]) / 2 / (o.estimate[1] or 1.0)
                for o in fitted
                if o.estimate is not None and o.estimate[1] > 0
            ]
            significant = sum(o.significant for o in group)
            lines.append(
                f"| {scenario} | {kind} | result {_pct(len(fitted), len(group))}; estimated "
                f"share median {np.median(shares):+.1f} %, truth median {np.median(truth):+.1f} %; "
                f"significant {_pct(significant, len(group))}"
                + (
                    f"; half width over the avoided kWh median {np.median(half):.0f} %"
                    if scenario == "works" and half
                    else ""
                )
                + " |"
            )
    return lines


def render(outcomes: list[Outcome], seeds: range, jobs: int, elapsed: float) -> str:
    """The Markdown report."""
    header = (
        f"Measured on {time.strftime('%Y-%m-%d')} over seeds {seeds.start} to {seeds.stop - 1} "
        f"({len(seeds)} seeds, three houses each), Python {platform.python_version()}, "
        f"{jobs} process{'es' if jobs > 1 else ''} on {os.cpu_count()} CPUs: "
        f"**{elapsed:.0f} s** wall clock."
    )
    return "\n".join(
        [
            "# Accuracy of the before/after proof of works",
            "",
            header,
            "",
            "## Results against the targets",
            "",
            *_targets(outcomes),
            "",
            "## Details",
            "",
            *_details(outcomes),
            "",
            METHOD,
        ]
    )


METHOD = """## Method

- **Houses**: `benchmarks/signature_houses.py` (see `benchmarks/signature.md`): base 4-12
  kWh/day, balance 14-18 °C, resistive heating (0.8-2.5 kWh per degree-day), a heat pump
  whose kWh per degree-day grows in the cold, or no electric heating; 12 % daily noise;
  Paris-like weather with spells; a flagged holiday, missing days and unusual days every year.
- **Scenarios**, the same random draws in each (weather, noise, holidays): *works*, the heating
  kWh x 0.7 from the works on (a heating slope cut by 30 %; heated houses); *unchanged*; *colder*,
  unchanged but every day from the works on 2 °C colder.
- **As the integration does**: `works_savings` with every day's kWh (none on the missing days),
  every day's temperature, the flagged days, the works from 1 January 2025 for 30 days; the
  baseline is the energy signature of 2024, the reporting period the 335 days after the works.
- **Truth**: the kWh the unchanged house took on the reporting days (same draws) less those
  of the scenario, on the days the integration uses (a kWh, not flagged); the share is that
  over the unchanged kWh. Unchanged and colder: the truth is 0.
- **Counting**: a seed without a result (no baseline) counts as a miss.
- Reproduce: `scripts/run python -m benchmarks.works --seeds 200` (about a minute on 2
  cores; `--first-seed 200` for the second range). Not part of `scripts/test`: no unit
  test is tuned on these figures.

## Reading the figures

- On these seeds every target is met. On seeds 200 to 399 (`--first-seed 200`) too:
  shares within ±3 points 98.5 % (resistive) and 96.5 % (heat pumps); works interval
  coverage 91.5 % and 92.5 %; unchanged 91.5 %, 92.5 %, 92.5 % (unheated); colder 88.0 %,
  92.0 %, 92.5 %. The code before the change below failed there (colder: resistive 86.5 %,
  heat pumps 87.0 %). A coverage over 200 seeds is good to about ±2 points (binomial
  standard deviation at 90 %): the colder heat pumps' 89.0 % here and the colder resistive
  houses' 88.0 % on seeds 200-399 pass by that margin only. On a third range, seeds 400 to
  599 (measured once, not a target of this report), the heat pumps' works and unchanged
  intervals cover in 96.0 % of seeds (above the 85-95 % band; 92.0 % before the change),
  the colder ones 88.0 % (resistive) and 91.0 % (86.0 % and 86.0 % before).
- **Model form.** A heated baseline is also fitted in the heating's other form (straight
  for a bending one, a bend however weak for a straight one) and the two forms' totals
  for the reporting days compared. That gap is a systematic error of the form chosen, the
  same sign on every reporting day: it is added to the statistical half width linearly
  (an uncorrected bias, Phillips, Eberhardt & Parry, J. Res. NIST 102, 1997), no longer in
  quadrature. The gap is itself estimated: its sampling error, the richer form's
  coefficient variance of the total less the simpler one's (Hausman's variance of the
  difference, the leverage of the unknown curvature on the reporting days: near nil on the
  baseline's weather, growing away from it), goes in quadrature with the statistical part.
  The price: heat pumps' intervals are about 10 % wider (median, works scenario; half width
  27 % of the avoided kWh, 24 % before), 93.0 % of their savings significant (96.0 %
  before); resistive ones barely change (their other form's gap is small).
- **Heat pumps, colder reporting year (89.0 %, 83.0 % before)**: 22 intervals miss 0: 15 of
  the 164 baselines that bend (9 %; 24 before) and 7 of the 36 that do not (19 %; 10
  before), those still biased (mean avoided over half width -0.47). Measured on these
  seeds, a straight baseline under-predicts the weather's effect (the colder year's kWh
  less the same days' at the usual weather) by 6.4 % on average, a bending one by 1.0 %,
  and the bending fit that replaces a straight one to estimate the gap by 4.0 %: the
  weak bend it finds where none was significant catches about a third of the shortfall, and
  the heat pump's COP curve is neither a line nor a parabola. The exact 90 % interval of a
  normal error biased by the gap alone (not the linear sum) covers only 85.0 % here: the
  linear sum's excess makes up for the gap's underestimate, not a property proven beyond
  these houses. A heat pump's "not significant" verdict after a colder year stays the safer
  reading of a small saving.
"""


def _render_seeds(per_seed: list[list[Outcome]], seeds: range, jobs: int, elapsed: float) -> str:
    return render([o for os_ in per_seed for o in os_], seeds, jobs, elapsed)


def main() -> int:
    """Run the seeds, print the results and write the report."""
    out = Path(__file__).with_name("works.md")
    return run_seeds("benchmarks.works", __doc__, out, one_seed, _render_seeds)


if __name__ == "__main__":
    sys.exit(main())
