"""Error taxonomy of the Conso API client. No Home Assistant import.

Every error the client raises is a `ConsoApiError`. The HTTP status, the upstream code
(`ADAM-DC-0008`, `no_data_found`, `900804`...) and the upstream message are kept when the
response had them, so diagnostics can show what the server said. The token never appears in
any message.
"""

from __future__ import annotations

from datetime import datetime


class ConsoApiError(Exception):
    """Base class of every client error."""

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


class ConsoApiAuthError(ConsoApiError):
    """Token invalid, expired, revoked, or it does not cover this PRM (HTTP 401)."""


class ConsoApiNoConsentError(ConsoApiError):
    """Enedis has no consent for this PRM (ADAM-DC-0008): missing, revoked or expired."""


class ConsoApiNotHolderError(ConsoApiError):
    """Enedis says the customer does not hold this PRM (ADAM-DC-0007), e.g. after a move-in."""


class ConsoApiNoDataError(ConsoApiError):
    """No measure for the whole range (404 no_data_found): not published yet, a hole at
    Enedis, or (for load curves) hourly collection disabled."""


class ConsoApiHistoryLimitError(ConsoApiError):
    """The range starts before what Enedis keeps: before the meter's last activation
    (ADAM-ERR0123) or beyond the history depth (ADAM-ERR0125)."""

    @property
    def before_activation(self) -> bool:
        """True when the meter's last activation date is the limit."""
        return self.code == "ADAM-ERR0123"


class ConsoApiRateLimitedError(ConsoApiError):
    """HTTP 429. `retry_at` is when the quota opens again (from `nextAccessTime`), if known."""

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


class ConsoApiServerError(ConsoApiError):
    """Upstream or server error (5xx): Enedis outage, Conso API failure, bad gateway."""


class ConsoApiRequestError(ConsoApiError):
    """Any other rejected request (4xx): invalid parameters, API not subscribed..."""


class ConsoApiMalformedResponseError(ConsoApiError):
    """A 2xx answer whose body is not a Conso API / Enedis measurement document."""


class BudgetExhaustedError(ConsoApiError):
    """The local request budget refuses the call: the rolling cap is reached, or the server
    asked us to wait. No request was sent. `retry_at` is the earliest time a call may go."""

    def __init__(self, message: str, *, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at
