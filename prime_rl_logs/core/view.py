"""Which lines a pane shows: filters, and a merge by time over several files.

A `View` is the rows of one pane over a `Run`: the files its `Filter` selects, each
row one physical line named by ``(file, generation, byte offset)`` (offsets never
shift, unlike line numbers). Rows are kept in two arrays like `LineIndex`: history
found scanning backwards is *prepended* (`View.build`, newest first, the last screen
on the first call), live lines are *appended* (`View.update`). A view of every line
of one file (the default Orchestrator pane) holds no rows of its own: they are a
window of the file's `LineIndex` (`_IndexRows`), which its history builds further.

Filters are judged per record: a continuation line (traceback, ``╰─`` line) takes the
level of the header above it, and an include/exclude regex that matches any line of
a record shows/hides the whole record, so a traceback is never split from its first
line. Scanning backwards, continuation lines at the top of a chunk are carried to
the next (older) chunk until their header is found.

Speed: decoding and parsing every line tops out near 15-20 MB/s, so a file is
scanned in 4 MB chunks with C-speed primitives: ``bytes.find`` for the level words of
the levels that decide (WARNING and up when hiding INFO), each hit checked with
`header_level`, record extents found from there; when hiding only DEBUG/TRACE (most
lines kept) one regex pass per word also recognises the headers of known shape and
their one-line records (`_WordRegex`), and the kept rows are the chunk's line starts
but the dropped ones, sliced from the file's `LineIndex` when it covers the chunk
(`_Lines`). Regexes run over the decoded chunk, or, on coloured chunks, only over
the lines holding a word the regex requires. Every shortcut is checked line by
line where it could disagree with `parse_line` (``\\r`` redraws, control
characters). Files that interleave torchrun ranks (a combined ``trainer.log``) are
read line by line, with records tracked per rank. Figures: docs/benchmarks.md.

Known limits: the bulk level scan sees level names written in upper case (as
loguru, vLLM, uvicorn and stdlib logging write them); a word of a regex split by a
colour code inside it (markup in the middle of a word) is not found on coloured
chunks; live, a record whose later continuation line matches ``exclude`` keeps the
lines already shown; a record longer than `RECORD_LOOKBACK` is cut, its top part
read as orphan lines.
"""

from __future__ import annotations

import re
import time
from array import array
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import filterfalse, groupby
from typing import Any, Final

from prime_rl_logs.core.ansi import SGR_RE, strip_sgr
from prime_rl_logs.core.index import (
    CHUNK,
    FIRST_CHUNK,
    LineIndex,
    line_start_list,
    line_starts,
)
from prime_rl_logs.core.parse import (
    DISPLAY_LIMIT,
    HEADER_LEVEL_RE,
    LEVELS,
    LineInfo,
    decode_line,
    parse_line,
)
from prime_rl_logs.core.run import (
    CACHE_LINES,
    ORPHAN_LEVEL,
    RECORD_LOOKBACK,
    Appended,
    LogFile,
    Run,
    RunChanges,
)
from prime_rl_logs.core.scan.records import (
    HEADER_FIRST_BYTES,
    header_level,
    level_from_bytes,
    problem_lines,
)
from prime_rl_logs.layout import (
    COMPONENTS,
    ENV,
    INFERENCE,
    LAUNCHER,
    ORCHESTRATOR,
    TRAINER,
    Source,
)

__all__ = ["Filter", "Row", "View", "ViewDelta"]

FIRST_SCREEN: Final = 200
"""Rows the first `View.build` call finds before it returns (if there are that many)."""

FIRST_CALL_MAX_S: Final = 0.5
"""The first `View.build` call may take this long to find the first screen."""

WARNING: Final = LEVELS["WARNING"]

# ---------------------------------------------------------------------------
# Filter

_LEVEL_NAMES: Final = {**{k.lower(): v for k, v in LEVELS.items()}, "warn": 30, "fatal": 50}

_COMPONENT_NAMES: Final = {
    **{c: c for c in COMPONENTS},
    "orch": ORCHESTRATOR,
    "inf": INFERENCE,
    "vllm": INFERENCE,
    "envs": ENV,
    "env_workers": ENV,
    "rl": LAUNCHER,
    "train": TRAINER,
    "trainers": TRAINER,
}


@dataclass(frozen=True, slots=True)
class Filter:
    """What a pane shows. ``None`` means no restriction.

    ``ranks`` restricts trainer sources (a rank's own file, or the lines of a
    combined ``trainer.log`` by their torchrun prefix); other components pass.
    ``include`` / ``exclude`` match the plain text (no colour codes) of any line of
    a record and show / hide the whole record; hidden, not dimmed.
    """

    min_level: int = 0
    ranks: frozenset[int] | None = None
    components: frozenset[str] | None = None
    rels: frozenset[str] | None = None
    include: re.Pattern[str] | None = None
    exclude: re.Pattern[str] | None = None

    @classmethod
    def from_options(
        cls,
        level: str | None = None,
        rank: str | None = None,
        component: str | None = None,
        grep: str | None = None,
        exclude: str | None = None,
    ) -> Filter:
        """The filter of the command-line options; ValueError (one line) on bad values."""
        min_level = 0
        if level is not None and level.strip():
            name = level.strip().lower()
            if name.isdigit():
                min_level = int(name)
            elif name in _LEVEL_NAMES:
                min_level = _LEVEL_NAMES[name]
            else:
                names = ", ".join(k.lower() for k in LEVELS)
                raise ValueError(f"unknown level {level!r} (choose from {names})")
        return cls(
            min_level=min_level,
            ranks=_parse_ranks(rank),
            components=_parse_components(component),
            include=_compile(grep, "--grep"),
            exclude=_compile(exclude, "--exclude"),
        )

    def selects(self, source: Source) -> bool:
        """Does a file belong in the view at all?"""
        if self.rels is not None and source.rel not in self.rels:
            return False
        if self.components is not None and source.component not in self.components:
            return False
        return not (
            self.ranks is not None
            and source.component == TRAINER
            and source.rank is not None
            and source.rank not in self.ranks
        )

    @property
    def by_line(self) -> bool:
        """Does the filter look inside files (not just pick them)?"""
        return self.min_level > 5 or self.include is not None or self.exclude is not None


def _parse_ranks(value: str | None) -> frozenset[int] | None:
    if value is None or value.strip().lower() in ("", "all"):
        return None
    ranks: set[int] = set()
    try:
        for part in value.split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                if lo > hi or lo < 0:
                    raise ValueError
                ranks.update(range(lo, hi + 1))
            else:
                r = int(part)
                if r < 0:
                    raise ValueError
                ranks.add(r)
    except ValueError:
        raise ValueError(f"bad rank list {value!r} (use e.g. 0, 0,3, 0-7 or all)") from None
    return frozenset(ranks)


def _parse_components(value: str | None) -> frozenset[str] | None:
    if value is None or not value.strip():
        return None
    out = set()
    for part in value.split(","):
        name = part.strip().lower()
        if name not in _COMPONENT_NAMES:
            names = ", ".join(COMPONENTS)
            raise ValueError(f"unknown component {part.strip()!r} (choose from {names})")
        out.add(_COMPONENT_NAMES[name])
    return frozenset(out)


def _compile(pattern: str | None, option: str) -> re.Pattern[str] | None:
    if pattern is None or pattern == "":
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regex for {option} {pattern!r}: {exc}") from None


# ---------------------------------------------------------------------------
# Rows


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


class _Rows:
    """Row addresses (offset, slot) in two arrays; one slot stored once while uniform."""

    __slots__ = ("_new_off", "_new_slot", "_old_off", "_old_slot", "_uniform")

    def __init__(self) -> None:
        self._old_off = array("q")  # prepended, newest first
        self._new_off = array("q")  # appended, oldest first
        self._old_slot: array[int] | None = None
        self._new_slot: array[int] | None = None
        self._uniform: int | None = None  # the one slot of every row, until a second

    def __len__(self) -> int:
        return len(self._old_off) + len(self._new_off)

    def _split(self, slot: int) -> None:
        if self._uniform is None and not len(self):
            self._uniform = slot
        if self._uniform == slot or self._old_slot is not None:
            return
        u = self._uniform or 0
        self._old_slot = array("I", [u]) * len(self._old_off)
        self._new_slot = array("I", [u]) * len(self._new_off)
        self._uniform = None

    def prepend(self, offsets: array[int], slot: int) -> None:
        """Add rows (ascending offsets) before the first row."""
        if not offsets:
            return
        self._split(slot)
        rev = array("q", offsets)
        rev.reverse()
        self._old_off.extend(rev)
        if self._old_slot is not None:
            self._old_slot.extend(array("I", [slot]) * len(rev))

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
        n = (len(self._old_off) + len(self._new_off)) * 8
        if self._old_slot is not None and self._new_slot is not None:
            n += (len(self._old_slot) + len(self._new_slot)) * 4
        return n


class _IndexRows:
    """The rows of a view that shows every line of one file: the lines of the file's
    `LineIndex` starting in ``[lo, hi)``, read from the index instead of copied
    (8 bytes a line saved, and no second newline scan). ``lo`` moves down as the
    view's history is built, ``hi`` up as it is updated, so rows change only
    through `View.build` and `View.update`, whatever the index does meanwhile."""

    __slots__ = ("_first", "_first_key", "_len", "hi", "index", "lo", "slot")

    def __init__(self, index: LineIndex, end: int, slot: int) -> None:
        self.index = index
        self.lo = self.hi = end
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

    def grow_back(self) -> int:
        """Take the lines the index has before ``lo``; how many."""
        new_lo = self.index.indexed_from
        if new_lo >= self.lo:
            return 0
        n = self.index.count_between(new_lo, self.lo)
        self.lo = new_lo
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

    def copy(self) -> _Rows:
        rows = _Rows()
        rows.prepend(self.index.starts_between(self.lo, self.hi) or array("q"), self.slot)
        return rows

    @property
    def nbytes(self) -> int:
        return 0


# ---------------------------------------------------------------------------
# Byte-level helpers over a chunk of whole lines (offsets relative to the chunk)

_NL: Final = re.compile(b"\n")

# The loguru clock at a line start (after an optional torchrun prefix and colours).
_CLOCK_B: Final = re.compile(
    rb"(?:\[[A-Za-z_][A-Za-z_\-]*?\d+\]: ?)?(?:\x1b\[[0-9;:]*m)*(\d\d):(\d\d):(\d\d)"
)

# Words whose presence makes a line a candidate header of a level (checked after).
_LEVEL_WORDS: Final = (
    (b"TRACE", 5),
    (b"DEBUG", 10),
    (b"SUCCESS", 25),
    (b"WARN", 30),
    (b"ERROR", 40),
    (b"CRITICAL", 50),
    (b"FATAL", 50),
)

# Control bytes that make `decode_line` differ from a plain decode of the line (CR,
# BEL, backspace...; not TAB, LF or ESC, which are looked at separately).
_CONTROLS: Final = bytes([*range(0, 9), *range(11, 27), *range(28, 32), 127])
_CONTROL_TABLE: Final = bytes(0 if i in _CONTROLS else i for i in range(256))


def _line_end(buf: bytes, p: int, hi: int) -> int:
    """End of the line starting at ``p`` (after its newline, or ``hi``)."""
    e = buf.find(b"\n", p, hi)
    return hi if e < 0 else e + 1


def _line_start(buf: bytes, p: int, lo: int) -> int:
    """Start of the line holding byte ``p`` (not before ``lo``)."""
    return max(lo, buf.rfind(b"\n", lo, p) + 1)


def _first_header(buf: bytes, lo: int, hi: int) -> int:
    p = lo
    while p < hi:
        e = _line_end(buf, p, hi)
        if header_level(buf, p, e) is not None:
            return p
        p = e
    return -1


def _last_header(buf: bytes, lo: int, hi: int) -> int:
    e = hi
    while e > lo:
        p = _line_start(buf, e - 1, lo)
        if header_level(buf, p, e) is not None:
            return p
        e = p
    return -1


def _next_header(buf: bytes, p: int, hi: int) -> int:
    """The first header line after the line at ``p``; ``hi`` if none."""
    q = _line_end(buf, p, hi)
    while q < hi:
        e = _line_end(buf, q, hi)
        if header_level(buf, q, e) is not None:
            return q
        q = e
    return hi


def _record_of(buf: bytes, p: int, lo: int) -> int:
    """The header at or above line ``p``, not before ``lo`` (which is a header)."""
    while p > lo:
        e = _line_end(buf, p, len(buf))
        if header_level(buf, p, e) is not None:
            return p
        p = _line_start(buf, p - 1, lo)
    return lo


class _Lines:
    """The line starts of one chunk (whole lines at file offset ``base``) as file
    offsets: sliced from the file's index when it covers the chunk (``known``),
    else found by a newline scan, of the whole chunk once (`scan`) or of the
    ranges asked for. The scan is the largest cost of keeping most lines of a
    chunk; a slice of the index costs about a tenth of it."""

    __slots__ = ("_all", "base", "buf")

    def __init__(self, buf: bytes, base: int, known: array[int] | None = None) -> None:
        self.buf = buf
        self.base = base
        self._all = known

    def scan(self) -> None:
        """Find every line start of the chunk now (for many `between` calls)."""
        if self._all is None:
            self._all = line_starts(self.buf, self.base)

    def between(self, s: int, e: int) -> array[int]:
        """File offsets of the lines starting in ``buf[s:e]`` (``s`` a line start),
        a new array."""
        if s >= e:
            return array("q")
        a = self._all
        if a is not None:
            base = self.base
            return a[bisect_left(a, s + base) : bisect_left(a, e + base)]
        out = array("q")
        out.fromlist(self.list_between(s, e))
        return out

    def list_between(self, s: int, e: int) -> list[int]:
        """`between` as a list (bisection reads no array items)."""
        if s >= e:
            return []
        if self._all is not None:
            return self.between(s, e).tolist()
        return line_start_list(self.buf, s, e, self.base)


def _rows_of(lines: _Lines, spans: Spans) -> array[int]:
    """File offsets of the lines in ``spans`` (whole records of the chunk)."""
    if not spans:
        return array("q")
    covered = sum(e - s for s, e in spans)
    if len(spans) > 16 and covered * 2 >= spans[-1][1] - spans[0][0]:
        lines.scan()  # many spans covering most lines: one scan, then slices of it
    out = array("q")
    for s, e in spans:
        out.extend(lines.between(s, e))
    return out


_HMATCH: Final = HEADER_LEVEL_RE.match
_LEVEL_OF: Final = {w.encode(): n for w, n in LEVELS.items()}

_DIGITS0: Final = bytes.maketrans(b"0123456789", b"0000000000")
_TEMPLATES: dict[bytes, int] = {}
"""Loguru header prefixes seen (digits as ``0``) -> level; see `_header_fast`."""
_TEMPLATE_CLOCKS: dict[bytes, int] = {}
"""The same prefixes -> where their ``HH:MM:SS`` clock starts."""
_TEMPLATE_LENS: list[int] = []


def _header_fast(buf: bytes, q: int, hi: int) -> int | None:
    """The level of the header line at ``q`` if `HEADER_LEVEL_RE` matches it there
    (endpos ``hi``), else None; the caller falls back to `header_level` (which
    agrees when the regex matches). Only for buffers without ``\\r``.

    Most lines of a file share a few header layouts that differ only in their
    digits (the clock), so a header seen once is remembered as its bytes up to
    and including the one after the match, digits turned into ``0``: the regex
    tests every byte it reads there by classes that take all ASCII digits alike
    (no literal digit in it) and reads nothing after that byte, so a line with
    the same bytes, digit for digit, matches it the same way. One slice,
    translate and dict lookup instead of the regex.
    """
    for size in _TEMPLATE_LENS:
        if q + size <= hi:
            level = _TEMPLATES.get(buf[q : q + size].translate(_DIGITS0))
            if level is not None:
                return level
    m = _HMATCH(buf, q, hi)
    if m is None:
        return None
    name = m.group(1)
    level = _LEVEL_OF.get(name)
    if level is None:
        level = level_from_bytes(name)
    size = m.end() - q + 1
    cm = _CLOCK_B.match(buf, q, hi)
    if m.end() < hi and len(_TEMPLATES) < 256 and cm is not None:
        key = buf[q : q + size].translate(_DIGITS0)
        _TEMPLATES[key] = level
        _TEMPLATE_CLOCKS[key] = cm.start(1) - q
        if size not in _TEMPLATE_LENS and len(_TEMPLATE_LENS) < 8:
            _TEMPLATE_LENS.append(size)
    return level


def _known_headers(
    buf: bytes, starts: list[int], todo: list[int]
) -> tuple[list[tuple[int, bytes]], list[int]]:
    """Which lines ``starts[i]`` (``i`` in ``todo``; offsets in ``buf``, no ``\\r``
    in them) begin with a remembered header template: ``(i, template)`` pairs, and
    the other ``i``.

    `_header_fast` in bulk: the templates are looked up for all lines at once, one
    template size after the other, so a line costs a slice, a translate and a set
    lookup. A template holds no newline before its last byte, so a slice that
    equals one lies within its line, whatever follows the line.
    """
    found: list[tuple[int, bytes]] = []
    templates, digits0 = _TEMPLATES, _DIGITS0
    for size in _TEMPLATE_LENS:
        if not todo:
            break
        keys = [buf[starts[i] : starts[i] + size].translate(digits0) for i in todo]
        rest = []
        for i, key in zip(todo, keys, strict=True):
            if key in templates:
                found.append((i, key))
            else:
                rest.append(i)
        todo = rest
    return found, todo


def _header_levels(buf: bytes, starts: list[int], hi: int) -> list[int | None]:
    """The level of each line at ``starts`` (offsets in ``buf``, whole lines up to
    ``hi``, no ``\\r``) that is a record header; None for the others: `_known_headers`,
    then `_header_fast` (learning the template) and `header_level` for the rest."""
    out: list[int | None] = [None] * len(starts)
    found, rest = _known_headers(buf, starts, list(range(len(starts))))
    for i, key in found:
        out[i] = _TEMPLATES[key]
    for i in rest:
        s = starts[i]
        level = _header_fast(buf, s, hi)
        if level is None:
            e = buf.find(b"\n", s, hi)
            level = header_level(buf, s, hi if e < 0 else e + 1)
        out[i] = level
    return out


def _template_re(template: bytes) -> bytes:
    """A header template (digits as ``0``) as a regex matching the lines it stands for."""
    return b"".join(b"[0-9]" if c == 0x30 else re.escape(bytes([c])) for c in template)


@dataclass(frozen=True, slots=True)
class _WordRegex:
    """Finds every occurrence of a level word in a chunk and, in the same C loop,
    recognises the headers of known shape among them (`_header_fast`'s templates):

        WORD (?: (?<=^PREFIX_1 WORD) AFTER_1 [^\\n]*+ \\n (?: (?=ANY_TEMPLATE) () | () )
               | ... one branch per template holding WORD once ...
               | () )

    The last group closed says what a hit is: branch ``i`` (0-based) closes group
    ``2i+1`` when the line after the header is a header of known shape (the
    record is one line), ``2i+2`` when it may be continued; group `fallback` is
    an occurrence no template explains, for `header_level` to judge. Rebuilt when
    a template is learned (`version`).
    """

    pattern: re.Pattern[bytes]
    branches: tuple[tuple[int, int], ...]  # (the word's offset in the template, level)
    version: int

    @property
    def fallback(self) -> int:
        return 2 * len(self.branches) + 1

    @classmethod
    def of(cls, word: bytes) -> _WordRegex:
        templates = list(_TEMPLATES.items())
        cached = _WORD_REGEXES.get(word)
        if cached is not None and cached.version == len(templates):
            return cached
        # The next line's header: an alternation of every template (their common
        # prefix is factored out by `re`), skipped when there are many.
        nxt = b"|".join(_template_re(t) for t, _ in templates) if len(templates) <= 32 else None
        tail = b"(?:(?=" + nxt + b")()|())" if nxt else b"()()"
        parts, branches = [], []
        for t, level in templates:
            k = t.find(word)
            if k < 0 or t.find(word, k + 1) >= 0:
                continue
            behind = b"(?<=^" + _template_re(t[: k + len(word)]) + b")"
            after = t[k + len(word) :]
            rest = b"" if after.endswith(b"\n") else rb"[^\n]*+\n"
            parts.append(behind + _template_re(after) + rest + tail)
            branches.append((k, level))
        parts.append(b"()")
        pattern = re.compile(re.escape(word) + b"(?:" + b"|".join(parts) + b")", re.M)
        made = cls(pattern, tuple(branches), len(templates))
        _WORD_REGEXES[word] = made
        return made


_WORD_REGEXES: dict[bytes, _WordRegex] = {}


def _drop_rows(
    lines: _Lines, lo: int, hi: int, words: tuple[bytes, ...], min_level: int
) -> tuple[array[int], bool]:
    """For a level filter that hides a few levels (``words``): the file offsets of
    the lines of ``buf[lo:hi]`` (``lo`` a header, ``hi`` the end of the chunk, no
    ``\\r`` in the range) in records of level ``min_level`` or above, and whether the
    last record (the one reaching ``hi``) is dropped.

    `_WordRegex` finds the dropped headers of known shape and whether their record
    is one line; the other occurrences of a word are judged by `_header_levels`
    and a dropped record's continuation lines walked to the next header. The kept
    rows are every line start (`_Lines`: the index's, or one newline scan) but the
    dropped ones.
    """
    buf, base = lines.buf, lines.base
    find, rfind = buf.find, buf.rfind
    dropped: set[int] = set()
    walk: list[int] = []  # headers of dropped records that may have continuation lines
    unknown: set[int] = set()  # lines holding a word that no template explains
    for w in words:
        wre = _WordRegex.of(w)
        one: dict[int, int] = {}  # group -> the word's offset in the template
        more: dict[int, int] = {}
        for i, (k, level) in enumerate(wre.branches):
            if level < min_level:
                one[2 * i + 1] = k
                more[2 * i + 2] = k
        hits = [(m.start(), m.lastindex) for m in wre.pattern.finditer(buf, lo, hi)]
        dropped.update([p - one[g] + base for p, g in hits if g in one])
        fallback = wre.fallback
        for p, g in hits:
            if g in more:
                walk.append(p - more[g])
            elif g == fallback:
                unknown.add(rfind(b"\n", lo, p) + 1 or lo)
    if unknown:
        heads = sorted(unknown)
        levels = _header_levels(buf, heads, hi)
        walk.extend(
            s for s, lv in zip(heads, levels, strict=True) if lv is not None and lv < min_level
        )
    last_dropped = False
    for s in walk:
        dropped.add(s + base)
        q = find(b"\n", s, hi) + 1 or hi
        while q < hi:  # continuation lines: the record runs to the next header
            if buf[q] in HEADER_FIRST_BYTES and _header_levels(buf, [q], hi)[0] is not None:
                break
            dropped.add(q + base)
            q = find(b"\n", q, hi) + 1 or hi
        last_dropped |= q >= hi
    if not dropped:
        return lines.between(lo, hi), False
    kept = array("q")
    kept.fromlist(list(filterfalse(dropped.__contains__, lines.list_between(lo, hi))))
    return kept, last_dropped


def _level_spans(
    buf: bytes, lo: int, hi: int, words: tuple[bytes, ...], min_level: int, *, keep: bool
) -> Spans:
    """Records of ``buf[lo:hi]`` (``lo`` a header) whose header's level is at least
    ``min_level`` (``keep``) or below it (not ``keep``), found from the lines that
    hold one of ``words``; adjacent records are joined.

    The hot loop of a level filter: one ``bytes.find`` pass per word, then per
    candidate one regex match for its header and one for the line after it (the
    loguru regex cannot run past a newline, so no line end is needed to call it).
    """
    find, rfind = buf.find, buf.rfind
    match = _HMATCH
    levels = _LEVEL_OF
    cr = find(b"\r", lo, hi) >= 0  # then every line goes through `header_level`
    cands: set[int] = set()
    for w in words:
        p = find(w, lo, hi)
        while p >= 0:
            cands.add(rfind(b"\n", lo, p) + 1 or lo)
            e = find(b"\n", p, hi)
            if e < 0:
                break
            p = find(w, e, hi)
    spans: Spans = []
    covered = -1
    for s in sorted(cands):
        if s < covered:
            continue  # a continuation line of the record just taken
        m = None if cr else match(buf, s, hi)
        if m is not None:
            name = m.group(1)
            level = levels.get(name)
            if level is None:
                level = level_from_bytes(name)
            q = find(b"\n", m.end(), hi)
        else:
            q = find(b"\n", s, hi)
            level = header_level(buf, s, hi if q < 0 else q + 1)
        q = hi if q < 0 else q + 1
        if level is None or (level >= min_level) != keep:
            continue
        while q < hi:  # the record runs to the next header
            if not cr and match(buf, q, hi) is not None:
                break
            e2 = find(b"\n", q, hi)
            e2 = hi if e2 < 0 else e2 + 1
            if header_level(buf, q, e2) is not None:
                break
            q = e2
        if spans and spans[-1][1] == s:
            spans[-1] = (spans[-1][0], q)
        else:
            spans.append((s, q))
        covered = q
    return spans


Spans = list[tuple[int, int]]


def _intersect(a: Spans, b: Spans) -> Spans:
    out: Spans = []
    i = j = 0
    while i < len(a) and j < len(b):
        s = max(a[i][0], b[j][0])
        e = min(a[i][1], b[j][1])
        if s < e:
            out.append((s, e))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _subtract(a: Spans, b: Spans) -> Spans:
    out: Spans = []
    j = 0
    for s, e in a:
        while j < len(b) and b[j][1] <= s:
            j += 1
        k = j
        cur = s
        while k < len(b) and b[k][0] < e:
            if b[k][0] > cur:
                out.append((cur, b[k][0]))
            cur = max(cur, b[k][1])
            k += 1
        if cur < e:
            out.append((cur, e))
    return out


def _contains(spans: Spans, p: int) -> bool:
    i = bisect_right(spans, (p, float("inf"))) - 1
    return i >= 0 and spans[i][0] <= p < spans[i][1]


# ---------------------------------------------------------------------------
# Regex matching over a chunk, exact per line


def _plain(raw: bytes) -> str:
    """The text a line's regex is matched against: its display text, no colours."""
    return strip_sgr(decode_line(raw))


def _literal_words(pattern: re.Pattern[str]) -> list[list[str]] | None:
    """Words a match must contain, from the parsed pattern: one list per top-level
    alternative, any single word of which that alternative requires. None when some
    alternative requires no word of 3+ characters (then there is no pre-filter)."""
    try:
        from re import _parser as sre_parse  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - other Pythons
        return None
    try:
        tree: Any = sre_parse.parse(pattern.pattern, pattern.flags)
    except Exception:
        return None
    literal, subpattern, branch = sre_parse.LITERAL, sre_parse.SUBPATTERN, sre_parse.BRANCH

    def words(items: Any) -> list[str]:
        found: list[str] = []
        run: list[str] = []

        def flush() -> None:
            # Colour codes sit between a line's parts, not inside words: split there.
            found.extend(w for w in re.split(r"[^\w.:/\-]+", "".join(run)) if len(w) >= 3)
            run.clear()

        for op, arg in items:
            if op is literal:
                run.append(chr(arg))
                continue
            flush()
            if op is subpattern:
                found.extend(words(arg[-1]))
        flush()
        return found

    items = list(tree)
    while len(items) == 1 and items[0][0] is subpattern:
        items = list(items[0][1][-1])
    if len(items) == 1 and items[0][0] is branch:
        alternatives = [words(alt) for alt in items[0][1][1]]
    else:
        alternatives = [words(items)]
    if not alternatives or any(not alt for alt in alternatives):
        return None
    return alternatives


@dataclass(frozen=True)
class _Matcher:
    """A user regex prepared for chunks: MULTILINE for the bulk search, and the words
    it requires, which pre-select the lines of coloured chunks (where stripping the
    colour codes of every line would cost more than the search)."""

    pattern: re.Pattern[str]
    bulk: re.Pattern[str]
    words: list[list[bytes]] | None
    fold: bool  # the words are looked for in the lower-cased chunk

    @classmethod
    def of(cls, pattern: re.Pattern[str]) -> _Matcher:
        bulk = re.compile(pattern.pattern, pattern.flags | re.MULTILINE)
        fold = bool(pattern.flags & re.IGNORECASE)
        alternatives = _literal_words(pattern)
        words: list[list[bytes]] | None = None
        if alternatives is not None:
            words = [
                [(w.lower() if fold else w).encode() for w in alt if not fold or w.isascii()]
                for alt in alternatives
            ]
            if any(not alt for alt in words):
                words = None
        return cls(pattern, bulk, words, fold)

    def line(self, raw: bytes) -> bool:
        return self.pattern.search(_plain(raw)) is not None

    def lines(self, buf: bytes, lo: int, hi: int) -> list[int]:
        """Starts of the lines in ``buf[lo:hi]`` (whole lines) whose plain text
        matches, sorted; exact (the per-line text decides where a shortcut could
        differ from it)."""
        if lo >= hi:
            return []
        seg = buf[lo:hi]
        if self.words is not None and b"\x1b" in seg:
            hay = seg.lower() if self.fold else seg
            # One word per alternative: its only one, else the rarest (counting
            # costs a pass over the chunk per word, so only where there is a
            # choice). Checking candidate lines one by one (~4 us each) beats
            # stripping the chunk while they are fewer than one per 300 bytes.
            words = [alt[0] if len(alt) == 1 else min(alt, key=hay.count) for alt in self.words]
            found = self._by_words(buf, lo, hi, hay, words, len(seg) // 300)
            if found is not None:
                return found
        return self._by_text(buf, lo, hi, seg)

    def _by_words(
        self, buf: bytes, lo: int, hi: int, hay: bytes, words: list[bytes], limit: int
    ) -> list[int] | None:
        """The matching lines among those holding one of ``words``; None once there
        are more than ``limit`` such lines (then `_by_text` is cheaper)."""
        starts: set[int] = set()
        find = hay.find
        for w in words:
            p = find(w)
            while p >= 0:
                starts.add(_line_start(buf, lo + p, lo))
                if len(starts) > limit:
                    return None
                e = find(b"\n", p)
                if e < 0:
                    break
                p = find(w, e)
        return sorted(s for s in starts if self.line(buf[s : _line_end(buf, s, hi)]))

    def _by_text(self, buf: bytes, lo: int, hi: int, seg: bytes) -> list[int]:
        text = seg.decode("utf-8", "replace")
        esc = "\x1b" in text
        if esc:
            text = SGR_RE.sub("", text)
        direct = not esc and seg.isascii()
        tstarts: list[int] = []
        bstarts: list[int] = []
        if not direct:
            tstarts = [0, *(m.end() for m in re.finditer("\n", text))]
            bstarts = [0, *(m.end() for m in _NL.finditer(seg))]
        found: set[int] = set()
        special = self._special_lines(buf, lo, hi, seg, text, tstarts, bstarts, direct)
        search = self.bulk.search
        pos = 0
        n = len(text)
        while pos < n:
            m = search(text, pos)
            if m is None:
                break
            ts = text.rfind("\n", 0, m.start()) + 1
            te = text.find("\n", m.start())
            if te < 0:
                te = n
            s = lo + ts if direct else lo + bstarts[bisect_right(tstarts, ts) - 1]
            if s not in special and (
                (m.end() <= te and te - ts <= DISPLAY_LIMIT)
                or self.line(buf[s : _line_end(buf, s, hi)])
            ):
                found.add(s)
            pos = te + 1
        for s in special:
            if self.line(buf[s : _line_end(buf, s, hi)]):
                found.add(s)
        return sorted(found)

    @staticmethod
    def _special_lines(
        buf: bytes,
        lo: int,
        hi: int,
        seg: bytes,
        text: str,
        tstarts: list[int],
        bstarts: list[int],
        direct: bool,
    ) -> set[int]:
        """Lines where the bulk text is not the per-line text: control characters
        (``\\r`` redraws, BEL...), escapes other than SGR, C1 controls."""
        out: set[int] = set()
        marked = seg.translate(_CONTROL_TABLE)
        p = marked.find(0)
        while p >= 0:
            out.add(_line_start(buf, lo + p, lo))
            p = marked.find(0, _line_end(buf, lo + p, hi) - lo)
        if "\x1b" in text or (not seg.isascii() and re.search("[\x80-\x9f]", text)):
            for m in re.finditer("[\x1b\x80-\x9f]", text):
                ts = text.rfind("\n", 0, m.start()) + 1
                if direct:
                    out.add(lo + ts)
                else:
                    out.add(lo + bstarts[bisect_right(tstarts, ts) - 1])
        return out


# ---------------------------------------------------------------------------
# Deciding the rows of a chunk


@dataclass
class _Rules:
    """A filter turned into what the chunk scans need."""

    min_level: int
    ranks: frozenset[int] | None
    include: _Matcher | None
    exclude: _Matcher | None
    keep_words: tuple[bytes, ...] | None  # level >= min_level is decided by these...
    drop_words: tuple[bytes, ...] | None  # ...or level < min_level by these

    @classmethod
    def of(cls, flt: Filter) -> _Rules:
        m = flt.min_level
        keep = drop = None
        if m > ORPHAN_LEVEL:
            keep = tuple(w for w, lv in _LEVEL_WORDS if lv >= m)
        elif m > 5:
            drop = tuple(w for w, lv in _LEVEL_WORDS if lv < m)
        return cls(
            min_level=m,
            ranks=flt.ranks,
            include=_Matcher.of(flt.include) if flt.include is not None else None,
            exclude=_Matcher.of(flt.exclude) if flt.exclude is not None else None,
            keep_words=keep,
            drop_words=drop,
        )

    @property
    def trivial(self) -> bool:
        return self.min_level <= 5 and self.include is None and self.exclude is None

    def keeps(self, level: int, inc: bool, exc: bool) -> bool:
        return level >= self.min_level and (self.include is None or inc) and not exc


@dataclass
class _Carry:
    """Continuation lines at the top of the chunks scanned so far, waiting for the
    header above them (in an older chunk) to decide them."""

    starts: array[int] = field(default_factory=lambda: array("q"))
    end: int = 0  # where the last of them ends
    inc: bool = False
    exc: bool = False


def _decide_fast(
    lines: _Lines, carry: _Carry, rules: _Rules, at_start: bool
) -> tuple[array[int], _Carry]:
    """Kept line offsets of a chunk (``lines``: whole lines at a file offset), scanning
    backwards: ``carry`` holds the lines after the chunk still waiting for their
    header. Returns the kept offsets (ascending, including decided carry lines) and
    the new carry."""
    buf, base = lines.buf, lines.base
    n = len(buf)
    h0 = _first_header(buf, 0, n)
    inc_lines = rules.include.lines(buf, 0, n) if rules.include is not None else []
    exc_lines = rules.exclude.lines(buf, 0, n) if rules.exclude is not None else []
    if h0 < 0:
        starts = lines.between(0, n)
        starts.extend(carry.starts)
        new = _Carry(
            starts,
            carry.end if carry.starts else base + n,
            carry.inc or bool(inc_lines),
            carry.exc or bool(exc_lines),
        )
        if at_start or new.end - starts[0] > RECORD_LOOKBACK:
            return _orphans(new, rules), _Carry()
        return array("q"), new
    hl = _last_header(buf, h0, n)

    # Which records of [h0, n) pass the level filter.
    spans: Spans
    if rules.keep_words is not None:
        spans = _level_spans(buf, h0, n, rules.keep_words, rules.min_level, keep=True)
    elif rules.drop_words is not None:
        if rules.include is None and rules.exclude is None and buf.find(b"\r", h0) < 0:
            # Most records kept: every line but the dropped records'.
            kept, last_dropped = _drop_rows(lines, h0, n, rules.drop_words, rules.min_level)
            if carry.starts and not last_dropped:
                kept.extend(carry.starts)
            return _finish(lines, h0, kept, inc_lines, exc_lines, rules, at_start)
        drop = _level_spans(buf, h0, n, rules.drop_words, rules.min_level, keep=False)
        spans = _subtract([(h0, n)], drop)
    else:
        spans = [(h0, n)]

    # Records holding a line that matches include / exclude; the lines after the
    # chunk (carry) belong to the last record.
    def records(lines: list[int], extra: bool) -> Spans:
        heads = sorted(
            {_record_of(buf, s, h0) for s in lines if s >= h0} | ({hl} if extra else set())
        )
        return [(h, _next_header(buf, h, n)) for h in heads]

    if rules.include is not None:
        spans = _intersect(spans, records(inc_lines, carry.inc))
    if rules.exclude is not None:
        spans = _subtract(spans, records(exc_lines, carry.exc))

    kept = _rows_of(lines, spans)
    if carry.starts and _contains(spans, hl):
        kept.extend(carry.starts)
    return _finish(lines, h0, kept, inc_lines, exc_lines, rules, at_start)


def _finish(
    lines: _Lines,
    h0: int,
    kept: array[int],
    inc_lines: list[int],
    exc_lines: list[int],
    rules: _Rules,
    at_start: bool,
) -> tuple[array[int], _Carry]:
    """`_decide_fast`'s result: the lines above the chunk's first header ``h0``
    become the carry (or orphans, at the start of the file)."""
    new = _Carry()
    if h0 > 0:
        new = _Carry(
            lines.between(0, h0),
            lines.base + h0,
            bool(inc_lines) and inc_lines[0] < h0,
            bool(exc_lines) and exc_lines[0] < h0,
        )
        if at_start:
            head = _orphans(new, rules)
            head.extend(kept)
            return head, _Carry()
    return kept, new


def _orphans(carry: _Carry, rules: _Rules) -> array[int]:
    """Lines with no header above them: a record of `ORPHAN_LEVEL`."""
    if rules.keeps(ORPHAN_LEVEL, carry.inc, carry.exc):
        return carry.starts
    return array("q")


@dataclass
class _Rec:
    """A record being read line by line (one per torchrun rank in combined files)."""

    level: int
    inc: bool
    exc: bool
    shown: bool = False
    lines: list[tuple[int, int | None]] = field(default_factory=list)  # (offset, rank)
    t: float = 0.0


def _split_lines(buf: bytes, base: int) -> Iterator[tuple[int, bytes]]:
    pos = 0
    n = len(buf)
    while pos < n:
        e = _line_end(buf, pos, n)
        yield base + pos, buf[pos:e]
        pos = e


def _rank_ok(rules: _Rules, rank: int | None) -> bool:
    return rules.ranks is None or rank is None or rank in rules.ranks


class _Line:
    """A line of a rank-interleaving file on its way through `_decide_slow`."""

    __slots__ = ("exc", "inc", "kept", "offset", "rank")

    def __init__(self, offset: int, rank: int | None, inc: bool, exc: bool) -> None:
        self.offset = offset
        self.rank = rank
        self.inc = inc
        self.exc = exc
        self.kept: bool | None = None  # None: its record is not decided yet


def _decide_slow(
    buf: bytes, base: int, carry: list[_Line], rules: _Rules, at_start: bool
) -> tuple[list[int], list[_Line]]:
    """`_decide_fast` line by line, with records tracked per torchrun rank (files that
    interleave ranks). Lines after the topmost undecided one cannot be prepended
    yet (an older chunk decides it, and rows are only ever prepended), so the carry
    holds every line up to the last undecided one, decided or not."""
    open_recs: dict[int | None, tuple[_Rec, list[_Line]]] = {}
    lines: list[_Line] = []

    def close(level: int, inc: bool, exc: bool, members: list[_Line]) -> None:
        keep = rules.keeps(level, inc, exc)
        for ln in members:
            ln.kept = keep and _rank_ok(rules, ln.rank)

    for off, raw in _split_lines(buf, base):
        text = decode_line(raw)
        info = parse_line(text)
        plain = strip_sgr(text) if (rules.include or rules.exclude) else ""
        ln = _Line(
            off,
            info.rank,
            rules.include is not None and rules.include.pattern.search(plain) is not None,
            rules.exclude is not None and rules.exclude.pattern.search(plain) is not None,
        )
        lines.append(ln)
        key = info.rank
        if info.header:
            old = open_recs.get(key)
            if old is not None:
                close(old[0].level, old[0].inc, old[0].exc, old[1])
            open_recs[key] = (_Rec(info.level, ln.inc, ln.exc), [ln])
        elif key in open_recs:
            rec, members = open_recs[key]
            rec.inc |= ln.inc
            rec.exc |= ln.exc
            members.append(ln)
    for ln in carry:
        if ln.kept is None and ln.rank in open_recs:
            rec, members = open_recs[ln.rank]
            rec.inc |= ln.inc
            rec.exc |= ln.exc
            members.append(ln)
    for rec, members in open_recs.values():
        close(rec.level, rec.inc, rec.exc, members)
    lines.extend(carry)
    last = max((i for i, ln in enumerate(lines) if ln.kept is None), default=-1)
    if last >= 0 and (at_start or last > 100_000):
        orphans: dict[int | None, list[_Line]] = {}
        for ln in lines[: last + 1]:
            if ln.kept is None:
                orphans.setdefault(ln.rank, []).append(ln)
        for members in orphans.values():
            close(
                ORPHAN_LEVEL,
                any(ln.inc for ln in members),
                any(ln.exc for ln in members),
                members,
            )
        last = -1
    return [ln.offset for ln in lines[last + 1 :] if ln.kept], lines[: last + 1]


# ---------------------------------------------------------------------------
# Time, for merging files


class _Clock:
    """Run time (epoch seconds) of records from their ``HH:MM:SS`` clocks.

    The file's mtime dates its last record; going backwards a clock that jumps up
    by more than an hour crossed midnight, going forwards one that drops by more
    than an hour did. Times are clamped to be monotonic per file, so a k-way merge
    of files is well defined.
    """

    __slots__ = ("anchor", "back_day", "back_t", "fwd_day", "fwd_t", "tod")

    def __init__(self, anchor: float) -> None:
        lt = time.localtime(anchor)
        # Local midnight of that day, in whole seconds (files must agree to the second).
        midnight = int(time.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday, 0, 0, 0, 0, 0, -1)))
        self.anchor = anchor
        self.tod = anchor - midnight
        self.back_day = self.fwd_day = midnight
        self.back_t: float | None = None
        self.fwd_t: float | None = None

    def back(self, clock: int | None) -> float:
        if clock is None:
            return self.back_t if self.back_t is not None else self.anchor
        t: float = self.back_day + clock
        if self.back_t is None:
            if clock > self.tod + 300:
                self.back_day -= 86_400
                t -= 86_400
        else:
            if t > self.back_t + 3600:
                self.back_day -= 86_400
                t -= 86_400
            t = min(t, self.back_t)
        self.back_t = t
        return t

    def fwd(self, clock: int | None) -> float:
        if clock is None:
            return self.fwd_t if self.fwd_t is not None else self.anchor
        t: float = self.fwd_day + clock
        if self.fwd_t is None:
            if clock > self.tod + 300:
                self.fwd_day -= 86_400
                t -= 86_400
        else:
            if t < self.fwd_t - 3600:
                self.fwd_day += 86_400
                t += 86_400
            t = max(t, self.fwd_t)
        self.fwd_t = t
        return t


def _clock_at(buf: bytes, s: int, e: int) -> int | None:
    """The clock of the header line at ``s`` (loguru fast, other shapes parsed)."""
    m = _CLOCK_B.match(buf, s, e)
    if m is not None:
        h, mi, se = m.groups()
        return int(h) * 3600 + int(mi) * 60 + int(se)
    return parse_line(decode_line(buf[s:e])).clock


NO_CLOCK: Final = -1


def _header_clocks(buf: bytes, starts: list[int]) -> list[int | None]:
    """Per line at ``starts`` (offsets in ``buf``; one at or past its end is a line
    carried from the next chunk): its clock in seconds since midnight if it is a
    header with one, `NO_CLOCK` for a header without, None for a continuation line.

    The header templates say which lines are headers and where their clock is
    (`_known_headers`); lines holding a ``\\r`` (whose text is what follows the
    last one) and lines of other shapes are parsed."""
    n = len(buf)
    out: list[int | None] = [None] * len(starts)
    redrawn: set[int] = set()
    p = buf.find(b"\r")
    while p >= 0:
        redrawn.add(_line_start(buf, p, 0))
        p = buf.find(b"\r", _line_end(buf, p, n))
    found, todo = _known_headers(
        buf, starts, [i for i, s in enumerate(starts) if s < n and s not in redrawn]
    )
    clock_at, seconds = _TEMPLATE_CLOCKS, _SECONDS
    for i, key in found:
        p = starts[i] + clock_at[key]
        hms = buf[p : p + 8]
        c = seconds.get(hms)
        if c is None:
            c = seconds[hms] = int(hms[:2]) * 3600 + int(hms[3:5]) * 60 + int(hms[6:])
        out[i] = c
    todo.extend(i for i, s in enumerate(starts) if s in redrawn)
    for i in todo:
        s = starts[i]
        e = _line_end(buf, s, n)
        # `_header_fast` learns the shape of a loguru header for the next lines.
        if (s not in redrawn and _header_fast(buf, s, n) is not None) or header_level(
            buf, s, e
        ) is not None:
            c = _clock_at(buf, s, e)
            out[i] = NO_CLOCK if c is None else c
    return out


_SECONDS: dict[bytes, int] = {}
"""``b"HH:MM:SS"`` -> seconds since midnight (at most 86,400 keys)."""


def _runs_back(
    buf: bytes, base: int, rows: array[int], clock: _Clock, untimed: list[int], at_start: bool
) -> tuple[list[tuple[float, array[int]]], list[int]]:
    """Group kept rows (ascending, whole records) into runs of one time, oldest first,
    giving continuation rows the time of their header.

    A record whose header has no clock (a uvicorn access line) takes the time of
    the nearest record before it that has one, shown or not, as it does live
    (`_Clock.fwd`). When that record is in an older chunk, the rows wait,
    descending, in ``untimed`` for the next call. Returns the runs and the rows
    still waiting."""
    n = len(buf)
    clocks = _header_clocks(buf, [off - base for off in rows])
    # Each row's clock: its header's (continuation lines follow their header); a
    # header without one takes the last clock above it, looking at the lines
    # between the rows too (records the filter dropped).
    cur = last = None  # the clock of the current record, the last clock seen
    prev = -1  # the previous row's start: lines up to it were looked at
    for i, c in enumerate(clocks):
        rel = rows[i] - base
        if c is None:
            clocks[i] = cur
        elif c == NO_CLOCK:
            above = _clock_above(buf, rel, prev)
            if above is not None:
                last = above
            clocks[i] = cur = last
        else:
            cur = last = c
        prev = rel
    runs: list[tuple[float, array[int]]] = []
    pending = untimed
    if pending:  # rows of the next chunk waiting for the last clock of this one
        c = _clock_above(buf, n, -1)
        if c is not None or len(pending) > _UNTIMED_MAX:
            # (Too many waiting: they take the time of the rows after them.)
            _add_run(runs, clock.back(c), pending)
            pending = []
    # Rows newest first, grouped by clock; rows before any clock wait.
    i = len(rows)
    for c, group in groupby(reversed(clocks)):
        size = sum(1 for _ in group)
        offsets = rows[i - size : i]
        i -= size
        if c is None:
            pending.extend(reversed(offsets))
            continue
        offsets.reverse()  # (nothing waits here: a clock in this chunk took them above)
        _add_run(runs, clock.back(c), offsets)
    if pending and at_start:
        _add_run(runs, clock.back(None), pending)
        pending = []
    runs.reverse()
    for _, arr in runs:
        arr.reverse()
    return runs, pending


def _clock_above(buf: bytes, e: int, stop: int) -> int | None:
    """The clock of the nearest header with one among the lines ending at or before
    ``e`` and starting after ``stop``; None if there is none."""
    while e > 0:
        s = _line_start(buf, e - 1, 0)
        if s <= stop:
            return None
        if header_level(buf, s, e) is not None:
            c = _clock_at(buf, s, e)
            if c is not None:
                return c
        e = s
    return None


_UNTIMED_MAX: Final = 100_000
"""Rows waiting for an older clock beyond this take the newer time instead (a file
of clock-less lines only must not be held in memory whole)."""


def _add_run(
    runs: list[tuple[float, array[int]]], t: float, offsets_desc: list[int] | array[int]
) -> None:
    if runs and runs[-1][0] == t:
        runs[-1][1].extend(offsets_desc)
    else:
        runs.append((t, array("q", offsets_desc)))


# ---------------------------------------------------------------------------
# One file inside a view


class _Member:
    """A file of a view: its backward scan and its live (forward) state."""

    def __init__(
        self, file: LogFile, order: tuple[Any, ...], slot: int, rules: _Rules, multi: bool
    ) -> None:
        self.file = file
        self.order = order
        self.slot = slot
        self.gen = file.generation
        self.rules = rules
        self.multi = multi
        self.by_rank = file.source.component == TRAINER and file.source.rank is None
        # backward
        self.pos = file.end
        self.done = self.pos == 0 or file.status == "error"
        self.carry = _Carry()
        self.slow_carry: list[_Line] = []
        self.chunks = 0
        self.first_chunk = FIRST_CHUNK
        self.chunk = CHUNK
        self.clock = _Clock(file.last_write or time.time())
        self.runs: deque[tuple[float, array[int]]] = deque()
        self.untimed: list[int] = []  # see `_runs_back`
        # forward
        self.fwd_end = file.end
        self.fwd_recs: dict[int | None, _Rec] | None = None

    # -- backwards ---------------------------------------------------------------

    def step(self) -> array[int]:
        """Scan one more chunk backwards; the kept offsets (ascending)."""
        if self.done:
            return array("q")
        size = self.first_chunk if self.chunks == 0 else self.chunk
        self.chunks += 1
        back = self.pos
        a = max(0, back - size)
        if a > 0:
            # Find the first line start with a small read, then read from there:
            # no copy of the chunk to drop its partial first line.
            probe = self.file.read(a, min(back - a, 64 << 10), self.gen)
            i = probe.find(b"\n")
            if i >= 0 and a + i + 1 < back:
                cs = a + i + 1
                buf = self.file.read(cs, back - cs, self.gen)
                if len(buf) == back - cs:
                    return self._decide(buf, cs)
                return self._give_up()  # truncated or replaced under us: stop here
        while True:
            a = max(0, back - size)
            buf = self.file.read(a, back - a, self.gen)
            if len(buf) != back - a:  # truncated or replaced under us: stop here
                return self._give_up()
            if a == 0:
                cs = 0
                break
            i = buf.find(b"\n")
            if 0 <= i < len(buf) - 1:
                cs, buf = a + i + 1, buf[i + 1 :]
                break
            size *= 2
        return self._decide(buf, cs)

    def _decide(self, buf: bytes, cs: int) -> array[int]:
        """The kept offsets of the chunk ``buf`` (whole lines at ``cs``), the next
        chunk ending there."""
        self.pos = cs
        at_start = cs == 0
        if at_start:
            self.done = True
        rules = self.rules
        lines = _Lines(buf, cs, self.file.indexed_starts(cs, cs + len(buf), self.gen))
        if rules.trivial and not self.multi and not (self.by_rank and rules.ranks is not None):
            kept = lines.between(0, len(buf))  # no records to judge, no times to merge by
        elif self.by_rank:
            lst, self.slow_carry = _decide_slow(buf, cs, self.slow_carry, rules, at_start)
            kept = array("q", lst)
        else:
            kept, self.carry = _decide_fast(lines, self.carry, rules, at_start)
        if self.multi and (kept or at_start or self.untimed):
            runs, self.untimed = _runs_back(buf, cs, kept, self.clock, self.untimed, at_start)
            self.runs.extend(runs)
        return kept

    def _give_up(self) -> array[int]:
        """Stop the backward scan here; rows waiting for a time take the newest."""
        self.done = True
        if self.untimed:
            self.runs.appendleft((self.clock.back(None), array("q", self.untimed[::-1])))
            self.untimed = []
        return array("q")

    def stop(self) -> None:
        """The file was reset: its older content is no longer ours to scan."""
        self.done = True
        self.runs.clear()
        self.untimed = []
        self.carry = _Carry()
        self.slow_carry = []

    # -- forwards ----------------------------------------------------------------

    def feed(self, appended: Appended) -> list[tuple[float, int]]:
        """Rows for the lines appended: ``(time, offset)`` in file order."""
        out: list[tuple[float, int]] = []
        for a, buf in self.file.appended(appended, self.fwd_end):
            if self.fwd_recs is None:
                self.fwd_recs = {}
                self._prime(a)
            self.fwd_end = a + len(buf)
            out += self._feed(buf, a, emit=True)
        return out

    def _prime(self, end: int) -> None:
        """Learn the open records (and the clock) from the lines before ``end``,
        which the backward scan has already decided."""
        a = max(0, end - (256 << 10))
        buf = self.file.read(a, end - a, self.gen)
        if a > 0:
            i = buf.find(b"\n")
            if i < 0:
                return
            buf, a = buf[i + 1 :], a + i + 1
        self._feed(buf, a, emit=False)

    def _feed(self, buf: bytes, base: int, emit: bool) -> list[tuple[float, int]]:
        assert self.fwd_recs is not None
        recs = self.fwd_recs
        rules = self.rules
        out: list[tuple[float, int]] = []
        if emit and rules.trivial and not self.multi and not self.by_rank:
            return [(0.0, off) for off in line_starts(buf, base)]
        texts: deque[str] = deque(maxlen=CACHE_LINES)  # of rows emitted as read: `out`'s tail
        for off, raw in _split_lines(buf, base):
            text = decode_line(raw)
            info = parse_line(text)
            key = info.rank if self.by_rank else None
            plain = strip_sgr(text) if (rules.include or rules.exclude) else ""
            inc = rules.include is not None and rules.include.pattern.search(plain) is not None
            exc = rules.exclude is not None and rules.exclude.pattern.search(plain) is not None
            rank_ok = _rank_ok(rules, info.rank) if self.by_rank else True
            rec = recs.get(key)
            if info.header:
                t = self.clock.fwd(info.clock)
                rec = recs[key] = _Rec(info.level, inc, exc, t=t)
                rec.shown = rules.keeps(rec.level, inc, exc)
                if rec.shown:
                    if emit and rank_ok:
                        out.append((t, off))
                        texts.append(text)
                elif rec.level >= rules.min_level and not exc and rank_ok:
                    rec.lines.append((off, info.rank))  # withheld until include matches
                continue
            if rec is None:
                rec = recs[key] = _Rec(ORPHAN_LEVEL, False, False, t=self.clock.fwd(None))
                rec.shown = rules.keeps(ORPHAN_LEVEL, False, False)
            if exc and not rec.exc:
                rec.exc = True
                rec.shown = False  # hide the rest (lines already shown stay)
                rec.lines = []
            if rec.shown:
                if emit and rank_ok:
                    out.append((rec.t, off))
                    texts.append(text)
            elif not rec.exc and rec.level >= rules.min_level:
                if inc:
                    rec.inc = rec.shown = True
                    if emit:
                        out.extend((rec.t, o) for o, _ in rec.lines)
                        texts.clear()  # `out` holds rows read earlier now
                        if rank_ok:
                            out.append((rec.t, off))
                            texts.append(text)
                    rec.lines = []
                elif rank_ok and len(rec.lines) < 10_000:
                    rec.lines.append((off, info.rank))
        if texts:
            # The renderer asks for these rows next: hand it the text decoded here.
            remember, gen = self.file.remember, self.gen
            for (_, off), text in zip(out[-len(texts) :], texts, strict=True):
                remember(gen, off, text)
        return out


# ---------------------------------------------------------------------------
# View


class View:
    """The rows of one pane: the lines of the files ``flt`` selects that pass it,
    merged by time when there are several files, following the run live.

    Not thread-safe: build, update and read from one thread (or under one lock).
    """

    def __init__(self, run: Run, flt: Filter) -> None:
        self.run = run
        self.filter = flt
        self._rules = _Rules.of(flt)
        self._rows: _Rows | _IndexRows = _Rows()
        self._slots: list[tuple[LogFile, int]] = []
        self._members: dict[LogFile, _Member] = {}
        files = [f for f in run.files if flt.selects(f.source)]
        self._multi = len(files) > 1
        for f in files:
            self._add(f)
        self._built = False
        if len(files) == 1:
            [m] = self._members.values()
            if self._rules.trivial and not (m.by_rank and self._rules.ranks is not None):
                # Every line of one file: the rows are the file's own line index.
                self._rows = _IndexRows(m.file.index, m.file.end, m.slot)

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
        """All history is scanned (live lines keep coming through `update`)."""
        if isinstance(self._rows, _IndexRows):
            return self._index_done()
        return all(m.done and not m.runs for m in self._members.values())

    def _index_done(self) -> bool:
        rows = self._rows
        assert isinstance(rows, _IndexRows)
        [f] = self._members
        index = rows.index
        if rows.lo > index.indexed_from:
            return False  # indexed lines not taken yet
        return index.complete or index.stale or f.index is not index or f.indexed

    @property
    def nbytes(self) -> int:
        """Memory held by the row addresses."""
        return self._rows.nbytes

    def _add(self, f: LogFile) -> _Member:
        slot = len(self._slots)
        self._slots.append((f, f.generation))
        # Ties in time go by the run's file order; the count keeps keys unique.
        order = (*f.source.sort_key, len(self._members))
        m = _Member(f, order, slot, self._rules, self._multi)
        self._members[f] = m
        return m

    # -- history -----------------------------------------------------------------

    def build(self, budget_s: float = 0.02) -> int:
        """Prepend older rows for about ``budget_s`` seconds; how many were added.

        The first call returns once it has the last screen (`FIRST_SCREEN` rows,
        or all there are), taking up to `FIRST_CALL_MAX_S` if the filter is rare.
        """
        start = time.perf_counter()
        deadline = start + budget_s
        first = not self._built
        self._built = True
        if first:
            deadline = max(deadline, start)
        if isinstance(self._rows, _IndexRows):
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
        """`build` for `_IndexRows`: index the file further back, take its lines."""
        rows = self._rows
        assert isinstance(rows, _IndexRows)
        [f] = self._members
        added = 0
        while not self.complete:
            got = rows.grow_back()  # what the index has already, first
            if not got and f.index is rows.index:
                f.build_index(max(0.0, deadline - time.perf_counter()))
                got = rows.grow_back()
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
                self._copied.prepend(kept, m.slot)
                added += len(kept)
        return added

    def _step_multi(self) -> int:
        """One step of a k-way merge of the files' backward runs by time: take the
        newest run among files (ties: the later file in the run's order first, so
        that forwards the earlier one reads first), refilling a file's runs before
        it could hold something newer."""
        members = list(self._members.values())
        for m in members:
            while not m.runs and not m.done:
                m.step()
        ready = [m for m in members if m.runs]
        if not ready:
            return 0
        added = 0
        deadline = time.perf_counter() + 0.005
        while True:
            best = max(ready, key=lambda m: (m.runs[-1][0], m.order))
            _, offsets = best.runs.pop()
            self._copied.prepend(offsets, best.slot)
            added += len(offsets)
            if not best.runs:
                if not best.done:
                    break  # refill it before going on
                ready.remove(best)
                if not ready:
                    break
            if time.perf_counter() >= deadline:
                break
        return added

    # -- live --------------------------------------------------------------------

    def update(self, changes: RunChanges) -> ViewDelta:
        """Rows for what `Run.refresh` found: appended lines (a batch from several
        files merged by time), new files, and resets (old rows stay; the new content
        follows)."""
        if isinstance(self._rows, _IndexRows):
            [own] = self._members
            joining = any(
                f not in self._members and self.filter.selects(f.source) for f in changes.new_files
            )
            if not joining and own not in changes.reset:
                return ViewDelta(appended=self._rows.grow_forward())
            self._copy_index_rows()
        reset = False
        for f in changes.new_files:
            if f not in self._members and self.filter.selects(f.source):
                if self._members:
                    self._multi = True
                    for m in self._members.values():
                        m.multi = True
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
            member.clock = _Clock(f.last_write or time.time())
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
        return ViewDelta(prepended=0, appended=appended, reset=reset)

    @property
    def _copied(self) -> _Rows:
        """The rows, where they are not `_IndexRows`."""
        assert isinstance(self._rows, _Rows)
        return self._rows

    def _copy_index_rows(self) -> None:
        """Leave `_IndexRows` (a reset, or a second file): the rows become a copy,
        and the file's member goes on from where they end, both ways."""
        rows = self._rows
        assert isinstance(rows, _IndexRows)
        [m] = self._members.values()
        self._rows = rows.copy()
        m.pos = rows.lo
        m.done = rows.lo == 0 or m.file.status == "error"
        m.fwd_end = rows.hi
        m.fwd_recs = None

    # -- search ------------------------------------------------------------------

    def find(
        self, pattern: re.Pattern[str] | str, start: int, backwards: bool = False
    ) -> int | None:
        """The first row at or after ``start`` (at or before, ``backwards``) whose
        plain text matches ``pattern``; None if there is none."""
        pat = re.compile(pattern) if isinstance(pattern, str) else pattern
        matcher = _Matcher.of(pat)
        return self._scan_rows(start, backwards, lambda buf: matcher.lines(buf, 0, len(buf)))

    def next_problem(self, start: int, backwards: bool = False) -> int | None:
        """The first row at or after ``start`` (at or before, ``backwards``) that
        starts a record of level WARNING or above; None if there is none."""
        return self._scan_rows(start, backwards, lambda buf: [s for s, _ in problem_lines(buf)])

    def _scan_rows(self, start: int, backwards: bool, hits: Any) -> int | None:
        n = len(self)
        if n == 0:
            return None
        i = min(max(start, 0), n - 1)
        block = 512
        while 0 <= i < n:
            lo, hi = (max(0, i - block + 1), i + 1) if backwards else (i, min(n, i + block))
            buf, where = self._gather(lo, hi)
            found = sorted(bisect_right(where, s) - 1 + lo for s in hits(buf))
            if found:
                return found[-1] if backwards else found[0]
            i = lo - 1 if backwards else hi
            block = min(block * 2, 65536)
        return None

    def _gather(self, lo: int, hi: int) -> tuple[bytes, list[int]]:
        """The lines of rows ``[lo, hi)`` one after another (each ending in a newline),
        and where each row starts in that buffer. Rows that follow each other in a
        file are read with one ``pread``."""
        parts: list[bytes] = []
        where: list[int] = []
        size = 0
        i = lo
        while i < hi:
            off, slot = self._rows.get(i)
            file, gen = self._slots[slot]
            j = i + 1
            end = off
            # Extend over rows that are the next lines of the same file.
            line_end = file.index.line_end(off) if gen == file.generation else None
            if line_end is not None:
                end = line_end
                while j < hi and end - off < (8 << 20):
                    o2, s2 = self._rows.get(j)
                    if s2 != slot or o2 != end:
                        break
                    e2 = file.index.line_end(o2)
                    if e2 is None:
                        break
                    end = e2
                    j += 1
            if end > off:
                chunk = file.read(off, end - off, gen)
                if len(chunk) == end - off:
                    pos = 0
                    for _ in range(i, j):
                        where.append(size + pos)
                        pos = _line_end(chunk, pos, len(chunk))
                    parts.append(chunk)
                    size += len(chunk)
                    i = j
                    continue
            raw = file.raw_line(off, gen) or b"\n"
            if not raw.endswith(b"\n"):
                raw += b"\n"
            where.append(size)
            parts.append(raw)
            size += len(raw)
            i += 1
        return b"".join(parts), where
