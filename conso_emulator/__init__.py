"""Local emulator of the Conso API (conso.boris.sh), for tests and demos. No Home Assistant
import.

It serves the V2 and legacy measurement types from a deterministic synthetic ground truth,
enforces Conso API's and Enedis's rules with the real error bodies, publishes data on the
Enedis rhythm against an injectable clock, and can script faults (quota, outages, bad
gateway, slowness, Cloudflare ban). Run it with `python -m conso_emulator`.

In-process use::

    emu = Emulator(clock)  # clock: () -> aware datetime; default real time
    async with EmulatorServer(emu) as server:  # 127.0.0.1, free port
        token = emu.mint_token([HOME_PDL])
        ...  # GET {server.base_url}/consommation_quotidienne?pointId=&dateDebut=&dateFin=
        emu.truth.hourly_wh(HOME_PDL, False, start, end)  # what the API should have given
        emu.faults.push(Fault(429))

Out-of-process control (JSON, under `server.root_url`): `GET /_emulator/truth?pdl=&production=
0|1&start=&end=`, `GET|DELETE /_emulator/requests`, `POST|DELETE /_emulator/faults`,
`POST /_emulator/ban_after {"n": 3}`, `POST /_emulator/token {"prms": [...]}`,
`GET /_emulator/meters`, `POST /_emulator/meters/<pdl> {"consent": false}`,
`GET|POST /_emulator/clock {"now": "<iso>", "frozen": true}`. The Tempo calendar is served
under `/tempo/api/` (see `conso_emulator.tempo`).
"""

from .emulator import EMULATOR_KEY, Emulator, RequestRecord
from .faults import Fault
from .meters import HOME_PDL, NEW_PDL, NO_CURVE_PDL, PV_PDL, Meter
from .server import ROUTES, EmulatorServer, build_app
from .session import EmulatorSession

__all__ = [
    "EMULATOR_KEY",
    "HOME_PDL",
    "NEW_PDL",
    "NO_CURVE_PDL",
    "PV_PDL",
    "ROUTES",
    "Emulator",
    "EmulatorServer",
    "EmulatorSession",
    "Fault",
    "Meter",
    "RequestRecord",
    "build_app",
]
