"""Records in raw bytes: which lines start a record, and at which level.

Pure functions over ``bytes`` and offsets, with no file, view or state: the views,
the line index and the warning counters all judge a line through `header_level`,
so "is this a record header?" has one answer. Loguru headers are recognised by
`HEADER_LEVEL_RE` (a fraction of a microsecond); the other shapes by `parse_line`;
a line whose first byte cannot start a header (`HEADER_FIRST_BYTES`) is a
continuation without asking either.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Final

from prime_rl_logs import levels
from prime_rl_logs.core.parse import HEADER_LEVEL_RE, LineInfo, decode_line, parse_line

__all__ = [
    "HEADER_FIRST_BYTES",
    "count_problems",
    "header_info",
    "header_level",
    "level_from_bytes",
    "problem_lines",
]

# First bytes a non-loguru header can start with (after an optional torchrun
# prefix): ISO dates, vLLM/uvicorn levels and "(Proc pid=N)", JSON, "[2026-...".
# A line starting with anything else (a space, a tab, lower case, punctuation) is a
# continuation without asking `parse_line`.
HEADER_FIRST_BYTES: Final = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ({[\x1b")


@functools.lru_cache(maxsize=256)
def level_from_bytes(name: bytes) -> int:
    """`levels.number_lenient` of a level name as bytes (memoised: a pure function of
    its argument, and a file holds a handful of names)."""
    return levels.number_lenient(name.decode("ascii", "replace"))


def header_level(buf: bytes, pos: int, end: int) -> int | None:
    """The level of the record that line ``buf[pos:end]`` starts; None for a
    continuation line. ``pos`` must be a line start; ``end`` is the line's end
    (its newline's offset, or past it).

    Agrees with ``parse_line(decode_line(line))``: loguru headers are recognised
    by `HEADER_LEVEL_RE` (a fraction of a microsecond), other shapes by
    `parse_line`, and lines whose first byte cannot start a header by that byte.
    """
    if pos >= end:
        return None
    if buf[pos] not in HEADER_FIRST_BYTES:
        return None
    if buf.find(b"\r", pos, end) < 0:
        m = HEADER_LEVEL_RE.match(buf, pos, end)
        if m is not None:
            return level_from_bytes(m.group(1))
    info = parse_line(decode_line(buf[pos:end]))
    return info.level if info.header else None


def header_info(buf: bytes, pos: int, end: int) -> LineInfo | None:
    """Like `header_level`, but the whole `LineInfo` of a header line."""
    if pos >= end or buf[pos] not in HEADER_FIRST_BYTES:
        return None
    info = parse_line(decode_line(buf[pos:end]))
    return info if info.header else None


_PROBLEM_WORDS: Final = (b"WARN", b"ERROR", b"CRITICAL", b"FATAL")


def problem_lines(buf: bytes, lo: int = 0, hi: int | None = None) -> Iterator[tuple[int, int]]:
    """``(line_start, level)`` of the headers of level WARNING or above in
    ``buf[lo:hi]`` (whole lines), in no particular order.

    Candidates are the lines holding an upper-case level word (``bytes.find``, a
    C loop), then each is checked with `header_level`. Level names are written in
    upper case by loguru, vLLM, uvicorn and stdlib logging; a header that spells
    its level in lower case is not found here.
    """
    if hi is None:
        hi = len(buf)
    seen: set[int] = set()
    rfind, find = buf.rfind, buf.find
    for word in _PROBLEM_WORDS:
        p = find(word, lo, hi)
        while p >= 0:
            start = rfind(b"\n", lo, p) + 1 or lo
            end = find(b"\n", p, hi)
            if end < 0:
                end = hi
            if start not in seen:
                seen.add(start)
                level = header_level(buf, start, end)
                if level is not None and level >= levels.WARNING:
                    yield start, level
            p = find(word, end, hi)


def count_problems(buf: bytes) -> tuple[int, int]:
    """``(warnings, errors)`` among the record headers of ``buf`` (whole lines)."""
    warnings = errors = 0
    for _, level in problem_lines(buf):
        if level >= levels.ERROR:
            errors += 1
        else:
            warnings += 1
    return warnings, errors
