"""Drive a real Home Assistant process and the Conso API emulator process over 127.0.0.1.

Shared by the end-to-end test (`tests/e2e/test_real_hass.py`), the demo (`scripts/develop`,
`tools/demo.py`) and the screenshots (`scripts/screenshots`). Everything goes through the
public interfaces a user or the frontend would use: the REST onboarding, auth and config-flow
APIs, the websocket API, and the emulator's `/_emulator/...` control endpoints.

    async with EmulatorProcess(port) as emulator, HomeAssistantProcess(config_dir, port) as ha:
        async with HomeAssistantClient(ha.url) as client:
            await client.onboard(DEMO_USER)
            entry_id = await client.add_linky_entry(token, emulator.base_url)
            rows = await client.statistics(statistic_ids, start, end)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import itertools
import json
from pathlib import Path
import signal
import socket
import sys
from types import TracebackType
from typing import Any, Self

import aiohttp

REPO = Path(__file__).resolve().parents[1]
"""The checkout (the integration is linked into Home Assistant's config from here)."""

LOOPBACK = "127.0.0.1"
DOMAIN = "linky"
STARTUP_SECONDS = 120.0
RECENT = timedelta(days=40)
"""How far back `wait_for_statistic` looks for the newest row."""

HA_INTEGRATIONS = (
    "config",
    "diagnostics",
    "energy",
    "frontend",
    "history",
    "repairs",
)
"""What `configuration.yaml` sets up besides `recorder` (configured in the template): no
`default_config`, whose integrations reach the network (cloud, zeroconf, updates...). The
frontend pulls in auth, onboarding, api, websocket_api, lovelace, search and the device
page's needs."""

CONFIGURATION_YAML = """\
# Written by tools/ha_driver.py: a minimal, offline Home Assistant for Linky.
homeassistant:
  name: Linky demo
  latitude: 48.8566
  longitude: 2.3522
  elevation: 35
  unit_system: metric
  currency: EUR
  country: FR
  language: {language}
  time_zone: Europe/Paris
http:
  server_host: 127.0.0.1
  server_port: {port}
recorder:
  commit_interval: 1
logger:
  default: info
  logs:
    custom_components.linky: debug
{integrations}
"""


@dataclass(frozen=True, slots=True)
class User:
    """The onboarding user."""

    name: str
    username: str
    password: str
    language: str = "en"


DEMO_USER = User("Demo", "demo", "linky-demo")
"""The demo's (and the tests') Home Assistant owner account."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


ONBOARDING_STORE = {
    "version": 4,
    "minor_version": 1,
    "key": "onboarding",
    "data": {"done": ["core_config"]},
}
"""`.storage/onboarding` before the first start: the "core_config" step is done already.
Posting it would start the config flows of Home Assistant's suggested integrations (met,
radio_browser, shopping_list, google_translate), which reach the network or fail for
missing packages; the location, units and currency come from `configuration.yaml` anyway."""


def write_config(config_dir: Path, port: int, *, language: str = "en") -> None:
    """A minimal `configuration.yaml` bound to 127.0.0.1:`port`, with this checkout's
    `custom_components/linky` linked in (so the working tree is what runs), and the
    onboarding's "core_config" step marked done (see `ONBOARDING_STORE`)."""
    config_dir.mkdir(parents=True, exist_ok=True)
    integrations = "\n".join(f"{domain}:" for domain in HA_INTEGRATIONS)
    (config_dir / "configuration.yaml").write_text(
        CONFIGURATION_YAML.format(port=port, language=language, integrations=integrations)
    )
    storage = config_dir / ".storage"
    storage.mkdir(exist_ok=True)
    onboarding = storage / "onboarding"
    if not onboarding.exists():
        onboarding.write_text(json.dumps(ONBOARDING_STORE))
    custom = config_dir / "custom_components"
    custom.mkdir(exist_ok=True)
    link = custom / DOMAIN
    if not link.is_symlink():
        link.symlink_to(REPO / "custom_components" / DOMAIN, target_is_directory=True)


class ManagedProcess:
    """A child process with its output in a log file, stopped with SIGTERM (then SIGKILL)."""

    def __init__(self, args: Sequence[str], log_path: Path, name: str) -> None:
        self.args = list(args)
        self.log_path = log_path
        self.name = name
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start the process; its stdout and stderr go to `log_path`."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=REPO,
                start_new_session=True,  # Ctrl-C reaches the driver, which stops it in order
            )

    def check_alive(self) -> None:
        """Raise with the end of the log if the process has exited."""
        if self.process is None or self.process.returncode is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{self.name} is not running; end of its log:\n{tail}")

    async def stop(self, grace: float = 30.0) -> None:
        """SIGTERM, wait up to `grace` seconds, then SIGKILL."""
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), grace)
        except TimeoutError:
            process.kill()
            await process.wait()


async def _wait_http(url: str, process: ManagedProcess, seconds: float) -> None:
    """Poll `url` until it answers below 500 (or the process dies, or time runs out)."""
    async with aiohttp.ClientSession() as session:
        try:
            async with asyncio.timeout(seconds):
                while True:
                    process.check_alive()
                    with contextlib.suppress(aiohttp.ClientError, OSError):
                        async with session.get(url) as response:
                            if response.status < 500:
                                return
                    await asyncio.sleep(0.2)
        except TimeoutError:
            raise TimeoutError(f"{process.name} did not answer {url} in {seconds} s") from None


class EmulatorProcess(ManagedProcess):
    """`python -m conso_emulator` on 127.0.0.1, with a client for its control endpoints."""

    def __init__(self, port: int, log_path: Path) -> None:
        args = [sys.executable, "-m", "conso_emulator", "--host", LOOPBACK, "--port", str(port)]
        super().__init__(args, log_path, "Conso API emulator")
        self.root_url = f"http://{LOOPBACK}:{port}"
        self.base_url = f"{self.root_url}/api"
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        await self.start()
        self._session = aiohttp.ClientSession(base_url=self.root_url)
        await _wait_http(f"{self.root_url}/_emulator/clock", self, 30)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
        await self.stop()

    async def _control(self, method: str, path: str, **kwargs: Any) -> Any:
        assert self._session is not None, "use `async with EmulatorProcess(...)`"
        async with self._session.request(method, f"/_emulator/{path}", **kwargs) as response:
            body = await response.json()
            if response.status != 200:
                raise RuntimeError(f"emulator {method} {path}: {response.status} {body}")
            return body

    async def mint_token(self, prms: Sequence[str]) -> str:
        """A consent token covering `prms`."""
        token: str = (await self._control("POST", "token", json={"prms": list(prms)}))["token"]
        return token

    async def truth(
        self, pdl: str, production: bool, start: datetime, end: datetime
    ) -> dict[datetime, int]:
        """Published hourly Wh per UTC hour start in [start, end)."""
        params = {
            "pdl": pdl,
            "production": "1" if production else "0",
            "start": start.isoformat(),
            "end": end.isoformat(),
        }
        body = await self._control("GET", "truth", params=params)
        return {datetime.fromisoformat(hour): int(wh) for hour, wh in body.items()}

    async def requests(self) -> list[dict[str, Any]]:
        """Every logged API request, oldest first."""
        records: list[dict[str, Any]] = await self._control("GET", "requests")
        return records

    async def update_meter(self, pdl: str, **fields: Any) -> dict[str, Any]:
        """Change a meter (e.g. `consent=False` revokes the consent)."""
        meter: dict[str, Any] = await self._control("POST", f"meters/{pdl}", json=fields)
        return meter

    async def push_fault(self, **fault: Any) -> None:
        """Queue a scripted fault (`conso_emulator.Fault` fields)."""
        await self._control("POST", "faults", json=fault)

    async def now(self) -> datetime:
        """The emulator's clock."""
        return datetime.fromisoformat((await self._control("GET", "clock"))["now"])


class HomeAssistantProcess(ManagedProcess):
    """`hass -c <config_dir>` on 127.0.0.1:`port` (requirements are pinned, so `--skip-pip`:
    nothing is downloaded at run time)."""

    def __init__(self, config_dir: Path, port: int, *, language: str = "en") -> None:
        hass = Path(sys.executable).with_name("hass")
        args = [str(hass), "-c", str(config_dir), "--skip-pip", "--log-no-color"]
        super().__init__(args, config_dir / "hass.out", "Home Assistant")
        self.config_dir = config_dir
        self.port = port
        self.url = f"http://{LOOPBACK}:{port}"
        self.language = language

    def logs(self) -> str:
        """Everything Home Assistant logged: its log files (rotated at each start) and its
        console output."""
        paths = [*sorted(self.config_dir.glob("home-assistant.log*")), self.log_path]
        return "".join(path.read_text(errors="replace") for path in paths if path.is_file())

    async def start(self) -> None:
        """Write the configuration if missing, start, and wait until the HTTP API answers."""
        if not (self.config_dir / "configuration.yaml").exists():
            write_config(self.config_dir, self.port, language=self.language)
        await super().start()
        await _wait_http(f"{self.url}/api/onboarding", self, STARTUP_SECONDS)

    async def restart(self) -> None:
        """Stop cleanly (the recorder flushes), then start again on the same config."""
        await self.stop(grace=60)
        await self.start()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop(grace=60)


class HomeAssistantError(Exception):
    """Home Assistant refused a request."""


class HomeAssistantClient:
    """REST and websocket client of one Home Assistant, authenticated as the owner."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client_id = f"{url}/"
        self.access_token: str | None = None
        self.refresh_token: str | None = None
        self._session: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession(base_url=self.url)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        """The HTTP session (inside `async with`)."""
        assert self._session is not None, "use `async with HomeAssistantClient(...)`"
        return self._session

    # --- REST -----------------------------------------------------------------------------

    async def request(self, method: str, path: str, *, json: Any = None, auth: bool = True) -> Any:
        """One REST call; JSON in and out. Raises HomeAssistantError on a >= 400 answer."""
        headers = {"Authorization": f"Bearer {self.access_token}"} if auth else {}
        async with self.session.request(method, path, json=json, headers=headers) as response:
            text = await response.text()
            if response.status >= 400:
                raise HomeAssistantError(f"{method} {path}: {response.status} {text}")
            return await response.json(content_type=None) if text else None

    async def _token(self, code: str) -> None:
        """Exchange an authorization code for tokens."""
        data = {"grant_type": "authorization_code", "code": code, "client_id": self.client_id}
        async with self.session.post("/auth/token", data=data) as response:
            body = await response.json()
            if response.status != 200:
                raise HomeAssistantError(f"token exchange: {response.status} {body}")
        self.access_token = body["access_token"]
        self.refresh_token = body["refresh_token"]

    async def onboard(self, user: User) -> None:
        """The onboarding steps not done yet (see `ONBOARDING_STORE`), as the frontend's
        onboarding wizard does them; then every step must be done."""
        status = await self.request("GET", "/api/onboarding", auth=False)
        todo = {step["step"] for step in status if not step["done"]}
        created = await self.request(
            "POST",
            "/api/onboarding/users",
            auth=False,
            json={
                "client_id": self.client_id,
                "name": user.name,
                "username": user.username,
                "password": user.password,
                "language": user.language,
            },
        )
        await self._token(created["auth_code"])
        for step in ("core_config", "analytics"):
            if step in todo:
                await self.request("POST", f"/api/onboarding/{step}")
        await self.request(
            "POST",
            "/api/onboarding/integration",
            json={"client_id": self.client_id, "redirect_uri": f"{self.url}/?auth_callback=1"},
        )
        status = await self.request("GET", "/api/onboarding", auth=False)
        if not all(step["done"] for step in status):
            raise HomeAssistantError(f"onboarding not finished: {status}")
        await self.confirm_http_config()

    async def confirm_http_config(self) -> None:
        """Keep the `http:` settings of `configuration.yaml` (127.0.0.1, our port), as the
        frontend's "Confirm new HTTP server configuration" dialog does: Home Assistant
        imports them as a trial and, unconfirmed, restarts on its default port and addresses
        five minutes later."""
        config = await self.ws_call("http/config")
        pending = config["pending"]
        if pending is not None and pending.get("error") is None:
            await self.ws_call("http/config/promote")

    async def login(self, user: User) -> None:
        """Log in with the username and password (the login form's flow)."""
        flow = await self.request(
            "POST",
            "/auth/login_flow",
            auth=False,
            json={
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": f"{self.url}/?auth_callback=1",
            },
        )
        result = await self.request(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            auth=False,
            json={
                "client_id": self.client_id,
                "username": user.username,
                "password": user.password,
            },
        )
        if result.get("type") != "create_entry":
            raise HomeAssistantError(f"login refused: {result}")
        await self._token(result["result"])

    async def config_flow(self, handler: str, *steps: Mapping[str, Any]) -> dict[str, Any]:
        """Start a config flow and submit `steps` in order, like the UI; the last result."""
        result: dict[str, Any] = await self.request(
            "POST",
            "/api/config/config_entries/flow",
            json={"handler": handler, "show_advanced_options": False},
        )
        for step in steps:
            if result.get("type") != "form":
                raise HomeAssistantError(f"expected a form, got {result}")
            if result.get("errors"):
                raise HomeAssistantError(f"form errors: {result['errors']}")
            result = await self.request(
                "POST", f"/api/config/config_entries/flow/{result['flow_id']}", json=dict(step)
            )
        return result

    async def options_flow(
        self, entry_id: str, menu_option: str, *forms: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Open an entry's options, pick `menu_option` in its menu, then submit `forms` in
        order, each over the form's pre-filled (suggested) values, like a user changing some
        fields; the options are saved (the entry reloads)."""
        path = "/api/config/config_entries/options/flow"
        result: dict[str, Any] = await self.request("POST", path, json={"handler": entry_id})
        if result.get("type") != "menu" or menu_option not in result["menu_options"]:
            raise HomeAssistantError(f"no {menu_option!r} in the options menu: {result}")
        flow = f"{path}/{result['flow_id']}"
        result = await self.request("POST", flow, json={"next_step_id": menu_option})
        for changes in forms:
            if result.get("type") != "form":
                raise HomeAssistantError(f"expected a form, got {result}")
            current: dict[str, Any] = {}
            for field in result.get("data_schema", []):
                suggested = (field.get("description") or {}).get("suggested_value")
                if suggested is not None:
                    current[field["name"]] = suggested
            result = await self.request("POST", flow, json={**current, **changes})
        if result.get("type") != "create_entry":
            raise HomeAssistantError(f"options not saved: {result}")
        return result

    async def add_linky_entry(
        self, token: str, base_url: str, pdl: str | None = None
    ) -> dict[str, Any]:
        """The Linky config flow: token and API address, then the meter if the token covers
        several; returns the created entry (`entry_id`, `title`, ...)."""
        steps: list[Mapping[str, Any]] = [{"token": token, "advanced": {"base_url": base_url}}]
        if pdl is not None:
            steps.append({"pdl": pdl})
        result = await self.config_flow(DOMAIN, *steps)
        if result.get("type") != "create_entry":
            raise HomeAssistantError(f"no entry created: {result}")
        entry: dict[str, Any] = result["result"]
        return entry

    async def entries(self, domain: str = DOMAIN) -> list[dict[str, Any]]:
        """The config entries of `domain`."""
        entries: list[dict[str, Any]] = await self.request(
            "GET", f"/api/config/config_entries/entry?domain={domain}"
        )
        return entries

    async def flows_in_progress(self) -> list[dict[str, Any]]:
        """Config flows in progress not started by the user (discoveries, reauth...)."""
        flows: list[dict[str, Any]] = await self.ws_call("config_entries/flow/progress")
        return flows

    async def reload_entry(self, entry_id: str) -> None:
        """Reload a config entry."""
        await self.request("POST", f"/api/config/config_entries/entry/{entry_id}/reload")

    async def diagnostics(self, entry_id: str) -> dict[str, Any]:
        """The entry's diagnostics download."""
        body: dict[str, Any] = await self.request(
            "GET", f"/api/diagnostics/config_entry/{entry_id}"
        )
        return body

    # --- websocket ------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def websocket(self) -> AsyncIterator[WebSocket]:
        """An authenticated websocket connection."""
        async with self.session.ws_connect("/api/websocket", max_msg_size=0) as ws:
            await ws.receive_json()  # auth_required
            await ws.send_json({"type": "auth", "access_token": self.access_token})
            answer = await ws.receive_json()
            if answer.get("type") != "auth_ok":
                raise HomeAssistantError(f"websocket auth: {answer}")
            yield WebSocket(ws, self._ids)

    async def ws_call(self, message_type: str, **data: Any) -> Any:
        """One websocket command on a short-lived connection; its result."""
        async with self.websocket() as ws:
            return await ws.call(message_type, **data)

    async def statistics(
        self, statistic_ids: Sequence[str], start: datetime, end: datetime, period: str = "hour"
    ) -> dict[str, list[dict[str, Any]]]:
        """`recorder/statistics_during_period` rows (`start` in ms since the epoch)."""
        rows: dict[str, list[dict[str, Any]]] = await self.ws_call(
            "recorder/statistics_during_period",
            start_time=start.isoformat(),
            end_time=end.isoformat(),
            statistic_ids=list(statistic_ids),
            period=period,
            types=["state", "sum"],
        )
        return rows

    async def wait_for_import(self, entry_id: str, seconds: float = 120.0) -> dict[str, Any]:
        """Wait until the entry's first run has ended (diagnostics `last_success` or
        `last_error`); its diagnostics then."""
        try:
            async with asyncio.timeout(seconds):
                while True:
                    with contextlib.suppress(HomeAssistantError):
                        diagnostics = await self.diagnostics(entry_id)
                        sync = diagnostics["data"]["sync"]
                        if sync["last_success"] or sync["last_error"]:
                            return diagnostics
                    await asyncio.sleep(0.5)
        except TimeoutError:
            raise TimeoutError(f"the first Linky run did not end in {seconds} s") from None

    async def wait_for_statistic(
        self, statistic_id: str, source_id: str, seconds: float = 120.0
    ) -> None:
        """Wait until `statistic_id` has a row at the newest hour of `source_id` (derived
        statistics, e.g. a cost computed from the energy rows, oldest first)."""
        try:
            async with asyncio.timeout(seconds):
                while True:
                    end = datetime.now(UTC)
                    rows = await self.statistics([statistic_id, source_id], end - RECENT, end)
                    newest = {
                        key: max(row["start"] for row in found) for key, found in rows.items()
                    }
                    if source_id in newest and newest.get(statistic_id) == newest[source_id]:
                        return
                    await asyncio.sleep(0.5)
        except TimeoutError:
            raise TimeoutError(f"{statistic_id} did not catch up in {seconds} s") from None


class WebSocket:
    """An authenticated Home Assistant websocket connection (one command at a time)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, ids: itertools.count[int]) -> None:
        self._ws = ws
        self._ids = ids

    async def call(self, message_type: str, **data: Any) -> Any:
        """Send a command and return its result (events of other ids are skipped)."""
        message_id = next(self._ids)
        await self._ws.send_json({"id": message_id, "type": message_type, **data})
        while True:
            answer = await self._ws.receive_json()
            if answer.get("id") == message_id and answer.get("type") == "result":
                if not answer.get("success"):
                    raise HomeAssistantError(f"{message_type}: {answer.get('error')}")
                return answer.get("result")


def scan_for_secrets(text: str, secrets: Sequence[str]) -> list[str]:
    """The secrets found in `text` (also their parts: a JWT's signature or payload alone)."""
    found = []
    for secret in secrets:
        pieces = [secret, *(part for part in secret.split(".") if len(part) >= 16)]
        if any(piece in text for piece in pieces):
            found.append(secret)
    return found
