"""The rows of a view: `Row` (a line of a file, read on demand), `ViewDelta` (what an
update changed), and the two stores of row addresses.

A row is named by ``(file, generation, byte offset)``; a store holds the offsets
and a slot number standing for the file and generation (`View` keeps the slot
table). `RowStore` keeps them in two arrays, history prepended and live lines
appended, with the slot stored once while every row has the same one.
`Row.shown` and `Row.tag` are what printers and panes show: a torchrun prefix is
taken off the text and shown as the rank's tag (`split_prefix`, `tag_of`).
`IndexWindow` is the store of a view showing every line of one file: a window
``[lo, hi)`` on the file's `LineIndex`, holding no rows of its own. Neither reads
a file; both change only through the calls of `View.build` and `View.update`.
Both can *hold* history: rows prepended with ``held=True`` are kept out of
``len`` and ``get`` (row numbers do not move) until `publish`, so a history
builder can run in many small slices and tell the screen a few times a second.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prime_rl_logs.core.formats import TORCHRUN_RE
from prime_rl_logs.core.index import LineIndex
from prime_rl_logs.layout import TRAINER, Source

if TYPE_CHECKING:
    from prime_rl_logs.core.log_file import LogFile
    from prime_rl_logs.core.parse import LineInfo

__all__ = ["IndexWindow", "Row", "RowStore", "ViewDelta", "split_prefix", "tag_of"]


def split_prefix(text: str) -> tuple[int | None, str]:
    """A display line's torchrun prefix (``[default3]:``) taken off: (rank, the rest);
    ``(None, text)`` when it has none. The prefix is parsed into the rank by
    `core.parse`; this is the same prefix removed from what is shown."""
    if not text.startswith("["):
        return None, text
    m = TORCHRUN_RE.match(text)
    if m is None:
        return None, text
    return int(m.group(1)), text[m.end() :]


def tag_of(source: Source, text: str) -> str:
    """The tag shown before ``text`` (a line of ``source``): ``r{rank}`` from its
    torchrun prefix when the file has no rank of its own, else ``source.tag``."""
    if source.rank is None and source.component == TRAINER and text.startswith("["):
        rank = split_prefix(text)[0]
        if rank is not None:
            return f"r{rank}"
    return source.tag


class Row:
    """One row of a view: a line of a file, its text and info read on demand."""

    __slots__ = ("file", "generation", "offset")

    def __init__(self, file: LogFile, offset: int, generation: int) -> None:
        self.file = file
        self.offset = offset
        self.generation = generation

    @property
    def info(self) -> LineInfo:
        return self.file.info(self.offset, self.generation)

    @property
    def text(self) -> str:
        return self.file.text(self.offset, self.generation)

    @property
    def shown(self) -> str:
        """`text` as printed and drawn: without a torchrun prefix (``[trainer3]:``),
        whose rank `tag` shows instead."""
        return split_prefix(self.text)[1]

    @property
    def tag(self) -> str:
        """The source tag of the row: the file's (``Source.tag``), or ``r3`` for a
        line of a file without a rank of its own (``trainer.log``) that carries
        rank 3's torchrun prefix."""
        return tag_of(self.file.source, self.text)

    def __repr__(self) -> str:
        return f"Row({self.file.source.rel!r}, {self.offset}, gen={self.generation})"


@dataclass(frozen=True, slots=True)
class ViewDelta:
    """What one `View.update` (or `View.build`) changed.

    ``prepended`` rows were added before row 0 (history: every row index moves up by
    that much), ``appended`` rows after the last. ``reset`` says a file of the view
    was truncated or replaced: its rows stay, its new content follows them; rows of
    the old and new content may share an offset, so caches keyed by
    ``(file, offset)`` must include ``Row.generation`` or be dropped.
    """

    prepended: int = 0
    appended: int = 0
    reset: bool = False


class RowStore:
    """Row addresses (offset, slot) in two arrays; one slot stored once while uniform.

    Held rows (``held=True``) wait in arrays of their own, offsets and slots, so
    holding them changes nothing that `len` and `get` read: a history builder may
    hold rows on another thread while the owner reads the rows shown (`View` makes
    sure nothing else changes the store meanwhile); `publish` runs on the owner's.
    """

    __slots__ = (
        "_held_off",
        "_held_slot",
        "_new_off",
        "_new_slot",
        "_old_off",
        "_old_slot",
        "_uniform",
    )

    def __init__(self) -> None:
        self._old_off = array("q")  # prepended, newest first
        self._new_off = array("q")  # appended, oldest first
        self._old_slot: array[int] | None = None
        self._new_slot: array[int] | None = None
        self._uniform: int | None = None  # the one slot of every row, until a second
        self._held_off = array("q")  # held, to go before the first row: newest first
        self._held_slot = array("I")

    def __len__(self) -> int:
        return len(self._old_off) + len(self._new_off)

    @property
    def held(self) -> int:
        """Rows prepended with ``held=True`` and not published yet."""
        return len(self._held_off)

    def publish(self) -> int:
        """Show the held rows (before the first row); how many."""
        n = len(self._held_off)
        if not n:
            return 0
        slots = self._held_slot
        self._split(slots[0])
        if self._old_slot is None and slots.count(slots[0]) != n:
            self._slot_per_row()
        self._old_off.extend(self._held_off)
        if self._old_slot is not None:
            self._old_slot.extend(slots)
        self._held_off = array("q")
        self._held_slot = array("I")
        return n

    def _split(self, slot: int) -> None:
        if self._uniform is None and not (self._old_off or self._new_off):
            self._uniform = slot
        if self._uniform == slot or self._old_slot is not None:
            return
        self._slot_per_row()

    def _slot_per_row(self) -> None:
        """Store a slot per row from now on (rows of a second slot arrive)."""
        u = self._uniform or 0
        self._old_slot = array("I", [u]) * len(self._old_off)
        self._new_slot = array("I", [u]) * len(self._new_off)
        self._uniform = None

    def prepend(self, offsets: array[int], slot: int, held: bool = False) -> None:
        """Add rows (ascending offsets) before the first row (``held``: before the
        held rows, shown by `publish`)."""
        if not offsets:
            return
        rev = array("q", offsets)
        rev.reverse()
        if held:
            self._held_off.extend(rev)
            self._held_slot.extend(array("I", [slot]) * len(rev))
            return
        self.publish()
        self._split(slot)
        self._old_off.extend(rev)
        if self._old_slot is not None:
            self._old_slot.extend(array("I", [slot]) * len(rev))

    def prepend_runs(self, runs: list[tuple[array[int], int]]) -> None:
        """`prepend` with ``held`` of many runs at once: ``(offsets ascending, slot)``,
        newest run first."""
        if not runs:
            return
        off = array("q")
        slots: list[int] = []
        for offsets, slot in reversed(runs):  # oldest first: one ascending sequence
            off.extend(offsets)
            slots += [slot] * len(offsets)
        off.reverse()
        slots.reverse()
        self._held_off.extend(off)
        self._held_slot.extend(array("I", slots))

    def append(self, offsets: Iterable[int], slot: int) -> int:
        before = len(self._new_off)
        self._split(slot)
        self._new_off.extend(offsets)
        n = len(self._new_off) - before
        if self._new_slot is not None:
            self._new_slot.extend(array("I", [slot]) * n)
        return n

    def get(self, i: int) -> tuple[int, int]:
        n_old = len(self._old_off)
        if i < 0:
            i += len(self)
        if i < 0 or i >= len(self):
            raise IndexError("row out of range")
        if i < n_old:
            j = n_old - 1 - i
            slot = self._uniform if self._old_slot is None else self._old_slot[j]
            return self._old_off[j], slot  # type: ignore[return-value]
        j = i - n_old
        slot = self._uniform if self._new_slot is None else self._new_slot[j]
        return self._new_off[j], slot  # type: ignore[return-value]

    @property
    def nbytes(self) -> int:
        n = (len(self._old_off) + len(self._new_off)) * 8 + len(self._held_off) * 12
        if self._old_slot is not None and self._new_slot is not None:
            n += (len(self._old_slot) + len(self._new_slot)) * 4
        return n


class IndexWindow:
    """The rows of a view that shows every line of one file: the lines of the file's
    `LineIndex` starting in ``[lo, hi)``, read from the index instead of copied
    (8 bytes a line saved, and no second newline scan). ``lo`` moves down as the
    view's history is built, ``hi`` up as it is updated, so rows change only
    through `View.build` and `View.update`, whatever the index does meanwhile."""

    __slots__ = ("_first", "_first_key", "_held", "_len", "hi", "index", "lo", "slot", "taken")

    def __init__(self, index: LineIndex, end: int, slot: int) -> None:
        self.index = index
        self.lo = self.hi = end
        self.taken = end
        """Where `grow_back` got to: lines in ``[taken, lo)`` are held (`publish`)."""
        self._held = 0
        self.slot = slot
        self._len = 0
        self._first = 0  # the index's line number of `lo`, while `_first_key` holds
        self._first_key = -1

    def __len__(self) -> int:
        return self._len

    def get(self, i: int) -> tuple[int, int]:
        if i < 0:
            i += self._len
        if i < 0 or i >= self._len:
            raise IndexError("row out of range")
        index = self.index
        if self._first_key != index.indexed_from:  # lines were indexed above `lo`
            self._first_key = index.indexed_from
            self._first = index.find(self.lo)
        return index[self._first + i], self.slot

    @property
    def held(self) -> int:
        return self._held

    def grow_back(self, held: bool = False) -> int:
        """Take the lines the index has before ``lo``; how many (``held``: not shown
        until `publish`)."""
        new_lo = self.index.indexed_from
        if new_lo >= self.taken:
            return self.publish() if not held else 0
        n = self.index.count_between(new_lo, self.taken)
        self.taken = new_lo
        self._held += n
        return n if held else self.publish()

    def publish(self) -> int:
        """Show the held lines; how many."""
        n, self._held = self._held, 0
        if self.lo != self.taken:
            self.lo = self.taken
            self._first_key = -1  # `get` finds `lo` again
        self._len += n
        return n

    def grow_forward(self) -> int:
        """Take the lines the index has after ``hi``; how many."""
        new_hi = self.index.end
        if new_hi <= self.hi:
            return 0
        n = self.index.count_between(self.hi, new_hi)
        self.hi = new_hi
        self._len += n
        return n

    def copy(self) -> RowStore:
        rows = RowStore()
        rows.prepend(self.index.starts_between(self.lo, self.hi) or array("q"), self.slot)
        return rows

    @property
    def nbytes(self) -> int:
        return 0
