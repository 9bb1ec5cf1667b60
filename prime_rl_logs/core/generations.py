"""What is left of a log file's earlier contents, so rows already on screen stay readable.

When a file is truncated or replaced, its `LogFile` starts a new ``generation`` and
hands the descriptor of the old content to `Generations.retire`, which keeps what
it can, by policy: nothing of a file truncated in place (its bytes are gone); the
descriptor itself of a file still on disk elsewhere (renamed away, a swapped
``logs/latest``), at most `KEEP_OLD_FDS` of them per file and `KEEP_OLD_FDS_TOTAL`
in the process (descriptors are bounded: see `core.fdpool`); else the last `SNAPSHOT_BYTES`
of a deleted file (so its disk space is not held). At most `KEEP_GENERATIONS` are
kept, the oldest dropped first. `raw_line` and `reader` then serve those bytes;
they return None, never raise, when nothing is left. Not thread-safe.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

__all__ = [
    "KEEP_OLD_FDS",
    "KEEP_OLD_FDS_TOTAL",
    "SNAPSHOT_BYTES",
    "Generations",
    "RetiredContent",
    "read_line_at",
    "read_line_head",
]

SNAPSHOT_BYTES: Final = 1 << 20
"""What is kept of a replaced file whose descriptor we let go."""

KEEP_OLD_FDS: Final = 2
"""Replaced files (still on disk elsewhere) kept open per `LogFile` for their text."""

KEEP_OLD_FDS_TOTAL: Final = 32
"""Replaced files kept open for all `LogFile`s of the process together."""

_kept_total = 0  # descriptors held by every `RetiredContent`

KEEP_GENERATIONS: Final = 8
"""Retired generations kept per `LogFile`."""

ReadAt = Callable[[int, int], bytes]
"""``read(offset, size)``: bytes of one content (fewer at its end); may raise OSError."""


@dataclass(slots=True)
class RetiredContent:
    """What is left of a generation that was truncated or replaced."""

    fd: int | None = None  # the replaced file, still on disk somewhere
    snap_start: int = 0  # else: its last bytes, from this offset
    snap: bytes = b""

    def close(self) -> None:
        global _kept_total
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
            _kept_total -= 1


class Generations:
    """The retired contents of one file, by generation number."""

    def __init__(self) -> None:
        self._old: dict[int, RetiredContent] = {}  # in the order retired

    def __contains__(self, generation: object) -> bool:
        return generation in self._old

    def retire(self, fd: int | None, generation: int, end: int, *, same_file: bool) -> None:
        """Keep what can be kept of a content that is being replaced; takes ``fd``.

        Args:
            fd: our descriptor of that content; closed here unless it is kept. None
                when none is left (the descriptor pool had closed it): nothing kept.
            generation: the content's generation number.
            end: where its last complete line ends (the snapshot ends there).
            same_file: it was truncated in place, so nothing of it is left to read.
        """
        global _kept_total
        old = RetiredContent()
        keep: int | None = fd
        try:
            if same_file or fd is None:
                pass
            elif (
                os.fstat(fd).st_nlink > 0
                and self._fds_kept() < KEEP_OLD_FDS
                and _kept_total < KEEP_OLD_FDS_TOTAL
            ):
                old.fd, keep = fd, None  # renamed away or a swapped symlink: on disk still
                _kept_total += 1
            else:  # deleted: do not hold its disk space, keep its last lines
                a = max(0, end - SNAPSHOT_BYTES)
                buf = os.pread(fd, end - a, a)
                cut = 0 if a == 0 else buf.find(b"\n") + 1
                old.snap_start, old.snap = a + cut, buf[cut:]
        except OSError:
            pass
        finally:
            if keep is not None:
                os.close(keep)
        self._old[generation] = old
        while len(self._old) > KEEP_GENERATIONS:
            self._old.pop(next(iter(self._old))).close()

    def reader(self, generation: int) -> ReadAt | None:
        """A reader of that generation's content, if its descriptor is kept.

        Args:
            generation: a retired generation.

        Returns:
            ``read(offset, size)`` on the kept descriptor, or None.
        """
        old = self._old.get(generation)
        fd = old.fd if old is not None else None
        if fd is None:
            return None
        return lambda offset, size: os.pread(fd, size, offset)

    def raw_line(self, generation: int, offset: int) -> bytes | None:
        """The bytes of a retired generation's line, from its descriptor or snapshot.

        Args:
            generation: a retired generation.
            offset: where the line starts in that content.

        Returns:
            The line with its newline, or None if nothing of it is kept.
        """
        old = self._old.get(generation)
        if old is None:
            return None
        if old.fd is not None:
            try:
                return read_line_at(old.fd, offset)
            except OSError:
                return None
        i = offset - old.snap_start
        if old.snap and 0 <= i < len(old.snap):
            j = old.snap.find(b"\n", i)
            return old.snap[i : j + 1 if j >= 0 else len(old.snap)]
        return None

    def close(self) -> None:
        for old in self._old.values():
            old.close()
        self._old.clear()

    def _fds_kept(self) -> int:
        return sum(1 for o in self._old.values() if o.fd is not None)


def read_line_head(read: ReadAt, offset: int, cap: int) -> tuple[bytes, int]:
    """The first ``cap`` bytes of the line at ``offset`` and the line's length.

    Args:
        read: ``read(offset, size)`` of the content.
        offset: where the line starts.
        cap: the most bytes kept; the rest is read in blocks and dropped (only its
            newline is looked for), so a line of any length costs ``cap`` bytes.

    Returns:
        ``(head, size)``: the line with its newline if it fits in ``cap``, else its
        first ``cap`` bytes; ``size`` is the line's length with its newline.

    Raises:
        OSError: a read failed.
    """
    head = read(offset, cap + 1)
    i = head.find(b"\n")
    if i >= 0 or len(head) <= cap:
        return (head[: i + 1], i + 1) if i >= 0 else (head, len(head))
    pos = offset + len(head)
    while True:
        block = read(pos, 1 << 20)
        if not block:
            return head[:cap], pos - offset
        j = block.find(b"\n")
        if j >= 0:
            return head[:cap], pos + j + 1 - offset
        pos += len(block)


def read_line_at(fd: int, offset: int) -> bytes:
    """Read forward from ``offset`` to the next newline (or EOF).

    Args:
        fd: a readable descriptor.
        offset: where the line starts.

    Returns:
        The line with its newline (without one at EOF).

    Raises:
        OSError: a read failed.
    """
    parts = []
    pos = offset
    block = 16 << 10
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
    return b"".join(parts)
