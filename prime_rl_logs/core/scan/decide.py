"""Deciding the rows of a chunk: which lines a filter keeps, scanning a file backwards.

The rule, in one place for both engines below and the live feed of `core.view`:
a record is judged by its header (its level; lines above the first header are a
record of `ORPHAN_LEVEL`), and include / exclude match any of its lines, so a
record is shown or hidden whole. Scanning backwards, the continuation lines at the
top of a chunk wait (`PendingContinuations`) for the header above them, in an
older chunk. `decide_single_writer_chunk` serves files one process writes (the
records follow each other): C-speed passes over the chunk (`scan.spans`,
`scan.matcher`). `decide_interleaved_chunk` serves files that interleave torchrun
ranks (a combined ``trainer.log``): line by line, one open record per rank. Pure
functions of their arguments; `Rules` is a `Filter` prepared for them.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from prime_rl_logs.core.ansi import strip_sgr
from prime_rl_logs.core.formats import LEVEL_WORDS
from prime_rl_logs.core.parse import LineInfo, decode_line, parse_line
from prime_rl_logs.core.record_edges import in_record
from prime_rl_logs.core.scan.lines import ChunkLines, split_lines
from prime_rl_logs.core.scan.matcher import RegexMatcher
from prime_rl_logs.core.scan.records import (
    ORPHAN_LEVEL,
    RECORD_LOOKBACK,
    first_header,
    last_header,
    next_header,
    record_start,
)
from prime_rl_logs.core.scan.spans import (
    Spans,
    contains,
    intersect,
    level_spans,
    rows_in_spans,
    rows_without_levels_below,
    subtract,
)
from prime_rl_logs.core.scan.templates import HeaderTemplates

if TYPE_CHECKING:
    from prime_rl_logs.core.filter import Filter

__all__ = [
    "InterleavedLine",
    "OpenRecord",
    "PendingContinuations",
    "Rules",
    "decide_interleaved_chunk",
    "decide_single_writer_chunk",
    "rank_ok",
]

INTERLEAVED_CARRY_MAX: Final = 100_000
"""Undecided lines of a rank-interleaved file beyond this are read as orphans."""


@dataclass
class Rules:
    """A filter turned into what the chunk scans need."""

    min_level: int
    ranks: frozenset[int] | None
    include: RegexMatcher | None
    exclude: RegexMatcher | None
    keep_words: tuple[bytes, ...] | None  # level >= min_level is decided by these...
    drop_words: tuple[bytes, ...] | None  # ...or level < min_level by these

    @classmethod
    def of(cls, flt: Filter) -> Rules:
        """The rules of a filter: the level words that decide it, its regexes prepared."""
        m = flt.min_level
        keep = drop = None
        if m > ORPHAN_LEVEL:
            keep = tuple(w for w, lv in LEVEL_WORDS if lv >= m)
        elif m > 5:
            drop = tuple(w for w, lv in LEVEL_WORDS if lv < m)
        return cls(
            min_level=m,
            ranks=flt.ranks,
            include=RegexMatcher.of(flt.include) if flt.include is not None else None,
            exclude=RegexMatcher.of(flt.exclude) if flt.exclude is not None else None,
            keep_words=keep,
            drop_words=drop,
        )

    @property
    def trivial(self) -> bool:
        return self.min_level <= 5 and self.include is None and self.exclude is None

    def keeps(self, level: int, inc: bool, exc: bool) -> bool:
        return level >= self.min_level and (self.include is None or inc) and not exc


@dataclass
class PendingContinuations:
    """Continuation lines at the top of the chunks scanned so far, waiting for the
    header above them (in an older chunk) to decide them."""

    starts: array[int] = field(default_factory=lambda: array("q"))
    end: int = 0  # where the last of them ends
    inc: bool = False
    exc: bool = False


@dataclass
class OpenRecord:
    """A record being read line by line (one per torchrun rank in combined files)."""

    level: int
    inc: bool
    exc: bool
    shown: bool = False
    lines: list[tuple[int, int | None]] = field(default_factory=list)  # (offset, rank)
    t: float = 0.0


class InterleavedLine:
    """A line of a rank-interleaving file on its way through `decide_interleaved_chunk`."""

    __slots__ = ("exc", "inc", "kept", "offset", "rank")

    def __init__(self, offset: int, rank: int | None, inc: bool, exc: bool) -> None:
        self.offset = offset
        self.rank = rank
        self.inc = inc
        self.exc = exc
        self.kept: bool | None = None  # None: its record is not decided yet


def rank_ok(rules: Rules, rank: int | None) -> bool:
    return rules.ranks is None or rank is None or rank in rules.ranks


def _orphans(carry: PendingContinuations, rules: Rules) -> array[int]:
    """Lines with no header above them: a record of `ORPHAN_LEVEL`."""
    if rules.keeps(ORPHAN_LEVEL, carry.inc, carry.exc):
        return carry.starts
    return array("q")


def _finish(
    lines: ChunkLines,
    h0: int,
    kept: array[int],
    inc_lines: list[int],
    exc_lines: list[int],
    rules: Rules,
    at_start: bool,
) -> tuple[array[int], PendingContinuations]:
    """`decide_single_writer_chunk`'s result: the lines above the chunk's first header ``h0``
    become the carry (or orphans, at the start of the file)."""
    new = PendingContinuations()
    if h0 > 0:
        new = PendingContinuations(
            lines.between(0, h0),
            lines.base + h0,
            bool(inc_lines) and inc_lines[0] < h0,
            bool(exc_lines) and exc_lines[0] < h0,
        )
        if at_start:
            head = _orphans(new, rules)
            head.extend(kept)
            return head, PendingContinuations()
    return kept, new


def decide_single_writer_chunk(
    lines: ChunkLines,
    carry: PendingContinuations,
    rules: Rules,
    at_start: bool,
    templates: HeaderTemplates,
) -> tuple[array[int], PendingContinuations]:
    """Kept line offsets of a chunk (``lines``: whole lines at a file offset), scanning
    backwards: ``carry`` holds the lines after the chunk still waiting for their
    header. Returns the kept offsets (ascending, including decided carry lines) and
    the new carry."""
    buf, base = lines.buf, lines.base
    n = len(buf)
    h0 = first_header(buf, 0, n)
    inc_lines = rules.include.lines(buf, 0, n) if rules.include is not None else []
    exc_lines = rules.exclude.lines(buf, 0, n) if rules.exclude is not None else []
    if h0 < 0:
        starts = lines.between(0, n)
        starts.extend(carry.starts)
        new = PendingContinuations(
            starts,
            carry.end if carry.starts else base + n,
            carry.inc or bool(inc_lines),
            carry.exc or bool(exc_lines),
        )
        if at_start or new.end - starts[0] > RECORD_LOOKBACK:
            return _orphans(new, rules), PendingContinuations()
        return array("q"), new
    hl = last_header(buf, h0, n)

    # Which records of [h0, n) pass the level filter.
    spans: Spans
    if rules.keep_words is not None:
        spans = level_spans(buf, h0, n, rules.keep_words, rules.min_level, keep=True, shapes=True)
    elif rules.drop_words is not None:
        if rules.include is None and rules.exclude is None and buf.find(b"\r", h0) < 0:
            # Most records kept: every line but the dropped records'.
            kept, last_dropped = rows_without_levels_below(
                lines, h0, n, rules.drop_words, rules.min_level, templates
            )
            if carry.starts and not last_dropped:
                kept.extend(carry.starts)
            return _finish(lines, h0, kept, inc_lines, exc_lines, rules, at_start)
        drop = level_spans(buf, h0, n, rules.drop_words, rules.min_level, keep=False)
        spans = subtract([(h0, n)], drop)
    else:
        spans = [(h0, n)]

    # Records holding a line that matches include / exclude; the lines after the
    # chunk (carry) belong to the last record.
    def records(lines: list[int], extra: bool) -> Spans:
        heads = sorted(
            {record_start(buf, s, h0) for s in lines if s >= h0} | ({hl} if extra else set())
        )
        return [(h, next_header(buf, h, n)) for h in heads]

    if rules.include is not None:
        spans = intersect(spans, records(inc_lines, carry.inc))
    if rules.exclude is not None:
        spans = subtract(spans, records(exc_lines, carry.exc))

    kept = rows_in_spans(lines, spans)
    if carry.starts and contains(spans, hl):
        kept.extend(carry.starts)
    return _finish(lines, h0, kept, inc_lines, exc_lines, rules, at_start)


def decide_interleaved_chunk(
    buf: bytes, base: int, carry: list[InterleavedLine], rules: Rules, at_start: bool
) -> tuple[list[int], list[InterleavedLine]]:
    """`decide_single_writer_chunk` line by line, with records tracked per torchrun rank (files that
    interleave ranks). Lines after the topmost undecided one cannot be prepended
    yet (an older chunk decides it, and rows are only ever prepended), so the carry
    holds every line up to the last undecided one, decided or not."""
    open_recs: dict[int | None, tuple[OpenRecord, list[InterleavedLine]]] = {}
    lines: list[InterleavedLine] = []

    def close(level: int, inc: bool, exc: bool, members: list[InterleavedLine]) -> None:
        keep = rules.keeps(level, inc, exc)
        for ln in members:
            ln.kept = keep and rank_ok(rules, ln.rank)

    above: LineInfo | None = None
    for off, raw in split_lines(buf, base):
        text = decode_line(raw)
        info = parse_line(text)
        info, above = in_record(text, info, above), info
        plain = strip_sgr(text) if (rules.include or rules.exclude) else ""
        ln = InterleavedLine(
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
            open_recs[key] = (OpenRecord(info.level, ln.inc, ln.exc), [ln])
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
    if last >= 0 and (at_start or last > INTERLEAVED_CARRY_MAX):
        orphans: dict[int | None, list[InterleavedLine]] = {}
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
