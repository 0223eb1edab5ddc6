"""When to call the Conso API: the daily window, the one retry, the per-meter minute.

No Home Assistant import. Data for day D is published on D+1 around 08:00 (sometimes later).
Conso API asks clients to poll once a day between 06:00 and 10:00 at a non-round time, and to
retry at most once, early in the afternoon. Each meter gets a deterministic "random" minute
and second from its PDL, so thousands of installations spread their calls while a given
meter always polls at the same time (and a restart does not move it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
import hashlib

from ..localtime import PARIS

WINDOW_START = time(6, 0)
WINDOW_MINUTES = 240  # 06:00 -> 10:00
RETRY_START = time(13, 0)
RETRY_MINUTES = 90  # 13:00 -> 14:30
# A daily run missed because Home Assistant was off is caught up until this hour, later it
# waits for the next morning (the data will still be there, and so will tomorrow's).
CATCH_UP_UNTIL = time(20, 0)


def _seed(pdl: str) -> int:
    return int.from_bytes(hashlib.sha256(f"linky-schedule:{pdl}".encode()).digest()[:8], "big")


def daily_slot(pdl: str, day: date) -> datetime:
    """The meter's daily run on `day`: 06:00 + a per-PDL offset in [0, 240) min, with seconds."""
    seed = _seed(pdl)
    offset = timedelta(minutes=seed % WINDOW_MINUTES, seconds=(seed >> 16) % 60)
    return datetime.combine(day, WINDOW_START, PARIS) + offset


def retry_slot(pdl: str, day: date) -> datetime:
    """The meter's single retry on `day`, early afternoon."""
    seed = _seed(pdl) >> 24
    offset = timedelta(minutes=seed % RETRY_MINUTES, seconds=(seed >> 16) % 60)
    return datetime.combine(day, RETRY_START, PARIS) + offset


@dataclass(slots=True)
class ScheduleState:
    """What the scheduler remembers (persisted)."""

    last_run_day: date | None = None  # local day of the last daily run
    retry_day: date | None = None  # local day a retry is wanted
    retry_done_day: date | None = None  # local day the retry was used

    def as_dict(self) -> dict[str, str | None]:
        """JSON-serialisable form."""
        return {
            "last_run_day": self.last_run_day.isoformat() if self.last_run_day else None,
            "retry_day": self.retry_day.isoformat() if self.retry_day else None,
            "retry_done_day": self.retry_done_day.isoformat() if self.retry_done_day else None,
        }

    @classmethod
    def from_dict(cls, data: object) -> ScheduleState:
        """Restore; anything unreadable means "never ran"."""
        if not isinstance(data, dict):
            return cls()

        def _day(key: str) -> date | None:
            value = data.get(key)
            try:
                return date.fromisoformat(value) if isinstance(value, str) else None
            except ValueError:
                return None

        return cls(_day("last_run_day"), _day("retry_day"), _day("retry_done_day"))


def next_daily_run(now: datetime, pdl: str, state: ScheduleState) -> tuple[datetime, bool]:
    """Return (when, is_retry) for the next daily-data run, never in the past.

    A run already made today is never repeated, except for the single afternoon retry when
    `state.retry_day` is today and the retry was not used yet.
    """
    local_now = now.astimezone(PARIS)
    today = local_now.date()
    if state.last_run_day != today:
        slot = daily_slot(pdl, today)
        if local_now < slot:
            return slot, False
        if local_now.time() < CATCH_UP_UNTIL:
            return now, False
    elif state.retry_day == today and state.retry_done_day != today:
        slot = retry_slot(pdl, today)
        if local_now < slot:
            return slot, True
        if local_now.time() < CATCH_UP_UNTIL:
            return now, True
    return daily_slot(pdl, today + timedelta(days=1)), False
