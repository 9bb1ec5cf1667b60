"""A run's ``logs/`` folder as a set of live files.

`Run` discovers the files (both layouts, ``logs/latest`` read through the symlink),
and `Run.refresh` reads what was appended to them. Each `LogFile` owns a
`FileFollower` (appended bytes), a `LineIndex` (line offsets, built from the end
backwards by `LogFile.build_index`) and a read-only descriptor for the text of any
line on demand, so a multi-gigabyte file costs its index and a few cached lines.

Line text is addressed by byte offset. When a file is truncated or replaced its
``generation`` goes up: rows already on screen keep their generation, and their text
is still served (from the old file while it exists, else from a snapshot of its
last megabyte, else from the cache) while the new content starts again at 0.

The byte-level record helpers (`header_level`, `problem_lines`) live in
`core.scan.records`; they are re-exported here for older callers.
"""

from __future__ import annotations

import os
import time
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final, Literal

from prime_rl_logs.core.follow import FileFollower, FollowResult
from prime_rl_logs.core.index import CHUNK, FIRST_CHUNK, LineIndex
from prime_rl_logs.core.parse import LineInfo, decode_line, parse_line
from prime_rl_logs.core.scan.records import (
    ORPHAN_LEVEL,
    RECORD_LOOKBACK,
    count_problems,
    header_info,
    header_level,
    level_from_bytes,
    problem_lines,
)
from prime_rl_logs.core.scan.templates import HeaderTemplates
from prime_rl_logs.layout import Source, classify, discover, logs_dir

__all__ = [
    "ORPHAN_LEVEL",
    "LogFile",
    "Run",
    "RunChanges",
    "header_info",
    "header_level",
    "level_from_bytes",
    "problem_lines",
]

Status = Literal["live", "gone", "error"]

CACHE_LINES: Final = 4096
"""Decoded lines (text and info) kept per file."""

RECENT_BYTES: Final = 4 << 20
"""Appended bytes up to this size are kept until the next refresh for `LogFile.read`."""

SNAPSHOT_BYTES: Final = 1 << 20
"""What is kept of a replaced file whose descriptor we let go."""

KEEP_OLD_FDS: Final = 2
"""Replaced files (still on disk elsewhere) kept open per `LogFile` for their text."""

GONE_TEXT: Final = "\x1b[2m⋯ (no longer readable: the file was truncated or replaced)\x1b[0m"


def _one_line(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())


# ---------------------------------------------------------------------------
# LogFile


@dataclass(slots=True)
class _OldContent:
    """What is left of a generation that was truncated or replaced."""

    fd: int | None = None  # the replaced file, still on disk somewhere
    snap_start: int = 0  # else: its last bytes, from this offset
    snap: bytes = b""

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class LogFile:
    """One log file of a run, followed live and read on demand.

    Attributes the dashboard shows: ``source``, ``status`` ("live", "gone" once the
    path names no file, "error" with a one-line ``error`` when it cannot be read),
    ``lines`` (lines indexed so far), ``warnings`` / ``errors`` (records at WARNING /
    ERROR and above among the lines read so far; complete once ``indexed``),
    ``last_write`` (mtime, epoch seconds), ``size``.
    """

    def __init__(self, source: Source, *, from_start: bool) -> None:
        self.source = source
        self.path = source.path
        self.status: Status = "live"
        self.error: str | None = None
        self.warnings = 0
        self.errors = 0
        self.last_write = 0.0
        self.generation = 0
        """Goes up by one each time the file is truncated or replaced."""
        self._follower = FileFollower(self.path, start=0 if from_start else None)
        self._fd: int | None = None  # our own descriptor of the current content
        self._ident: tuple[int, int] | None = None
        self.index = LineIndex(0)
        self._old: OrderedDict[int, _OldContent] = OrderedDict()
        self._text: OrderedDict[tuple[int, int], str] = OrderedDict()
        self._info: OrderedDict[tuple[int, int], LineInfo] = OrderedDict()
        self._built_once = False
        self._adopted = False
        # The bytes the last refresh read (offset, data, generation): the views and the
        # metrics read the appended range right after, and get it from here, not disk.
        self._recent: tuple[int, bytes, int] | None = None

    def __repr__(self) -> str:
        return f"LogFile({self.source.rel!r}, {self.status}, gen={self.generation})"

    # -- what the dashboard shows ---------------------------------------------

    @property
    def lines(self) -> int:
        return len(self.index)

    @property
    def size(self) -> int:
        """Bytes of the current content read so far (complete lines and a pending one)."""
        return self.index.end + len(self._follower.pending)

    @property
    def end(self) -> int:
        """Offset after the last complete line read (where appended lines start)."""
        return self.index.end

    @property
    def indexed(self) -> bool:
        """Every line is indexed (or nothing more can be: the file is unreadable)."""
        return self.index.complete or self.index.stale or self._fd is None

    @property
    def behind(self) -> bool:
        """More is waiting to be read: refresh again at once."""
        return self._follower.behind

    def close(self) -> None:
        self._follower.close()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        for old in self._old.values():
            old.close()
        self._old.clear()

    # -- refresh -----------------------------------------------------------------

    def refresh(self) -> tuple[tuple[int, int] | None, bool, bool]:
        """Read what was appended: ``(grown byte range or None, reset, went gone)``.

        Never raises: an unreadable file becomes ``status == "error"``.
        """
        try:
            r = self._follower.poll()
            if r.reset:
                self._adopt(r, first=False)
            elif not self._adopted and self._follower.fd is not None:
                self._adopt(r, first=True)
            return self._take(r)
        except OSError as exc:
            self.status = "error"
            self.error = f"cannot read {self.source.rel}: {_one_line(exc)}"
            return None, False, False

    def _adopt(self, r: FollowResult, *, first: bool) -> None:
        """Start reading a new content: the first file opened, or a replacement."""
        fd = self._follower.fd
        assert fd is not None
        new_fd = os.dup(fd)
        st = os.fstat(new_fd)
        ident = (st.st_dev, st.st_ino)
        self._adopted = True
        if not first:
            self._retire(same_file=ident == self._ident)
            self.generation += 1
            self.warnings = self.errors = 0
            if self.source.attempt is not None:
                # logs/latest now points to another attempt.
                self.source = classify(self.path, _logs_of(self.source))
        self._fd = new_fd
        self._ident = ident
        self.index = LineIndex(r.offset)
        self.last_write = st.st_mtime
        self._built_once = False

    def _retire(self, *, same_file: bool) -> None:
        """Keep what can be kept of the current content before it is replaced."""
        fd, self._fd = self._fd, None
        if fd is None:
            return  # already retired (the file went away before it came back)
        old = _OldContent()
        try:
            if same_file:
                pass  # truncated in place: nothing of it is left to read
            elif os.fstat(fd).st_nlink > 0 and self._fds_kept() < KEEP_OLD_FDS:
                old.fd, fd = fd, None  # renamed away or a swapped symlink: on disk still
            else:  # deleted: do not hold its disk space, keep its last lines
                end = self.index.end
                a = max(0, end - SNAPSHOT_BYTES)
                buf = os.pread(fd, end - a, a)
                cut = 0 if a == 0 else buf.find(b"\n") + 1
                old.snap_start, old.snap = a + cut, buf[cut:]
        except OSError:
            pass
        finally:
            if fd is not None:
                os.close(fd)
        self._old[self.generation] = old
        while len(self._old) > 8:
            _, dropped = self._old.popitem(last=False)
            dropped.close()

    def _fds_kept(self) -> int:
        return sum(1 for o in self._old.values() if o.fd is not None)

    def _take(self, r: FollowResult) -> tuple[tuple[int, int] | None, bool, bool]:
        went_gone = r.gone and self.status != "gone"
        if r.gone:
            self.status = "gone"
        elif self.status != "live":
            self.status, self.error = "live", None
        grown = None
        if r.data and self._fd is not None:
            self.index.extend(r.data, r.offset)
            w, e = count_problems(r.data)
            self.warnings += w
            self.errors += e
            grown = (r.offset, r.offset + len(r.data))
            small = len(r.data) <= RECENT_BYTES
            self._recent = (r.offset, r.data, self.generation) if small else None
            try:
                self.last_write = os.fstat(self._fd).st_mtime
            except OSError:
                self.last_write = time.time()
        if went_gone:
            # Keep its lines readable without holding a deleted file's disk space.
            self._retire(same_file=False)
        return grown, r.reset, went_gone

    # -- background indexing -----------------------------------------------------

    def build_index(self, budget_s: float = 0.02) -> bool:
        """Index older lines for about ``budget_s`` seconds; True once complete."""
        if self._fd is None or self.index.complete or self.index.stale:
            return self._fd is None or self.index.complete
        fd = self._fd

        def read(offset: int, size: int) -> bytes:
            return os.pread(fd, size, offset)

        deadline = time.perf_counter() + budget_s
        try:
            while True:
                size = CHUNK if self._built_once else FIRST_CHUNK
                step = self.index.build_step(read, size)
                self._built_once = True
                if step is None:
                    break
                w, e = count_problems(step[1])
                self.warnings += w
                self.errors += e
                if time.perf_counter() >= deadline:
                    break
        except OSError as exc:
            self.status = "error"
            self.error = f"cannot read {self.source.rel}: {_one_line(exc)}"
            return True
        return self.index.complete or self.index.stale

    # -- reading lines -------------------------------------------------------------

    def indexed_starts(self, lo: int, hi: int, generation: int) -> array[int] | None:
        """Start offsets of the lines starting in ``[lo, hi)`` of that generation's
        content, from the index; None unless it covers the range."""
        if generation != self.generation or self._fd is None:
            return None
        return self.index.starts_between(lo, hi)

    def read(self, offset: int, size: int, generation: int | None = None) -> bytes:
        """Raw bytes of the current content (b"" for another generation or an error)."""
        if self._fd is None or (generation is not None and generation != self.generation):
            return b""
        recent = self._recent
        if recent is not None and recent[2] == self.generation:
            start, data, _ = recent
            if start <= offset and offset + size <= start + len(data):
                return data[offset - start : offset - start + size]
        try:
            return os.pread(self._fd, size, offset)
        except OSError:
            return b""

    def raw_line(self, offset: int, generation: int | None = None) -> bytes | None:
        """The bytes of the line starting at ``offset`` (with its newline); None if
        that content can no longer be read."""
        gen = self.generation if generation is None else generation
        if gen == self.generation and self._fd is not None:
            fd = self._fd
            end = self.index.line_end(offset)
            if end is not None:
                try:
                    return os.pread(fd, end - offset, offset)
                except OSError:
                    return None
            return _read_line_at(fd, offset)
        old = self._old.get(gen)
        if old is None:
            return None
        if old.fd is not None:
            return _read_line_at(old.fd, offset)
        i = offset - old.snap_start
        if old.snap and 0 <= i < len(old.snap):
            j = old.snap.find(b"\n", i)
            return old.snap[i : j + 1 if j >= 0 else len(old.snap)]
        return None

    def text(self, offset: int, generation: int | None = None) -> str:
        """Display text of the line starting at ``offset``: colours kept, every other
        control sequence removed, long lines cut with a marker."""
        gen = self.generation if generation is None else generation
        key = (gen, offset)
        cache = self._text
        text = cache.get(key)
        if text is not None:
            cache.move_to_end(key)
            return text
        raw = self.raw_line(offset, gen)
        if raw is None:
            return GONE_TEXT
        text = decode_line(raw)
        cache[key] = text
        if len(cache) > CACHE_LINES:
            cache.popitem(last=False)
        return text

    def info(self, offset: int, generation: int | None = None) -> LineInfo:
        """What the line at ``offset`` says; a continuation line carries the level
        of its record (the header above it; in a file that interleaves torchrun
        ranks, the header above it from the same rank)."""
        gen = self.generation if generation is None else generation
        key = (gen, offset)
        cache = self._info
        info = cache.get(key)
        if info is not None:
            cache.move_to_end(key)
            return info
        raw = self.raw_line(offset, gen)
        info = parse_line(decode_line(raw)) if raw is not None else parse_line("")
        if not info.header:
            head = self._record_header(offset, gen, info.rank) if raw is not None else None
            if head is None:
                info = replace(info, level=ORPHAN_LEVEL)
            else:
                info = replace(info, level=head.level, level_name=head.level_name)
        cache[key] = info
        if len(cache) > CACHE_LINES:
            cache.popitem(last=False)
        return info

    def _record_header(self, offset: int, gen: int, rank: int | None) -> LineInfo | None:
        """The header line above ``offset`` that starts its record, if any."""
        # The line just above is usually cached (screens render top to bottom).
        if gen == self.generation:
            i = self.index.find(offset)
            if i > 0 and self.index[i] == offset:
                above = self._info.get((gen, self.index[i - 1]))
                if above is not None and (rank is None or above.rank == rank):
                    return above if above.header else _as_header(above)
        reader = self._reader(gen)
        if reader is None:
            return None
        pos = offset
        block = 64 << 10
        while pos > 0 and offset - pos < RECORD_LOOKBACK:
            a = max(0, pos - block)
            buf = reader(a, pos - a)
            if len(buf) != pos - a:
                return None
            end = len(buf)
            # Lines from the bottom up; the one cut at the top is read next time.
            while True:
                start = buf.rfind(b"\n", 0, end - 1) + 1 if end > 0 else 0
                if start == 0 and a > 0:
                    break
                head = header_info(buf, start, end)
                if head is not None and (rank is None or head.rank == rank):
                    return head
                if start == 0:
                    return None
                end = start
            pos = a + end
            block *= 2
        return None

    def _reader(self, gen: int) -> Callable[[int, int], bytes] | None:
        fd = self._fd if gen == self.generation else None
        if fd is None:
            old = self._old.get(gen)
            fd = old.fd if old is not None else None
        if fd is None:
            return None
        return lambda offset, size: os.pread(fd, size, offset)


def _as_header(info: LineInfo) -> LineInfo:
    """A continuation's inherited level, as the header it came from would give it."""
    return replace(info, header=True)


def _read_line_at(fd: int | None, offset: int) -> bytes | None:
    """Read forward from ``offset`` to the next newline (or EOF)."""
    if fd is None:
        return None
    parts = []
    pos = offset
    block = 16 << 10
    try:
        while True:
            buf = os.pread(fd, block, pos)
            if not buf:
                break
            i = buf.find(b"\n")
            if i >= 0:
                parts.append(buf[: i + 1])
                break
            parts.append(buf)
            pos += len(buf)
            block = min(block * 2, 16 << 20)
    except OSError:
        return None
    return b"".join(parts)


def _logs_of(source: Source) -> Path | None:
    """The ``logs/`` folder a source was classified against."""
    rel_parts = len(Path(source.rel).parts)
    path = source.path
    for _ in range(rel_parts):
        path = path.parent
    return path


# ---------------------------------------------------------------------------
# Run


@dataclass(eq=False)
class RunChanges:
    """What one `Run.refresh` found; falsy when nothing changed."""

    new_files: list[LogFile] = field(default_factory=list)
    grown: dict[LogFile, tuple[int, int]] = field(default_factory=dict)
    """Byte range appended to each file (in its current generation)."""
    reset: list[LogFile] = field(default_factory=list)
    """Files truncated or replaced: their ``generation`` went up and ``grown`` (if
    present) covers the new content from 0."""
    gone: list[LogFile] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.new_files or self.grown or self.reset or self.gone)


class Run:
    """The log files of one prime-rl run, discovered and followed.

    ``logs/`` may not exist yet: `refresh` keeps looking (``exists`` says whether it
    has been seen). Files present at the first refresh are read from their end
    (history comes from the backward index and the views); files that appear later
    (``logs/`` included) are read from their first byte.
    """

    def __init__(self, output_dir: str | os.PathLike[str]) -> None:
        self.output_dir = Path(output_dir)
        self.logs = logs_dir(self.output_dir)
        self.files: list[LogFile] = []
        self.exists = False
        self._by_path: dict[Path, LogFile] = {}
        self._by_real: dict[str, LogFile] = {}
        self._first_refresh = True
        self.templates = HeaderTemplates()
        """The header layouts learned from this run's files, shared by its views."""

    def file(self, path: str | os.PathLike[str]) -> LogFile | None:
        return self._by_path.get(Path(path))

    @property
    def behind(self) -> bool:
        """Some file has more to read right now: call `refresh` again."""
        return any(f.behind for f in self.files)

    @property
    def indexed(self) -> bool:
        return all(f.indexed or f.status == "error" for f in self.files)

    def close(self) -> None:
        for f in self.files:
            f.close()

    def refresh(self, paths: Iterable[str | os.PathLike[str]] | None = None) -> RunChanges:
        """Discover new files and read what was appended.

        With ``paths`` (what a change notification named), only those files are
        read, and discovery runs only if one of them is not a known file; without,
        every file is read and the folder walked. Cheap when nothing changed: a
        ``stat`` and an ``fstat`` per file.
        """
        changes = RunChanges()
        first_sight, self._first_refresh = self._first_refresh, False
        if not self._logs_is_dir():
            return changes
        targets: list[LogFile]
        if paths is None:
            self._discover(changes, first=first_sight)
            targets = self.files
        else:
            targets, unknown = [], False
            for p in paths:
                f = self._by_path.get(Path(p)) or self._by_real.get(os.path.realpath(p))
                if f is None:
                    unknown = True
                elif f not in targets:
                    targets.append(f)
            if unknown:
                self._discover(changes, first=first_sight)
                targets = self.files
        for f in targets:
            fresh = f in changes.new_files
            grown, reset, went_gone = f.refresh()
            if fresh and first_sight:
                f.build_index(0.0)  # one small step: the last screen's lines and counts
            if reset:
                changes.reset.append(f)
                self._by_real[os.path.realpath(f.path)] = f
            if grown is not None:
                changes.grown[f] = grown
            if went_gone:
                changes.gone.append(f)
        return changes

    def build_index(self, budget_s: float = 0.02) -> bool:
        """Index older lines of the files (newest files first) for about
        ``budget_s``; True once every file is indexed."""
        deadline = time.perf_counter() + budget_s
        for f in self.files:
            if f.indexed:
                continue
            f.build_index(max(0.0, deadline - time.perf_counter()))
            if time.perf_counter() >= deadline:
                break
        return self.indexed

    def _logs_is_dir(self) -> bool:
        if self.logs.is_dir():
            self.exists = True
            return True
        return False

    def _discover(self, changes: RunChanges, *, first: bool) -> None:
        added = False
        for path in discover(self.logs):
            if path in self._by_path:
                continue
            f = LogFile(classify(path, self.logs), from_start=not first)
            self._by_path[path] = f
            self._by_real[os.path.realpath(path)] = f
            self.files.append(f)
            changes.new_files.append(f)
            added = True
        if added:
            self.files.sort(key=lambda f: f.source.sort_key)
