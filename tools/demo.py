"""The demo behind `scripts/develop`: the Conso API emulator and a real Home Assistant on
127.0.0.1, onboarded, with two Linky meters, the Energy dashboard configured, the outdoor
temperatures the emulator's households live in imported for both meters (so each gets its
energy signature) and an "Energy signature" dashboard.

`python -m tools.demo [--port 8123] [--emulator-port 8099]` prints the address and the
credentials, then serves until Ctrl-C (or SIGTERM) and stops both processes. Home Assistant
runs in a fresh temporary directory, removed at the end: every run starts from scratch.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
import signal
import tempfile
import time
from typing import Any

from conso_emulator import HOME_PDL, PV_PDL
from conso_emulator.api import history_deadline
from conso_emulator.truth import PARIS, outdoor_temperature

from .ha_driver import (
    DEMO_USER,
    EmulatorProcess,
    HomeAssistantClient,
    HomeAssistantError,
    HomeAssistantProcess,
    write_config,
)

CONTRACT = {"option": "base", "kva": "6"}
"""The demo's contract (options menu "Contract and prices"), priced with the pre-filled public
regulated prices. Base, so that days stored as daily totals get a cost too."""
BUYBACK_EUR_PER_KWH = 0.04
"""The PV meter's surplus buy-back price (options menu "Production buy-back price")."""
TEMPERATURE_FILE = "demo_outdoor_temperatures.csv"
"""The daily temperature file the demo writes in the configuration folder and imports with
the action `linky.import_temperatures` (its path relative to that folder)."""
SIGNATURE_DASHBOARD = "linky-signature"
"""The URL path of the demo's "Energy signature" dashboard."""
SIGNATURE_GRADES = ("good", "fair", "poor")
"""The signature quality sensor's states once a signature is fitted."""
SIGNATURE_SENSORS = {
    "signature_quality": "Energy signature quality",
    "heating_share": "Heating share",
    "balance_temperature": "Heating balance temperature",
    "heating_slope": "Heating slope",
    "base_consumption": "Consumption without heating",
    "normal_year_consumption": "Normal-year consumption",
}
"""The keys of a meter's energy signature sensors (their unique id is `<pdl>_<key>`) and
their names without the device's."""
GRAPH_DAYS = 60
"""The days the dashboard's graph shows: about two months, each day readable."""


def _statistic(pdl: str, series: str) -> str:
    return f"linky:{pdl}_{series}"


def energy_preferences() -> dict[str, Any]:
    """The Energy dashboard: the household meter, and the PV house's meter with its surplus
    returned to the grid; each with its energy cost, the surplus with its revenue."""

    def grid(name: str, pdl: str, *, export: bool) -> dict[str, Any]:
        return {
            "type": "grid",
            "name": name,
            "stat_energy_from": _statistic(pdl, "consumption"),
            "stat_energy_to": _statistic(pdl, "production") if export else None,
            "stat_cost": _statistic(pdl, "consumption_cost"),
            "entity_energy_price": None,
            "number_energy_price": None,
            "stat_compensation": _statistic(pdl, "production_revenue") if export else None,
            "entity_energy_price_export": None,
            "number_energy_price_export": None,
            "cost_adjustment_day": 0,
        }

    return {
        "energy_sources": [
            grid(f"Linky {HOME_PDL}", HOME_PDL, export=False),
            grid(f"Linky {PV_PDL} (solar)", PV_PDL, export=True),
        ],
        "device_consumption": [],
    }


@dataclass
class Demo:
    """The running demo."""

    emulator: EmulatorProcess
    ha: HomeAssistantProcess
    client: HomeAssistantClient
    entry_ids: list[str]


async def _add_pv_meter(emulator: EmulatorProcess, client: HomeAssistantClient) -> str:
    """The PV meter, with production enabled before its first import.

    The first run starts as soon as the entry exists, and production is an option, set
    afterwards. So the emulator holds the config flow's check and the first run's first call
    for 2 s each; the options are saved (the entry reloads, cancelling that run) meanwhile,
    and the next run imports consumption and production together.
    """
    await emulator.push_fault(
        status=200, kind="slow", delay=2, times=2, types=["consommation_quotidienne"]
    )
    token = await emulator.mint_token([PV_PDL])
    entry = await client.add_linky_entry(token, emulator.base_url)
    await client.options_flow(
        entry["entry_id"], "meter", {"production": True, "production_pdl": PV_PDL}
    )
    entry_id: str = entry["entry_id"]
    return entry_id


async def _wait_for_imports(client: HomeAssistantClient, entry_ids: list[str]) -> None:
    for entry_id in entry_ids:
        diagnostics = await client.wait_for_import(entry_id)
        sync = diagnostics["data"]["sync"]
        if sync["last_error"]:
            print(f"Warning: the first import of {entry_id} failed: {sync['last_error']}")


async def _set_tariffs(client: HomeAssistantClient, entry_ids: list[str]) -> None:
    """The contract of both meters and the PV meter's buy-back price, through the options
    menu; then wait until the costs of the newest imported hour are derived (the integration
    derives them oldest first, in the background, from the stored energy)."""
    for entry_id in entry_ids:
        await client.options_flow(entry_id, "contract", CONTRACT, {})
    await client.options_flow(entry_ids[0], "buyback", {"price": BUYBACK_EUR_PER_KWH})
    derived = {
        _statistic(PV_PDL, "consumption_cost"): _statistic(PV_PDL, "consumption"),
        _statistic(PV_PDL, "production_revenue"): _statistic(PV_PDL, "production"),
        _statistic(HOME_PDL, "consumption_cost"): _statistic(HOME_PDL, "consumption"),
    }
    for derived_id, energy_id in derived.items():
        await client.wait_for_statistic(derived_id, energy_id)


def temperature_csv(first: date, last: date) -> str:
    """A daily temperature file as `linky.import_temperatures` reads it (`date,temperature`),
    from `first` to `last` included: the emulator's outdoor temperature, the one its
    households heat by (`conso_emulator.truth.outdoor_temperature`), rounded to 0.1 °C as a
    weather service publishes it."""
    rows = ["date,temperature"]
    rows += [
        f"{day.isoformat()},{outdoor_temperature(day):.1f}"
        for day in (first + timedelta(days=n) for n in range((last - first).days + 1))
    ]
    return "\n".join(rows) + "\n"


async def _signature_entities(client: HomeAssistantClient, pdl: str) -> list[str]:
    """The entity ids of the meter's energy signature sensors, in `SIGNATURE_SENSORS` order."""
    registry = await client.ws_call("config/entity_registry/list")
    ids = {entity["unique_id"]: entity["entity_id"] for entity in registry}
    missing = [key for key in SIGNATURE_SENSORS if f"{pdl}_{key}" not in ids]
    if missing:
        raise HomeAssistantError(f"meter {pdl} has no signature sensor {missing}")
    return [ids[f"{pdl}_{key}"] for key in SIGNATURE_SENSORS]


async def _wait_for_signature(
    client: HomeAssistantClient, pdl: str, seconds: float = 180.0
) -> None:
    """Wait until the meter's signature quality sensor has a grade, then until its expected
    consumption has a row on the newest day of its consumption (the statistics are written
    after the fit, oldest first)."""
    quality = (await _signature_entities(client, pdl))[0]
    consumption, expected = _statistic(pdl, "consumption"), _statistic(pdl, "expected_consumption")
    state: dict[str, Any] = {}
    try:
        async with asyncio.timeout(seconds):
            while state.get("state") not in SIGNATURE_GRADES:
                with contextlib.suppress(HomeAssistantError):
                    state = await client.request("GET", f"/api/states/{quality}")
                await asyncio.sleep(0.5)
            while True:
                end = datetime.now(UTC)
                rows = await client.statistics(
                    [consumption, expected], end - timedelta(days=40), end, period="day"
                )
                newest = {key: max(row["start"] for row in found) for key, found in rows.items()}
                if consumption in newest and newest.get(expected) == newest[consumption]:
                    return
                await asyncio.sleep(0.5)
    except TimeoutError:
        raise TimeoutError(
            f"meter {pdl}: no energy signature in {seconds} s (quality {state.get('state')})"
        ) from None


async def _import_temperatures(
    emulator: EmulatorProcess, client: HomeAssistantClient, config_dir: Path, pdls: list[str]
) -> None:
    """Write the daily outdoor temperatures of the whole history the emulator serves into
    the configuration folder, import them for each meter with the action
    `linky.import_temperatures` (REST API), and wait for each meter's energy signature."""
    today = (await emulator.now()).astimezone(PARIS).date()
    text = temperature_csv(history_deadline(today, curve=False), today - timedelta(days=1))
    await asyncio.to_thread((config_dir / TEMPERATURE_FILE).write_text, text)
    for entry in await client.entries():
        answer = await client.request(
            "POST",
            "/api/services/linky/import_temperatures?return_response",
            json={"config_entry_id": entry["entry_id"], "path": TEMPERATURE_FILE},
        )
        if not answer["service_response"]["days_stored"]:
            raise HomeAssistantError(f"no temperature stored for {entry['title']}: {answer}")
    for pdl in pdls:
        await _wait_for_signature(client, pdl)


def signature_dashboard(pdl: str, sensors: list[str]) -> dict[str, Any]:
    """The "Energy signature" dashboard of one meter: its daily consumption against the
    signature's expectation at each day's temperature over `GRAPH_DAYS` days, and its
    signature sensors."""
    graph = {
        "type": "statistics-graph",
        "title": f"Linky {pdl}: daily consumption",
        "entities": [
            {"entity": _statistic(pdl, "consumption"), "name": "Actual"},
            {
                "entity": _statistic(pdl, "expected_consumption"),
                "name": "Expected at the day's temperature",
            },
        ],
        "days_to_show": GRAPH_DAYS,
        "period": "day",
        "stat_types": ["change"],
        "chart_type": "line",
        "grid_options": {"columns": "full", "rows": 7},
    }
    entities = {
        "type": "entities",
        "title": "Energy signature",
        "entities": [
            {"entity": entity_id, "name": name}
            for entity_id, name in zip(sensors, SIGNATURE_SENSORS.values(), strict=True)
        ],
    }
    return {
        "title": "Energy signature",
        "views": [
            {
                "title": "Energy signature",
                "path": "signature",
                "type": "sections",
                "max_columns": 3,
                "sections": [
                    {"type": "grid", "column_span": 2, "cards": [graph]},
                    {"type": "grid", "cards": [entities]},
                ],
            }
        ],
    }


async def _add_signature_dashboard(client: HomeAssistantClient, pdl: str) -> None:
    """The dashboard `SIGNATURE_DASHBOARD` (`signature_dashboard`), in the sidebar."""
    await client.ws_call(
        "lovelace/dashboards/create",
        url_path=SIGNATURE_DASHBOARD,
        title="Energy signature",
        icon="mdi:home-thermometer",
        show_in_sidebar=True,
    )
    config = signature_dashboard(pdl, await _signature_entities(client, pdl))
    await client.ws_call("lovelace/config/save", url_path=SIGNATURE_DASHBOARD, config=config)


async def _check_web_ui(client: HomeAssistantClient) -> None:
    """The web UI stays on "Loading..." when Home Assistant cannot list its services."""
    try:
        await client.ws_call("get_services")
    except HomeAssistantError as err:
        raise HomeAssistantError(
            f"{err}: the web UI would not load; are tools/requirements_frontend.txt "
            "installed (scripts/develop does it)?"
        ) from err


@contextlib.asynccontextmanager
async def run_demo(
    config_dir: Path, port: int = 8123, emulator_port: int = 8099
) -> AsyncIterator[Demo]:
    """Start and configure everything; stop both processes on exit."""
    write_config(config_dir, port)
    emulator = EmulatorProcess(emulator_port, config_dir / "emulator.log")
    ha = HomeAssistantProcess(config_dir, port)
    async with emulator, ha, HomeAssistantClient(ha.url) as client:
        await client.onboard(DEMO_USER)
        # The PV meter first: both meters share the request budget (50 per 12 h) and its
        # first import needs two series; the household meter then gets its daily history
        # and last week hour by hour, and back-fills later.
        entry_ids = [await _add_pv_meter(emulator, client)]
        home_token = await emulator.mint_token([HOME_PDL])
        entry_ids.append((await client.add_linky_entry(home_token, emulator.base_url))["entry_id"])
        await _wait_for_imports(client, entry_ids)
        await _set_tariffs(client, entry_ids)
        await client.ws_call("energy/save_prefs", **energy_preferences())
        await _import_temperatures(emulator, client, config_dir, [HOME_PDL, PV_PDL])
        await _add_signature_dashboard(client, HOME_PDL)
        await _check_web_ui(client)
        yield Demo(emulator, ha, client, entry_ids)


async def _wait_for_stop() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def main(args: argparse.Namespace) -> None:
    """Run the demo until Ctrl-C."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="linky-demo-") as tmp:
        config_dir = Path(tmp)
        print(f"Starting the Conso API emulator and Home Assistant in {config_dir} ...", flush=True)
        async with run_demo(config_dir, args.port, args.emulator_port) as demo:
            print(
                f"\nReady in {time.monotonic() - started:.0f} s.\n"
                f"  Home Assistant: {demo.ha.url}  (user {DEMO_USER.username}, "
                f"password {DEMO_USER.password})\n"
                f"  Energy dashboard: {demo.ha.url}/energy\n"
                f"  Energy signature: {demo.ha.url}/{SIGNATURE_DASHBOARD}\n"
                f"  Conso API emulator: {demo.emulator.base_url}\n"
                f"  Logs: {demo.ha.config_dir}/home-assistant.log\n"
                "Press Ctrl-C to stop.",
                flush=True,
            )
            await _wait_for_stop()
            print("Stopping ...", flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m tools.demo", description=__doc__)
    parser.add_argument("--port", type=int, default=8123, help="Home Assistant port (8123)")
    parser.add_argument("--emulator-port", type=int, default=8099, help="emulator port (8099)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
