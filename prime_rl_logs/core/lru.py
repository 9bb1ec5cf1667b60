"""A small least-recently-used map with a size cap.

`LRU` keeps at most ``maxsize`` entries; `get` and `put` make an entry the most
recent, and `put` beyond the cap drops the least recent. The engine's per-file line
caches use it. It is a local twin of ``textual.cache.LRUCache``: ``core`` must not
import Textual (the reader runs without a terminal, e.g. ``prime-logs tail``).
Not thread-safe, like the rest of the engine.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

__all__ = ["LRU"]

K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    """At most ``maxsize`` entries, the least recently used dropped first."""

    __slots__ = ("_data", "maxsize")

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[K, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def get(self, key: K) -> V | None:
        """The value of ``key`` (now the most recent), or None.

        Args:
            key: the entry to look up.

        Returns:
            Its value, or None if it is not kept.
        """
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` under ``key`` as the most recent entry.

        Args:
            key: the entry's key (an older value under it is replaced).
            value: what to keep; not None (`get` returns None for "not kept").
        """
        data = self._data
        data[key] = value
        data.move_to_end(key)
        if len(data) > self.maxsize:
            data.popitem(last=False)

    def clear(self) -> None:
        self._data.clear()
