"""Measuring tools shared by the benchmarks: an event-loop block monitor and the results.

Time is read with `clock_gettime(CLOCK_MONOTONIC)`: freezegun (used by the Home Assistant
test harness to move time through back-fill runs) patches `time.monotonic` and
`time.perf_counter`, but not this clock.
"""

from __future__ import annotations

import asyncio
from collections import Counter
import os
from pathlib import Path
import resource
import sys
import threading
import time
import traceback
from types import FrameType, TracebackType
from typing import Self

RESULTS: dict[str, float | int | str] = {}
"""Every figure measured in this process, by name (filled by the benchmarks, read by the
report in `benchmarks.__main__`)."""
OPTIONS: dict[str, int] = {"repeats": 5, "profile": 0}
"""Set by `benchmarks.__main__` before the run: CPU passes, and whether to profile them."""
BLOCKERS: dict[str, Counter[str]] = {}
"""Per measured phase, what the event loop's thread was doing while it was blocked (see
`LoopMonitor.blockers`)."""

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_STATM = Path("/proc/self/statm")


def real_seconds() -> float:
    """Monotonic wall-clock seconds that frozen time does not stop."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def rss_bytes() -> int:
    """The process's resident set size now (Linux), or 0 when unknown."""
    try:
        return int(_STATM.read_text().split()[1]) * _PAGE_SIZE
    except OSError, IndexError, ValueError:
        return 0


def max_rss_bytes() -> int:
    """The process's peak resident set size so far (`ru_maxrss`, KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class LoopMonitor:
    """Measures the longest time the event loop is blocked, and the peak RSS, meanwhile.

    A thread posts a callback to the loop every `interval` seconds and waits for it to run:
    how late it runs is how long the loop was busy with something else (a blocking callback,
    or the GIL held by another thread). The longest lateness is the longest block, to within
    `interval`. The same thread samples the resident set size, and, while the loop is
    blocked for longer than `blame_after` seconds, what the loop's thread is doing (its
    innermost frames), every `interval`: `blockers` counts those samples per stack, so a
    stack's count times `interval` is about how long it kept the loop blocked. Use as a
    context manager entered and left on the loop's thread.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        interval: float = 0.005,
        blame_after: float = 0.02,
    ) -> None:
        self._loop = loop
        self._interval = interval
        self._blame_after = blame_after
        self._loop_thread = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="loop-monitor", daemon=True)
        self.max_block_s = 0.0
        self.lateness: list[float] = []
        self.base_rss = 0
        self.peak_rss = 0
        self.blockers: Counter[str] = Counter()

    def __enter__(self) -> Self:
        self._loop_thread = threading.get_ident()
        self.base_rss = self.peak_rss = rss_bytes()
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def samples(self) -> int:
        """How many times the loop was probed."""
        return len(self.lateness)

    @property
    def p99_block_s(self) -> float:
        """The 99th percentile of the lateness (less sensitive to a noisy machine)."""
        ordered = sorted(self.lateness)
        return ordered[int(0.99 * (len(ordered) - 1))] if ordered else 0.0

    @property
    def peak_rss_growth(self) -> int:
        """How far the resident set size rose above its value on entry, in bytes."""
        return max(0, self.peak_rss - self.base_rss)

    def _watch(self) -> None:
        while not self._stop.is_set():
            ran = threading.Event()
            posted = real_seconds()
            self._loop.call_soon_threadsafe(self._on_loop, posted, ran)
            while not ran.wait(self._interval):
                if self._stop.is_set():  # the loop is leaving the monitor: not a block
                    return
                if real_seconds() - posted > self._blame_after:
                    self._blame()
            self.peak_rss = max(self.peak_rss, rss_bytes())
            time.sleep(self._interval)

    def _blame(self) -> None:
        """Sample the loop thread's stack, and the innermost frames of the other threads
        (one of them may hold the GIL that the loop is waiting for)."""
        names = {thread.ident: thread.name for thread in threading.enumerate()}
        me = threading.get_ident()
        others = []
        for ident, frame in sys._current_frames().items():
            if ident == self._loop_thread:
                self.blockers[_describe(frame)] += 1
            elif ident != me:
                others.append(f"{names.get(ident, ident)}: {_describe(frame, 2).strip()}")
        self.blockers["other threads meanwhile:\n  " + "\n  ".join(sorted(others))] += 1

    def _on_loop(self, posted: float, ran: threading.Event) -> None:
        late = real_seconds() - posted
        ran.set()
        if self._stop.is_set():
            return
        self.max_block_s = max(self.max_block_s, late)
        self.lateness.append(late)


def _describe(frame: FrameType, depth: int = 12) -> str:
    """The innermost frames of a stack, innermost last, one per line."""
    return "".join(
        f"  {Path(summary.filename).name}:{summary.lineno} {summary.name}\n"
        for summary in traceback.extract_stack(frame, limit=depth)
    )
