"""The emulator in process, behind an aiohttp-session look-alike (no socket, no server).

`ConsoApiClient(EmulatorSession(emulator), token)` sends its requests straight to the
emulator's handler (`api.answer`: ban, scripted faults, Conso API and Enedis rules, request
log), and reads the same status, headers and body it would get over HTTP. Fast HA-free
tests and simulations use it; the Home Assistant tests use the real server on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Mapping
import json
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from multidict import CIMultiDict

from .api import Reply, answer
from .emulator import Emulator

BASE_URL = "http://emulator.invalid/api"
"""The base URL clients should use (any URL works: only its last path part is read)."""


class _Response:
    """What `ConsoApiClient` reads of an aiohttp response."""

    def __init__(self, reply: Reply) -> None:
        self.status = reply.status
        self.headers: CIMultiDict[str] = CIMultiDict(reply.headers)
        if reply.text is not None:
            self._body = reply.text.encode()
        elif reply.json is not None:
            self._body = json.dumps(reply.json, ensure_ascii=False).encode()
        else:
            self._body = b""
        if self._body:
            self.headers.setdefault("Content-Type", reply.content_type)

    async def read(self) -> bytes:
        """The body."""
        return self._body


class _Request:
    """`async with session.get(...) as response`."""

    def __init__(self, emulator: Emulator, url: str, params: Mapping[str, str], auth: str | None):
        self._emulator = emulator
        self._type = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
        self._params = dict(params)
        self._auth = auth

    async def __aenter__(self) -> _Response:
        reply = await answer(self._emulator, "GET", self._type, self._params, self._auth)
        return _Response(reply)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None


class EmulatorSession:
    """An aiohttp `ClientSession` stand-in for `ConsoApiClient` (GET only)."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        **_kwargs: Any,
    ) -> _Request:
        """A GET request to `<base>/<type>`."""
        return _Request(self.emulator, url, params or {}, (headers or {}).get("Authorization"))
