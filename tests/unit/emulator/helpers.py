"""Helpers of the emulator tests: the test clock, a JSON client of the served API, fixtures
of real recorded bodies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from conso_emulator import EmulatorServer

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=PARIS)
"""Default emulator time: a Friday morning, after the daily publication of 08:00."""
TODAY = NOW.date()
FIXTURES = Path(__file__).parents[2] / "fixtures" / "real"


def fixture(path: str) -> Any:
    """A real recorded body (JSON)."""
    return json.loads((FIXTURES / path).read_text("utf-8"))


def ordered(body: Any) -> str:
    """A JSON text that keeps key order, to compare bodies including key order."""
    return json.dumps(body, ensure_ascii=False)


class Clock:
    """A settable clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class Reply:
    """What the emulator answered."""

    status: int
    body: Any
    text: str
    content_type: str


class Api:
    """A small client of the emulator's `/api`."""

    def __init__(self, session: aiohttp.ClientSession, server: EmulatorServer) -> None:
        self.session = session
        self.server = server
        self.emu = server.emulator
        self.tokens: dict[str, str] = {}

    def token(self, pdl: str) -> str:
        """A valid token for one PDL."""
        if pdl not in self.tokens:
            self.tokens[pdl] = self.emu.mint_token([pdl])
        return self.tokens[pdl]

    async def call(
        self,
        measure_type: str,
        params: dict[str, str] | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        method: str = "GET",
    ) -> Reply:
        """Any request to `/api/<type>`."""
        if headers is None:
            headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        async with self.session.request(
            method, f"{self.server.base_url}/{measure_type}", params=params, headers=headers
        ) as response:
            text = await response.text()
            try:
                body = json.loads(text) if text else None
            except ValueError:
                body = None
            return Reply(response.status, body, text, response.content_type)

    async def get(self, measure_type: str, pdl: str, start: date, end: date) -> Reply:
        """A normal request with the new parameter names and a valid token."""
        params = {"pointId": pdl, "dateDebut": start.isoformat(), "dateFin": end.isoformat()}
        return await self.call(measure_type, params, token=self.token(pdl))
