"""The descriptors the reader holds open, bounded for the whole process.

A run can hold thousands of log files (2,000 trainer ranks, 5,000 env files) and
the process may open only ``RLIMIT_NOFILE`` descriptors (often 1,024, sometimes
256). A `FileFollower` therefore does not keep its file open for life: it registers
its descriptor here, and `DescriptorPool` closes the least recently used one when
more than `DescriptorPool.limit` are open. A follower whose descriptor was closed
("parked") follows its file by ``stat`` (inode, size, mtime) and reopens it by path
only to read; see `core.follow` for what that changes. `DescriptorPool.open` opens
a file and, if the process is out of descriptors (``EMFILE``/``ENFILE``), closes
half of the pool and tries once more before raising, so running out is an error the
caller reports, never a file skipped in silence. One pool per process (`POOL`):
the limit is the process's. Not thread-safe (the reader runs on one thread).
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import weakref
from collections import OrderedDict
from typing import Final, Protocol

__all__ = ["POOL", "POOL_MAX", "DescriptorPool", "Parkable", "default_limit"]

POOL_MAX: Final = 256
"""At most this many descriptors are held open by the pool (fewer under a low limit)."""


def default_limit() -> int:
    """``min(POOL_MAX, soft RLIMIT_NOFILE / 4)``, at least 4: well below the limit,
    leaving room for the terminal, watchfiles, retired generations and the rest."""
    try:
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (OSError, ValueError):  # pragma: no cover - no such limit
        soft = 1024
    if soft == resource.RLIM_INFINITY or soft <= 0:
        soft = 4 * POOL_MAX
    return max(4, min(POOL_MAX, soft // 4))


class Parkable(Protocol):
    """What holds a pooled descriptor: it can be asked to close it."""

    def park(self) -> None:
        """Close the descriptor now; reopen by path when it is next needed."""


class DescriptorPool:
    """Open descriptors, least recently used closed first beyond ``limit``.

    Args:
        limit: how many may be open at once; None: `default_limit` (read when the
            pool is first used, so a test that lowers ``RLIMIT_NOFILE`` first sees it).
    """

    def __init__(self, limit: int | None = None) -> None:
        self._limit = limit
        # Weak keys: a follower dropped without `close` frees its descriptor itself.
        self._open: OrderedDict[weakref.ref[Parkable], None] = OrderedDict()

    @property
    def limit(self) -> int:
        if self._limit is None:
            self._limit = default_limit()
        return self._limit

    @limit.setter
    def limit(self, value: int) -> None:
        self._limit = max(1, value)
        self._trim(None)

    def __len__(self) -> int:
        return len(self._open)

    def touch(self, holder: Parkable) -> None:
        """``holder`` has (or uses) an open descriptor: it is now the most recent.
        Parks the least recent holders beyond the limit (never ``holder``)."""
        key = weakref.ref(holder)
        if key in self._open:
            self._open.move_to_end(key)
            return
        self._open[weakref.ref(holder, self._died)] = None
        self._trim(key)

    def forget(self, holder: Parkable) -> None:
        """``holder`` closed its descriptor itself."""
        # TypeError: being finalised, its weakref callback removes it.
        with contextlib.suppress(TypeError):
            self._open.pop(weakref.ref(holder), None)

    def _died(self, key: weakref.ref[Parkable]) -> None:
        self._open.pop(key, None)

    def open(self, path: str | os.PathLike[str], flags: int) -> int:
        """``os.open``, retried once after parking half the pool when the process
        is out of descriptors.

        Raises:
            OSError: as ``os.open``; EMFILE/ENFILE only if still out after parking.
        """
        try:
            return os.open(path, flags)
        except OSError as exc:
            if exc.errno not in (errno.EMFILE, errno.ENFILE) or not self._open:
                raise
        self._park_oldest(max(1, len(self._open) // 2))
        return os.open(path, flags)

    def _trim(self, keep: weakref.ref[Parkable] | None) -> None:
        while len(self._open) > self.limit:
            oldest = next(iter(self._open))
            if keep is not None and oldest == keep:
                self._open.move_to_end(oldest)
                if len(self._open) == 1:
                    return
                continue
            self._open.pop(oldest)
            holder = oldest()
            if holder is not None:
                holder.park()

    def _park_oldest(self, n: int) -> None:
        for _ in range(min(n, len(self._open))):
            oldest, _ = self._open.popitem(last=False)
            holder = oldest()
            if holder is not None:
                holder.park()


POOL: Final = DescriptorPool()
"""The process's pool: every `FileFollower` registers here."""
