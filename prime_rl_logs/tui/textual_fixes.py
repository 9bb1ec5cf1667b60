"""Fixes to Textual, applied once when the dashboard's app module loads (`apply`).

`Strip.divide` keeps what it returns in the strip's own cache, and for a cut at the
strip's end that is ``[self]``: the strip then refers to itself, and every strip the
compositor has drawn (it divides each line at the widgets' edges) can only be freed
by the cyclic garbage collector. At 10,000 lines/s the first collection of the older
generation found 44,000 such objects (3,600 strips with their seven caches each) and
held the event loop 180-280 ms (issue 12: a marker scrolled off before it was seen).
Here the ``[self]`` case is answered without the cache; any other cut is Textual's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from textual.strip import Strip

__all__ = ["apply"]

_divide = Strip.divide


def _divide_without_self_cycle(self: Strip, cuts: Iterable[int]) -> Sequence[Strip]:
    cell_length = self.cell_length
    kept = [cut for cut in cuts if cut <= cell_length]
    if kept == [cell_length]:
        return [self]
    return _divide(self, kept)


def apply() -> None:
    """Apply the fixes (once; later calls change nothing)."""
    Strip.divide = _divide_without_self_cycle  # type: ignore[method-assign]
