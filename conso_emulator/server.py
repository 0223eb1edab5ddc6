"""The aiohttp application and a loopback-only server around an `Emulator`."""

from __future__ import annotations

from collections.abc import Iterable
import ipaddress
from types import TracebackType
from typing import Self

from aiohttp import web

from . import api, control
from .emulator import EMULATOR_KEY, Emulator
from .tempo import add_tempo_routes

ROUTES: list[web.RouteDef] = [*api.ROUTES, *control.ROUTES]
"""Every route the emulator serves (API, then control endpoints)."""


def build_app(emu: Emulator, routes: Iterable[web.AbstractRouteDef] = ROUTES) -> web.Application:
    """An aiohttp application serving `routes` (default: API and control) and the Tempo
    calendar (`/tempo/api/...`) for `emu`; handlers find the emulator at
    `request.app[EMULATOR_KEY]`."""
    app = web.Application()
    app[EMULATOR_KEY] = emu
    app.add_routes(routes)
    add_tempo_routes(app, emu.tempo)
    return app


def is_loopback(host: str) -> bool:
    """Whether `host` is `localhost` or a loopback IP address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class EmulatorServer:
    """Serves an emulator on a loopback address; `port=0` picks a free port.

    Use as `async with EmulatorServer(emu) as server: server.base_url`.
    """

    def __init__(
        self,
        emu: Emulator,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        access_log: bool = False,
    ) -> None:
        if not is_loopback(host):
            raise ValueError(f"the emulator only binds to loopback addresses, not {host!r}")
        self.emulator = emu
        self.host = host
        self._port = port
        app = build_app(emu)
        self._runner = web.AppRunner(app) if access_log else web.AppRunner(app, access_log=None)

    @property
    def port(self) -> int:
        """The bound port (after start)."""
        return self._port

    @property
    def root_url(self) -> str:
        """`http://<host>:<port>` (control endpoints live under `/_emulator/`)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"

    @property
    def base_url(self) -> str:
        """The Conso API base URL, `http://<host>:<port>/api`."""
        return f"{self.root_url}/api"

    async def start(self) -> None:
        """Bind and serve."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._port)
        try:
            await site.start()
        except BaseException:
            await self._runner.cleanup()
            raise
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Stop serving."""
        await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
