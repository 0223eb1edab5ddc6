"""Scripted faults: errors (or delays) the emulator serves instead of a normal answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

KINDS: dict[str, int] = {
    "rate_limited": 429,
    "rate_limited_fault": 429,
    "technical_error": 500,
    "token_refresh": 500,
    "unknown_error": 500,
    "plain_text_500": 500,
    "bad_gateway": 502,
    "slow": 200,
    "banned": 403,
}
"""Fault kinds and their usual HTTP status:

- `rate_limited`: 429 `900804` with `nextAccessTime`;
- `rate_limited_fault`: 429 `900807` in the `fault` shape;
- `technical_error`: Enedis `technical_error`;
- `token_refresh`: Conso API could not refresh its Enedis token;
- `unknown_error`: Conso API's "Erreur inconnue";
- `plain_text_500`: Enedis answered plain text (`"error": "500 Internal Server Error"`);
- `bad_gateway`: Cloudflare 502 problem JSON;
- `slow`: the normal answer, after `delay` seconds;
- `banned`: Cloudflare's HTML ban page.
"""

_KIND_BY_STATUS = {429: "rate_limited", 500: "technical_error", 502: "bad_gateway", 403: "banned"}


@dataclass(frozen=True, slots=True)
class Fault:
    """A scripted fault, served `times` times to requests whose type is in `types` (any type
    when None), after waiting `delay` seconds. `kind` defaults from `status` (429, 500, 502,
    403). `next_access_time` is the 429 `nextAccessTime` (default: the next full hour)."""

    status: int
    kind: str | None = None
    times: int = 1
    types: frozenset[str] | set[str] | None = None
    delay: float = 0.0
    next_access_time: datetime | None = None

    def __post_init__(self) -> None:
        if self.kind is None:
            if self.status not in _KIND_BY_STATUS:
                raise ValueError(f"give a kind for a {self.status} fault")
            object.__setattr__(self, "kind", _KIND_BY_STATUS[self.status])
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}, expected one of {list(KINDS)}")
        if self.times < 1:
            raise ValueError("times must be >= 1")
        if self.types is not None:
            object.__setattr__(self, "types", frozenset(self.types))
        if self.next_access_time is not None and self.next_access_time.tzinfo is None:
            raise ValueError("next_access_time must be timezone-aware")

    @property
    def resolved_kind(self) -> str:
        """The kind (never None after construction)."""
        assert self.kind is not None
        return self.kind

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        """Build from the control endpoint's JSON (`types` a list, `next_access_time` ISO)."""
        unknown = set(data) - {"status", "kind", "times", "types", "delay", "next_access_time"}
        if unknown:
            raise ValueError(f"unknown fault fields {sorted(unknown)}")
        types = data.get("types")
        next_access = data.get("next_access_time")
        return cls(
            status=int(data["status"]),
            kind=data.get("kind"),
            times=int(data.get("times", 1)),
            types=None if types is None else frozenset(str(t) for t in types),
            delay=float(data.get("delay", 0.0)),
            next_access_time=None if next_access is None else datetime.fromisoformat(next_access),
        )


@dataclass(slots=True)
class _Queued:
    fault: Fault
    remaining: int


class FaultQueue:
    """Faults consumed in order: a request takes the first queued fault that matches its type."""

    def __init__(self) -> None:
        self._queue: list[_Queued] = []

    def push(self, fault: Fault) -> None:
        """Queue a fault after the ones already queued."""
        self._queue.append(_Queued(fault, fault.times))

    def clear(self) -> None:
        """Drop every queued fault."""
        self._queue.clear()

    def __len__(self) -> int:
        return len(self._queue)

    def take(self, measure_type: str) -> Fault | None:
        """The fault for a request of that type, if any (consumes one use)."""
        for entry in self._queue:
            if entry.fault.types is None or measure_type in entry.fault.types:
                entry.remaining -= 1
                if entry.remaining == 0:
                    self._queue.remove(entry)
                return entry.fault
        return None
