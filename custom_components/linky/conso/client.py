"""Async Conso API client. No Home Assistant import.

Each method sends exactly ONE request (after taking it from the `RequestBudget`), never
follows a redirect and never retries: deciding when to try again is the caller's job. The
token and the PDL never appear in logs or error messages.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
import json
import logging
import time

import aiohttp

from .budget import RequestBudget
from .errors import (
    ConsoApiConnectionError,
    ConsoApiError,
    ConsoApiMalformedResponseError,
    ConsoApiRateLimitedError,
    ConsoApiRequestError,
)
from .models import DailyEnergy, MaxPower, MeasureType
from .parsing import LoadCurve, parse_daily, parse_error, parse_load_curve, parse_max_power
from .planner import max_span_days
from .token import InvalidPdlError, is_valid_pdl

_LOGGER = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://conso.boris.sh/api"
DEFAULT_USER_AGENT = "linky-ha (+https://github.com/linky-ha/linky)"
DEFAULT_TIMEOUT = 60.0


class ConsoApiClient:
    """Reads one PDL's measurements from Conso API with an injected aiohttp session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        budget: RequestBudget | None = None,
        user_agent: str = DEFAULT_USER_AGENT,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """`budget` should be the instance-wide budget of `base_url`; a private one (with
        the default cap) is used when none is given, so a client is never unbounded."""
        self._session = session
        self._token = token.strip()
        self._base_url = base_url.rstrip("/")
        self.budget = budget if budget is not None else RequestBudget()
        self._headers = {
            "Authorization": f"Bearer {self._token}",
            "User-Agent": user_agent,
            "Accept": "application/json",
        }
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def daily_energy(
        self, pdl: str, start: date, end: date, *, production: bool = False
    ) -> list[DailyEnergy]:
        """Energy per local day for `[start, end)` (at most 365 days)."""
        measure = MeasureType.PRODUCTION_DAILY if production else MeasureType.CONSUMPTION_DAILY
        return await self._fetch(measure, pdl, start, end, parse_daily)

    async def load_curve(
        self, pdl: str, start: date, end: date, *, production: bool = False
    ) -> LoadCurve:
        """Energy per load-curve interval for `[start, end)` (at most 7 days), with the
        points that could not be read per day (`LoadCurve.bad_points`)."""
        measure = (
            MeasureType.PRODUCTION_LOAD_CURVE if production else MeasureType.CONSUMPTION_LOAD_CURVE
        )
        return await self._fetch(measure, pdl, start, end, parse_load_curve)

    async def max_power(self, pdl: str, start: date, end: date) -> list[MaxPower]:
        """Daily maximum apparent power for `[start, end)` (at most 365 days)."""
        return await self._fetch(
            MeasureType.CONSUMPTION_MAX_POWER, pdl, start, end, parse_max_power
        )

    async def _fetch[T](
        self,
        measure: MeasureType,
        pdl: str,
        start: date,
        end: date,
        parse: Callable[[object], T],
    ) -> T:
        """Validate the call, take it from the budget, send it and parse the answer."""
        if not is_valid_pdl(pdl):
            raise InvalidPdlError("A PDL (PRM) is exactly 14 digits")
        if start >= end:
            raise ValueError(f"Empty range: start {start} is not before end {end}")
        if (end - start).days > max_span_days(measure):
            raise ValueError(
                f"{measure} allows at most {max_span_days(measure)} days per request, "
                f"asked {(end - start).days}"
            )

        await self.budget.acquire()
        started = time.monotonic()
        try:
            async with self._session.get(
                f"{self._base_url}/{measure}",
                params={
                    "pointId": pdl,
                    "dateDebut": start.isoformat(),
                    "dateFin": end.isoformat(),
                },
                headers=self._headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                status = response.status
                content_type = response.headers.get(aiohttp.hdrs.CONTENT_TYPE)
                text = (await response.read()).decode("utf-8", errors="replace")
        except TimeoutError as err:
            _LOGGER.debug("GET %s %s..%s timed out", measure, start, end)
            raise ConsoApiConnectionError(f"Timeout calling Conso API ({measure})") from err
        except aiohttp.ClientError as err:
            _LOGGER.debug("GET %s %s..%s failed: %s", measure, start, end, type(err).__name__)
            raise ConsoApiConnectionError(
                f"Cannot reach Conso API ({measure}): {type(err).__name__}"
            ) from err
        _LOGGER.debug(
            "GET %s %s..%s -> HTTP %s in %.2f s",
            measure,
            start,
            end,
            status,
            time.monotonic() - started,
        )

        if 300 <= status < 400:
            # A redirect is not followed: it would be a request the budget never saw, and
            # the token would go to wherever it points.
            raise ConsoApiRequestError(
                f"Conso API answered with a redirect (HTTP {status}), not followed", status=status
            )
        if 200 <= status < 300:
            try:
                body: object = json.loads(text)
            except ValueError:
                raise parse_error(status, text, content_type, secret=self._token) from None
            try:
                return parse(body)
            except ConsoApiError:
                raise
            except (ArithmeticError, LookupError, TypeError, ValueError, RecursionError) as err:
                raise ConsoApiMalformedResponseError(
                    f"Unreadable {measure} answer: {type(err).__name__}"
                ) from err

        error = parse_error(status, text, content_type, secret=self._token)
        if isinstance(error, ConsoApiRateLimitedError):
            self.budget.block_until(error.retry_at)
        raise error
