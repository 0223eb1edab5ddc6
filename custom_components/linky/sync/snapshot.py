"""What a meter's entities show: a snapshot of its saved state, computed without I/O (the
coordinator's data). No Home Assistant import."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ..conso.models import MaxPower
from .capacity import FleetPlan
from .state import ErrorInfo, SeriesState

STALE_AFTER_DAYS = 3


@dataclass(frozen=True, slots=True)
class SeriesFigures:
    """Day totals of one series for the sensors, in kWh."""

    yesterday: float | None
    last_7_days: float | None
    month_to_date: float | None
    latest_day: date | None = None
    """The newest day stored (production is read every few days when meters share a host)."""


@dataclass(frozen=True, slots=True)
class LinkyData:
    """What the entities show; computed from the persisted state without I/O."""

    today: date
    consumption: SeriesFigures
    production: SeriesFigures | None
    max_power: MaxPower | None
    latest_day: date | None
    consent_expires: datetime | None
    stale: bool
    budget_used: int
    budget_remaining: int
    budget_cap: int
    next_run: datetime | None
    last_success: datetime | None
    last_error: ErrorInfo | None
    backfill_progress: float
    banned: bool
    fleet: FleetPlan


def series_figures(state: SeriesState, today: date) -> SeriesFigures:
    """Yesterday, the last 7 days and the month so far of a series, from its ledger."""
    ledger = state.ledger
    yesterday = today - timedelta(days=1)

    def total(days: list[date]) -> float | None:
        values = [record.total_wh for day in days if (record := ledger.get(day)) is not None]
        return round(sum(values) / 1000, 3) if values else None

    record = ledger.get(yesterday)
    month_days = [date(yesterday.year, yesterday.month, day) for day in range(1, yesterday.day + 1)]
    return SeriesFigures(
        yesterday=round(record.total_wh / 1000, 3) if record is not None else None,
        last_7_days=total([yesterday - timedelta(days=n) for n in range(7)]),
        month_to_date=(total(month_days) or 0.0) if today.day != 1 else 0.0,
        latest_day=ledger.last_day,
    )
