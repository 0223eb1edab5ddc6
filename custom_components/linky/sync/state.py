"""What a meter's synchronisation remembers across restarts, and its stored form. No HA import.

`SyncState.as_dict()` is what the entry's Store holds (`linky.<entry_id>`); `from_dict` reads
it back, including what version 0.1.0 wrote, and starts empty for any unreadable part (the
ledger check against the recorder heals the rest).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ..conso.errors import ConsoApiError, ErrorKind
from ..conso.models import MaxPower
from ..energy.ledger import SeriesLedger
from ..localtime import parse_instant, parse_optional_day, parse_optional_instant
from .schedule import ScheduleState


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(slots=True)
class ErrorInfo:
    """The last error of a meter, for a diagnostic sensor and diagnostics."""

    kind: ErrorKind
    message: str
    at: datetime
    status: int | None = None
    code: str | None = None

    @classmethod
    def of(cls, error: ConsoApiError, at: datetime) -> ErrorInfo:
        """What to remember of a client error."""
        return cls(error.kind, error.message, at, error.status, error.code)

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "kind": self.kind.value,
            "message": self.message,
            "at": self.at.isoformat(),
            "status": self.status,
            "code": self.code,
        }

    @classmethod
    def from_dict(cls, data: Any) -> ErrorInfo | None:
        """Restore (0.1.0 stored the error's class name as its kind); None when absent or
        unreadable."""
        try:
            return cls(
                kind=ErrorKind.from_stored(data["kind"]),
                message=str(data["message"]),
                at=parse_instant(data["at"]),
                status=data.get("status"),
                code=data.get("code"),
            )
        except KeyError, TypeError, ValueError:
            return None


@dataclass(slots=True)
class Adoption:
    """Days copied into a series from another tool's statistics: every one is before
    `until`; undone (those days forgotten and deleted) until the user confirms it."""

    sources: list[str]
    until: date
    days: int
    wh: float
    confirmed: bool = False

    @classmethod
    def add(
        cls,
        previous: Adoption | None,
        sources: Iterable[str],
        until: date,
        days: int,
        wh: float,
    ) -> Adoption:
        """`days` days (`wh`) adopted from `sources` before `until`, added to `previous`
        when that one can still be undone."""
        if previous is None or previous.confirmed:
            return cls(sorted(sources), until, days, wh)
        return cls(
            sorted({*previous.sources, *sources}),
            max(previous.until, until),
            previous.days + days,
            previous.wh + wh,
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "sources": list(self.sources),
            "until": self.until.isoformat(),
            "days": self.days,
            "wh": self.wh,
            "confirmed": self.confirmed,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Adoption | None:
        """Restore; None when absent or unreadable."""
        try:
            return cls(
                sources=[str(source) for source in data["sources"]],
                until=date.fromisoformat(data["until"]),
                days=int(data["days"]),
                wh=float(data["wh"]),
                confirmed=bool(data.get("confirmed")),
            )
        except KeyError, TypeError, ValueError:
            return None


@dataclass(slots=True)
class SeriesState:
    """What is known about one statistic (consumption or production)."""

    ledger: SeriesLedger = field(default_factory=SeriesLedger)
    daily_imported: bool = False
    curve_available: bool | None = None  # False: hourly collection disabled at Enedis
    floor: date | None = None  # the API has nothing before this day (activation, history)
    floor_on: date | None = None  # the local day the floor was last found (re-checked later)
    curve_floor: date | None = None  # no load curve before this day (collection enabled later)
    curve_floor_on: date | None = None
    attempts: dict[date, int] = field(default_factory=dict)  # failed fetches per gap day
    tried_on: dict[date, date] = field(default_factory=dict)  # gap day -> local day last tried
    given_up: dict[date, date] = field(default_factory=dict)  # gap day -> local day given up
    bad_points: dict[date, int] = field(default_factory=dict)  # unreadable points per day
    adoption: Adoption | None = None  # days copied from another tool's statistics

    def forget_tries(self, day: date) -> None:
        """A day is stored: its failed fetches, tries and unreadable points are forgotten."""
        for tracked in (self.attempts, self.tried_on, self.given_up, self.bad_points):
            tracked.pop(day, None)

    def has_day(self, day: date) -> bool:
        """Whether the day is stored (at any resolution)."""
        return self.ledger.get(day) is not None

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "ledger": self.ledger.as_dict(),
            "daily_imported": self.daily_imported,
            "curve_available": self.curve_available,
            "floor": _iso(self.floor),
            "floor_on": _iso(self.floor_on),
            "curve_floor": _iso(self.curve_floor),
            "curve_floor_on": _iso(self.curve_floor_on),
            "attempts": {day.isoformat(): n for day, n in sorted(self.attempts.items())},
            "tried_on": _days_map(self.tried_on),
            "given_up": _days_map(self.given_up),
            "bad_points": {day.isoformat(): n for day, n in sorted(self.bad_points.items())},
            "adoption": self.adoption.as_dict() if self.adoption else None,
        }

    @classmethod
    def from_dict(cls, data: Any) -> SeriesState:
        """Restore; unreadable parts start empty. Version 0.1.0 kept no date for its floors
        and its given-up days: they are re-checked once."""
        if not isinstance(data, dict):
            return cls()
        try:
            ledger = SeriesLedger.from_dict(data.get("ledger") or {})
        except AttributeError, ValueError:
            ledger = SeriesLedger()
        floor = parse_optional_day(data.get("floor"))
        curve_floor = parse_optional_day(data.get("curve_floor"))
        state = cls(
            ledger=ledger,
            daily_imported=bool(data.get("daily_imported")),
            curve_available=data.get("curve_available"),
            floor=floor,
            floor_on=parse_optional_day(data.get("floor_on")) or floor,
            curve_floor=curve_floor,
            curve_floor_on=parse_optional_day(data.get("curve_floor_on")) or curve_floor,
            adoption=Adoption.from_dict(data.get("adoption")),
        )
        try:
            state.attempts = {
                date.fromisoformat(day): int(n) for day, n in (data.get("attempts") or {}).items()
            }
            state.tried_on = _read_days_map(data.get("tried_on"))
            given_up = data.get("given_up") or {}
            if isinstance(given_up, list):  # 0.1.0: a list of days
                given_up = {day: day for day in given_up}
            state.given_up = _read_days_map(given_up)
            state.bad_points = {
                date.fromisoformat(day): int(n) for day, n in (data.get("bad_points") or {}).items()
            }
        except TypeError, ValueError, AttributeError:
            pass
        return state


def _days_map(days: dict[date, date]) -> dict[str, str]:
    return {day.isoformat(): on.isoformat() for day, on in sorted(days.items())}


def _read_days_map(data: Any) -> dict[date, date]:
    return {date.fromisoformat(day): date.fromisoformat(on) for day, on in (data or {}).items()}


@dataclass(slots=True)
class SyncState:
    """Everything a meter's synchronisation remembers across restarts."""

    series: dict[str, SeriesState] = field(default_factory=dict)
    max_power: dict[date, MaxPower] = field(default_factory=dict)
    schedule: ScheduleState = field(default_factory=ScheduleState)
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_error: ErrorInfo | None = None
    failures: int = 0  # runs in a row that ended with an error (the back-off grows with it)

    def series_state(self, series: str) -> SeriesState:
        """The state of a series, created empty on first use."""
        return self.series.setdefault(series, SeriesState())

    @property
    def latest_max_power(self) -> MaxPower | None:
        """The max power of the newest day known."""
        return self.max_power[max(self.max_power)] if self.max_power else None

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "series": {name: state.as_dict() for name, state in self.series.items()},
            "max_power": [
                {"day": mp.day.isoformat(), "va": mp.va, "at": mp.at.isoformat()}
                for mp in sorted(self.max_power.values(), key=lambda mp: mp.day)
            ],
            "schedule": self.schedule.as_dict(),
            "last_attempt": _iso(self.last_attempt),
            "last_success": _iso(self.last_success),
            "last_error": self.last_error.as_dict() if self.last_error else None,
            "failures": self.failures,
        }

    @classmethod
    def from_dict(cls, data: Any) -> SyncState:
        """Restore; unreadable parts start empty (the ledger check heals the rest)."""
        if not isinstance(data, dict):
            return cls()
        state = cls(
            series={
                name: SeriesState.from_dict(raw) for name, raw in (data.get("series") or {}).items()
            },
            schedule=ScheduleState.from_dict(data.get("schedule")),
            last_attempt=parse_optional_instant(data.get("last_attempt")),
            last_success=parse_optional_instant(data.get("last_success")),
            last_error=ErrorInfo.from_dict(data.get("last_error")),
            failures=data["failures"] if isinstance(data.get("failures"), int) else 0,
        )
        for raw in data.get("max_power") or []:
            try:
                day = date.fromisoformat(raw["day"])
                state.max_power[day] = MaxPower(
                    day=day, va=int(raw["va"]), at=parse_instant(raw["at"])
                )
            except KeyError, TypeError, ValueError:
                continue
        return state
