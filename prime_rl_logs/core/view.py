"""Which lines a pane shows: filters, and a merge by time over several files.

A `View` is the rows of one pane over a `Run`: the files its `Filter` selects, each
row one physical line named by ``(file, generation, byte offset)`` (offsets never
shift, unlike line numbers). History found scanning backwards is *prepended*
(`View.build`, newest first, the last screen on the first call), live lines are
*appended* (`View.update`). A view of every line of one file (``Filter()`` on one
file, the dashboard's default pane) holds no rows of its own: they are a window
on the file's `LineIndex` (`View.is_index_window`), which its history builds
further.

Filters are judged per record: a continuation line (traceback, ``╰─`` line) takes the
level of the header above it, and an include/exclude regex that matches any line of
a record shows/hides the whole record, so a traceback is never split from its first
line. Where the parts live:

* `core.filter` (`Filter`), `core.rows` (`Row`, `ViewDelta`, the row stores),
  `core.search` (find, next problem);
* `core.view_file`: one file of a view (`ViewFile`), its backward scan and live feed;
* `core.scan`: the byte-level engine, pure functions over chunks: `lines`,
  `records`, `templates` (header layouts learned per run, `Run.templates`),
  `spans`, `matcher` (regexes), `decide` (the rule above, for single-writer and
  rank-interleaved files), `timeline` (clocks, for the merge).

Speed: decoding and parsing every line tops out near 15-20 MB/s, so a file is
scanned in 4 MB chunks with C-speed primitives (``bytes.find`` for level words,
one regex pass per word with the learned templates, slices of the line index);
every shortcut is checked line by line where it could disagree with `parse_line`.
Figures: docs/benchmarks.md.

A user regex that runs out of time on one search (`core.user_regex`) stops the
view: it keeps the rows found so far, takes no more (`View.complete` is then
True, `View.update` adds nothing) and says why in `View.stopped`. `View.cancel`
stops it the same way when its owner replaces it (another filter, or none).

Known limits: the bulk level scan sees level names written in upper case (as
loguru, vLLM, uvicorn and stdlib logging write them); a word of a regex split by a
colour code inside it (markup in the middle of a word) is not found on coloured
chunks; live, a record whose later continuation line matches ``exclude`` keeps the
lines already shown; a record longer than `scan.records.RECORD_LOOKBACK` is cut, its top part
read as orphan lines.
"""

from __future__ import annotations

import heapq
import re
import time
from array import array
from typing import Any, Final

from prime_rl_logs.core.filter import Filter
from prime_rl_logs.core.log_file import LogFile
from prime_rl_logs.core.rows import IndexWindow, Row, RowStore, ViewDelta
from prime_rl_logs.core.run import Run, RunChanges
from prime_rl_logs.core.scan.decide import Rules
from prime_rl_logs.core.scan.timeline import FileClock
from prime_rl_logs.core.search import find_row, next_problem_row
from prime_rl_logs.core.user_regex import RegexTooSlow, UserRegex
from prime_rl_logs.core.view_file import ViewFile
from prime_rl_logs.layout import TRAINER

__all__ = ["CANCELLED", "Filter", "Row", "View", "ViewDelta"]

FIRST_SCREEN: Final = 200
"""Rows the first `View.build` call finds before it returns (if there are that many)."""

CANCELLED: Final = "cancelled"
"""`View.stopped` of a view stopped by `View.cancel`."""

FIRST_CALL_MAX_S: Final = 0.5
"""The first `View.build` call may take this long to find the first screen."""


class View:
    """The rows of one pane: the lines of the files ``flt`` selects that pass it,
    merged by time when there are several files, following the run live.

    Not thread-safe, but for one case: `build` with ``held`` (which changes no row
    shown) may run on another thread while the owner reads rows (`len`, `row`,
    `find`, `record_span`) and calls `cancel`; the owner calls nothing else on the
    view meanwhile (`update` and `publish` wait). The reads of files on that thread
    are `LogFile.read` and `LogFile.indexed_starts` (``os.pread``, and slices of
    arrays the owner only appends to).
    """

    def __init__(self, run: Run, flt: Filter) -> None:
        self.run = run
        self.filter = flt
        self.templates = run.templates
        self._rules = Rules.of(flt)
        self._rows: RowStore | IndexWindow = RowStore()
        self._slots: list[tuple[LogFile, int]] = []
        self._members: dict[LogFile, ViewFile] = {}
        files = [f for f in run.files if self._selects(f)]
        self._multi = len(files) > 1
        for f in files:
            self._add(f)
        if self._multi:
            for m in self._members.values():
                m.merged(len(files))
        self._built = False
        self._heap: list[tuple[float, int]] | None = None  # `_step_multi`'s merge
        self._merge_order: list[ViewFile] = []  # the members by rank in the heap
        self._refill: int | None = None  # the rank of the file whose runs ran out last call
        self.stopped: str | None = None
        """Why the view stopped taking rows (its regex is too slow), or None."""
        if len(files) == 1:
            [m] = self._members.values()
            if self._rules.trivial and not (m.by_rank and self._rules.ranks is not None):
                # Every line of one file: the rows are the file's own line index.
                self._rows = IndexWindow(m.file.index, m.file.end, m.slot)

    def _selects(self, f: LogFile) -> bool:
        """The filter's choice, less ``trainer.log`` where the ranks' own files are
        read (`Run.shadowed`) unless the view names its files."""
        if not self.filter.selects(f.source):
            return False
        return self.filter.rels is not None or not self.run.shadowed(f)

    # -- the rows ----------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._rows)

    def row(self, i: int) -> Row:
        offset, slot = self._rows.get(i)
        file, gen = self._slots[slot]
        return Row(file, offset, gen)

    @property
    def files(self) -> list[LogFile]:
        """The files this view shows, in the run's order."""
        return [m.file for m in sorted(self._members.values(), key=lambda m: m.order)]

    @property
    def complete(self) -> bool:
        """All history is scanned (live lines keep coming through `update`), or the
        view is `stopped`."""
        if self.stopped is not None:
            return True
        if isinstance(self._rows, IndexWindow):
            return self._index_done()
        return all(m.done and not m.runs for m in self._members.values())

    def _index_done(self) -> bool:
        rows = self._rows
        assert isinstance(rows, IndexWindow)
        [f] = self._members
        index = rows.index
        if rows.taken > index.indexed_from:
            return False  # indexed lines not taken yet
        return index.complete or index.stale or f.index is not index or f.indexed

    @property
    def is_index_window(self) -> bool:
        """The rows are a window on one file's line index (every line of one file:
        no rows of their own, no scan beyond the index's); until a reset or a
        second file makes them a copy."""
        return isinstance(self._rows, IndexWindow)

    @property
    def nbytes(self) -> int:
        """Memory held by the row addresses."""
        return self._rows.nbytes

    def _add(self, f: LogFile) -> ViewFile:
        self._heap = None
        slot = len(self._slots)
        self._slots.append((f, f.generation))
        # Ties in time go by the run's file order; the count keeps keys unique.
        order = (*f.source.sort_key, len(self._members))
        m = ViewFile(f, order, slot, self._rules, self._multi, self.templates)
        self._members[f] = m
        return m

    # -- history -----------------------------------------------------------------

    def build(self, budget_s: float = 0.02, held: bool = False) -> int:
        """Prepend older rows for about ``budget_s`` seconds; how many were added.

        The first call returns once it has the last screen (`FIRST_SCREEN` rows,
        or all there are), taking up to `FIRST_CALL_MAX_S` if the filter is rare.
        With ``held`` the rows are held back (row numbers do not move) until
        `publish`; a call without it publishes them too (and counts them).
        """
        before = len(self)
        try:
            added = self._build(budget_s)
        except RegexTooSlow as exc:
            self._stop(exc)
            added = 0
        if not held:
            self.publish()
            return len(self) - before
        return added

    @property
    def held(self) -> int:
        """Rows `build` found and holds back until `publish`."""
        return self._rows.held

    def publish(self) -> int:
        """Show the rows `build` held back, before the first row; how many."""
        return self._rows.publish()

    def _stop(self, exc: RegexTooSlow) -> None:
        self.stopped = str(exc)
        self._heap = self._refill = None

    def cancel(self) -> None:
        """Stop scanning history and following (`stopped` says `CANCELLED`): the view
        was replaced, by another filter or none. What it found stays; building it
        and updating it cost nothing from now on."""
        if self.stopped is None:
            self.stopped = CANCELLED
            self._heap = self._refill = None

    def _build(self, budget_s: float) -> int:
        start = time.perf_counter()
        deadline = start + budget_s
        first = not self._built
        self._built = True
        if first:
            deadline = max(deadline, start)
        if isinstance(self._rows, IndexWindow):
            return self._build_index(start, deadline, first)
        added = 0
        while not self.complete:
            added += self._step_multi() if self._multi else self._step_single()
            now = time.perf_counter()
            if now >= deadline and (
                not first or added >= FIRST_SCREEN or now - start >= FIRST_CALL_MAX_S
            ):
                break
        return added

    def _build_index(self, start: float, deadline: float, first: bool) -> int:
        """`build` for an `IndexWindow`: index the file further back, take its lines."""
        rows = self._rows
        assert isinstance(rows, IndexWindow)
        [f] = self._members
        added = 0
        while not self.complete:
            got = rows.grow_back(held=True)  # what the index has already, first
            if not got and f.index is rows.index:
                f.build_index(max(0.0, deadline - time.perf_counter()))
                got = rows.grow_back(held=True)
            added += got
            now = time.perf_counter()
            if now >= deadline and (
                not first or added >= FIRST_SCREEN or now - start >= FIRST_CALL_MAX_S
            ):
                break
        return added

    def _step_single(self) -> int:
        added = 0
        for m in self._members.values():
            if not m.done:
                kept = m.step()
                self._copied.prepend(kept, m.slot, held=True)
                added += len(kept)
        return added

    def _step_multi(self) -> int:
        """One step of a k-way merge of the files' backward runs by time: take the
        newest run among files (ties: the later file in the run's order first, so
        that forwards the earlier one reads first), refilling a file's runs before
        it could hold something newer."""
        # A heap kept between calls, not a `max` over every file per run taken: with
        # thousands of files the scans over them cost more than reading their bytes
        # (issue 15 item 11).
        heap = self._heap
        members = self._merge_order
        if heap is None:
            # The run's file order as ranks: heap entries are tuples, compared in C.
            members = self._merge_order = sorted(self._members.values(), key=lambda m: m.order)
            heap = []
            for rank, m in enumerate(members):
                while not m.runs and not m.done:
                    m.step()
                if m.runs:
                    heap.append((-m.runs[-1][0], -rank))
            heapq.heapify(heap)
            self._heap = heap
        elif self._refill is not None:
            rank, self._refill = self._refill, None
            m = members[rank]
            while not m.runs and not m.done:
                m.step()
            if m.runs:
                heapq.heappush(heap, (-m.runs[-1][0], -rank))
        if not heap:
            return 0
        # Runs taken newest first, prepended together (one array extend, not one a run:
        # with many files most runs are a row or two).
        taken: list[tuple[array[int], int]] = []
        added = 0
        deadline = time.perf_counter() + 0.005
        pop, replace, push_back = heapq.heappop, heapq.heapreplace, taken.append
        while heap:
            rank = -heap[0][1]
            best = members[rank]
            offsets = best.runs.pop()[1]
            push_back((offsets, best.slot))
            added += len(offsets)
            if best.runs:
                replace(heap, (-best.runs[-1][0], -rank))
            elif not best.done:
                pop(heap)
                self._refill = rank  # refill it before going on
                break
            else:
                pop(heap)
            if not len(taken) & 255 and time.perf_counter() >= deadline:
                break
        self._copied.prepend_runs(taken)
        return added

    # -- live --------------------------------------------------------------------

    def update(self, changes: RunChanges) -> ViewDelta:
        """Rows for what `Run.refresh` found: appended lines (a batch from several
        files merged by time), new files, and resets (old rows stay; the new content
        follows)."""
        if self.stopped is not None:
            return ViewDelta(appended=0)
        before = len(self)
        try:
            return self._update(changes)
        except RegexTooSlow as exc:
            self._stop(exc)
            return ViewDelta(appended=len(self) - before, reset=bool(changes.reset))

    def _update(self, changes: RunChanges) -> ViewDelta:
        self._heap = self._refill = None  # files may join or restart: merge afresh
        if isinstance(self._rows, IndexWindow):
            [own] = self._members
            joining = any(f not in self._members and self._selects(f) for f in changes.new_files)
            if not joining and own not in changes.reset:
                return ViewDelta(appended=self._rows.grow_forward())
            published = self.publish()  # the copy takes every row taken
            self._copy_index_rows()
        else:
            published = 0
        reset = False
        for f in changes.new_files:
            if f not in self._members and self._selects(f):
                if self._members:
                    self._multi = True
                    for m in self._members.values():
                        m.multi = True
                        m.merged(len(self._members) + 1)
                m = self._add(f)
                m.stop()  # read from the start by `Run`: its lines arrive as growth
                m.fwd_end = 0
        for f in changes.reset:
            member = self._members.get(f)
            if member is None:
                continue
            reset = True
            member.stop()
            member.gen = f.generation
            member.slot = len(self._slots)
            self._slots.append((f, f.generation))
            member.fwd_end = 0
            member.fwd_recs = {}
            member.clock = FileClock(f.last_write or time.time())
        batch: list[tuple[float, tuple[Any, ...], int, int, int]] = []
        seq = 0
        for f, lines in changes.grown.items():
            grown = self._members.get(f)
            if grown is None or f.generation != grown.gen:
                continue
            for t, off in grown.feed(lines):
                batch.append((t, grown.order, seq, off, grown.slot))
                seq += 1
        appended = 0
        if batch:
            if len({x[4] for x in batch}) > 1:
                batch.sort()  # by time, then file order, then arrival
            i = 0
            while i < len(batch):
                j = i
                slot = batch[i][4]
                while j < len(batch) and batch[j][4] == slot:
                    j += 1
                appended += self._copied.append((x[3] for x in batch[i:j]), slot)
                i = j
        return ViewDelta(prepended=published, appended=appended, reset=reset)

    @property
    def _copied(self) -> RowStore:
        """The rows, where they are not an `IndexWindow`."""
        assert isinstance(self._rows, RowStore)
        return self._rows

    def _copy_index_rows(self) -> None:
        """Leave the `IndexWindow` (a reset, or a second file): the rows become a copy,
        and the file's member goes on from where they end, both ways."""
        rows = self._rows
        assert isinstance(rows, IndexWindow)
        [m] = self._members.values()
        self._rows = rows.copy()
        m.pos = rows.lo
        m.done = rows.lo == 0 or m.file.status == "error"
        m.fwd_end = rows.hi
        m.fwd_recs = None

    # -- records and search --------------------------------------------------------

    def record_span(self, row: int) -> range:
        """The rows of the record holding row ``row``: its header and continuation
        lines, as far as they follow each other in this view and come from the same
        file (and, in a file that interleaves torchrun ranks, the same rank). A line
        with no header above it in the view spans from the first such row."""
        n = len(self._rows)
        if row < 0:
            row += n
        if not 0 <= row < n:
            raise IndexError("row out of range")
        slot = self._rows.get(row)[1]
        file = self._slots[slot][0]
        by_rank = file.source.component == TRAINER and file.source.rank is None
        rank = self.row(row).info.rank if by_rank else None

        def same(i: int) -> bool:
            if self._rows.get(i)[1] != slot:
                return False
            return not by_rank or self.row(i).info.rank == rank

        lo = row
        while not self.row(lo).info.header and lo > 0 and same(lo - 1):
            lo -= 1
        hi = row + 1
        while hi < n and same(hi) and not self.row(hi).info.header:
            hi += 1
        return range(lo, hi)

    def find(
        self, pattern: re.Pattern[str] | UserRegex | str, start: int, backwards: bool = False
    ) -> int | None:
        """The first row at or after ``start`` (at or before, ``backwards``) whose
        plain text matches ``pattern``; None if there is none. `RegexTooSlow` where
        one search of it runs out of time."""
        return find_row(self._rows, self._slots, pattern, start, backwards)

    def next_problem(self, start: int, backwards: bool = False) -> int | None:
        """The first row at or after ``start`` (at or before, ``backwards``) that
        starts a record of level WARNING or above; None if there is none."""
        return next_problem_row(self._rows, self._slots, start, backwards)
