"""What a meter's sync run is given and gives back. No Home Assistant import.

`SyncOptions` (what to import), the `ConsoClient` and `StatisticsSink` it talks to, and its
outcome: `RunResult`, whose `RunStatus` an error's kind decides (`OUTCOMES`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from ..conso.errors import ConsoApiError, ErrorKind
from ..conso.models import DailyEnergy, MaxPower
from ..conso.parsing import LoadCurve
from ..const import SERIES_CONSUMPTION, SERIES_PRODUCTION
from ..energy.ledger import WritePlan
from .gaps import HistoryDepth


class StatisticsSink(Protocol):
    """Where write plans go (Home Assistant's recorder in production, a dict in tests)."""

    async def async_write(self, series: str, plan: WritePlan) -> None:
        """Apply the plan's adjustments, then its rows."""


class ConsoClient(Protocol):
    """What the engine asks of the Conso API client (`conso.ConsoApiClient`)."""

    async def daily_energy(
        self, pdl: str, start: date, end: date, *, production: bool = False
    ) -> list[DailyEnergy]:
        """Energy per local day of [start, end)."""

    async def load_curve(
        self, pdl: str, start: date, end: date, *, production: bool = False
    ) -> LoadCurve:
        """Energy per load-curve interval of [start, end)."""

    async def max_power(self, pdl: str, start: date, end: date) -> list[MaxPower]:
        """Daily maximum apparent power of [start, end)."""


class RunStatus(StrEnum):
    """How a run ended."""

    OK = "ok"
    BUDGET = "budget"  # local budget exhausted or server rate limit: retry at `retry_at`
    BANNED = "banned"
    AUTH = "auth"  # token rejected: reauthentication needed
    NO_CONSENT = "no_consent"
    FAILED = "failed"  # server/connection/other error: one retry later today


OUTCOMES: Mapping[ErrorKind, RunStatus] = {
    ErrorKind.BUDGET_EXHAUSTED: RunStatus.BUDGET,
    ErrorKind.RATE_LIMITED: RunStatus.BUDGET,
    ErrorKind.BANNED: RunStatus.BANNED,
    ErrorKind.AUTH: RunStatus.AUTH,
    ErrorKind.NO_CONSENT: RunStatus.NO_CONSENT,
}
"""The outcome of a run that an error ends (any other kind: FAILED). "No data" and "history
limit" answers never end a run: the steps handle them."""


@dataclass(slots=True)
class RunResult:
    """Outcome of one run."""

    status: RunStatus
    requests: int = 0
    retry_at: datetime | None = None
    error: ConsoApiError | None = None


@dataclass(frozen=True, slots=True)
class SyncOptions:
    """What to synchronise for one meter."""

    pdl: str
    production_pdl: str | None = None  # None: production is not imported
    daily_history_months: int = 36
    hourly_history_months: int = 24
    retention_years: int = 0  # statistics older than this are deleted (0: kept for ever)

    @property
    def series(self) -> tuple[str, ...]:
        """The statistics this meter feeds."""
        if self.production_pdl is None:
            return (SERIES_CONSUMPTION,)
        return (SERIES_CONSUMPTION, SERIES_PRODUCTION)

    @property
    def depth(self) -> HistoryDepth:
        """How far back the history goes."""
        return HistoryDepth(
            self.daily_history_months, self.hourly_history_months, self.retention_years
        )

    def pdl_of(self, series: str) -> str:
        """The PDL a series is read from."""
        if series == SERIES_PRODUCTION and self.production_pdl:
            return self.production_pdl
        return self.pdl
