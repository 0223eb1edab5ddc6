"""`python -m conso_emulator`: serve the emulator on a loopback address until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from datetime import datetime
import logging

from .emulator import Emulator
from .server import EmulatorServer


def _aware(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError("give a UTC offset, e.g. 2026-11-20T09:00:00+01:00")
    return parsed


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m conso_emulator",
        description="Local Conso API emulator (loopback only). Prints the base URL and one "
        "token per default meter, then serves until Ctrl-C.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8099, help="port, 0 for any (8099)")
    parser.add_argument(
        "--now",
        type=_aware,
        help="start the emulator clock at this aware ISO time; it then runs in real time",
    )
    parser.add_argument(
        "--frozen", action="store_true", help="keep the clock fixed at --now instead"
    )
    parser.add_argument("--access-log", action="store_true", help="log every request line")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Start the server, print how to use it, and wait forever."""
    emu = Emulator()
    if args.now is not None:
        emu.set_now(args.now, frozen=args.frozen)
    async with EmulatorServer(emu, args.host, args.port, access_log=args.access_log) as server:
        print(f"Conso API emulator, clock at {emu.now().isoformat()}")
        print(f"Base URL: {server.base_url}")
        for meter in emu.meters.values():
            print(f"PDL {meter.pdl} ({meter.profile}) token: {emu.mint_token([meter.pdl])}")
        print("Press Ctrl-C to stop.", flush=True)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    args = parse_args(argv)
    if args.access_log:
        logging.basicConfig(level=logging.INFO)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))


if __name__ == "__main__":
    main()
