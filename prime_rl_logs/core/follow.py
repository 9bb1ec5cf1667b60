"""One log file followed by byte offset, the way ``tail -F`` follows it.

A `FileFollower` opens the file read-only (it never writes, moves or locks it) and
reads appended bytes with ``os.pread`` from where it stopped. What can happen to a
log file while we watch it, and what `poll` reports:

* growth: the appended complete lines; a partial last line is held back until its
  newline arrives, so no line is ever returned in two pieces or twice. Of a partial
  line longer than `PENDING_MAX` only its first `PENDING_MAX` bytes and its length
  are held (the rest is read and dropped, so memory does not grow with the line);
  when its newline arrives it is returned alone, as that head with its real size
  (`FollowResult.line_size`), and the lines after it on the next poll, whole;
* truncation in place (``size < offset``, e.g. copytruncate): ``reset=True`` and the
  content from offset 0;
* recreation (``setup_logger`` deletes and recreates its files), rename rotation
  (``x.log`` -> ``x.log.1``, new ``x.log``) and a swapped ``logs/latest`` symlink: the
  path now names another inode. What the old file still holds is drained first
  (one poll), then the follower switches: ``reset=True`` and the new file from 0;
* deletion: whatever remained is drained, then ``gone=True`` on every poll until the
  path exists again, which is read from 0 with ``reset=True``.

Size and inode decide what happened; nothing here trusts a change notification.
The inode of an open descriptor cannot be reused while we hold it, so comparing
``(st_dev, st_ino)`` of the path with ``fstat`` of our descriptor is reliable.

Descriptors are pooled (`core.fdpool.POOL`): a run of thousands of files keeps at
most the pool's limit open, the least recently used closed ("parked") first. A
parked follower checks its path with ``stat`` only: same inode, size and mtime
means nothing happened, and the file is reopened only to read. What a parked
follower cannot do, because it holds nothing of the old file: a file rotated or
recreated while parked is switched to at once (``reset=True``), without draining
lines the old file got after our last read, and a file deleted while parked goes
``gone`` without that drain either (its rows on screen then read as gone). A
follower whose file is open behaves exactly as before.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from prime_rl_logs.core.fdpool import POOL

__all__ = ["FileFollower", "FollowResult"]

READ_BLOCK: Final = 4 << 20
"""Bytes asked of one ``pread``."""

MAX_POLL_BYTES: Final = 32 << 20
"""At most this much is read by one poll; `FileFollower.behind` says there is more.
A burst of hundreds of MB is read (and held, about twice this while joined) in
slices of this size, each handed on before the next is read."""

PENDING_MAX: Final = 64 << 10
"""The most bytes of a partial last line held between polls (the same as
`line_read.LINE_READ_MAX`, the most of a line ever read for its text): a longer one
is held as its head and its length, and comes out cut (`FollowResult.line_size`)."""

MIN_READ: Final = 64 << 10
"""The least asked of one ``pread`` when the file's size is known (it may have grown)."""

TAIL_CHECK: Final = 32
"""Bytes before the offset compared on growth, to notice a truncation we slept through."""

# Errors that mean "the path does not name a file right now", not "something is broken".
_VANISHED: Final = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ESTALE})


@dataclass(frozen=True, slots=True)
class FollowResult:
    """What one `FileFollower.poll` found.

    ``data`` holds only complete lines (each ending in ``\\n``) and starts at byte
    ``offset`` of the file. ``reset`` means the file was truncated or replaced and
    ``data`` comes from offset 0 of the new content. ``gone`` means the path names no
    file now (``data`` may still hold the last lines drained from the old one).

    ``line_size`` is None, except for a line longer than `PENDING_MAX` that was
    written in pieces: then it is the only line of the result, ``data`` is its first
    `PENDING_MAX` bytes (no newline) and ``line_size`` its real length, newline
    included; the next line starts at `end`.
    """

    data: bytes
    offset: int
    reset: bool
    gone: bool
    line_size: int | None = None

    @property
    def end(self) -> int:
        """The offset after the last line of the result."""
        return self.offset + (len(self.data) if self.line_size is None else self.line_size)


class FileFollower:
    """Reads one file by byte offset; see the module docstring for what it survives.

    A file that replaces another is always read from 0. Not thread-safe.

    Args:
        path: the file to follow; it need not exist yet.
        start: where the first file opened is read from; None means the end of its
            last complete line (only lines completed from now on are returned),
            found on the descriptor actually opened, so no race with a writer or a
            replacement.
    """

    def __init__(self, path: str | os.PathLike[str], start: int | None = 0) -> None:
        self.path = Path(path)
        self._start = start
        self._fd: int | None = None
        self._ident: tuple[int, int] | None = None  # (st_dev, st_ino) of _fd
        self._offset = start or 0  # where the next complete line starts
        self._pending = b""  # the head of a partial last line (at most PENDING_MAX)
        self._pending_size = 0  # that line's length so far (> len(_pending) once cut)
        self._tail = b""  # the last bytes read, to notice a truncate-and-regrow
        self._ever_opened = False
        self._switch_pending = False  # the path names another file; old one drained
        self._gone = False
        self._parked = False  # the pool closed our descriptor; the file is reopened to read
        self._mtime_ns = 0  # mtime seen by the last poll (a parked file's quiet check)
        self._retired: int | None = None  # the descriptor of content we switched away from
        self.behind = False
        """True after a poll that left something to read: it stopped at `MAX_POLL_BYTES`,
        or it drained a file the path no longer names and switches on the next poll.
        Poll again at once when set."""

    # -- state -----------------------------------------------------------------

    @property
    def offset(self) -> int:
        """The file offset after the last complete line returned."""
        return self._offset

    @property
    def pending(self) -> bytes:
        """The partial last line held back (no newline yet), at most its first
        `PENDING_MAX` bytes; shown as pending, if at all."""
        return self._pending

    @property
    def pending_size(self) -> int:
        """The length of the partial last line read so far (``len(pending)`` unless cut)."""
        return self._pending_size

    @property
    def fd(self) -> int | None:
        """The open descriptor, or None (also while parked). Readers use `content_fd`,
        which reopens a parked file; a number kept across other files' reads may have
        been closed by the pool."""
        return self._fd

    def content_fd(self) -> int | None:
        """A descriptor of the content being followed, reopened if the pool parked it.

        Returns:
            The descriptor (use it at once: the pool may close it when another file
            is opened), or None when there is no content or the path names another
            file now (the next `poll` switches to it).

        Raises:
            OSError: reopening failed for another reason than the file vanishing.
        """
        if self._fd is not None:
            POOL.touch(self)
            return self._fd
        if not self._parked:
            return None
        try:
            fd = POOL.open(self.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno in _VANISHED:
                return None
            raise
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != self._ident:
            os.close(fd)
            return None
        self._fd = fd
        self._parked = False
        POOL.touch(self)
        return fd

    def park(self) -> None:
        """Close the descriptor (the pool is short of room); reopened to read."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            self._parked = True

    def take_retired(self) -> int | None:
        """The descriptor of the content the last poll switched away from (replaced,
        or deleted), handed to the caller (who closes it); None if there is none."""
        fd, self._retired = self._retired, None
        return fd

    def _retire_fd(self) -> None:
        """Keep our descriptor for `take_retired` instead of closing it."""
        if self._retired is not None:
            os.close(self._retired)
        self._retired, self._fd = self._fd, None
        POOL.forget(self)

    @property
    def identity(self) -> tuple[int, int] | None:
        """``(st_dev, st_ino)`` of the file being followed."""
        return self._ident

    @property
    def mtime(self) -> float:
        """The file's mtime (epoch seconds) as the last poll saw it; 0 before."""
        return self._mtime_ns / 1e9

    @property
    def gone(self) -> bool:
        return self._gone

    def close(self) -> None:
        POOL.forget(self)
        self._parked = False
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._retired is not None:
            os.close(self._retired)
            self._retired = None

    def __enter__(self) -> FileFollower:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # Best effort: a dropped follower must not leak its descriptor.
        with contextlib.suppress(OSError):
            self.close()

    # -- polling ---------------------------------------------------------------

    def poll(self) -> FollowResult:
        """Read what was appended since the last poll.

        Returns:
            The complete lines appended (at most `MAX_POLL_BYTES`; ``behind`` then
            says there is more), and whether the file was reset or is gone.

        Raises:
            OSError: an error other than "the file vanished" (no permission, an
                I/O error); the state is left as it was, so the next poll retries.
                A vanished file is ``gone=True``, not an exception.
        """
        self.behind = False
        if self._retired is not None:  # not taken by the caller
            os.close(self._retired)
            self._retired = None
        if self._fd is None and not self._parked:
            return self._poll_closed()
        try:
            st = os.stat(self.path)
        except OSError as exc:
            if exc.errno not in _VANISHED:
                raise
            return self._vanished()
        self._gone = False
        same = (st.st_dev, st.st_ino) == self._ident
        if (
            same
            and st.st_size == self._offset + self._pending_size
            and st.st_mtime_ns == self._mtime_ns
            and not self._switch_pending
        ):
            # Quiet: the path's stat is our file's (the same inode), nothing was read
            # from it since. One syscall, open or parked: an idle run costs a stat a file.
            return FollowResult(b"", self._offset, reset=False, gone=False)
        if self._fd is None:  # parked: stat said there is something to read
            if not same:
                self._parked = False  # replaced while parked: the old file is out of reach
                return self._poll_closed()
            if self.content_fd() is None:  # replaced between the stat and the open
                self._parked = False
                return self._poll_closed()
        POOL.touch(self)
        if (st.st_dev, st.st_ino) != self._ident:
            # The path names another file now. Drain the old one first; switch on the
            # poll after that (so the two contents never share one result).
            if not self._switch_pending:
                r = self._read_complete()
                self._switch_pending = not self.behind  # drained to EOF: switch next
                if r.data:
                    self.behind = True
                    return r
            self._switch_pending = False
            self._retire_fd()
            return self._poll_closed()
        self._switch_pending = False
        assert self._fd is not None
        fst = os.fstat(self._fd)
        size = fst.st_size
        self._mtime_ns = fst.st_mtime_ns
        end = self._offset + self._pending_size
        if size < end or (size > end and not self._same_tail(end)):
            # Truncated in place: the old content is gone, read the new from 0. (Also
            # when it was truncated and has grown past our offset again: the bytes we
            # read last are not there any more.)
            self._offset = 0
            self._set_pending(b"", 0)
            self._tail = b""
            return self._read_complete(reset=True, size=size)
        return self._read_complete(size=size)

    def _poll_closed(self) -> FollowResult:
        """No open file: try to open the path (first time, or it came back)."""
        reappeared = self._ever_opened
        try:
            return self._open_new(reset=reappeared)
        except OSError as exc:
            if exc.errno not in _VANISHED:
                raise
            self._gone = True
            return FollowResult(b"", self._offset, reset=False, gone=True)

    def _vanished(self) -> FollowResult:
        """The path is gone: drain the old file (unless parked), hand it on, report gone."""
        if self._fd is not None:
            r = self._read_complete()
        else:
            r = FollowResult(b"", self._offset, reset=False, gone=False)
        self._retire_fd()
        self._parked = False
        self._gone = True
        self._set_pending(b"", 0)
        return FollowResult(r.data, r.offset, reset=False, gone=True, line_size=r.line_size)

    def _open_new(self, *, reset: bool) -> FollowResult:
        fd = POOL.open(self.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise OSError(errno.EINVAL, f"not a regular file: {self.path}")
        except BaseException:
            os.close(fd)
            raise
        first = not self._ever_opened
        self._fd = fd
        self._parked = False
        self._mtime_ns = st.st_mtime_ns
        POOL.touch(self)
        self._ident = (st.st_dev, st.st_ino)
        self._ever_opened = True
        self._gone = False
        self._set_pending(b"", 0)
        self._tail = b""
        # The first file is read from `start` (if it is still that long); a file
        # that replaced another, or appeared later, from its beginning.
        if not first:
            self._offset = 0
        elif self._start is None:
            self._offset = _end_of_last_line(fd, st.st_size)
        else:
            self._offset = self._start if self._start <= st.st_size else 0
        if self._offset:
            n = min(TAIL_CHECK, self._offset)
            self._tail = os.pread(fd, n, self._offset - n)
        return self._read_complete(reset=reset and not first)

    def _same_tail(self, end: int) -> bool:
        """Do the bytes before ``end`` still read as they did? (One tiny pread.)"""
        tail = self._tail
        if not tail or end < len(tail):
            return True
        assert self._fd is not None
        return os.pread(self._fd, len(tail), end - len(tail)) == tail

    def _set_pending(self, head: bytes, size: int) -> None:
        self._pending = head[:PENDING_MAX] if len(head) > PENDING_MAX else head
        self._pending_size = size

    def _read_complete(self, *, reset: bool = False, size: int | None = None) -> FollowResult:
        """Read to EOF (or `MAX_POLL_BYTES`); return the complete lines from the offset.

        A partial last line longer than `PENDING_MAX` keeps only its head; once it
        is cut, the bytes read after it are scanned for its newline and dropped, and
        when the newline comes the line is returned alone (`FollowResult.line_size`,
        ``behind`` set: what follows it is read by the next poll). ``size``, the
        file's size if just seen, sizes the reads: a few appended lines are not read
        into a `READ_BLOCK` buffer (a 4 MB allocation, a ``mmap`` and ``munmap`` each
        once `core.malloc` has fixed the threshold).
        """
        assert self._fd is not None
        fd = self._fd
        pos = self._offset + self._pending_size
        cut_line = self._pending_size > len(self._pending)
        parts = [] if cut_line or not self._pending else [self._pending]
        got = 0
        while got < MAX_POLL_BYTES:
            ask = READ_BLOCK if size is None else min(READ_BLOCK, max(size - pos, MIN_READ))
            block = os.pread(fd, ask, pos)
            if not block:
                break
            pos += len(block)
            got += len(block)
            self._tail = (self._tail + block[-TAIL_CHECK:])[-TAIL_CHECK:]
            if cut_line:
                nl = block.find(b"\n")
                if nl < 0:
                    self._pending_size += len(block)  # still the long line: dropped
                else:
                    return self._long_line_done(block[: nl + 1], reset)
            else:
                parts.append(block)
            if len(block) < ask:
                break
        else:
            self.behind = True
        offset = self._offset
        if cut_line:
            return FollowResult(b"", offset, reset=reset, gone=False)
        buf = b"".join(parts) if len(parts) != 1 else parts[0]
        cut = buf.rfind(b"\n") + 1
        self._set_pending(buf[cut:], len(buf) - cut)
        self._offset = offset + cut
        return FollowResult(buf[:cut], offset, reset=reset, gone=False)

    def _long_line_done(self, rest: bytes, reset: bool) -> FollowResult:
        """The long partial line ends with ``rest``, the start of the last block read."""
        offset, size = self._offset, self._pending_size + len(rest)
        head = self._pending
        self._offset += size
        self._set_pending(b"", 0)
        # The next read starts at the line's end, so `_tail` ends there too.
        self._tail = rest[-TAIL_CHECK:]
        self.behind = True
        return FollowResult(head, offset, reset=reset, gone=False, line_size=size)


def _end_of_last_line(fd: int, size: int) -> int:
    """Offset just after the last ``\\n`` before ``size`` (0 if there is none)."""
    pos = size
    block = 64 << 10
    while pos > 0:
        a = max(0, pos - block)
        buf = os.pread(fd, pos - a, a)
        i = buf.rfind(b"\n")
        if i >= 0:
            return a + i + 1
        pos = a
        block = min(block * 2, 16 << 20)
    return 0
