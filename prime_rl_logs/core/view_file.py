"""One file inside a view: its backward scan (history) and its forward feed (live).

`ViewFile.step` reads the file backwards one chunk at a time (`FIRST_CHUNK`, then
`STEP_CHUNK`; in a merged view a smaller first one, see `MERGED_FIRST_BYTES`) and returns the
offsets of the lines the view keeps, deciding each chunk with `scan.decide` (and,
in a merged view, grouping the rows into runs of one time with `scan.timeline`,
for `View`'s k-way merge). `ViewFile.feed` judges the
lines appended to the file by the same rule, record by record, from the state the
backward scan left at the file's end (the open record and the clock), so the
first live batch costs what its bytes cost. Reads through `LogFile.read`; owned by
one `View` and not thread-safe.
"""

from __future__ import annotations

import time
from array import array
from collections import deque
from typing import Any, Final

from prime_rl_logs.core.ansi import strip_sgr
from prime_rl_logs.core.file_change import Appended
from prime_rl_logs.core.index import FIRST_CHUNK, chunk_before, line_starts
from prime_rl_logs.core.log_file import REMEMBERED_LINES, LogFile
from prime_rl_logs.core.parse import (
    LineInfo,
    decode_line,
    parse_line,
)
from prime_rl_logs.core.record_edges import in_record, may_need_line_above
from prime_rl_logs.core.scan.decide import (
    InterleavedLine,
    OpenRecord,
    PendingContinuations,
    Rules,
    decide_interleaved_chunk,
    decide_single_writer_chunk,
    rank_ok,
)
from prime_rl_logs.core.scan.lines import ChunkLines, split_lines
from prime_rl_logs.core.scan.records import ORPHAN_LEVEL, last_header
from prime_rl_logs.core.scan.templates import HeaderTemplates
from prime_rl_logs.core.scan.timeline import FileClock, clock_above, time_runs_backwards
from prime_rl_logs.layout import TRAINER

__all__ = ["ViewFile"]

MERGED_FIRST_BYTES: Final = 1 << 20
"""A merged view's first chunks, all files together: each file's first chunk is
this much divided by the number of files (within `MERGED_FIRST_MIN` and
`FIRST_CHUNK`), so the first screen of a pane costs the same at 8 files and at 256
(the merge needs every file's newest lines before it can show one)."""

MERGED_FIRST_MIN: Final = 2 << 10
"""The smallest first chunk of a file of a merged view."""

STEP_CHUNK: Final = 64 << 10
"""The chunks after the first: one step of one file is one slice of history on the
event loop, so it must stay within a slice (`tui.app.HISTORY_SLICE_S`, 8 ms). Judged
and timed line by line, 64 kB (about 700 lines) takes 5-15 ms here; the 512 kB
steps of a merged view took 60-160 ms, and held a key press that long (issue 12)."""

PRIME_BYTES: Final = 256 << 10
"""How far back the forward feed looks for its open record when the backward scan
left no state (a rank-interleaved file, or a view that never scanned back)."""


class ViewFile:
    """A file of a view: its backward scan and its live (forward) state."""

    def __init__(
        self,
        file: LogFile,
        order: tuple[Any, ...],
        slot: int,
        rules: Rules,
        multi: bool,
        templates: HeaderTemplates,
    ) -> None:
        self.file = file
        self.templates = templates
        self.order = order
        self.slot = slot
        self.gen = file.generation
        self.rules = rules
        self.multi = multi
        self.by_rank = file.source.component == TRAINER and file.source.rank is None
        # backward
        self.pos = file.end
        self.done = self.pos == 0 or file.status == "error"
        self.carry = PendingContinuations()
        self.slow_carry: list[InterleavedLine] = []
        self.chunks = 0
        self.first_chunk = FIRST_CHUNK
        self.chunk = STEP_CHUNK
        if multi:
            self.merged(1)
        self.clock = FileClock(file.last_write or time.time())
        self.runs: deque[tuple[float, array[int]]] = deque()
        self.untimed: list[int] = []  # see `time_runs_backwards`
        # forward
        self.fwd_end = file.end
        self.fwd_recs: dict[int | None, OpenRecord] | None = None
        self.fwd_above: LineInfo | None = None  # the last line fed (bare tracebacks)

    def merged(self, files: int) -> None:
        """Read in the chunk sizes of a merged view of ``files`` files (see
        `MERGED_FIRST_BYTES`), unless its first chunk was read already."""
        if self.chunks == 0:
            self.first_chunk = max(MERGED_FIRST_MIN, min(FIRST_CHUNK, MERGED_FIRST_BYTES // files))

    # -- backwards ---------------------------------------------------------------

    def step(self) -> array[int]:
        """Scan one more chunk backwards; the kept offsets (ascending)."""
        if self.done:
            return array("q")
        size = self.first_chunk if self.chunks == 0 else self.chunk
        self.chunks += 1
        back = self.pos
        a = max(0, back - size)
        if a > 0:
            # Find the first line start with a small read, then read from there:
            # no copy of the chunk to drop its partial first line.
            probe = self.file.read(a, min(back - a, 4 << 10), self.gen)
            i = probe.find(b"\n")
            if i >= 0 and a + i + 1 < back:
                cs = a + i + 1
                buf = self.file.read(cs, back - cs, self.gen)
                if len(buf) == back - cs:
                    return self._decide(buf, cs)
                return self._give_up()  # truncated or replaced under us: stop here
        gen = self.gen
        got = chunk_before(lambda o, n: self.file.read(o, n, gen), back, size)
        if got is None:  # truncated or replaced under us: stop here
            return self._give_up()
        cs, buf = got  # a line past `index.LONG_LINE` stands as its head
        return self._decide(buf, cs)

    def _decide(self, buf: bytes, cs: int) -> array[int]:
        """The kept offsets of the chunk ``buf`` (whole lines at ``cs``), the next
        chunk ending there."""
        buf, cs = self._widen(buf, cs)
        self.pos = cs
        at_start = cs == 0
        if at_start:
            self.done = True
        rules = self.rules
        lines = ChunkLines(buf, cs, self.file.indexed_starts(cs, cs + len(buf), self.gen))
        if rules.trivial and not self.multi and not (self.by_rank and rules.ranks is not None):
            kept = lines.between(0, len(buf))  # no records to judge, no times to merge by
        elif self.by_rank:
            lst, self.slow_carry = decide_interleaved_chunk(
                buf, cs, self.slow_carry, rules, at_start
            )
            kept = array("q", lst)
        else:
            kept, self.carry = decide_single_writer_chunk(
                lines, self.carry, rules, at_start, self.templates
            )
        if self.multi and (kept or at_start or self.untimed):
            runs, self.untimed = time_runs_backwards(
                buf, cs, kept, self.clock, self.untimed, at_start, self.templates
            )
            self.runs.extend(runs)
        if (
            self.fwd_recs is None
            and not self.by_rank
            and cs + len(buf) == self.fwd_end
            and (at_start or last_header(buf, 0, len(buf)) >= 0)
        ):
            # The chunk the live lines follow, when it holds the open record's header:
            # no second read later. Without it (a chunk of continuation lines) the
            # first live feed reads the record again (`_prime`).
            self._seed(buf, cs)
        return kept

    def _widen(self, buf: bytes, cs: int) -> tuple[bytes, int]:
        """The chunk ``buf`` at ``cs``, started earlier by whole lines while its first
        line may be judged by the line above it (a bare traceback's, a box's rule, a
        vLLM line: `core.record_edges`), so that line must be in the same chunk."""
        while cs > 0:
            e = buf.find(b"\n")
            if not may_need_line_above(buf[: len(buf) if e < 0 else e]):
                break
            size = 64 << 10
            while True:
                a = max(0, cs - size)
                before = self.file.read(a, cs - a, self.gen)
                if len(before) != cs - a:
                    return buf, cs  # truncated or replaced under us: read it as it is
                i = before.rfind(b"\n", 0, len(before) - 1)
                if i >= 0 or a == 0:
                    break
                size *= 2
            buf, cs = before[i + 1 :] + buf, a + i + 1
        return buf, cs

    def _give_up(self) -> array[int]:
        """Stop the backward scan here; rows waiting for a time take the newest."""
        self.done = True
        if self.untimed:
            self.runs.appendleft((self.clock.back(None), array("q", self.untimed[::-1])))
            self.untimed = []
        return array("q")

    def stop(self) -> None:
        """The file was reset: its older content is no longer ours to scan."""
        self.done = True
        self.runs.clear()
        self.untimed = []
        self.carry = PendingContinuations()
        self.slow_carry = []

    # -- forwards ----------------------------------------------------------------

    def feed(self, appended: Appended) -> list[tuple[float, int]]:
        """Rows for the lines a refresh appended: ``(time, offset)`` in file order."""
        out: list[tuple[float, int]] = []
        for a, buf in self.file.appended(appended, self.fwd_end):
            if self.fwd_recs is None:
                self._prime(a)
            self.fwd_end = a + len(buf)
            out += self._feed(buf, a, emit=True)
        return out

    def _prime(self, end: int) -> None:
        """`_seed` from the lines before ``end``, read again: for a file the backward
        scan did not seed (rank-interleaved, or not scanned back)."""
        a = max(0, end - PRIME_BYTES)
        buf = self.file.read(a, end - a, self.gen)
        if a > 0:
            i = buf.find(b"\n")
            if i < 0:
                self.fwd_recs = {}
                return
            buf, a = buf[i + 1 :], a + i + 1
        self._seed(buf, a)

    def _seed(self, buf: bytes, base: int) -> None:
        """Set the forward state from the lines before the feed's start (``buf``:
        whole lines at ``base``, ending there, decided already by the backward
        scan): the open record and the clock. In a single-writer file the open
        record is the last one, so only it is read again, from its header (the
        clock from the nearest header that has one); in a rank-interleaved file
        the last `PRIME_BYTES` are, for every rank's open record."""
        self.fwd_recs = {}
        if len(buf) > PRIME_BYTES:
            i = buf.find(b"\n", len(buf) - PRIME_BYTES)
            buf, base = buf[i + 1 :], base + i + 1
        if not self.by_rank:
            h = last_header(buf, 0, len(buf))
            if h >= 0:
                c = clock_above(buf, len(buf), -1)
                if c is not None:
                    self.clock.fwd(c)
                buf, base = buf[h:], base + h
        self._feed(buf, base, emit=False)

    def _feed(self, buf: bytes, base: int, emit: bool) -> list[tuple[float, int]]:
        assert self.fwd_recs is not None
        recs = self.fwd_recs
        rules = self.rules
        out: list[tuple[float, int]] = []
        if emit and rules.trivial and not self.multi and not self.by_rank:
            return [(0.0, off) for off in line_starts(buf, base)]
        texts: deque[str] = deque(maxlen=REMEMBERED_LINES)  # of rows emitted as read: `out`'s tail
        above = self.fwd_above
        for off, raw in split_lines(buf, base):
            text = decode_line(raw)
            info = parse_line(text)
            info, above = in_record(text, info, above), info
            key = info.rank if self.by_rank else None
            plain = strip_sgr(text) if (rules.include or rules.exclude) else ""
            inc = rules.include is not None and rules.include.pattern.search(plain) is not None
            exc = rules.exclude is not None and rules.exclude.pattern.search(plain) is not None
            rank_kept = rank_ok(rules, info.rank) if self.by_rank else True
            rec = recs.get(key)
            if info.header:
                t = self.clock.fwd(info.clock)
                rec = recs[key] = OpenRecord(info.level, inc, exc, t=t)
                rec.shown = rules.keeps(rec.level, inc, exc)
                if rec.shown:
                    if emit and rank_kept:
                        out.append((t, off))
                        texts.append(text)
                elif rec.level >= rules.min_level and not exc and rank_kept:
                    rec.lines.append((off, info.rank))  # withheld until include matches
                continue
            if rec is None:
                rec = recs[key] = OpenRecord(ORPHAN_LEVEL, False, False, t=self.clock.fwd(None))
                rec.shown = rules.keeps(ORPHAN_LEVEL, False, False)
            if exc and not rec.exc:
                rec.exc = True
                rec.shown = False  # hide the rest (lines already shown stay)
                rec.lines = []
            if rec.shown:
                if emit and rank_kept:
                    out.append((rec.t, off))
                    texts.append(text)
            elif not rec.exc and rec.level >= rules.min_level:
                if inc:
                    rec.inc = rec.shown = True
                    if emit:
                        out.extend((rec.t, o) for o, _ in rec.lines)
                        texts.clear()  # `out` holds rows read earlier now
                        if rank_kept:
                            out.append((rec.t, off))
                            texts.append(text)
                    rec.lines = []
                elif rank_kept and len(rec.lines) < 10_000:
                    rec.lines.append((off, info.rank))
        self.fwd_above = above
        if texts:
            # The renderer asks for these rows next: hand it the text decoded here.
            remember, gen = self.file.remember, self.gen
            for (_, off), text in zip(out[-len(texts) :], texts, strict=True):
                remember(gen, off, text)
        return out
