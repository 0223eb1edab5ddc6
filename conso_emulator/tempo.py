"""Deterministic Tempo calendar served like the public Tempo calendar service.

Ground truth per season (1 September -> 31 August): 22 red days, only on weekdays between
1 November and 31 March; 43 white days, never on a Sunday nor on a red day; every other day
blue. The choice is a fixed hash of the date, so every run (and every test) sees the same
calendar. Publication follows the real service: the colour of tomorrow is known from 11:00
Europe/Paris (emulator clock); today, tomorrow and the day after exist with `codeJour` 0 until
published; dates after that, or before `first_day`, answer 404.

Routes (under `prefix`, default `/tempo/api`, so the integration's Tempo base URL can be
`http://127.0.0.1:<port>/tempo/api`): `GET /jourTempo/today`, `/jourTempo/tomorrow`,
`/jourTempo/{YYYY-MM-DD}`, `/joursTempo[?periode=YYYY-YYYY]`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
import hashlib
from typing import Any, Final
from zoneinfo import ZoneInfo

from aiohttp import web

PARIS: Final = ZoneInfo("Europe/Paris")
BLUE, WHITE, RED = 1, 2, 3
LABELS: Final = {0: "Inconnu", BLUE: "Bleu", WHITE: "Blanc", RED: "Rouge"}
RED_DAYS: Final = 22
WHITE_DAYS: Final = 43
PUBLISH_TIME: Final = time(11)
DEFAULT_PREFIX: Final = "/tempo/api"


def season_start(day: date) -> date:
    """1 September opening the Tempo season of `day`."""
    return date(day.year if day.month >= 9 else day.year - 1, 9, 1)


def season_label(day: date) -> str:
    """The service's `periode` of `day`, e.g. "2024-2025"."""
    first = season_start(day).year
    return f"{first}-{first + 1}"


def _rank(day: date) -> bytes:
    return hashlib.sha256(f"tempo:{day.isoformat()}".encode()).digest()


class TempoCalendar:
    """Colour of every Tempo day, and what the service shows at the clock's current time.

    `served` lists the paths answered, in order, so tests can count requests.
    """

    def __init__(
        self, clock: Callable[[], datetime], *, first_day: date = date(2020, 9, 1)
    ) -> None:
        self._clock = clock
        self.first_day = first_day
        self._seasons: dict[date, dict[date, int]] = {}
        self.served: list[str] = []

    def colour(self, day: date) -> int:
        """Ground-truth colour code (1 blue, 2 white, 3 red) of Tempo day `day`."""
        start = season_start(day)
        if start not in self._seasons:
            self._seasons[start] = _season(start)
        return self._seasons[start][day]

    def today(self) -> date:
        """The emulator's local (Europe/Paris) date."""
        return self._clock().astimezone(PARIS).date()

    def published(self, day: date) -> int | None:
        """`codeJour` the service shows for `day` now; None when it has no such row (404)."""
        now = self._clock().astimezone(PARIS)
        today = now.date()
        if day < self.first_day or day > today + timedelta(days=2):
            return None
        if day <= today or (day == today + timedelta(days=1) and now.time() >= PUBLISH_TIME):
            return self.colour(day)
        return 0

    def day_json(self, day: date) -> dict[str, Any] | None:
        """The service's object for `day`, or None (404)."""
        code = self.published(day)
        if code is None:
            return None
        return {
            "dateJour": day.isoformat(),
            "codeJour": code,
            "periode": season_label(day),
            "libCouleur": LABELS[code],
        }


_CALENDAR_KEY: Final = web.AppKey("tempo_calendar", TempoCalendar)


def _season(start: date) -> dict[date, int]:
    end = date(start.year + 1, 9, 1)
    days = [start + timedelta(days=i) for i in range((end - start).days)]
    winter_start, winter_end = date(start.year, 11, 1), date(start.year + 1, 3, 31)
    red_candidates = [d for d in days if winter_start <= d <= winter_end and d.weekday() < 5]
    red = set(sorted(red_candidates, key=_rank)[:RED_DAYS])
    white_candidates = [d for d in days if d.weekday() != 6 and d not in red]
    white = set(sorted(white_candidates, key=_rank)[:WHITE_DAYS])
    return {d: RED if d in red else WHITE if d in white else BLUE for d in days}


async def _one_day(request: web.Request) -> web.Response:
    calendar = request.app[_CALENDAR_KEY]
    calendar.served.append(request.path_qs)
    text = request.match_info["day"]
    today = calendar.today()
    if text == "today":
        day = today
    elif text == "tomorrow":
        day = today + timedelta(days=1)
    else:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise web.HTTPNotFound from None
    body = calendar.day_json(day)
    if body is None:
        raise web.HTTPNotFound
    return web.json_response(body)


async def _many_days(request: web.Request) -> web.Response:
    calendar = request.app[_CALENDAR_KEY]
    calendar.served.append(request.path_qs)
    last = calendar.today() + timedelta(days=2)
    first = calendar.first_day
    periode = request.query.get("periode")
    if periode is not None:
        try:
            first_year, second_year = (int(part) for part in periode.split("-"))
        except ValueError:
            return web.json_response([])  # the real filter just matches nothing
        if second_year != first_year + 1:
            return web.json_response([])
        first = max(first, date(first_year, 9, 1))
        last = min(last, date(second_year, 8, 31))
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return web.json_response([calendar.day_json(day) for day in days])


def add_tempo_routes(
    app: web.Application, calendar: TempoCalendar, *, prefix: str = DEFAULT_PREFIX
) -> None:
    """Serve `calendar` on `app` under `prefix`, with the public service's paths."""
    app[_CALENDAR_KEY] = calendar
    app.router.add_get(f"{prefix}/jourTempo/{{day}}", _one_day)
    app.router.add_get(f"{prefix}/joursTempo", _many_days)
