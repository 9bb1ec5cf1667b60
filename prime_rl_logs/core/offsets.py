"""`PackedOffsets`: a sorted run of byte offsets in about 1 byte each.

A `core.index.LineIndex` holds one offset per line of every file it follows: 8 bytes
a line in a plain ``array('q')``, 240 MB for the 30 M lines of 128 files of 20 MB.
Here full blocks of `BLOCK` offsets are kept as their first one and, when every line
of the block is shorter than 256 bytes (as ordinary log lines are), the lengths of
its lines, one byte each (``'B'``: 33 MB for those 30 M lines); else relative to the
first one, in the narrowest array that holds the block's span (``'H'`` below 64 KiB,
else ``'I'``, else ``'q'``). A lookup in a block of lengths adds them up (a C loop
over `BLOCK` bytes), and the last `EXPANDED` blocks so added up are kept (lookups
come in order); `slice` adds up as it copies.
Only the last, partial block is plain. Offsets are added at one end only (`extend`,
`append`), ascending or, for a backward build, descending; lookups are by position
and by value (`bisect`), and `slice` hands out a plain ``array('q')``. Pure data, no
I/O.
"""

from __future__ import annotations

import operator
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from itertools import accumulate, islice, repeat
from typing import Final

__all__ = ["BLOCK", "PackedOffsets"]

BLOCK: Final = 512
"""Offsets in one packed block (a block costs about 80 bytes of overhead)."""
EXPANDED: Final = 8
"""Blocks of lengths kept added up, the last looked in (4 kB each)."""


class PackedOffsets:
    """Offsets in order (ascending, or descending with ``descending=True``).

    Positions are 0-based and non-negative. ``bisect(value)`` is the position of the
    first offset not before ``value`` in the store's order (``right=True``: the first
    after it), as `bisect.bisect_left` / `bisect_right` on the plain array would be
    (descending: ``bisect_left(a, -value, key=operator.neg)``).
    """

    __slots__ = ("_bases", "_blocks", "_expanded", "_last_packed", "_sign", "_tail")

    def __init__(self, *, descending: bool = False) -> None:
        self._sign = -1 if descending else 1
        self._bases = array("q")  # the first offset of each packed block
        # Each block: its BLOCK - 1 line lengths ('B'), or |offset - base| of its offsets.
        self._blocks: list[array[int]] = []
        self._tail = array("q")  # the last offsets, fewer than BLOCK, plain
        self._expanded: dict[int, array[int]] = {}  # `_rel` of the blocks last looked in
        self._last_packed = 0  # the last offset of the last packed block

    def __len__(self) -> int:
        return len(self._blocks) * BLOCK + len(self._tail)

    def __getitem__(self, i: int) -> int:
        b, j = divmod(i, BLOCK)
        if b < len(self._blocks):
            return self._bases[b] + self._sign * self._rel(b)[j]
        return self._tail[j]

    def _rel(self, b: int) -> array[int]:
        """|offset - base| of block ``b``'s offsets (lengths added up)."""
        block = self._blocks[b]
        if block.typecode != "B":
            return block
        rel = self._expanded.get(b)
        if rel is None:
            if len(self._expanded) >= EXPANDED:
                del self._expanded[next(iter(self._expanded))]  # the oldest
            rel = self._expanded[b] = array("q", accumulate(block, initial=0))
        return rel

    def __iter__(self) -> Iterator[int]:
        yield from self.slice(0, len(self))

    @property
    def nbytes(self) -> int:
        """Memory held by the offsets (the arrays' buffers and their objects)."""
        blocks = sum(b.buffer_info()[1] * b.itemsize + 64 for b in self._blocks)
        plain = len(self._bases) + len(self._tail) + BLOCK * len(self._expanded)
        return blocks + plain * 8 + len(self._blocks) * 8

    # -- growing ---------------------------------------------------------------------

    def append(self, value: int) -> None:
        tail = self._tail
        tail.append(value)
        if len(tail) == BLOCK:
            self._pack(tail)
            self._tail = array("q")

    def extend(self, values: Iterable[int]) -> None:
        tail = self._tail
        tail.extend(values)
        if len(tail) < BLOCK:
            return
        full = len(tail) - len(tail) % BLOCK
        for a in range(0, full, BLOCK):
            self._pack(tail[a : a + BLOCK])
        self._tail = tail[full:]

    def _pack(self, chunk: array[int]) -> None:
        base = chunk[0]
        later = chunk[1:]
        if self._sign > 0:
            span = chunk[-1] - base
            lengths = map(operator.sub, later, chunk)
            rel = map(operator.sub, chunk, repeat(base))
        else:
            span = base - chunk[-1]
            lengths = map(operator.sub, chunk, later)
            rel = map(operator.sub, repeat(base), chunk)
        self._bases.append(base)
        self._last_packed = chunk[-1]
        if span < 255 * (BLOCK - 1):  # (else some line is longer than 255 bytes)
            try:
                self._blocks.append(array("B", lengths))
                return
            except OverflowError:
                pass
        code = "H" if span < 1 << 16 else "I" if span < 1 << 32 else "q"
        self._blocks.append(array(code, rel))

    # -- lookups ---------------------------------------------------------------------

    def bisect(self, value: int, *, right: bool = False) -> int:
        find = bisect_right if right else bisect_left
        sign = self._sign
        key = None if sign > 0 else operator.neg
        kv = sign * value  # the keys compared are sign * offset: ascending
        blocks = self._blocks
        if not blocks:
            return find(self._tail, kv, key=key)
        last = self._last_packed
        past_packed = sign * last < kv or (right and last == value)
        if past_packed:
            return len(blocks) * BLOCK + find(self._tail, kv, key=key)
        b = find(self._bases, kv, key=key) - 1
        if b < 0:
            return 0
        return b * BLOCK + find(self._rel(b), sign * (value - self._bases[b]))

    def slice(self, i: int, j: int) -> array[int]:
        """The offsets at positions ``[i, j)`` as a plain ``array('q')``."""
        out = array("q")
        j = min(j, len(self))
        n_packed = len(self._blocks) * BLOCK
        add = operator.add if self._sign > 0 else operator.sub
        while i < min(j, n_packed):
            b, a = divmod(i, BLOCK)
            e = min(BLOCK, j - b * BLOCK)
            block = self._blocks[b]
            if block.typecode == "B":  # (added up here: a scan never looks again)
                rel: Iterable[int] = islice(accumulate(block, initial=0), a, e)
            else:
                rel = block[a:e]
            out.extend(map(add, repeat(self._bases[b]), rel))
            i = b * BLOCK + e
        if i < j:
            out.extend(self._tail[i - n_packed : j - n_packed])
        return out
