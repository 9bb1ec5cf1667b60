"""Calls for the scanner's child in tests (stdlib only: the child imports this module)."""

from __future__ import annotations

_KEPT: list[str] = []


def leave_freed_heap(mb: int) -> None:
    """Fill about ``mb`` MB of the heap with small strings and keep one in 64: the
    rest is freed, but the arenas and pages they shared stay with the process."""
    junk = [f"{i:040d}" for i in range(mb * 11_000)]
    _KEPT.extend(junk[::64])
