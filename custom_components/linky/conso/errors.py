"""Error taxonomy of the Conso API client. No Home Assistant import.

Every error the client raises is a `ConsoApiError`. The HTTP status, the upstream code
(`ADAM-DC-0008`, `no_data_found`, `900804`...) and the upstream message are kept when the
response had them, so diagnostics can show what the server said. The token never appears in
any message.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar


class ErrorKind(StrEnum):
    """What kind of failure an error is: the stable name that is stored (last error of a
    meter), shown (the "last error" sensor's state) and used as a form error key."""

    CONNECTION = "connection"
    AUTH = "auth"
    NO_CONSENT = "no_consent"
    NOT_HOLDER = "not_holder"
    NO_DATA = "no_data"
    HISTORY_LIMIT = "history_limit"
    RATE_LIMITED = "rate_limited"
    BANNED = "banned"
    SERVER = "server"
    REQUEST = "request"
    MALFORMED_RESPONSE = "malformed_response"
    BUDGET_EXHAUSTED = "budget_exhausted"
    UNKNOWN = "unknown_error"

    @classmethod
    def from_stored(cls, text: object) -> ErrorKind:
        """A kind read back from storage: its value, or the error class name that version
        0.1.0 stored instead; UNKNOWN for anything else."""
        if isinstance(text, str):
            if text in cls._value2member_map_:
                return cls(text)
            for error in _all_errors():
                if error.__name__ == text:
                    return error.kind
        return cls.UNKNOWN


class ConsoApiError(Exception):
    """Base class of every client error."""

    kind: ClassVar[ErrorKind] = ErrorKind.UNKNOWN

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class ConsoApiConnectionError(ConsoApiError):
    """The server could not be reached, or did not answer in time."""

    kind = ErrorKind.CONNECTION


class ConsoApiAuthError(ConsoApiError):
    """Token invalid, expired, revoked, or it does not cover this PRM (HTTP 401)."""

    kind = ErrorKind.AUTH


class ConsoApiNoConsentError(ConsoApiError):
    """Enedis has no consent for this PRM (ADAM-DC-0008): missing, revoked or expired."""

    kind = ErrorKind.NO_CONSENT


class ConsoApiNotHolderError(ConsoApiError):
    """Enedis says the customer does not hold this PRM (ADAM-DC-0007), e.g. after a move-in."""

    kind = ErrorKind.NOT_HOLDER


class ConsoApiNoDataError(ConsoApiError):
    """No measure for the whole range (404 no_data_found): not published yet, a hole at
    Enedis, or (for load curves) hourly collection disabled."""

    kind = ErrorKind.NO_DATA


class ConsoApiHistoryLimitError(ConsoApiError):
    """The range starts before what Enedis keeps: before the meter's last activation
    (ADAM-ERR0123) or beyond the history depth (ADAM-ERR0125)."""

    kind = ErrorKind.HISTORY_LIMIT

    @property
    def before_activation(self) -> bool:
        """True when the meter's last activation date is the limit."""
        return self.code == "ADAM-ERR0123"


class ConsoApiRateLimitedError(ConsoApiError):
    """HTTP 429. `retry_at` is when the quota opens again (from `nextAccessTime`), if known."""

    kind = ErrorKind.RATE_LIMITED

    def __init__(
        self,
        message: str,
        *,
        status: int | None = 429,
        code: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.retry_at = retry_at


class ConsoApiBannedError(ConsoApiError):
    """Cloudflare blocks this IP (HTTP 403 with an HTML page). Stop polling: no appeal."""

    kind = ErrorKind.BANNED


class ConsoApiServerError(ConsoApiError):
    """Upstream or server error (5xx): Enedis outage, Conso API failure, bad gateway."""

    kind = ErrorKind.SERVER


class ConsoApiRequestError(ConsoApiError):
    """Any other rejected request (4xx): invalid parameters, API not subscribed..."""

    kind = ErrorKind.REQUEST


class ConsoApiMalformedResponseError(ConsoApiError):
    """A 2xx answer whose body is not a Conso API / Enedis measurement document."""

    kind = ErrorKind.MALFORMED_RESPONSE


class BudgetExhaustedError(ConsoApiError):
    """The local request budget refuses the call: the rolling cap is reached, or the server
    asked us to wait. No request was sent. `retry_at` is the earliest time a call may go."""

    kind = ErrorKind.BUDGET_EXHAUSTED

    def __init__(self, message: str, *, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at


def _all_errors() -> list[type[ConsoApiError]]:
    """Every error class of the taxonomy."""
    found: list[type[ConsoApiError]] = []
    pending: list[type[ConsoApiError]] = [ConsoApiError]
    while pending:
        error = pending.pop()
        found.append(error)
        pending.extend(error.__subclasses__())
    return found
