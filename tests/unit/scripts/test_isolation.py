"""Whatever stops a script (Ctrl-C, SIGTERM, `timeout -k`'s SIGKILL, a CI runner), nothing it
started survives: the command runs in a PID namespace whose first process dies with the
script (`scripts/lib/env.sh`, `_linky_isolated`)."""

from __future__ import annotations

import os
from pathlib import Path
import shutil
import signal
import subprocess
import time

import pytest

ENV_SH = Path(__file__).parents[3] / "scripts" / "lib" / "env.sh"
WRITER = 'while :; do date +%s%N > "$0"; sleep 0.05; done'


def _can_isolate() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("setpriv"):
        return False
    probe = subprocess.run(
        ["unshare", "--pid", "--fork", "--kill-child", "true"],  # noqa: S607
        check=False,
        capture_output=True,
    )
    return probe.returncode == 0


def _written_at(path: Path) -> int:
    return path.stat().st_mtime_ns


@pytest.mark.skipif(not _can_isolate(), reason="needs root and PID namespaces")
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_nothing_survives_the_script(tmp_path: Path, stop: signal.Signals) -> None:
    """A command started by a script keeps writing a file; the script is stopped; a second
    later nobody writes it any more."""
    beat = tmp_path / "beat"
    script = (
        f'. "{ENV_SH}"\n'
        "_linky_isolated unshare --pid --fork --kill-child "
        f"sh -c '{WRITER}' \"{beat}\"\n"
    )
    process = subprocess.Popen(["bash", "-c", script], start_new_session=True)  # noqa: S603, S607
    try:
        deadline = time.monotonic() + 20
        while not beat.exists():
            assert time.monotonic() < deadline, "the command did not start"
            time.sleep(0.05)
        os.kill(process.pid, stop)
        process.wait(timeout=20)
        time.sleep(0.5)
        last = _written_at(beat)
        time.sleep(1.0)
        assert _written_at(beat) == last, "a process started by the script survived it"
    finally:
        if process.poll() is None:
            process.kill()
