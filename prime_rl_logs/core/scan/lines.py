"""Lines in raw bytes: where a line ends and starts, and the line starts of a chunk.

Pure functions over ``bytes`` and offsets (no file, no state). `ChunkLines` gives
the line starts of one chunk of whole lines as file offsets, sliced from the
file's `LineIndex` when it covers the chunk, else found by a newline scan.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterator

from prime_rl_logs.core.index import line_start_list, line_starts

__all__ = ["ChunkLines", "line_end", "line_start", "split_lines"]


def line_end(buf: bytes, p: int, hi: int) -> int:
    """End of the line starting at ``p`` (after its newline, or ``hi``)."""
    e = buf.find(b"\n", p, hi)
    return hi if e < 0 else e + 1


def line_start(buf: bytes, p: int, lo: int) -> int:
    """Start of the line holding byte ``p`` (not before ``lo``)."""
    return max(lo, buf.rfind(b"\n", lo, p) + 1)


def split_lines(buf: bytes, base: int) -> Iterator[tuple[int, bytes]]:
    """``(file offset, raw line)`` of each line of ``buf`` (whole lines at ``base``)."""
    pos = 0
    n = len(buf)
    while pos < n:
        e = line_end(buf, pos, n)
        yield base + pos, buf[pos:e]
        pos = e


class ChunkLines:
    """The line starts of one chunk (whole lines at file offset ``base``) as file
    offsets: sliced from the file's index when it covers the chunk (``known``),
    else found by a newline scan, of the whole chunk once (`scan`) or of the
    ranges asked for. The scan is the largest cost of keeping most lines of a
    chunk; a slice of the index costs about a tenth of it."""

    __slots__ = ("_all", "base", "buf")

    def __init__(self, buf: bytes, base: int, known: array[int] | None = None) -> None:
        self.buf = buf
        self.base = base
        self._all = known

    def scan(self) -> None:
        """Find every line start of the chunk now (for many `between` calls)."""
        if self._all is None:
            self._all = line_starts(self.buf, self.base)

    def between(self, s: int, e: int) -> array[int]:
        """File offsets of the lines starting in ``buf[s:e]`` (``s`` a line start),
        a new array."""
        if s >= e:
            return array("q")
        a = self._all
        if a is not None:
            base = self.base
            return a[bisect_left(a, s + base) : bisect_left(a, e + base)]
        out = array("q")
        out.fromlist(self.list_between(s, e))
        return out

    def list_between(self, s: int, e: int) -> list[int]:
        """`between` as a list (bisection reads no array items)."""
        if s >= e:
            return []
        if self._all is not None:
            return self.between(s, e).tolist()
        return line_start_list(self.buf, s, e, self.base)
