"""Time, for merging the files of a view: the run time of each record from its clock.

loguru writes ``HH:MM:SS`` without a date. `FileClock` turns the clocks of one
file into epoch seconds from its mtime, going backwards (history) and forwards
(live), crossing midnight where a clock jumps by more than an hour, and clamped to
be monotonic per file so a k-way merge of files is well defined. `header_clocks`
reads the clocks of many header lines at once (the learned templates say where
they are); `time_runs_backwards` groups the kept rows of a chunk into runs of one
time, continuation lines taking their header's. `RunClock` (in `core.parse`) is
the metrics' forward-only equivalent. Pure functions and per-file clocks; no
module-level state.
"""

from __future__ import annotations

import time
from array import array
from typing import Any, Final

from prime_rl_logs.core.formats import LOGURU_CLOCK_RE
from prime_rl_logs.core.parse import decode_line, parse_line
from prime_rl_logs.core.scan.lines import line_end, line_start
from prime_rl_logs.core.scan.records import header_level
from prime_rl_logs.core.scan.templates import HeaderTemplates

__all__ = [
    "NO_CLOCK",
    "UNTIMED_MAX",
    "FileClock",
    "clock_above",
    "clock_at",
    "header_clocks",
    "time_runs_backwards",
]

NO_CLOCK: Final = -1
"""`header_clocks`' answer for a header without a clock (a uvicorn access line)."""

UNTIMED_MAX: Final = 100_000
"""Rows waiting for an older clock beyond this take the newer time instead (a file
of clock-less lines only must not be held in memory whole)."""


class FileClock:
    """Run time (epoch seconds) of records from their ``HH:MM:SS`` clocks.

    The file's mtime dates its last record; going backwards a clock that jumps up
    by more than an hour crossed midnight, going forwards one that drops by more
    than an hour did. Times are clamped to be monotonic per file, so a k-way merge
    of files is well defined.
    """

    __slots__ = ("anchor", "back_day", "back_t", "fwd_day", "fwd_t", "tod")

    def __init__(self, anchor: float) -> None:
        lt = time.localtime(anchor)
        # Local midnight of that day, in whole seconds (files must agree to the second).
        midnight = int(time.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday, 0, 0, 0, 0, 0, -1)))
        self.anchor = anchor
        self.tod = anchor - midnight
        self.back_day = self.fwd_day = midnight
        self.back_t: float | None = None
        self.fwd_t: float | None = None

    def back(self, clock: int | None) -> float:
        if clock is None:
            return self.back_t if self.back_t is not None else self.anchor
        t: float = self.back_day + clock
        if self.back_t is None:
            if clock > self.tod + 300:
                self.back_day -= 86_400
                t -= 86_400
        else:
            if t > self.back_t + 3600:
                self.back_day -= 86_400
                t -= 86_400
            t = min(t, self.back_t)
        self.back_t = t
        return t

    def fwd(self, clock: int | None) -> float:
        if clock is None:
            return self.fwd_t if self.fwd_t is not None else self.anchor
        t: float = self.fwd_day + clock
        if self.fwd_t is None:
            if clock > self.tod + 300:
                self.fwd_day -= 86_400
                t -= 86_400
        else:
            if t < self.fwd_t - 3600:
                self.fwd_day += 86_400
                t += 86_400
            t = max(t, self.fwd_t)
        self.fwd_t = t
        return t


def clock_at(buf: bytes, s: int, e: int) -> int | None:
    """The clock of the header line at ``s`` (loguru fast, other shapes parsed)."""
    m = LOGURU_CLOCK_RE.match(buf, s, e)
    if m is not None:
        h, mi, se = m.groups()
        return int(h) * 3600 + int(mi) * 60 + int(se)
    return parse_line(decode_line(buf[s:e])).clock


def header_clocks(buf: bytes, starts: list[int], templates: HeaderTemplates) -> list[int | None]:
    """Per line at ``starts`` (offsets in ``buf``; one at or past its end is a line
    carried from the next chunk): its clock in seconds since midnight if it is a
    header with one, `NO_CLOCK` for a header without, None for a continuation line.

    The header templates say which lines are headers and where their clock is
    (`HeaderTemplates.known`); lines holding a ``\\r`` (whose text is what follows the
    last one) and lines of other shapes are parsed."""
    n = len(buf)
    out: list[int | None] = [None] * len(starts)
    redrawn: set[int] = set()
    p = buf.find(b"\r")
    while p >= 0:
        redrawn.add(line_start(buf, p, 0))
        p = buf.find(b"\r", line_end(buf, p, n))
    found, todo = templates.known(
        buf, starts, [i for i, s in enumerate(starts) if s < n and s not in redrawn]
    )
    clock_of, seconds = templates.clock_at, templates.seconds
    for i, key in found:
        p = starts[i] + clock_of[key]
        hms = buf[p : p + 8]
        c = seconds.get(hms)
        if c is None:
            c = seconds[hms] = int(hms[:2]) * 3600 + int(hms[3:5]) * 60 + int(hms[6:])
        out[i] = c
    todo.extend(i for i, s in enumerate(starts) if s in redrawn)
    for i in todo:
        s = starts[i]
        e = line_end(buf, s, n)
        # `level_at` learns the shape of a loguru header for the next lines.
        if (s not in redrawn and templates.level_at(buf, s, n) is not None) or header_level(
            buf, s, e
        ) is not None:
            c = clock_at(buf, s, e)
            out[i] = NO_CLOCK if c is None else c
    return out


def clock_above(buf: bytes, e: int, stop: int) -> int | None:
    """The clock of the nearest header with one among the lines ending at or before
    ``e`` and starting after ``stop``; None if there is none."""
    while e > 0:
        s = line_start(buf, e - 1, 0)
        if s <= stop:
            return None
        if header_level(buf, s, e) is not None:
            c = clock_at(buf, s, e)
            if c is not None:
                return c
        e = s
    return None


def time_runs_backwards(
    buf: bytes,
    base: int,
    rows: array[int],
    clock: FileClock,
    untimed: list[int],
    at_start: bool,
    templates: HeaderTemplates,
) -> tuple[list[tuple[float, array[int]]], list[int]]:
    """Group kept rows (ascending, whole records) into runs of one time, oldest first,
    giving continuation rows the time of their header.

    A record whose header has no clock (a uvicorn access line) takes the time of
    the nearest record before it that has one, shown or not, as it does live
    (`FileClock.fwd`). When that record is in an older chunk, the rows wait,
    descending, in ``untimed`` for the next call. Returns the runs and the rows
    still waiting."""
    n = len(buf)
    clocks = header_clocks(buf, [off - base for off in rows], templates)
    # Each row's clock: its header's (continuation lines follow their header); a
    # header without one takes the last clock above it, looking at the lines
    # between the rows too (records the filter dropped).
    cur = last = None  # the clock of the current record, the last clock seen
    prev = -1  # the previous row's start: lines up to it were looked at
    for i, c in enumerate(clocks):
        rel = rows[i] - base
        if c is None:
            clocks[i] = cur
        elif c == NO_CLOCK:
            above = clock_above(buf, rel, prev)
            if above is not None:
                last = above
            clocks[i] = cur = last
        else:
            cur = last = c
        prev = rel
    # Runs newest first as ``[time, lo, hi, newer]``: the rows ``rows[lo:hi]`` and
    # the rows of the next chunk that waited (``newer``, ascending); grouped by
    # slicing, not a row at a time (with many files most runs are a row or two).
    found: list[list[Any]] = []
    pending = untimed
    n_rows = len(rows)
    if pending:  # rows of the next chunk waiting for the last clock of this one
        c = clock_above(buf, n, -1)
        if c is not None or len(pending) > UNTIMED_MAX:
            # (Too many waiting: they take the time of the rows after them.)
            found.append([clock.back(c), n_rows, n_rows, array("q", reversed(pending))])
            pending = []
    changes = (i for i in range(1, n_rows) if clocks[i] != clocks[i - 1])
    bounds = [0, *changes, n_rows] if n_rows else [0]  # the runs: rows[bounds[k-1]:bounds[k]]
    back = clock.back
    for k in range(len(bounds) - 1, 0, -1):
        lo, hi = bounds[k - 1], bounds[k]
        c = clocks[lo]
        if c is None:  # rows before any clock: they wait (nothing waits here otherwise)
            pending.extend(reversed(rows[lo:hi]))
            continue
        t = back(c)
        if found and found[-1][0] == t and found[-1][1] == hi:
            found[-1][1] = lo
        else:
            found.append([t, lo, hi, None])
    runs: list[tuple[float, array[int]]] = []
    for t, lo, hi, newer in reversed(found):  # oldest first
        arr = rows[lo:hi]
        if newer is not None:
            arr.extend(newer)
        runs.append((t, arr))
    if pending and at_start:
        t = back(None)
        arr = array("q", reversed(pending))
        if runs and runs[0][0] == t:
            arr.extend(runs[0][1])
            runs[0] = (t, arr)
        else:
            runs.insert(0, (t, arr))
        pending = []
    return runs, pending
