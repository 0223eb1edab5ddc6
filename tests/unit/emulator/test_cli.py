"""`python -m conso_emulator`: help, and a real run on a free port."""

from __future__ import annotations

import asyncio
from pathlib import Path
import signal
import subprocess
import sys

import aiohttp

from conso_emulator import HOME_PDL

ROOT = Path(__file__).parents[3]


def test_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "conso_emulator", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0
    for option in ("--host", "--port", "--now", "--frozen"):
        assert option in result.stdout


def test_refuses_a_non_loopback_host() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "conso_emulator", "--host", "0.0.0.0", "--port", "0"],  # noqa: S104
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode != 0
    assert "loopback" in result.stderr


async def test_serves_and_prints_base_url_and_tokens(socket_enabled: None) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "conso_emulator",
        "--port",
        "0",
        "--now",
        "2026-11-20T09:00:00+01:00",
        "--frozen",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        lines: list[str] = []
        while not lines or not lines[-1].startswith("Press Ctrl-C"):
            line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
            assert line, f"the emulator stopped: {lines}"
            lines.append(line.decode().strip())
        assert lines[0] == "Conso API emulator, clock at 2026-11-20T09:00:00+01:00"
        base_url = lines[1].removeprefix("Base URL: ")
        assert base_url.startswith("http://127.0.0.1:")
        assert base_url.endswith("/api")
        tokens = {line.split()[1]: line.split()[-1] for line in lines if line.startswith("PDL ")}
        assert len(tokens) == 4
        url = f"{base_url}/consommation_quotidienne"
        params = {"pointId": HOME_PDL, "dateDebut": "2026-11-18", "dateFin": "2026-11-20"}
        headers = {"Authorization": f"Bearer {tokens[HOME_PDL]}"}
        async with (
            aiohttp.ClientSession() as session,
            session.get(url, params=params, headers=headers) as response,
        ):
            assert response.status == 200
            body = await response.json()
        assert len(body["grandeur"][0]["points"]) >= 1
    finally:
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), timeout=30) == 0
