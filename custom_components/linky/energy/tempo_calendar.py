"""Tempo calendar: colours of Tempo days, a persistable cache and an async client for a public
Tempo calendar service. No Home Assistant import.

A Tempo day D runs from D 06:00 to D+1 06:00, Europe/Paris. A Tempo season runs from
1 September to 31 August. RTE publishes the colour of tomorrow around 10:30-11:00; the public
service says that colour may still change until about 12:00, so a colour of tomorrow read
before 12:00 is kept as provisional and read once more later.

Service format, checked against the server's source (github.com/jbromain/rte-tempo,
`src/Entity/JourTempo.php` and `src/State/SingleDayTempoProvider.php`, the code behind
https://www.api-couleur-tempo.fr/api): `GET /jourTempo/{YYYY-MM-DD}`, `/jourTempo/today`,
`/jourTempo/tomorrow` answer one object, `GET /joursTempo?periode=2024-2025` a JSON array of
them, in date order:
`{"dateJour": "2024-01-15", "codeJour": 1, "periode": "2023-2024", "libCouleur": "Bleu"}`.
`codeJour` is 0 (not known yet), 1 blue, 2 white or 3 red. The server creates today, tomorrow
and the day after with code 0 before RTE publishes; any other date it does not hold is a 404.
This client only asks for explicit dates (never `today`/`tomorrow`, whose meaning depends on
the server's clock).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Final

import aiohttp

from ..conso.budget import RequestBudget
from ..conso.errors import BudgetExhaustedError
from ..localtime import PARIS, local_date, parse_instant

DEFAULT_BASE_URL: Final = "https://www.api-couleur-tempo.fr/api"
USER_AGENT: Final = "linky-home-assistant (+https://github.com/linky-ha/linky)"

TEMPO_DAY_START: Final = time(6)
"""Local time at which a Tempo day starts (and the previous one ends)."""
FINAL_AFTER: Final = time(12)
"""Local time on D-1 after which the colour of D read from the service is final."""

REQUEST_CAP: Final = 12
"""Default budget: at most this many requests in any rolling `REQUEST_WINDOW`."""
REQUEST_WINDOW: Final = timedelta(hours=24)
UNKNOWN_RETRY: Final = timedelta(hours=1)
"""A date the service did not know yet is not asked again for this long."""
SEASON_FETCH_THRESHOLD: Final = 3
"""More missing dates than this in one season are read with one season request."""
REQUEST_TIMEOUT: Final = aiohttp.ClientTimeout(total=20)


class TempoColour(StrEnum):
    """Colour of a Tempo day."""

    BLUE = "blue"
    WHITE = "white"
    RED = "red"


_COLOUR_CODES: Final[dict[int, TempoColour | None]] = {
    0: None,
    1: TempoColour.BLUE,
    2: TempoColour.WHITE,
    3: TempoColour.RED,
}


def tempo_day_of(instant: datetime) -> date:
    """Return the Tempo day containing the aware `instant` (before 06:00 local: the day before)."""
    local = instant.astimezone(PARIS)
    day = local.date()
    return day - timedelta(days=1) if local.time() < TEMPO_DAY_START else day


def season_of(day: date) -> str:
    """Return the Tempo season of `day` as the service writes it, e.g. "2024-2025"."""
    first = day.year if day.month >= 9 else day.year - 1
    return f"{first}-{first + 1}"


def _final_from(day: date) -> datetime:
    """The instant from which the service's colour of `day` is final (D-1 12:00 local)."""
    return datetime.combine(day - timedelta(days=1), FINAL_AFTER, PARIS)


class TempoError(Exception):
    """Base class of every Tempo client error."""


class TempoConnectionError(TempoError):
    """The service could not be reached or did not answer in time."""


class TempoResponseError(TempoError):
    """The service answered with an unexpected status or body."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TempoBudgetExhaustedError(TempoError):
    """The local request budget refuses the call; nothing was sent. `retry_at` is the
    earliest time a request may go."""

    def __init__(self, message: str, *, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at


@dataclass(frozen=True, slots=True)
class CachedColour:
    """A colour read from the service, and whether it can still change."""

    colour: TempoColour
    final: bool


class TempoCache:
    """Colours by Tempo day, persistable with `as_dict`/`from_dict`.

    `colour(day)` is usable as the tariff engine's colour lookup.
    """

    def __init__(self) -> None:
        self._days: dict[date, CachedColour] = {}
        self._unknown_checked: dict[date, datetime] = {}

    def colour(self, day: date) -> TempoColour | None:
        """Colour of Tempo day `day`, final or provisional, or None when not known."""
        entry = self._days.get(day)
        return entry.colour if entry else None

    def is_final(self, day: date) -> bool:
        """Whether the colour of `day` is known and can no longer change."""
        entry = self._days.get(day)
        return entry is not None and entry.final

    @property
    def colours(self) -> dict[date, TempoColour]:
        """Every known colour, by day."""
        return {day: entry.colour for day, entry in sorted(self._days.items())}

    def record(self, day: date, colour: TempoColour | None, fetched_at: datetime) -> None:
        """Store what the service said about `day` at `fetched_at` (None: not published)."""
        if colour is None:
            # Checks older than UNKNOWN_RETRY no longer matter: forget them.
            self._unknown_checked = {
                d: at for d, at in self._unknown_checked.items() if fetched_at - at < UNKNOWN_RETRY
            }
            if day not in self._days:
                self._unknown_checked[day] = fetched_at.astimezone(UTC)
            return
        if self.is_final(day):
            return
        self._days[day] = CachedColour(colour, fetched_at >= _final_from(day))
        self._unknown_checked.pop(day, None)

    def needs_request(self, day: date, now: datetime) -> bool:
        """Whether asking the service about `day` at `now` could teach us something."""
        if day > local_date(now) + timedelta(days=1):
            return False  # never published before D-1
        entry = self._days.get(day)
        if entry is not None:
            return not entry.final and now >= _final_from(day)
        checked = self._unknown_checked.get(day)
        return checked is None or now - checked >= UNKNOWN_RETRY

    def as_dict(self) -> dict[str, Any]:
        """JSON-able snapshot."""
        return {
            "days": {
                day.isoformat(): {"colour": entry.colour.value, "final": entry.final}
                for day, entry in sorted(self._days.items())
            },
            "unknown_checked": {
                day.isoformat(): at.isoformat() for day, at in self._unknown_checked.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TempoCache:
        """Rebuild a cache saved by `as_dict`. Raises ValueError on malformed data."""
        cache = cls()
        try:
            for key, entry in data.get("days", {}).items():
                cache._days[date.fromisoformat(key)] = CachedColour(
                    TempoColour(entry["colour"]), bool(entry["final"])
                )
            for key, at in data.get("unknown_checked", {}).items():
                cache._unknown_checked[date.fromisoformat(key)] = parse_instant(at)
        except (AttributeError, KeyError, TypeError) as err:
            raise ValueError(f"malformed Tempo cache: {err}") from err
        return cache


def _now() -> datetime:
    return datetime.now(UTC)


def tempo_budget(clock: Callable[[], datetime] = _now) -> RequestBudget:
    """The default Tempo request budget: `REQUEST_CAP` requests per `REQUEST_WINDOW`.

    Persist it with its own `as_dict`/`RequestBudget.from_dict`.
    """
    return RequestBudget(
        cap=REQUEST_CAP, window=REQUEST_WINDOW, max_per_second=REQUEST_CAP, now=clock
    )


class TempoClient:
    """Reads Tempo colours into a `TempoCache`, within a request budget.

    A final colour is never asked again; a date after tomorrow is never asked; a date the
    service did not know is asked again after `UNKNOWN_RETRY` at the earliest. Every request
    sent counts in `budget` (default: `tempo_budget(clock)`), even when it fails.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        cache: TempoCache,
        *,
        base_url: str = DEFAULT_BASE_URL,
        clock: Callable[[], datetime] = _now,
        budget: RequestBudget | None = None,
    ) -> None:
        self._session = session
        self._cache = cache
        self._budget = budget or tempo_budget(clock)
        self._base_url = base_url.rstrip("/")
        self._clock = clock

    @property
    def cache(self) -> TempoCache:
        """The cache this client fills."""
        return self._cache

    async def async_colour(self, day: date) -> TempoColour | None:
        """Colour of Tempo day `day` (None: not published yet), asking only if needed."""
        await self.async_fill([day])
        return self._cache.colour(day)

    async def async_fill(self, days: Iterable[date]) -> set[date]:
        """Make sure the cache knows every date of `days` that can be known.

        Dates are read one by one, or with one season request when more than
        `SEASON_FETCH_THRESHOLD` dates of a season are needed. Returns the dates still
        without a colour. Raises TempoBudgetExhaustedError before a request over budget,
        TempoConnectionError or TempoResponseError on a failed request.
        """
        wanted = sorted(set(days))
        now = self._clock()
        needed: dict[str, list[date]] = {}
        for day in wanted:
            if self._cache.needs_request(day, now):
                needed.setdefault(season_of(day), []).append(day)
        for season, season_days in needed.items():
            if len(season_days) > SEASON_FETCH_THRESHOLD:
                await self._fetch_season(season, now)
            else:
                for day in season_days:
                    await self._fetch_day(day, now)
        return {day for day in wanted if self._cache.colour(day) is None}

    async def _fetch_day(self, day: date, now: datetime) -> None:
        body = await self._get(f"/jourTempo/{day.isoformat()}", None, now, not_found_ok=True)
        if body is None:
            self._cache.record(day, None, now)
            return
        parsed_day, colour = _parse_day(body)
        if parsed_day != day:
            raise TempoResponseError(f"asked for {day}, got {parsed_day}")
        self._cache.record(day, colour, now)

    async def _fetch_season(self, season: str, now: datetime) -> None:
        body = await self._get("/joursTempo", {"periode": season}, now, not_found_ok=False)
        if not isinstance(body, list):
            raise TempoResponseError("season answer is not a JSON array")
        for item in body:
            day, colour = _parse_day(item)
            self._cache.record(day, colour, now)

    async def _get(
        self, path: str, params: dict[str, str] | None, now: datetime, *, not_found_ok: bool
    ) -> Any:
        try:
            await self._budget.acquire()
        except BudgetExhaustedError as err:
            raise TempoBudgetExhaustedError(str(err), retry_at=err.retry_at) from err
        try:
            async with self._session.get(
                self._base_url + path,
                params=params,
                headers={"Accept": "application/json", "User-Agent": USER_AGENT},
                timeout=REQUEST_TIMEOUT,
            ) as response:
                if response.status == 404 and not_found_ok:
                    return None
                if response.status != 200:
                    raise TempoResponseError(
                        f"Tempo service answered HTTP {response.status} for {path}",
                        status=response.status,
                    )
                try:
                    return await response.json(content_type=None)
                except ValueError as err:
                    raise TempoResponseError(f"Tempo service sent invalid JSON: {err}") from err
        except (aiohttp.ClientError, TimeoutError) as err:
            raise TempoConnectionError(f"Tempo service unreachable: {err}") from err


def _parse_day(item: Any) -> tuple[date, TempoColour | None]:
    """Parse one `{"dateJour": ..., "codeJour": ...}` object."""
    if not isinstance(item, dict):
        raise TempoResponseError("Tempo day is not a JSON object")
    try:
        day = date.fromisoformat(item["dateJour"])
        code = item["codeJour"]
    except (KeyError, TypeError, ValueError) as err:
        raise TempoResponseError(f"malformed Tempo day {item!r}") from err
    if type(code) is not int or code not in _COLOUR_CODES:
        raise TempoResponseError(f"unknown codeJour {code!r} for {day}")
    return day, _COLOUR_CODES[code]
