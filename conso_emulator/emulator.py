"""The emulator's state: meters, clock, ground truth, tokens, faults, ban and request log."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from aiohttp import web

from . import tokens
from .faults import FaultQueue
from .meters import Meter, default_meters
from .tempo import TempoCalendar
from .truth import PARIS, Truth

DEFAULT_SECRET = b"conso-emulator-jwt-secret"
"""Signing key of emulator tokens (fixed, so printed tokens survive a restart)."""


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request received on `/api/<type>` (the token is never kept)."""

    time: datetime
    method: str
    type: str
    params: dict[str, str] = field(default_factory=dict)
    status: int = 0

    def to_json(self) -> dict[str, Any]:
        """JSON-ready view."""
        return {
            "time": self.time.isoformat(),
            "method": self.method,
            "type": self.type,
            "params": self.params,
            "status": self.status,
        }


def _real_now() -> datetime:
    return datetime.now(UTC)


class Emulator:
    """A Conso API emulator, independent of any server (see `EmulatorServer`).

    `now` is the clock (default: real time); every date rule (today, publication, token
    expiry, Tempo publication) follows it. The four default meters (`HOME_PDL`, `PV_PDL`,
    `NO_CURVE_PDL`, `NEW_PDL`) are added unless `with_default_meters` is False.
    """

    def __init__(
        self,
        now: Callable[[], datetime] | None = None,
        *,
        secret: bytes = DEFAULT_SECRET,
        with_default_meters: bool = True,
    ) -> None:
        self._clock = now or _real_now
        self._secret = secret
        self.meters: dict[str, Meter] = {}
        self.truth = Truth(self.meters, self.now)
        self.faults = FaultQueue()
        self.requests: list[RequestRecord] = []
        self._ban_countdown: int | None = None
        self.tempo = TempoCalendar(self.now)
        if with_default_meters:
            for meter in default_meters(self.today()):
                self.add_meter(meter)

    def now(self) -> datetime:
        """The emulator's current time (aware)."""
        current = self._clock()
        if current.tzinfo is None:
            raise ValueError("the emulator clock must return aware datetimes")
        return current

    def today(self) -> date:
        """The emulator's current date in Europe/Paris."""
        return self.now().astimezone(PARIS).date()

    def set_now(self, now: datetime, *, frozen: bool = True) -> None:
        """Switch the clock: fixed at `now`, or (frozen=False) real time shifted to `now`."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        if frozen:
            self._clock = lambda: now
        else:
            offset = now - _real_now()
            self._clock = lambda: _real_now() + offset

    def add_meter(self, meter: Meter) -> None:
        """Add (or replace) a meter."""
        self.meters[meter.pdl] = meter

    def mint_token(
        self,
        prms: Sequence[str],
        *,
        issued_at: datetime | None = None,
        expires_at: datetime | None = None,
    ) -> str:
        """A token for `prms`, like conso.boris.sh issues (exp = iat + 1094 days by default)."""
        return tokens.mint(
            prms, self._secret, issued_at=issued_at or self.now(), expires_at=expires_at
        )

    def token_is_valid(self, token: str, prm: str) -> bool:
        """Conso API's token check, on the emulator's clock."""
        return tokens.is_valid(token, prm, self._secret, self.now())

    def ban_after(self, n: int | None) -> None:
        """After `n` more requests, answer every request with the Cloudflare ban page.
        `ban_after(0)` bans now; `ban_after(None)` lifts the ban."""
        if n is not None and n < 0:
            raise ValueError("n must be >= 0")
        self._ban_countdown = n

    def count_request_for_ban(self) -> bool:
        """Count one request against the ban; True if that request is banned."""
        if self._ban_countdown is None:
            return False
        if self._ban_countdown == 0:
            return True
        self._ban_countdown -= 1
        return False

    def record(self, record: RequestRecord) -> None:
        """Log a request."""
        self.requests.append(record)

    def clear_requests(self) -> None:
        """Forget the logged requests."""
        self.requests.clear()


EMULATOR_KEY = web.AppKey("conso_emulator", Emulator)
"""Where the aiohttp application keeps its `Emulator`."""
