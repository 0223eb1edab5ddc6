"""Steps that a cancellation does not cut in two. No Home Assistant import.

Writing a plan to the recorder and updating the ledger that describes it must happen
together: an entry unloaded (reload, options saved, deletion) in the middle of a run cancels
the run, and a plan half queued, or queued without its ledger update, would leave the stored
sums and the ledger disagreeing. `AtomicSteps.run` shields a step from cancellation (the
caller still sees the cancellation once the step is done); `wait` lets the owner wait for
the steps in progress before it saves its state and stops.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class AtomicSteps:
    """The shielded steps of one owner (a meter's sync engine, a derived part)."""

    def __init__(self) -> None:
        self._running: set[asyncio.Future[None]] = set()

    async def run(self, step: Coroutine[Any, Any, None]) -> None:
        """Run `step` to its end even if the caller is cancelled meanwhile."""
        task = asyncio.ensure_future(step)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        await asyncio.shield(task)

    async def wait(self) -> None:
        """Wait for the steps in progress (their errors are the callers' to see)."""
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
