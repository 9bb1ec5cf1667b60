"""One log file of a run: followed live, its lines read on demand by byte offset.

A `LogFile` owns a `FileFollower` (appended bytes, and the one descriptor of the
file, pooled: see `core.fdpool`) and a `LineIndex` (line offsets, built from the
end backwards by `LogFile.build_index`), and reads the text of any line through the
follower's descriptor, reopened when the pool closed it, so a multi-gigabyte file
costs its index and a few cached lines, and an idle file no descriptor.
`LogFile.refresh` returns a `FileChange`; the appended lines travel in it as an
`Appended` (their range and, up to a cap, their bytes), so consumers never read
back what was just read. Line text is addressed by ``(generation, offset)``: when
the file is truncated or replaced its ``generation`` goes up, the old content is
handed to `Generations` (rows on screen keep their text) and the new content starts
at 0. Nothing here raises for file trouble: a failed read or poll sets ``status =
"error"`` with a one-line ``error``. Not thread-safe.
"""

from __future__ import annotations

import errno
import os
import time
from array import array
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Final, Literal

from prime_rl_logs.core.file_change import NOTHING, Appended, FileChange
from prime_rl_logs.core.follow import FileFollower, FollowResult
from prime_rl_logs.core.generations import Generations, ReadAt
from prime_rl_logs.core.index import CHUNK, FIRST_CHUNK, LineIndex
from prime_rl_logs.core.line_read import (
    appended_blocks,
    header_above,
    line_head,
)
from prime_rl_logs.core.lru import LRU
from prime_rl_logs.core.parse import LineInfo, decode_line, parse_line
from prime_rl_logs.core.scan.records import (
    ORPHAN_LEVEL,
    count_problems,
    judged_info,
)
from prime_rl_logs.layout import Source, classify

__all__ = ["CACHE_LINES", "GONE_TEXT", "REMEMBERED_LINES", "LogFile", "Status"]

Status = Literal["live", "gone", "error"]

CACHE_LINES: Final = 4096
"""Decoded lines (text and info) kept per file, of those read to be shown."""

REMEMBERED_LINES: Final = 128
"""Lines a reader has just decoded (`LogFile.remember`) kept per file until they are
shown: more than a screen of rows, so following the end decodes nothing twice, and
a bound that does not grow with the lines appended while nobody looks at them."""

_CUT_MARK: Final = "… [cut: "
"""What `decode.decode_line` writes before the size of a line it cut."""

GONE_TEXT: Final = "\x1b[2m⋯ (no longer readable: the file was truncated or replaced)\x1b[0m"


def _one_line(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())


class LogFile:
    """One log file of a run, followed live and read on demand.

    Attributes the dashboard shows: ``source``, ``status`` ("live", "gone" once the
    path names no file, "error" with a one-line ``error`` when it cannot be read),
    ``lines`` (lines indexed so far), ``warnings`` / ``errors`` (records at WARNING /
    ERROR and above among the lines read so far; complete once ``indexed``),
    ``last_write`` (mtime, epoch seconds), ``size``.

    An error of a poll is cleared by the next poll that succeeds. An error reading
    lines of the current content (an EIO in the middle of the file: views stop their
    history there) stays until the content is replaced, so it is seen.

    Args:
        source: the file, as `layout.classify` names it.
        from_start: read the first file opened from byte 0 (a file that appeared
            after the run was first seen); else from its end, history coming from
            `build_index` and the views' backward scans.
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
        self._current = False  # a current content is adopted (and not retired)
        self._ident: tuple[int, int] | None = None
        self.index = LineIndex(0)
        self._old = Generations()
        self._text: LRU[tuple[int, int], str] = LRU(CACHE_LINES)
        self._info: LRU[tuple[int, int], LineInfo] = LRU(CACHE_LINES)
        self._fresh: LRU[tuple[int, int], str] = LRU(REMEMBERED_LINES)
        self._built_once = False
        self._adopted = False
        self._read_failed = False  # `error` is from reading lines, not from a poll

    def __repr__(self) -> str:
        return f"LogFile({self.source.rel!r}, {self.status}, gen={self.generation})"

    # -- what the dashboard shows ---------------------------------------------

    @property
    def cached_texts(self) -> int:
        """Decoded lines held: those read to be shown, and those just remembered."""
        return len(self._text) + len(self._fresh)

    @property
    def lines(self) -> int:
        return len(self.index)

    @property
    def size(self) -> int:
        """Bytes of the current content read so far (complete lines and a pending one)."""
        return self.index.end + self._follower.pending_size

    @property
    def end(self) -> int:
        """Offset after the last complete line read (where appended lines start)."""
        return self.index.end

    @property
    def indexed(self) -> bool:
        """Every line is indexed (or nothing more can be: the file is unreadable)."""
        return self.index.complete or self.index.stale or not self._current

    @property
    def behind(self) -> bool:
        """More is waiting to be read: refresh again at once."""
        return self._follower.behind

    def close(self) -> None:
        self._follower.close()
        self._current = False
        self._old.close()

    def _fd_now(self) -> int:
        """The current content's descriptor, for one read now (the pool may close it
        when another file is opened, so it is never kept).

        Raises:
            OSError: it cannot be reopened, or the path names another file now.
        """
        fd = self._follower.content_fd()
        if fd is None:
            raise OSError(errno.ESTALE, "the file was replaced")
        return fd

    # -- refresh -----------------------------------------------------------------

    def refresh(self) -> FileChange:
        """Read what was appended.

        Never raises: an unreadable file becomes ``status == "error"``.

        Returns:
            The appended lines (with their bytes), whether the file was reset, and
            whether it went gone.
        """
        try:
            r = self._follower.poll()
            if r.reset:
                self._adopt(r, first=False)
            elif not self._adopted and self._follower.identity is not None:
                self._adopt(r, first=True)
            return self._take(r)
        except OSError as exc:
            self._fail(exc)
            return NOTHING

    def _fail(self, exc: OSError, offset: int | None = None) -> None:
        """Make an I/O error the file's state (``offset``: reading lines there)."""
        self.status = "error"
        at = "" if offset is None else f" at byte {offset}"
        self.error = f"cannot read {self.source.rel}{at}: {_one_line(exc)}"
        self._read_failed = self._read_failed or offset is not None

    def _adopt(self, r: FollowResult, *, first: bool) -> None:
        """Start reading a new content: the first file opened, or a replacement."""
        ident = self._follower.identity
        self._adopted = True
        if not first:
            self._retire(same_file=ident == self._ident)
            self.generation += 1
            self.warnings = self.errors = 0
            if self._read_failed:
                self._read_failed = False
                self.status, self.error = "live", None
            if self.source.attempt is not None:
                # logs/latest now points to another attempt.
                self.source = classify(self.path, _logs_of(self.source))
        self._current = True
        self._ident = ident
        self.index = LineIndex(r.offset)
        self.last_write = self._follower.mtime
        self._built_once = False

    def _retire(self, *, same_file: bool) -> None:
        """Keep what can be kept of the current content before it is replaced."""
        fd = self._follower.take_retired()
        if self._current:  # else already retired (the file went away and came back)
            self._current = False
            self._old.retire(fd, self.generation, self.index.end, same_file=same_file)
        elif fd is not None:
            os.close(fd)

    def _take(self, r: FollowResult) -> FileChange:
        went_gone = r.gone and self.status != "gone"
        if r.gone:
            self.status = "gone"
        elif self.status != "live" and not self._read_failed:
            self.status, self.error = "live", None
        appended = None
        if r.data and self._current:
            if r.line_size is None:
                self.index.extend(r.data, r.offset)
                data: bytes | None = r.data
            else:  # one long line, held as its head: its bytes stay on disk
                self.index.extend_line(r.offset, r.line_size)
                data = None
            w, e = count_problems(r.data if data is not None else r.data + b"\n")
            self.warnings += w
            self.errors += e
            appended = Appended(r.offset, r.end, self.generation, data)
            self.last_write = self._follower.mtime or time.time()
        if went_gone:
            # Keep its lines readable without holding a deleted file's disk space.
            self._retire(same_file=False)
        return FileChange(appended, r.reset, went_gone)

    # -- background indexing -----------------------------------------------------

    def build_index(self, budget_s: float = 0.02, stop: Callable[[], bool] | None = None) -> bool:
        """Index older lines for a while.

        Args:
            budget_s: about how long to work, in seconds (at least one step is done).
            stop: asked after each step; True ends the slice early.

        Returns:
            True once the index is complete (or nothing more can be indexed).
        """
        if not self._current or self.index.complete or self.index.stale:
            return not self._current or self.index.complete

        deadline = time.perf_counter() + budget_s
        try:
            while True:
                size = CHUNK if self._built_once else FIRST_CHUNK
                step = self.index.build_step(self._read_now, size)
                self._built_once = True
                if step is None:
                    break
                w, e = count_problems(step[1])
                self.warnings += w
                self.errors += e
                if time.perf_counter() >= deadline or (stop is not None and stop()):
                    break
        except OSError as exc:
            self._fail(exc)
            return True
        return self.index.complete or self.index.stale

    # -- reading lines -------------------------------------------------------------

    def appended(self, appended: Appended, start: int | None = None) -> Iterator[tuple[int, bytes]]:
        """The bytes of appended lines, in pieces of whole lines.

        Args:
            appended: what a refresh of this file reported.
            start: skip the lines before this offset (default: none).

        Returns:
            ``(offset, bytes)`` pieces in file order: ``appended.data`` itself when it
            is held, else blocks read from the file (fewer when the content was
            replaced or a read failed, which sets ``status``).
        """
        a = appended.start if start is None else max(start, appended.start)
        if a >= appended.end:
            return
        data = appended.data
        if data is not None:
            yield a, data if a == appended.start else data[a - appended.start :]
            return
        yield from appended_blocks(
            lambda o, n: self.read(o, n, appended.generation), a, appended.end
        )

    def indexed_starts(self, lo: int, hi: int, generation: int) -> array[int] | None:
        """Start offsets of lines, from the index.

        Args:
            lo: the first offset of the range.
            hi: the offset after the range.
            generation: the content the offsets belong to.

        Returns:
            The offsets of the lines starting in ``[lo, hi)``; None unless the index
            of that generation covers the range.
        """
        if generation != self.generation or not self._current:
            return None
        return self.index.starts_between(lo, hi)

    def read(self, offset: int, size: int, generation: int | None = None) -> bytes:
        """Raw bytes of the current content.

        Args:
            offset: where to start.
            size: how many bytes.
            generation: the content meant (default: the current one).

        Returns:
            The bytes (fewer at the end of the file); b"" for another generation or
            after an I/O error, which sets ``status = "error"``.
        """
        if not self._current or (generation is not None and generation != self.generation):
            return b""
        try:
            return os.pread(self._fd_now(), size, offset)
        except OSError as exc:
            self._fail(exc, offset)
            return b""

    def raw_line(self, offset: int, generation: int | None = None) -> bytes | None:
        """The bytes of one line.

        Args:
            offset: where the line starts.
            generation: the content meant (default: the current one).

        Returns:
            The line with its newline (a line longer than `line_read.LINE_READ_MAX`: its first
            `line_read.LINE_READ_MAX` bytes, see `line_head`); None if that content can no
            longer be read (an I/O error on the current content also sets ``status``).
        """
        got = self.line_head(offset, generation)
        return None if got is None else got[0]

    def line_head(self, offset: int, generation: int | None = None) -> tuple[bytes, int] | None:
        """The bytes of one line, at most `line_read.LINE_READ_MAX` of them, and its length.

        A line of any length costs `line_read.LINE_READ_MAX` bytes of memory: past them it is
        read in blocks that are dropped, to find its end.

        Args:
            offset: where the line starts.
            generation: the content meant (default: the current one).

        Returns:
            ``(head, size)``: the line with its newline when it fits, and its length;
            None as `raw_line`.
        """
        gen = self.generation if generation is None else generation
        if gen != self.generation or not self._current:
            raw = self._old.raw_line(gen, offset)
            return None if raw is None else (raw, len(raw))
        try:
            return line_head(self._read_now, offset, self.index.line_end(offset))
        except OSError as exc:
            self._fail(exc, offset)
            return None

    def remember(self, generation: int, offset: int, text: str) -> None:
        """Keep a line's display text that a reader has just decoded, so `text`
        need not read and decode it again (the last `REMEMBERED_LINES` of them: a
        view fed lines nobody sees does not fill the text cache).

        Args:
            generation: the content the line belongs to.
            offset: where the line starts.
            text: ``decode_line`` of the line's bytes (its newline included or not).
                A line cut for display is not kept: it may have been decoded from
                a head whose real size the reader did not know (`appended`), and
                `text` reads it again with its size.
        """
        if text.endswith(" line]") and _CUT_MARK in text[-40:]:
            return
        self._fresh.put((generation, offset), text)

    def text(self, offset: int, generation: int | None = None) -> str:
        """Display text of one line: colours kept, every other control sequence
        removed, long lines cut with a marker.

        Args:
            offset: where the line starts.
            generation: the content meant (default: the current one).

        Returns:
            The text; `GONE_TEXT` if the line can no longer be read, or a dim line
            with ``error`` if reading it failed.
        """
        gen = self.generation if generation is None else generation
        text = self._decoded(gen, offset)
        if text is not None:
            return text
        if gen == self.generation and self._read_failed:
            return f"\x1b[2m⋯ ({self.error})\x1b[0m"
        return GONE_TEXT

    def _decoded(self, gen: int, offset: int) -> str | None:
        """The decoded line at ``offset`` of generation ``gen``, from the text cache,
        else from the lines just remembered, else read and decoded once (and cached);
        None if it can no longer be read."""
        key = (gen, offset)
        text = self._text.get(key)
        if text is None:
            text = self._fresh.get(key)
            if text is None:
                got = self.line_head(offset, gen)
                if got is None:
                    return None
                raw, size = got
                text = decode_line(raw, size if size > len(raw) else None)
            self._text.put(key, text)
        return text

    def info(self, offset: int, generation: int | None = None) -> LineInfo:
        """What one line says; a continuation line carries the level of its record
        (the header above it; in a file that interleaves torchrun ranks, the header
        above it from the same rank).

        Args:
            offset: where the line starts.
            generation: the content meant (default: the current one).

        Returns:
            The parsed line (an empty line's info if it can no longer be read).
        """
        gen = self.generation if generation is None else generation
        key = (gen, offset)
        info = self._info.get(key)
        if info is not None:
            return info
        decoded = self._decoded(gen, offset)
        text = decoded if decoded is not None else ""
        info = parse_line(text)
        reader = self._reader(gen) if decoded is not None else None
        if reader is not None:
            info = judged_info(reader, offset, text, info)
        if not info.header:
            head = self._record_header(offset, gen, info.rank) if decoded is not None else None
            if head is None:
                info = replace(info, level=ORPHAN_LEVEL)
            else:
                info = replace(info, level=head.level, level_name=head.level_name)
        self._info.put(key, info)
        return info

    def _record_header(self, offset: int, gen: int, rank: int | None) -> LineInfo | None:
        """The header line above ``offset`` that starts its record, if any."""
        # The line just above is usually cached (screens render top to bottom).
        if gen == self.generation:
            i = self.index.find(offset)
            if i > 0 and self.index[i] == offset:
                above = self._info.get((gen, self.index[i - 1]))
                if above is not None and (rank is None or above.rank == rank):
                    return above if above.header else replace(above, header=True)
        reader = self._reader(gen)
        if reader is None:
            return None
        try:
            return header_above(reader, offset, rank)
        except OSError as exc:
            if gen == self.generation:
                self._fail(exc, offset)
            return None

    def _reader(self, gen: int) -> ReadAt | None:
        if gen != self.generation or not self._current:
            return self._old.reader(gen)
        return self._read_now

    def _read_now(self, offset: int, size: int) -> bytes:
        """`os.pread` of the current content (raises ``OSError``)."""
        return os.pread(self._fd_now(), size, offset)


def _logs_of(source: Source) -> Path | None:
    """The ``logs/`` folder a source was classified against."""
    rel_parts = len(Path(source.rel).parts)
    path = source.path
    for _ in range(rel_parts):
        path = path.parent
    return path
