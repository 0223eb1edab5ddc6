"""CPU cost of parsing and aggregating 24 months of half-hour load-curve points. No HA import.

The bodies are the emulator's V2 answers for the household meter (`HOME_PDL`), one per 7-day
window as the back-fill asks for them (newest first), serialised as the server sends them.
Each window goes through the import path: `json.loads`, `parse_load_curve`, then what
`MeterSync._store_curve` does (`split_by_local_day`, `complete_day_hours`, `DayData.hourly`)
and `plan_write` against the ledger left by the previous window, starting from the ledger of
the 36-month daily first import.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
import json
import statistics
import time
import tracemalloc

from conso_emulator import HOME_PDL, Emulator
from conso_emulator.api import answer_measure
from custom_components.linky.conso.models import EnergyInterval, MeasureType
from custom_components.linky.conso.parsing import parse_daily, parse_load_curve
from custom_components.linky.conso.planner import minus_months, plan_requests
from custom_components.linky.energy.hourly import complete_day_hours, split_by_local_day
from custom_components.linky.energy.ledger import DayData, SeriesLedger, WritePlan, plan_write
from custom_components.linky.localtime import PARIS

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=PARIS)
CURVE_TYPE = "courbe_de_charge_consommation"
DAILY_TYPE = "consommation_quotidienne"


@dataclass(frozen=True, slots=True)
class Corpus:
    """What the import receives: daily bodies (first import) and 7-day curve bodies."""

    daily_bodies: list[str]
    curve_bodies: list[str]


@dataclass(frozen=True, slots=True)
class PipelineTimes:
    """CPU seconds of one pass over the corpus, per stage, and what it produced."""

    json_s: float
    parse_s: float
    hourly_s: float
    plan_s: float
    points: int
    days: int
    rows: int
    adjustments: int

    @property
    def total_s(self) -> float:
        """All stages."""
        return self.json_s + self.parse_s + self.hourly_s + self.plan_s


def _body(emu: Emulator, token: str, measure: str, start: date, end: date) -> str:
    params = {"pointId": HOME_PDL, "dateDebut": start.isoformat(), "dateFin": end.isoformat()}
    reply = answer_measure(emu, "GET", measure, params, f"Bearer {token}")
    if reply.status != 200:
        raise RuntimeError(f"emulator answered {reply.status} for {measure} {start}..{end}")
    return json.dumps(reply.json, ensure_ascii=False, separators=(",", ":"))


def build_corpus(now: datetime = NOW, hourly_months: int = 24, daily_months: int = 36) -> Corpus:
    """The emulator's bodies for a complete import on `now` (Paris date = today)."""
    emu = Emulator(now=lambda: now)
    token = emu.mint_token([HOME_PDL], issued_at=now.astimezone(UTC) - timedelta(days=30))
    today = now.astimezone(PARIS).date()
    daily = plan_requests(
        MeasureType.CONSUMPTION_DAILY,
        minus_months(today, daily_months),
        today,
        today,
        newest_first=True,
    )
    curve = plan_requests(
        MeasureType.CONSUMPTION_LOAD_CURVE,
        minus_months(today, hourly_months),
        today,
        today,
        newest_first=True,
    )
    return Corpus(
        daily_bodies=[_body(emu, token, DAILY_TYPE, r.start, r.end) for r in daily],
        curve_bodies=[_body(emu, token, CURVE_TYPE, r.start, r.end) for r in curve],
    )


def daily_days(corpus: Corpus) -> list[DayData]:
    """The days of the first import (36 months of daily values)."""
    return [
        DayData.daily(value.day, float(value.wh))
        for body in corpus.daily_bodies
        for value in parse_daily(json.loads(body))
    ]


def daily_ledger(corpus: Corpus) -> SeriesLedger:
    """The ledger after the first import."""
    return plan_write(SeriesLedger(), daily_days(corpus)).ledger_after


def window_days(corpus: Corpus) -> list[list[DayData]]:
    """The complete hourly days of each back-fill window, in request order."""
    return [_complete_days(parse_load_curve(json.loads(body))) for body in corpus.curve_bodies]


def backfill_plans(windows: list[list[DayData]], ledger: SeriesLedger) -> list[WritePlan]:
    """The write plans of the back-fill windows, in order, starting from `ledger`."""
    plans = []
    for days in windows:
        plan = plan_write(ledger, days)
        plans.append(plan)
        ledger = plan.ledger_after
    return plans


def _complete_days(intervals: Sequence[EnergyInterval]) -> list[DayData]:
    """The complete days of a curve, as `MeterSync._store_curve` keeps them."""
    days = []
    for day, day_intervals in split_by_local_day(intervals).items():
        if (hours := complete_day_hours(day, day_intervals)) is not None:
            days.append(DayData.hourly(day, hours))
    return days


def run_pipeline(corpus: Corpus, ledger: SeriesLedger) -> PipelineTimes:
    """One timed pass (CPU time of this process) over every curve body, stage by stage."""
    clock: Callable[[], float] = time.process_time
    json_s = parse_s = hourly_s = plan_s = 0.0
    points = days = rows = adjustments = 0
    for body in corpus.curve_bodies:
        t0 = clock()
        document = json.loads(body)
        t1 = clock()
        intervals = parse_load_curve(document)
        t2 = clock()
        complete = _complete_days(intervals)
        t3 = clock()
        plan = plan_write(ledger, complete)
        t4 = clock()
        ledger = plan.ledger_after
        json_s += t1 - t0
        parse_s += t2 - t1
        hourly_s += t3 - t2
        plan_s += t4 - t3
        points += len(intervals)
        days += len(complete)
        rows += len(plan.rows)
        adjustments += len(plan.adjustments)
    return PipelineTimes(json_s, parse_s, hourly_s, plan_s, points, days, rows, adjustments)


def best_of(corpus: Corpus, ledger: SeriesLedger, repeats: int) -> list[PipelineTimes]:
    """`repeats` passes, sorted by total CPU time (the first is the least disturbed)."""
    return sorted((run_pipeline(corpus, ledger) for _ in range(repeats)), key=lambda t: t.total_s)


def traced_peak_bytes(corpus: Corpus, ledger: SeriesLedger) -> int:
    """Peak Python memory allocated by one pass (tracemalloc; the corpus is already held)."""
    tracemalloc.start()
    try:
        run_pipeline(corpus, ledger)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def median_total(times: list[PipelineTimes]) -> float:
    """The median total CPU time of several passes."""
    return statistics.median(t.total_s for t in times)
