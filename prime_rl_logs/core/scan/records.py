"""Records in raw bytes: which lines start a record, and at which level.

Pure functions over ``bytes`` and offsets, with no file, view or state: the views,
the line index and the warning counters all judge a line through `header_level`,
so "is this a record header?" has one answer. Loguru headers are recognised by
`HEADER_LEVEL_RE` (a fraction of a microsecond); the other shapes by `parse_line`,
and the lines judged with the line above them (bare tracebacks, torchrun's box,
vLLM's line-by-line messages) by `core.record_edges.in_record`; a line whose first
byte cannot start a record (`HEADER_FIRST_BYTES`, from `core.formats`: whitespace
and most punctuation), without ``\r`` redraws, is a continuation without asking
either. The
navigation helpers (`first_header`, `last_header`, `next_header`,
`record_start`) walk line by line from there.

A record half-written without its newline (a full disk) gets the next record glued
onto its line. Rows stay physical lines, but such a line is judged by every loguru
header it holds (`embedded_level`: a dim-coloured clock and a known level after
other text): its level is the highest of them, so a glued ERROR is never hidden by
a level filter or missing from the counts; `parse_line` reads it the same way. An
uncoloured loguru header straight after a ``]`` (a tqdm bar's end) on a line that
does not start with a header counts too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Final

from prime_rl_logs import levels
from prime_rl_logs.core.formats import (
    GLUED_BARE_BYTES_RE,
    GLUED_DIM_BYTES_RE,
    HEADER_FIRST_BYTES,
    HEADER_LEVEL_RE,
    LEVEL_OF_BYTES,
    PROBLEM_WORDS,
    SHAPE_LINE_AT_RE,
    SHAPE_LINE_RE,
)
from prime_rl_logs.core.parse import ORPHAN_LEVEL, LineInfo, decode_line, parse_line
from prime_rl_logs.core.record_edges import in_record, needs_line_above
from prime_rl_logs.core.scan.lines import line_end, line_start

__all__ = [
    "HEADER_FIRST_BYTES",
    "ORPHAN_LEVEL",
    "RECORD_LOOKBACK",
    "bare_traceback_info",
    "count_problems",
    "embedded_level",
    "first_header",
    "header_info",
    "header_level",
    "judged_info",
    "last_header",
    "level_from_bytes",
    "next_header",
    "problem_lines",
    "record_start",
    "token_line_starts",
]


RECORD_LOOKBACK: Final = 4 << 20
"""How far back a continuation line's header is looked for; a longer record is cut,
its top part read as orphan lines."""


_DIM: Final = b"\x1b[2m"
_EMBEDDED_RE: Final = GLUED_DIM_BYTES_RE
"""A loguru header as prime-rl's coloured sink writes it, anywhere in a line."""


def embedded_level(buf: bytes, pos: int, end: int, bare: bool = False) -> int | None:
    """The highest level of the loguru headers glued into ``buf[pos:end]`` (a part
    of one line after its own header, if any): a dim clock and a known level name
    (SGR-coloured, as loguru writes them) and, with ``bare`` (a line that does not
    start with a header), an uncoloured header straight after a ``]`` (a tqdm bar's
    end, `formats.GLUED_BARE_RE`). None if there is none (the usual case: one
    ``bytes.find`` per kind that finds nothing). A line with ``\\r`` redraws that
    holds one is judged by `parse_line` of its last redraw."""
    i = buf.find(_DIM, pos, end)
    best: int | None = None
    while i >= 0:
        m = _EMBEDDED_RE.match(buf, i, end)
        if m is not None:
            level = LEVEL_OF_BYTES.get(m.group(2))
            if level is not None and (best is None or level > best):
                best = level
        i = buf.find(_DIM, i + 1, end)
    if bare and buf.find(b"]", pos, end) >= 0:
        for m in GLUED_BARE_BYTES_RE.finditer(buf, pos, end):
            level = LEVEL_OF_BYTES.get(m.group(2))
            if level is not None and (best is None or level > best):
                best = level
    if best is not None and buf.find(b"\r", pos, end) >= 0:
        start = buf.rfind(b"\n", 0, pos) + 1  # the line's start
        text = decode_line(buf[start:end])
        info = in_record(text, parse_line(text), None)
        return info.level if info.header else None
    return best


def _with_embedded(level: int | None, buf: bytes, pos: int, end: int) -> int | None:
    glued = embedded_level(buf, pos, end)
    if glued is None:
        return level
    return glued if level is None or glued > level else level


@functools.lru_cache(maxsize=256)
def level_from_bytes(name: bytes) -> int:
    """`levels.number_lenient` of a level name as bytes (memoised: a pure function of
    its argument, and a file holds a handful of names)."""
    return levels.number_lenient(name.decode("ascii", "replace"))


def header_level(buf: bytes, pos: int, end: int) -> int | None:
    """The level of the record that line ``buf[pos:end]`` starts; None for a
    continuation line. ``pos`` must be a line start; ``end`` is the line's end
    (its newline's offset, or past it).

    Agrees with `in_record` of ``parse_line(decode_line(line))``: loguru headers are
    recognised by `HEADER_LEVEL_RE` (a fraction of a microsecond), other shapes by
    `parse_line` (and the line above, for the shapes `core.record_edges` judges),
    and lines whose first byte cannot start a header by that byte, but for the
    loguru headers glued into a line (`embedded_level`): a line holding them is a
    header at the highest level among them and its own, as `parse_line` reads it.
    """
    if pos >= end:
        return None
    cr = buf.find(b"\r", pos, end) >= 0
    if buf[pos] not in HEADER_FIRST_BYTES and not cr:
        return embedded_level(buf, pos, end, bare=True)
    if not cr:
        m = HEADER_LEVEL_RE.match(buf, pos, end)
        if m is not None:
            return _with_embedded(level_from_bytes(m.group(1)), buf, m.end(), end)
    text = decode_line(buf[pos:end])
    info = parse_line(text)
    if info.header:
        if info.fmt != "vllm" or not _same_head_above(buf, pos, end, info.message):
            return _with_embedded(info.level, buf, pos + 1, end)
    elif not needs_line_above(text):
        return None
    info = in_record(text, info, _line_above(buf, pos))
    return info.level if info.header else None


def _same_head_above(buf: bytes, pos: int, end: int, message: str) -> bool:
    """Whether the line above a vLLM header line may carry the same header (the
    cheap test before `in_record` parses it): its bytes before the message are
    the same. Always True for a line with colour codes or redraws."""
    if pos == 0:
        return False
    line = buf[pos:end]
    if b"\x1b" in line or b"\r" in line:
        return True
    n = len(line.rstrip(b"\n")) - len(message.encode()) - 1
    a = buf.rfind(b"\n", 0, pos - 1) + 1
    return n > 0 and buf[a : a + n] == buf[pos : pos + n]


def header_info(buf: bytes, pos: int, end: int) -> LineInfo | None:
    """Like `header_level`, but the whole `LineInfo` of a header line."""
    if pos >= end:
        return None
    if (
        buf[pos] not in HEADER_FIRST_BYTES
        and buf.find(b"\r", pos, end) < 0
        and embedded_level(buf, pos, end, bare=True) is None
    ):
        return None
    text = decode_line(buf[pos:end])
    info = in_record(text, parse_line(text), _line_above(buf, pos))
    return info if info.header else None


def judged_info(
    read: Callable[[int, int], bytes], offset: int, text: str, info: LineInfo
) -> LineInfo:
    """``info`` of the line ``text`` at file ``offset`` as its record reads it
    (`in_record`; the line above read with ``read(offset, size)`` when the line is
    of a shape that needs it)."""
    if info.header:
        if info.fmt != "vllm":
            return in_record(text, info, None)  # glued headers only: no line above
    elif not needs_line_above(text):
        return info
    above = None
    for size in (4 << 10, 64 << 10):  # the line above, usually short: 4 KiB first
        if offset <= 0:
            break
        a = max(0, offset - size)
        buf = read(a, offset - a)
        if len(buf) != offset - a:
            break
        if a == 0 or buf.rfind(b"\n", 0, len(buf) - 1) >= 0:
            above = _line_above(buf, len(buf))
            break
    return in_record(text, info, above)


bare_traceback_info = judged_info
"""The name `judged_info` had when it judged bare tracebacks only."""


def _line_above(buf: bytes, pos: int) -> LineInfo | None:
    """`parse_line` of the line that ends at ``pos`` (a line start); None at offset 0
    (the buffer is taken to start the file: callers that cut a file into chunks
    never start one at a bare traceback, see `core.view_file`)."""
    if pos <= 0:
        return None
    return parse_line(decode_line(buf[buf.rfind(b"\n", 0, pos - 1) + 1 : pos]))


def token_line_starts(
    buf: bytes, lo: int, hi: int, words: tuple[bytes, ...], shapes: bool = False
) -> set[int]:
    """The starts of the lines of ``buf[lo:hi]`` (``lo`` a line start) that hold one of
    ``words`` (level words: one ``bytes.find`` pass each) or, with ``shapes``, that
    `formats.SHAPE_LINE_RE` finds (the headers of WARNING and up that do not spell
    their level: one regex pass)."""
    starts: set[int] = set()
    add, find, rfind = starts.add, buf.find, buf.rfind
    for word in words:
        p = find(word, lo, hi)
        while p >= 0:
            add(rfind(b"\n", lo, p) + 1 or lo)
            e = find(b"\n", p, hi)
            if e < 0:
                break
            p = find(word, e, hi)
    if shapes and lo < hi:
        if SHAPE_LINE_AT_RE.match(buf, lo, hi) is not None:
            add(lo)
        starts.update([m.start() + 1 for m in SHAPE_LINE_RE.finditer(buf, lo, hi)])
    return starts


def problem_lines(buf: bytes, lo: int = 0, hi: int | None = None) -> Iterator[tuple[int, int]]:
    """``(line_start, level)`` of the headers of level WARNING or above in
    ``buf[lo:hi]`` (whole lines), in no particular order.

    Candidates are the lines holding an upper-case level word of those levels
    (``bytes.find``, a C loop) and the lines `formats.SHAPE_LINE_RE` finds (glog
    severities, bare tracebacks: one regex pass), then each is checked with
    `header_level`. Level names are written in upper case
    by loguru, vLLM, uvicorn and stdlib logging; a header that spells its level in
    lower case is not found here.
    """
    if hi is None:
        hi = len(buf)
    find = buf.find
    for start in token_line_starts(buf, lo, hi, PROBLEM_WORDS, shapes=True):
        end = find(b"\n", start, hi)
        if end < 0:
            end = hi
        level = header_level(buf, start, end)
        if level is not None and level >= levels.WARNING:
            yield start, level


def count_problems(buf: bytes) -> tuple[int, int]:
    """``(warnings, errors)`` among the record headers of ``buf`` (whole lines)."""
    warnings = errors = 0
    for _, level in problem_lines(buf):
        if level >= levels.ERROR:
            errors += 1
        else:
            warnings += 1
    return warnings, errors


# ---------------------------------------------------------------------------
# Walking records line by line


def first_header(buf: bytes, lo: int, hi: int) -> int:
    """The first header line in ``buf[lo:hi]`` (``lo`` a line start); -1 if none."""
    p = lo
    while p < hi:
        e = line_end(buf, p, hi)
        if header_level(buf, p, e) is not None:
            return p
        p = e
    return -1


def last_header(buf: bytes, lo: int, hi: int) -> int:
    """The last header line in ``buf[lo:hi]`` (whole lines); -1 if none."""
    e = hi
    while e > lo:
        p = line_start(buf, e - 1, lo)
        if header_level(buf, p, e) is not None:
            return p
        e = p
    return -1


def next_header(buf: bytes, p: int, hi: int) -> int:
    """The first header line after the line at ``p``; ``hi`` if none."""
    q = line_end(buf, p, hi)
    while q < hi:
        e = line_end(buf, q, hi)
        if header_level(buf, q, e) is not None:
            return q
        q = e
    return hi


def record_start(buf: bytes, p: int, lo: int) -> int:
    """The header at or above line ``p``, not before ``lo`` (which is a header)."""
    while p > lo:
        e = line_end(buf, p, len(buf))
        if header_level(buf, p, e) is not None:
            return p
        p = line_start(buf, p - 1, lo)
    return lo
