"""`return_big_buffers`: hand the memory of large freed buffers back to the system.

The reader allocates big transient buffers all the time: 4 MB chunks of the backward
index build, 8 MB blocks of appended lines, 16 MB blocks of the metrics scan (in a
thread). glibc serves allocations above its mmap threshold with ``mmap`` and returns
them on ``free``, but it raises that threshold each time such a block is freed (up to
32 MB), after which the same buffers come from the heap and are kept there: the
dashboard on 128 files of 20 MB settled at 168 MB resident instead of 128 MB. Fixing
the threshold at `MMAP_THRESHOLD` (``mallopt(M_MMAP_THRESHOLD)``, which also turns the
dynamic adjustment off) keeps every big buffer mapped only while it lives. Elsewhere
than glibc it does nothing.
"""

from __future__ import annotations

from typing import Final

__all__ = ["MMAP_THRESHOLD", "return_big_buffers"]

MMAP_THRESHOLD: Final = 1 << 20
"""Allocations at least this big are mapped on their own and unmapped when freed (the
reader's big buffers are 4 MB and up; a poll's read is sized to what was appended)."""

_M_MMAP_THRESHOLD: Final = -3  # glibc's mallopt parameter number
_done: list[bool] = []


def return_big_buffers() -> bool:
    """Set glibc's mmap threshold once per process; True if it was set (now or before)."""
    if _done:
        return _done[0]
    ok = False
    try:
        import ctypes

        libc = ctypes.CDLL(None)  # the process's own symbols: libc's, where it is glibc
        if hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt"):
            ok = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    except (OSError, AttributeError, ValueError):
        ok = False
    _done.append(ok)
    return ok
