"""A hard, persistable budget of requests to one API host. No HA import.

Conso API bans an IP that sends 100 requests within 12 hours, without notice or appeal. One
`RequestBudget` is shared by every meter of a Home Assistant instance for one API host;
every request is recorded before it is sent (even if it then fails) and, with `persist`,
written durably before it goes (write-ahead), so the cap holds whatever happens, a crash
or a power cut in the middle of a run included. The state survives restarts through
`as_dict` / `from_dict`.
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
import logging
from typing import Any

from ..localtime import parse_instant
from .errors import BudgetExhaustedError

_LOGGER = logging.getLogger(__name__)

DEFAULT_CAP = 50
DEFAULT_WINDOW = timedelta(hours=12)
DEFAULT_MAX_PER_SECOND = 5
DEFAULT_BLOCK = timedelta(hours=1)
# A server retry time further away than this is treated as this far (a corrupt or absurd
# nextAccessTime must not silence the integration for ever).
MAX_BLOCK = timedelta(days=2)
_PACING_WINDOW = timedelta(seconds=1)
_STATE_VERSION = 1


def _utcnow() -> datetime:
    return datetime.now(UTC)


class RequestBudget:
    """At most `cap` requests per rolling `window`, and `max_per_second` per second."""

    def __init__(
        self,
        cap: int = DEFAULT_CAP,
        window: timedelta = DEFAULT_WINDOW,
        max_per_second: int = DEFAULT_MAX_PER_SECOND,
        now: Callable[[], datetime] = _utcnow,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        *,
        persist: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """`persist()` writes the state durably; `acquire` awaits it before a request goes."""
        if cap < 1 or max_per_second < 1 or window <= timedelta(0):
            raise ValueError("cap, window and max_per_second must be positive")
        self.cap = cap
        self.window = window
        self.max_per_second = max_per_second
        self._now = now
        self._sleep = sleep
        self.persist = persist
        self._sent: list[datetime] = []  # sorted send times within the window
        self._blocked_until: datetime | None = None
        self._lock = asyncio.Lock()
        self._listeners: list[Callable[[], None]] = []

    # --- state ----------------------------------------------------------------------------

    def _prune(self, now: datetime) -> None:
        """Forget sends that left the rolling window, and a server block that has passed."""
        del self._sent[: bisect.bisect_right(self._sent, now - self.window)]
        if self._blocked_until is not None and self._blocked_until <= now:
            self._blocked_until = None

    @property
    def used(self) -> int:
        """Requests sent within the rolling window."""
        self._prune(self._now())
        return len(self._sent)

    @property
    def sent_times(self) -> tuple[datetime, ...]:
        """When the requests still within the rolling window were sent, oldest first."""
        self._prune(self._now())
        return tuple(self._sent)

    @property
    def remaining(self) -> int:
        """Requests that may still be sent within the rolling window."""
        return max(0, self.cap - self.used)

    @property
    def blocked_until(self) -> datetime | None:
        """When the server's retry time (429) ends, if it is still running."""
        self._prune(self._now())
        return self._blocked_until

    def next_available_at(self) -> datetime:
        """The earliest time a request may be sent (now when one may be sent now)."""
        return self.available_at(1)

    def available_at(self, count: int) -> datetime:
        """The earliest time `count` requests may be sent within the cap (ignores pacing)."""
        now = self._now()
        self._prune(now)
        candidates = [now]
        if self._blocked_until is not None:
            candidates.append(self._blocked_until)
        excess = len(self._sent) + min(count, self.cap) - self.cap
        if excess > 0:
            candidates.append(self._sent[excess - 1] + self.window)
        return max(candidates)

    # --- use ------------------------------------------------------------------------------

    async def acquire(self) -> None:
        """Take one request from the budget, right before sending it.

        Raises BudgetExhaustedError (nothing must be sent) when the cap is reached or the
        server asked to wait; otherwise waits as needed for the per-second pace, then
        records the request, writes it durably (`persist`) and notifies the listeners.
        """
        async with self._lock:
            while True:
                now = self._now()
                self._prune(now)
                if self._blocked_until is not None:
                    raise BudgetExhaustedError(
                        "The server asked to wait before the next request",
                        retry_at=self._blocked_until,
                    )
                if len(self._sent) >= self.cap:
                    retry_at = self.next_available_at()
                    raise BudgetExhaustedError(
                        f"Request budget exhausted: {self.cap} requests per "
                        f"{self.window} already sent",
                        retry_at=retry_at,
                    )
                recent = [sent for sent in self._sent if sent > now - _PACING_WINDOW]
                if len(recent) < self.max_per_second:
                    break
                wait = recent[len(recent) - self.max_per_second] + _PACING_WINDOW - now
                await self._sleep(max(wait.total_seconds(), 0.001))
            bisect.insort(self._sent, now)
            if self.persist is not None:
                await self.persist()
        self._notify()

    def block_until(self, when: datetime | None = None) -> None:
        """Refuse every request until `when` (a 429's retry time). No time, or a time that is
        already past (a server clock behind ours), means the default block of one hour: a
        429 always stops the requests for a while.

        Only ever extends a running block; capped at MAX_BLOCK from now.
        """
        now = self._now()
        if when is None or when <= now:
            when = now + DEFAULT_BLOCK
        target = min(when, now + MAX_BLOCK)
        if self._blocked_until is not None and target <= self._blocked_until:
            return
        self._blocked_until = target
        self._notify()

    def add_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener()` after every state change; returns a function that unsubscribes."""
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    # --- persistence ----------------------------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable state (send times in the window, server block)."""
        self._prune(self._now())
        return {
            "version": _STATE_VERSION,
            "sent": [sent.isoformat() for sent in self._sent],
            "blocked_until": self._blocked_until.isoformat() if self._blocked_until else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], **kwargs: Any) -> RequestBudget:
        """A budget restored from `as_dict()` output (constructor arguments in `kwargs`).

        Send times in the future are kept as they are (a clock set back at boot, then
        corrected, must not free slots early), at most one window ahead (a clock that was
        far ahead when they were sent must not block for ever). Corrupt data is logged and
        ignored.
        """
        budget = cls(**kwargs)
        if not data:
            return budget
        now = budget._now()
        if data.get("version") != _STATE_VERSION:
            _LOGGER.warning("Ignoring a saved request budget of unknown version: starting empty")
            return budget
        try:
            sent = sorted(min(parse_instant(text), now + budget.window) for text in data["sent"])
            blocked = data.get("blocked_until")
            blocked_until = (
                None if blocked is None else min(parse_instant(blocked), now + MAX_BLOCK)
            )
        except (KeyError, TypeError, ValueError) as err:
            _LOGGER.warning("Ignoring a corrupt saved request budget (%s): starting empty", err)
            return budget
        budget._sent = sent
        budget._blocked_until = blocked_until
        budget._prune(now)
        return budget
