"""Search in a view's rows: the next row matching a regex, the next warning or error.

Rows are read in growing blocks (`gather`: rows that follow each other in a file
with one ``pread``), and each block is searched at chunk speed with the same
tools as the filters (`scan.matcher.RegexMatcher`, `scan.records.token_line_starts`),
so a search over millions of rows costs a scan of their bytes, not a decode per
row. Functions of a row store and its slot table (`View` passes its own); no
state.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable

from prime_rl_logs import levels
from prime_rl_logs.core.formats import PROBLEM_WORDS
from prime_rl_logs.core.log_file import LogFile
from prime_rl_logs.core.rows import IndexWindow, RowStore
from prime_rl_logs.core.scan.lines import line_end
from prime_rl_logs.core.scan.matcher import RegexMatcher
from prime_rl_logs.core.scan.records import token_line_starts
from prime_rl_logs.core.user_regex import UserRegex

__all__ = ["find_row", "gather", "next_problem_row", "scan_rows"]


def gather(
    rows: RowStore | IndexWindow, slots: list[tuple[LogFile, int]], lo: int, hi: int
) -> tuple[bytes, list[int]]:
    """The lines of rows ``[lo, hi)`` one after another (each ending in a newline),
    and where each row starts in that buffer. Rows that follow each other in a
    file are read with one ``pread``."""
    parts: list[bytes] = []
    where: list[int] = []
    size = 0
    i = lo
    while i < hi:
        off, slot = rows.get(i)
        file, gen = slots[slot]
        j = i + 1
        end = off
        # Extend over rows that are the next lines of the same file.
        first_end = file.index.line_end(off) if gen == file.generation else None
        if first_end is not None:
            end = first_end
            while j < hi and end - off < (8 << 20):
                o2, s2 = rows.get(j)
                if s2 != slot or o2 != end:
                    break
                e2 = file.index.line_end(o2)
                if e2 is None:
                    break
                end = e2
                j += 1
        if end > off:
            chunk = file.read(off, end - off, gen)
            if len(chunk) == end - off:
                pos = 0
                for _ in range(i, j):
                    where.append(size + pos)
                    pos = line_end(chunk, pos, len(chunk))
                parts.append(chunk)
                size += len(chunk)
                i = j
                continue
        raw = file.raw_line(off, gen) or b"\n"
        if not raw.endswith(b"\n"):
            raw += b"\n"
        where.append(size)
        parts.append(raw)
        size += len(raw)
        i += 1
    return b"".join(parts), where


def scan_rows(
    rows: RowStore | IndexWindow,
    slots: list[tuple[LogFile, int]],
    start: int,
    backwards: bool,
    hits: Callable[[bytes], Iterable[int]],
    verify: Callable[[int], bool] | None = None,
) -> int | None:
    """The first row at or after ``start`` (at or before, ``backwards``) where
    ``hits`` (line starts in a buffer of rows) finds one and ``verify`` (a row
    index -> bool), if given, agrees; blocks of rows growing from 512 to 65,536 are
    read at a time."""
    n = len(rows)
    if n == 0:
        return None
    i = min(max(start, 0), n - 1)
    block = 512
    while 0 <= i < n:
        lo, hi = (max(0, i - block + 1), i + 1) if backwards else (i, min(n, i + block))
        buf, where = gather(rows, slots, lo, hi)
        found = sorted(bisect_right(where, s) - 1 + lo for s in hits(buf))
        if backwards:
            found.reverse()
        for row in found:
            if verify is None or verify(row):
                return row
        i = lo - 1 if backwards else hi
        block = min(block * 2, 65536)
    return None


def find_row(
    rows: RowStore | IndexWindow,
    slots: list[tuple[LogFile, int]],
    pattern: re.Pattern[str] | UserRegex | str,
    start: int,
    backwards: bool = False,
) -> int | None:
    """The first row at or after ``start`` (at or before, ``backwards``) whose plain
    text matches ``pattern``; None if there is none. `core.user_regex.RegexTooSlow`
    where one search of it runs out of time."""
    pat = re.compile(pattern) if isinstance(pattern, str) else pattern
    matcher = RegexMatcher.of(pat)
    return scan_rows(rows, slots, start, backwards, lambda buf: matcher.lines(buf, 0, len(buf)))


def next_problem_row(
    rows: RowStore | IndexWindow,
    slots: list[tuple[LogFile, int]],
    start: int,
    backwards: bool = False,
) -> int | None:
    """The first row at or after ``start`` (at or before, ``backwards``) that starts
    a record of level WARNING or above; None if there is none.

    The rows of a buffer are not the lines of one file (a filter hides some, a merged
    view interleaves files), and a bare traceback's first line is judged by the line
    above it in its file: so every candidate of `token_line_starts` is checked with
    its file's `LogFile.info`, in order, until one is such a header."""

    def verify(i: int) -> bool:
        off, slot = rows.get(i)
        file, gen = slots[slot]
        info = file.info(off, gen)
        return info.header and info.level >= levels.WARNING

    def hits(buf: bytes) -> set[int]:
        return token_line_starts(buf, 0, len(buf), PROBLEM_WORDS, shapes=True)

    return scan_rows(rows, slots, start, backwards, hits, verify)
