"""Fixtures of the emulator tests: an emulator on a movable clock, served on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from conso_emulator import Emulator, EmulatorServer

from .helpers import NOW, Api, Clock


@pytest.fixture
def clock() -> Clock:
    """The emulator's clock, starting at NOW."""
    return Clock(NOW)


@pytest.fixture
def emu(clock: Clock) -> Emulator:
    """An emulator with the default meters, on the test clock."""
    return Emulator(clock)


@pytest.fixture
async def server(emu: Emulator, socket_enabled: None) -> AsyncIterator[EmulatorServer]:
    """The emulator served on 127.0.0.1 (free port); Home Assistant's test plugin blocks
    sockets unless `socket_enabled` is requested (only 127.0.0.1 is used)."""
    async with EmulatorServer(emu) as running:
        yield running


@pytest.fixture
async def api(server: EmulatorServer) -> AsyncIterator[Api]:
    """A client of the served emulator."""
    async with aiohttp.ClientSession() as session:
        yield Api(session, server)
