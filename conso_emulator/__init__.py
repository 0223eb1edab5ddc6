"""Local emulator of the Conso API (conso.boris.sh), for tests and demos. No Home Assistant
import.

It serves the V2 and legacy measurement types from a deterministic synthetic ground truth,
enforces Conso API's and Enedis's rules with the real error bodies, publishes data on the
Enedis rhythm against an injectable clock, and can script faults (quota, outages, bad
gateway, slowness, Cloudflare ban). Run it with `python -m conso_emulator`.
"""

from .emulator import EMULATOR_KEY, Emulator, RequestRecord
from .faults import Fault
from .meters import HOME_PDL, NEW_PDL, NO_CURVE_PDL, PV_PDL, Meter
from .server import ROUTES, EmulatorServer, build_app

__all__ = [
    "EMULATOR_KEY",
    "HOME_PDL",
    "NEW_PDL",
    "NO_CURVE_PDL",
    "PV_PDL",
    "ROUTES",
    "Emulator",
    "EmulatorServer",
    "Fault",
    "Meter",
    "RequestRecord",
    "build_app",
]
