"""Background work steps aside while the user waits for the screen.

The dashboard's event loop runs its background work (a pane's history, the index of
older lines) in slices of about 10 ms. A key press reaches the app's action only
after several hops (the app, the focused widget, each of its parents: Textual
delivers a key by message), and every hop waits behind whatever else is ready on the
loop. With a history slice, an index slice and a frame of a busy pane ready at each
hop, a pane switch at 256 files took 110-160 ms before its action ran
(`docs/benchmarks.md`, "Keys at 256 files").

A `Gate` is held when a key arrives (and after a pane switch, until the frame that
shows it); background loops `wait` on it before each slice. So that a stream of keys
(a held-down ``k``) never starves the work a key may be waiting for (scrolling into
history that is still being read), a wait ends after ``most`` seconds even while the
gate is held.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Final

__all__ = ["MOST_WAIT_S", "Gate"]

MOST_WAIT_S: Final = 0.25
"""A slice of background work waits at most this long, held or not."""


class Gate:
    """Held for a while after each key; background work waits while it is held."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until = 0.0
        self._released = asyncio.Event()

    def hold(self, seconds: float) -> None:
        """Hold the gate for the next ``seconds`` (never shortens a longer hold)."""
        self._until = max(self._until, self._clock() + seconds)

    def release(self) -> None:
        """Open the gate now; its waiters go on."""
        self._until = 0.0
        self._released.set()

    @property
    def held(self) -> float:
        """Seconds the gate stays held (0 when open)."""
        return max(0.0, self._until - self._clock())

    async def wait(self, most: float | None = None) -> None:
        """Return when the gate is open, or after ``most`` seconds of waiting
        (`MOST_WAIT_S` by default)."""
        end = self._clock() + (MOST_WAIT_S if most is None else most)
        while (left := min(self._until, end) - self._clock()) > 0:
            self._released.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), left)
