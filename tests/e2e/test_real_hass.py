"""End to end in a real Home Assistant: `hass` and the emulator run as separate processes.

The test only uses what a user (or the frontend) uses: REST onboarding, the REST config-flow
API exactly as the UI submits it, the websocket API, the diagnostics download and the log file.
It checks that the hourly statistics equal the emulator's ground truth, that a restart adds no
row and sends no request, that no token leaks, and that a revoked consent asks for reauth.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from conso_emulator import HOME_PDL, PV_PDL
from tools.ha_driver import (
    DEMO_USER,
    EmulatorProcess,
    HomeAssistantClient,
    HomeAssistantProcess,
    free_port,
    scan_for_secrets,
)

PARIS = ZoneInfo("Europe/Paris")
CONSUMPTION = f"linky:{HOME_PDL}_consumption"
SETTLED_AFTER_DAYS = 4
"""A day is published at D+1 08:00, or D+3 08:00 when late: from D+4 on, the truth of D can
no longer change while the test runs."""
MIN_HOURLY_DAYS = 60
MIN_HISTORY_DAYS = 2 * 365


@dataclass
class Setup:
    """A running emulator and Home Assistant, onboarded, with a client logged in."""

    emulator: EmulatorProcess
    ha: HomeAssistantProcess
    client: HomeAssistantClient


@pytest.fixture
async def setup(tmp_path: Path, socket_enabled: None) -> AsyncIterator[Setup]:
    """Start the emulator and `hass` on free 127.0.0.1 ports; stop both afterwards."""
    emulator = EmulatorProcess(free_port(), tmp_path / "emulator.log")
    ha = HomeAssistantProcess(tmp_path / "config", free_port())
    async with emulator, ha, HomeAssistantClient(ha.url) as client:
        await client.onboard(DEMO_USER)
        yield Setup(emulator, ha, client)


def _local_day(start_ms: float) -> date:
    return datetime.fromtimestamp(start_ms / 1000, UTC).astimezone(PARIS).date()


def _rows_by_day(rows: list[dict[str, Any]]) -> dict[date, dict[datetime, float]]:
    days: dict[date, dict[datetime, float]] = defaultdict(dict)
    for row in rows:
        start = datetime.fromtimestamp(row["start"] / 1000, UTC)
        days[_local_day(row["start"])][start] = row["state"]
    return days


def _is_daily_row(day: date, hours: dict[datetime, float]) -> bool:
    """A day stored as one row at its local midnight (older than the hourly back-fill)."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=PARIS).astimezone(UTC)
    return list(hours) == [midnight]


async def _wait_until_recorded(client: HomeAssistantClient, entry_id: str) -> list[dict[str, Any]]:
    """The consumption rows, once the recorder holds what the integration's ledger says it
    stored (as many daily and hourly days, and the same total)."""
    diagnostics = await client.wait_for_import(entry_id)
    sync = diagnostics["data"]["sync"]
    assert sync["last_error"] is None, sync["last_error"]
    series = sync["series"]["consumption"]
    start = datetime(2000, 1, 1, tzinfo=UTC)
    end = datetime.now(UTC) + timedelta(days=1)
    for _ in range(60):
        rows = (await client.statistics([CONSUMPTION], start, end)).get(CONSUMPTION, [])
        days = _rows_by_day(rows)
        daily = sum(_is_daily_row(day, hours) for day, hours in days.items())
        if (
            rows
            and abs(rows[-1]["sum"] - series["total_kwh"]) < 1e-3
            and {"daily": daily, "hourly": len(days) - daily} == series["resolutions"]
        ):
            return rows
        await asyncio.sleep(0.5)
    pytest.fail(f"the recorder never caught up with the ledger: {series}")


async def _check_against_truth(setup: Setup, rows: list[dict[str, Any]]) -> None:
    """Every stored hour equals the truth to the Wh; days older than the hourly back-fill
    hold their day total; every settled published day is stored; sums chain exactly."""
    today = (await setup.emulator.now()).astimezone(PARIS).date()
    stored = _rows_by_day(rows)
    first = min(stored)
    assert (today - first).days >= MIN_HISTORY_DAYS, f"history starts only on {first}"
    truth_hours = await setup.emulator.truth(
        HOME_PDL,
        False,
        datetime(first.year, first.month, first.day, tzinfo=PARIS),
        datetime(today.year, today.month, today.day, tzinfo=PARIS),
    )
    truth: dict[date, dict[datetime, int]] = defaultdict(dict)
    for hour, wh in truth_hours.items():
        truth[hour.astimezone(PARIS).date()][hour] = wh

    hourly_days = 0
    day = first
    while day < today:
        hours, expected = stored.get(day), truth.get(day)
        if (today - day).days >= SETTLED_AFTER_DAYS:
            assert (hours is None) == (expected is None), f"{day}: stored {hours is not None}"
        if hours is not None:
            assert expected is not None, f"{day} is stored but was never published"
            if _is_daily_row(day, hours):
                assert round(next(iter(hours.values())) * 1000, 6) == sum(expected.values()), day
            else:
                hourly_days += 1
                assert {hour: round(kwh * 1000, 6) for hour, kwh in hours.items()} == expected, day
        day += timedelta(days=1)
    assert hourly_days >= MIN_HOURLY_DAYS, f"only {hourly_days} days stored hour by hour"

    previous = None
    for row in rows:
        if previous is not None:
            assert row["sum"] == pytest.approx(previous["sum"] + row["state"], abs=1e-6), row
        previous = row


async def _check_restart(setup: Setup, rows: list[dict[str, Any]], entry_id: str) -> None:
    """A restart loads the entry from what is stored: no request, no new or changed row."""
    requests = len(await setup.emulator.requests())
    await setup.ha.restart()
    for _ in range(120):
        entries = await setup.client.entries()
        if [entry["state"] for entry in entries] == ["loaded"]:
            break
        await asyncio.sleep(0.25)
    else:
        pytest.fail(f"the entry did not load after the restart: {entries}")
    await asyncio.sleep(5)  # a run scheduled "now" would have started by then
    assert len(await setup.emulator.requests()) == requests, "requests sent after the restart"
    start = datetime(2000, 1, 1, tzinfo=UTC)
    end = datetime.now(UTC) + timedelta(days=1)
    after = (await setup.client.statistics([CONSUMPTION], start, end))[CONSUMPTION]
    starts = [row["start"] for row in after]
    assert len(starts) == len(set(starts)), "duplicate rows"
    assert after == rows
    diagnostics = await setup.client.diagnostics(entry_id)
    assert diagnostics["data"]["sync"]["series"]["consumption"]["stored_days"] == len(
        _rows_by_day(rows)
    )


async def _check_reauth_on_revoked_consent(setup: Setup) -> tuple[str, str]:
    """Revoke the consent while the first run's first request is in flight: the run ends
    with Enedis's "no consent" answer and Home Assistant opens a reauth flow."""
    # The emulator holds the next two daily-consumption requests (the config flow's check,
    # then the first run's first call) for 3 s each; the consent is revoked meanwhile.
    await setup.emulator.push_fault(
        status=200, kind="slow", delay=3, times=2, types=["consommation_quotidienne"]
    )
    token = await setup.emulator.mint_token([PV_PDL])
    entry = await setup.client.add_linky_entry(token, setup.emulator.base_url)
    await setup.emulator.update_meter(PV_PDL, consent=False)
    for _ in range(60):
        flows = await setup.client.flows_in_progress()
        reauth = [
            flow
            for flow in flows
            if flow["handler"] == "linky"
            and flow["context"].get("source") == "reauth"
            and flow["context"].get("entry_id") == entry["entry_id"]
        ]
        if reauth:
            assert reauth[0]["step_id"] == "reauth_confirm"
            return entry["entry_id"], token
        await asyncio.sleep(0.5)
    pytest.fail("no reauth flow after the consent was revoked")


async def test_real_home_assistant(setup: Setup) -> None:
    """Onboarded HA + the integration added through the UI's REST API, end to end."""
    token = await setup.emulator.mint_token([HOME_PDL])
    entry = await setup.client.add_linky_entry(token, setup.emulator.base_url)
    assert entry["title"] == f"Linky {HOME_PDL}"
    entry_id = entry["entry_id"]

    rows = await _wait_until_recorded(setup.client, entry_id)
    await _check_against_truth(setup, rows)
    await _check_restart(setup, rows, entry_id)

    diagnostics = json.dumps(await setup.client.diagnostics(entry_id))
    assert not scan_for_secrets(diagnostics, [token, HOME_PDL]), "diagnostics leak a secret"

    pv_entry_id, pv_token = await _check_reauth_on_revoked_consent(setup)
    assert pv_entry_id != entry_id

    logs = setup.ha.logs()
    assert "Linky" in logs or "linky" in logs, "the log file is not the integration's"
    assert not scan_for_secrets(logs, [token, pv_token]), "a token is in the log"
