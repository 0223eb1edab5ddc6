"""Screenshots of the demo for the README, with a headless Chromium (`scripts/screenshots`).

`python -m tools.screenshots --cdp-port 9222 [--out docs/screenshots]` starts the demo
(`demo.run_demo`) on free ports, logs a Chromium already listening for the DevTools protocol on
127.0.0.1:<cdp-port> into Home Assistant (the demo user's tokens put in `localStorage`, as the
frontend's login does), and captures the Energy dashboard (last month: both meters'
consumption, the PV meter's surplus, costs and revenue), the PV meter's device page and the
demo's "Energy signature" dashboard (the household meter's daily consumption against the
signature's expectation over the last two months, and its signature sensors).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
from collections.abc import AsyncIterator
import contextlib
from datetime import date, timedelta
import itertools
import json
from pathlib import Path
import tempfile
import time
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from conso_emulator import PV_PDL

from .demo import SIGNATURE_DASHBOARD, Demo, run_demo
from .ha_driver import DEMO_USER, LOOPBACK, REPO, HomeAssistantClient, free_port

WIDTH = 1440
ENERGY_HEIGHT = 1000
DEVICE_HEIGHT = 1560
"""Tall enough for the device page's sensors (the energy signature's among them) and
diagnostic sensors."""
SIGNATURE_WIDTH, SIGNATURE_HEIGHT = 1600, 560
"""Wide enough for the sensors' full names beside a two-month graph."""
RENDER_SECONDS = 6.0


class Page:
    """One Chromium tab driven over the DevTools protocol."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        """A DevTools command; its result (events are skipped)."""
        message_id = next(self._ids)
        await self._ws.send_json({"id": message_id, "method": method, "params": params})
        while True:
            message = await self._ws.receive_json()
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message["result"]
                return result

    async def evaluate(self, expression: str) -> Any:
        """Evaluate JavaScript in the page (promises awaited); its value."""
        result = await self.send(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript error: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def goto(self, url: str, settle: float = RENDER_SECONDS) -> None:
        """Navigate and give the frontend time to render."""
        await self.send("Page.navigate", url=url)
        await asyncio.sleep(settle)

    async def set_viewport(self, height: int, width: int = WIDTH) -> None:
        """A desktop viewport `width` x `height`."""
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    async def screenshot(self, path: Path) -> None:
        """Save the viewport as PNG."""
        data = (await self.send("Page.captureScreenshot", format="png"))["data"]
        await asyncio.to_thread(path.write_bytes, base64.b64decode(data))
        print(f"Saved {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")


@contextlib.asynccontextmanager
async def open_page(cdp_port: int, time_zone: str) -> AsyncIterator[Page]:
    """A new tab of the Chromium listening on 127.0.0.1:`cdp_port`, in `time_zone` (Home
    Assistant's, as the browser of a user at home: the frontend computes periods in local
    time), closed afterwards."""
    async with aiohttp.ClientSession(f"http://{LOOPBACK}:{cdp_port}") as session:
        async with session.put("/json/new?about:blank") as response:
            target = await response.json()
        try:
            async with session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                page = Page(ws)
                await page.send("Page.enable")
                await page.send("Emulation.setTimezoneOverride", timezoneId=time_zone)
                await page.set_viewport(ENERGY_HEIGHT)
                yield page
        finally:
            async with session.get(f"/json/close/{target['id']}"):
                pass


async def log_in(page: Page, client: HomeAssistantClient) -> None:
    """Store fresh tokens where the frontend keeps them after its login page."""
    await client.login(DEMO_USER)
    tokens = {
        "access_token": client.access_token,
        "refresh_token": client.refresh_token,
        "token_type": "Bearer",
        "expires_in": 1800,
        "expires": int(time.time() * 1000) + 1800 * 1000,
        "hassUrl": client.url,
        "clientId": client.client_id,
    }
    await page.goto(f"{client.url}/", settle=1)
    await page.evaluate(f"localStorage.setItem('hassTokens', {json.dumps(json.dumps(tokens))})")


async def show_energy_period(page: Page, first: date, last: date) -> None:
    """Show the days `first` to `last` on the Energy dashboard, as its date picker does: the
    period runs from the first day's local midnight to the end of the last day."""
    await page.evaluate(
        """(() => {
          const [first, last] = %DAYS%;
          const conn = document.querySelector('home-assistant').hass.connection;
          const keys = Object.keys(conn).filter((key) => key.startsWith('_energy'));
          for (const key of keys) {
            conn[key].setPeriod(
              new Date(first[0], first[1] - 1, first[2]),
              new Date(last[0], last[1] - 1, last[2], 23, 59, 59, 999),
            );
            conn[key].refresh();
          }
          return keys;
        })()""".replace("%DAYS%", json.dumps([[d.year, d.month, d.day] for d in (first, last)]))
    )
    await asyncio.sleep(RENDER_SECONDS)


async def pv_device_id(demo: Demo) -> str:
    """The device registry id of the PV meter."""
    devices = await demo.client.ws_call("config/device_registry/list")
    for device in devices:
        if ["linky", PV_PDL] in device["identifiers"]:
            device_id: str = device["id"]
            return device_id
    raise RuntimeError("the PV meter has no device")


async def capture(cdp_port: int, out: Path) -> None:
    """Run the demo and capture the screenshots into `out`."""
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="linky-shots-") as tmp:
        async with run_demo(Path(tmp), free_port(), free_port()) as demo:
            time_zone: str = (await demo.client.ws_call("get_config"))["time_zone"]
            async with open_page(cdp_port, time_zone) as page:
                await log_in(page, demo.client)
                today = (await demo.emulator.now()).astimezone(ZoneInfo(time_zone)).date()
                last_month_end = today.replace(day=1) - timedelta(days=1)
                await page.goto(f"{demo.ha.url}/energy")
                await show_energy_period(page, last_month_end.replace(day=1), last_month_end)
                await page.screenshot(out / "energy-dashboard.png")
                await page.set_viewport(DEVICE_HEIGHT)
                await page.goto(f"{demo.ha.url}/config/devices/device/{await pv_device_id(demo)}")
                await page.screenshot(out / "device-page.png")
                await page.set_viewport(SIGNATURE_HEIGHT, SIGNATURE_WIDTH)
                await page.goto(f"{demo.ha.url}/{SIGNATURE_DASHBOARD}/signature")
                await page.screenshot(out / "energy-signature.png")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m tools.screenshots", description=__doc__)
    parser.add_argument("--cdp-port", type=int, required=True, help="Chromium's DevTools port")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    asyncio.run(capture(arguments.cdp_port, arguments.out.resolve()))
