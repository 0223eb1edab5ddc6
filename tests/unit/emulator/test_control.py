"""HTTP control endpoints (`/_emulator/...`) and the loopback-only server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from conso_emulator import HOME_PDL, NO_CURVE_PDL, PV_PDL, Emulator, EmulatorServer

from .helpers import NOW, PARIS, TODAY, Api

WEEK = (TODAY - timedelta(days=7), TODAY)


class Control:
    def __init__(self, session: aiohttp.ClientSession, server: EmulatorServer) -> None:
        self.session = session
        self.root = f"{server.root_url}/_emulator"

    async def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.session.request(method, f"{self.root}/{path}", **kwargs) as response:
            return response.status, await response.json()


@pytest.fixture
async def control(server: EmulatorServer) -> AsyncIterator[Control]:
    async with aiohttp.ClientSession() as session:
        yield Control(session, server)


async def test_truth_endpoint_matches_the_truth(control: Control, emu: Emulator) -> None:
    start = datetime(2026, 10, 24, 22, tzinfo=UTC)
    end = datetime(2026, 10, 26, 0, tzinfo=UTC)
    status, body = await control.request(
        "GET",
        "truth",
        params={
            "pdl": PV_PDL,
            "production": "1",
            "start": start.isoformat(),
            "end": end.isoformat(),
        },
    )
    assert status == 200
    expected = emu.truth.hourly_wh(PV_PDL, True, start, end)
    assert body == {hour.isoformat(): wh for hour, wh in expected.items()}
    assert next(iter(body)) == "2026-10-24T22:00:00+00:00"
    assert len(body) == 26


async def test_truth_endpoint_rejects_bad_queries(control: Control) -> None:
    status, body = await control.request("GET", "truth", params={"pdl": HOME_PDL})
    assert status == 400
    assert "start" in body["error"]
    status, _ = await control.request(
        "GET", "truth", params={"pdl": HOME_PDL, "start": "2026-11-01", "end": "2026-11-02"}
    )
    assert status == 400  # naive datetimes


async def test_requests_endpoints(control: Control, api: Api) -> None:
    await api.get("consommation_quotidienne", HOME_PDL, *WEEK)
    status, body = await control.request("GET", "requests")
    assert status == 200
    assert body == [
        {
            "time": NOW.isoformat(),
            "method": "GET",
            "type": "consommation_quotidienne",
            "params": {
                "pointId": HOME_PDL,
                "dateDebut": WEEK[0].isoformat(),
                "dateFin": WEEK[1].isoformat(),
            },
            "status": 200,
        }
    ]
    assert (await control.request("DELETE", "requests"))[0] == 200
    assert (await control.request("GET", "requests"))[1] == []


async def test_faults_endpoint(control: Control, api: Api) -> None:
    status, body = await control.request(
        "POST",
        "faults",
        json={
            "status": 429,
            "kind": "rate_limited",
            "times": 2,
            "types": ["courbe_de_charge_consommation"],
            "next_access_time": "2026-11-21T05:00:00+00:00",
        },
    )
    assert (status, body) == (200, {"queued": 1})
    assert (await api.get("consommation_quotidienne", HOME_PDL, *WEEK)).status == 200
    reply = await api.get("courbe_de_charge_consommation", HOME_PDL, *WEEK)
    assert reply.status == 429
    assert reply.body["error"]["nextAccessTime"] == "2026-Nov-21 05:00:00+0000 UTC"
    assert (await control.request("DELETE", "faults"))[1] == {"queued": 0}
    assert (await api.get("courbe_de_charge_consommation", HOME_PDL, *WEEK)).status == 200
    status, body = await control.request("POST", "faults", json={"status": 429, "kind": "x"})
    assert status == 400
    assert "unknown fault kind" in body["error"]


async def test_ban_after_endpoint(control: Control, api: Api) -> None:
    assert (await control.request("POST", "ban_after", json={"n": 1}))[0] == 200
    assert (await api.get("consommation_quotidienne", HOME_PDL, *WEEK)).status == 200
    assert (await api.get("consommation_quotidienne", HOME_PDL, *WEEK)).status == 403
    status, _ = await control.request("GET", "requests")  # control endpoints are never banned
    assert status == 200
    await control.request("POST", "ban_after", json={"n": None})
    assert (await api.get("consommation_quotidienne", HOME_PDL, *WEEK)).status == 200


async def test_token_endpoint(control: Control, api: Api) -> None:
    status, body = await control.request("POST", "token", json={"prms": [PV_PDL]})
    assert status == 200
    params = {"pointId": PV_PDL, "dateDebut": "2026-11-10", "dateFin": "2026-11-12"}
    reply = await api.call("production_quotidienne", params, token=body["token"])
    assert reply.status == 200
    _, expired = await control.request(
        "POST",
        "token",
        json={"prms": [PV_PDL], "expires_at": (NOW - timedelta(days=1)).isoformat()},
    )
    assert (await api.call("production_quotidienne", params, token=expired["token"])).status == 401
    assert (await control.request("POST", "token", json={"prms": "x"}))[0] == 400
    assert (await control.request("POST", "token", data="not json"))[0] == 400


async def test_meters_endpoint(control: Control, api: Api, emu: Emulator) -> None:
    status, body = await control.request("POST", f"meters/{HOME_PDL}", json={"consent": False})
    assert status == 200
    assert body["consent"] is False
    assert emu.meters[HOME_PDL].consent is False
    reply = await api.get("consommation_quotidienne", HOME_PDL, *WEEK)
    assert reply.body["error"]["error"] == "ADAM-DC-0008"
    await control.request(
        "POST",
        f"meters/{NO_CURVE_PDL}",
        json={"load_curve_enabled": True, "activation_date": "2026-11-15"},
    )
    assert emu.meters[NO_CURVE_PDL].activation_date == date(2026, 11, 15)
    assert (await api.get("courbe_de_charge_consommation", NO_CURVE_PDL, *WEEK)).status == 400
    status, body = await control.request(
        "POST", "meters/11111111111111", json={"production": True, "profile": "pv"}
    )
    assert (status, body["profile"], body["production"]) == (200, "pv", True)
    assert (await control.request("POST", f"meters/{HOME_PDL}", json={"consent": "no"}))[0] == 400
    assert (await control.request("POST", f"meters/{HOME_PDL}", json={"color": 1}))[0] == 400
    assert (await control.request("POST", "meters/123", json={}))[0] == 400
    status, meters = await control.request("GET", "meters")
    assert len(meters) == 5


async def test_clock_endpoint(control: Control, api: Api, emu: Emulator) -> None:
    later = datetime(2027, 1, 10, 9, 0, tzinfo=PARIS)
    status, body = await control.request("POST", "clock", json={"now": later.isoformat()})
    assert (status, body) == (200, {"now": later.isoformat()})
    assert emu.now() == later
    assert (await control.request("GET", "clock"))[1] == {"now": later.isoformat()}
    reply = await api.get("consommation_quotidienne", HOME_PDL, date(2027, 1, 2), date(2027, 1, 10))
    assert reply.status == 200
    await control.request("POST", "clock", json={"now": later.isoformat(), "frozen": False})
    assert timedelta(0) <= emu.now() - later < timedelta(seconds=5)
    assert (await control.request("POST", "clock", json={"now": "2027-01-10T09:00"}))[0] == 400


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::"])  # noqa: S104
def test_server_refuses_non_loopback_addresses(emu: Emulator, host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        EmulatorServer(emu, host=host)


async def test_server_base_url(server: EmulatorServer) -> None:
    assert server.base_url == f"http://127.0.0.1:{server.port}/api"
    assert server.root_url == f"http://127.0.0.1:{server.port}"
    assert server.port > 0


async def test_a_busy_port_fails_cleanly(server: EmulatorServer, emu: Emulator) -> None:
    with pytest.raises(OSError, match="address already in use"):
        await EmulatorServer(emu, port=server.port).start()


async def test_tempo_calendar_is_served(control: Control, server: EmulatorServer) -> None:
    async with control.session.get(f"{server.root_url}/tempo/api/jourTempo/today") as response:
        assert response.status == 200
        assert (await response.json())["dateJour"] == TODAY.isoformat()
