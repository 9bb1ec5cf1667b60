"""Line-start offsets of one file, built from the end backwards.

Opening a 1 GB log should show its last screen at once, so the index starts at the
end of the file and walks backwards in chunks (`LineIndex.build_step`), while lines
appended by the writer extend it forwards (`LineIndex.extend`). Offsets live in two
`core.offsets.PackedOffsets` (about 1 byte a line, 2 where lines pass 255 bytes; 8 in
a plain ``array('q')``, which made 128 files of 20 MB cost 240 MB of index):

* ``_old``: the lines before `LineIndex.base`, in *descending* order, because the
  backward build finds them newest first and appending is the cheap end of an array;
* ``_new``: the lines from ``base`` on, ascending, as they are appended.

One ``__getitem__`` / ``__len__`` hides the split. Line *numbers* shift while the
backward build prepends lines; a line's byte offset never does, so everything above
this module names a line by its offset.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable, Iterator
from itertools import accumulate
from typing import Final

from prime_rl_logs.core.offsets import PackedOffsets

__all__ = [
    "CHUNK",
    "FIRST_CHUNK",
    "LONG_LINE",
    "LONG_LINE_HEAD",
    "LineIndex",
    "chunk_before",
    "line_start_list",
    "line_starts",
]

FIRST_CHUNK: Final = 256 << 10
"""Bytes of the first backward step: the last screen, in about a millisecond."""

CHUNK: Final = 128 << 10
"""Bytes of each later backward step: the background index build holds the event
loop for at least one step, and a key read meanwhile waits for its end: 3.4 ms here
(512 kB steps took 13 ms, 4 MB steps 50-90 ms and delayed every key pressed while
256 files were indexed; the bytes per second are the same, 40 MB/s from 64 kB to
512 kB steps)."""

LONG_LINE: Final = 16 << 20
"""A line longer than this is never read whole by a backward scan: it stands as its
first `LONG_LINE_HEAD` bytes (enough for its header and the display cut of
`parse.DISPLAY_LIMIT` characters)."""

LONG_LINE_HEAD: Final = 64 << 10

_SCAN_BLOCK: Final = 1 << 20
"""Bytes of each later backward step."""

_NL: Final = re.compile(b"\n")


def line_starts(chunk: bytes, start: int) -> array[int]:
    """Start offsets of the lines of ``chunk``, which begins at file offset ``start``
    at a line start and ends with ``\\n`` (whole lines only)."""
    out = array("q")
    out.fromlist(line_start_list(chunk, 0, len(chunk), start))
    return out


def line_start_list(buf: bytes, lo: int, hi: int, base: int) -> list[int]:
    """`line_starts` of ``buf[lo:hi]`` (whole lines) as a list, offsets plus ``base``.

    The fastest way measured with the standard library: the running sum of the
    lengths of ``bytes.splitlines`` (no Python code per line: 1.3x a comprehension
    over ``re.finditer``); ``splitlines`` also splits at a lone ``\\r``, so a range
    holding one goes the ``finditer`` way.
    """
    if lo >= hi:
        return []
    if buf.find(b"\r", lo, hi) < 0:
        seg = buf if lo == 0 and hi == len(buf) else buf[lo:hi]
        out = list(accumulate(map(len, seg.splitlines(True)), initial=lo + base))
        out.pop()  # the end of the range
        return out
    out = [lo + base]
    if hi - lo > 1:
        out.extend([m.end() + base for m in _NL.finditer(buf, lo, hi - 1)])
    return out


ReadAt = Callable[[int, int], bytes]
"""``read(offset, size) -> bytes``, e.g. ``lambda o, n: os.pread(fd, n, o)``."""


class LineIndex:
    """Start offsets of the complete lines of one file.

    ``base`` splits the file: lines from ``base`` on are added by `extend` as they
    are appended; lines before it by `build_step`, newest first, until `complete`.
    """

    __slots__ = ("_back", "_new", "_old", "base", "end", "stale")

    def __init__(self, base: int = 0) -> None:
        self.base = base
        """Where the file ended (after its last complete line) when indexing began."""
        self.end = base
        """The offset after the last complete line known (where the next line starts)."""
        self._old = PackedOffsets(descending=True)  # starts in [_back, base), descending
        self._new = PackedOffsets()  # starts >= base, ascending
        self._back = base  # the backward build has covered [_back, base)
        self.stale = False
        """True when a backward read came back short: the file was truncated or
        replaced under us, and the owner will replace this index."""

    # -- the sequence ----------------------------------------------------------

    def __len__(self) -> int:
        return len(self._old) + len(self._new)

    def __getitem__(self, i: int) -> int:
        n_old = len(self._old)
        if i < 0:
            i += n_old + len(self._new)
            if i < 0:
                raise IndexError("line index out of range")
        if i < n_old:
            return self._old[n_old - 1 - i]
        return self._new[i - n_old]

    def __iter__(self) -> Iterator[int]:
        old = self._old.slice(0, len(self._old))
        old.reverse()
        yield from old
        yield from self._new

    @property
    def complete(self) -> bool:
        """Every line before ``base`` is indexed."""
        return self._back == 0

    @property
    def indexed_from(self) -> int:
        """The lowest offset whose line is indexed (0 once complete)."""
        return self._back

    @property
    def nbytes(self) -> int:
        """Memory held by the offsets."""
        return self._old.nbytes + self._new.nbytes

    # -- lookups ---------------------------------------------------------------

    def find(self, offset: int) -> int:
        """Number of the line that contains byte ``offset``; -1 if not indexed yet."""
        new = self._new
        if len(new) and new[0] <= offset:
            return len(self._old) + new.bisect(offset, right=True) - 1
        old = self._old
        # _old is descending: find the first start <= offset.
        j = old.bisect(offset)
        if j == len(old):
            return -1
        return len(old) - 1 - j

    def starts_between(self, lo: int, hi: int) -> array[int] | None:
        """Start offsets of the lines starting in ``[lo, hi)``, ascending (a copy);
        None unless the whole range is indexed. A slice of the arrays: scanning the
        bytes for newlines again costs about 10x more."""
        if lo < self._back or hi > self.end or lo >= hi:
            return None if lo < hi else array("q")
        out = array("q")
        old = self._old
        if lo < self.base:
            # _old is descending: its entries in [lo, min(hi, base)) are a slice.
            out = old.slice(old.bisect(min(hi, self.base) - 1), old.bisect(lo - 1))
            out.reverse()
        if hi > self.base:
            new = self._new
            out.extend(new.slice(new.bisect(max(lo, self.base)), new.bisect(hi)))
        return out

    def count_between(self, lo: int, hi: int) -> int:
        """How many indexed lines start in ``[lo, hi)``."""
        if lo >= hi:
            return 0
        n = 0
        if lo < self.base:
            old = self._old  # descending
            n += old.bisect(lo - 1) - old.bisect(min(hi, self.base) - 1)
        if hi > self.base:
            new = self._new
            n += new.bisect(hi) - new.bisect(max(lo, self.base))
        return n

    def line_end(self, offset: int) -> int | None:
        """Where the line starting at ``offset`` ends (after its newline), if known."""
        i = self.find(offset)
        if i < 0 or self[i] != offset:
            return None
        return self[i + 1] if i + 1 < len(self) else self.end

    # -- growing ---------------------------------------------------------------

    def extend(self, data: bytes, offset: int) -> None:
        """Add the lines of ``data`` (complete lines) appended at ``offset``."""
        if offset != self.end:
            raise ValueError(f"appended data at {offset}, expected {self.end}")
        if not data:
            return
        self._new.extend(line_starts(data, offset))
        self.end = offset + len(data)

    def extend_line(self, offset: int, size: int) -> None:
        """Add one line of ``size`` bytes (newline included) appended at ``offset``,
        known by its length only (a long line the follower held as its head)."""
        if offset != self.end:
            raise ValueError(f"appended line at {offset}, expected {self.end}")
        self._new.append(offset)
        self.end = offset + size

    def build_step(self, read: ReadAt, size: int = CHUNK) -> tuple[int, bytes] | None:
        """Index about ``size`` more bytes backwards; None once complete (or stale).

        Returns ``(start, chunk)``: the whole lines just indexed and their offset, for
        callers that want to look at them too (counting warnings, say). A line longer
        than ``size`` is read whole up to `LONG_LINE`; a longer one is its head (see
        `chunk_before`).
        """
        back = self._back
        if back == 0 or self.stale:
            return None
        got = chunk_before(read, back, size)
        if got is None:
            self.stale = True
            return None
        cs, chunk = got
        starts = line_starts(chunk, cs)
        starts.reverse()
        self._old.extend(starts)
        self._back = cs
        return cs, chunk


def chunk_before(read: ReadAt, back: int, size: int) -> tuple[int, bytes] | None:
    """The whole lines of about ``size`` bytes ending at ``back`` (a line end).

    Args:
        read: ``read(offset, size)`` of the content.
        back: where the chunk ends (0 or just after a newline).
        size: about how many bytes to read.

    Returns:
        ``(start, chunk)``. A last line longer than ``size`` is read whole up to
        `LONG_LINE`; a longer one is found by its start (blocks read and dropped,
        never held) and stands as its first `LONG_LINE_HEAD` bytes plus ``\\n``: the
        chunk is then shorter than ``back - start``, and memory stays bounded
        whatever the line's length. None if a read came back short (the content was
        truncated or replaced under us).
    """
    while True:
        a = max(0, back - size)
        buf = read(a, back - a)
        if len(buf) != back - a:
            return None
        if a == 0:
            return 0, buf
        # Skip the tail of a line that starts before `a`; it is read next time.
        i = buf.find(b"\n")
        if 0 <= i < len(buf) - 1:
            return a + i + 1, buf[i + 1 :]
        if back - a >= LONG_LINE:
            break
        size = min(size * 2, LONG_LINE)  # one line longer than the chunk: read it whole
    del buf
    start = a
    while start > 0:
        b = max(0, start - _SCAN_BLOCK)
        block = read(b, start - b)
        if len(block) != start - b:
            return None
        j = block.rfind(b"\n")
        if j >= 0:
            start = b + j + 1
            break
        start = b
    head = read(start, LONG_LINE_HEAD)
    if len(head) != LONG_LINE_HEAD:
        return None
    return start, head + b"\n"
