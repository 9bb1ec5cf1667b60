"""When the panes' history is read: `History`, and the gate keys hold.

A view's history (the rows above what it has read so far) is read on the event loop
in slices of `HISTORY_SLICE_S`, newest rows first, with a pause of `HISTORY_PAUSE_S`
between slices for frames and keys. Every slice first waits on the app's
`core.gate.Gate`, which is held:

- for `INPUT_HOLD_S` after a key or a click arrives, so the hops that carry it to its
  action (Textual delivers a key by message, to the app, the focused widget and each
  of its parents) do not each wait behind a slice;
- after a pane switch, for `SWITCH_HOLD_S` (the frame showing the switch first), or
  for `FRAME_S` when the new view has no rows yet (its first screen is history).

The background index of `core.watch` waits on the same gate, and so does each batch
of live lines before the app applies it (its frame, 20-40 ms in a pane of 253 files,
would hold up the key's hops too; the lines show at most `INPUT_HOLD_S` later).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from prime_rl_logs.core.gate import Gate

if TYPE_CHECKING:
    from prime_rl_logs.core.view import View
    from prime_rl_logs.tui.pane import LogPane

__all__ = [
    "FIRST_SCREEN_S",
    "FRAME_S",
    "HISTORY_PAUSE_S",
    "HISTORY_SLICE_S",
    "INPUT_HOLD_S",
    "SWITCH_HOLD_S",
    "History",
]

FIRST_SCREEN_S: Final = 0.005
"""A new view of the index's rows reads this long at once: enough for a screen."""
HISTORY_SLICE_S = 0.008
"""One slice of history reading (tests set it to 0)."""
HISTORY_PAUSE_S: Final = 0.004
INPUT_HOLD_S: Final = 0.1
SWITCH_HOLD_S: Final = 0.05
FRAME_S: Final = 0.02


class History:
    """Reads the panes' pending history while there is some, between the keys."""

    def __init__(self, panes: Sequence[LogPane], gate: Gate) -> None:
        self.panes = panes
        self.gate = gate
        self._wanted = asyncio.Event()

    def want(self) -> None:
        """A pane may have history to read again (a new view, new lines)."""
        self._wanted.set()

    def shown(self, view: View) -> None:
        """A pane now shows ``view``: its frame first, then its history."""
        self.gate.hold(SWITCH_HOLD_S if len(view) else FRAME_S)
        self.want()

    async def run(self) -> None:
        """Fill in the panes' history, newest first, forever (the app's worker)."""
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            while pending := [p for p in self.panes if p.history_pending]:
                await self.gate.wait()
                for pane in pending:
                    await pane.build_history(HISTORY_SLICE_S)
                # Leave the loop room to paint and answer keys between slices.
                await asyncio.sleep(HISTORY_PAUSE_S)
