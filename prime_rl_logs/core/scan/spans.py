"""Records as byte spans: which records of a chunk a level filter keeps or drops.

A span is ``(start, end)`` of whole records in a chunk; `Spans` is a sorted list of
disjoint ones, with `intersect`, `subtract` and `contains`. `level_spans` finds the
records of a level range from the lines holding a level word (one ``bytes.find``
pass per word); `rows_without_levels_below` serves a filter that hides only a few
levels (most lines kept) with one regex pass per word (`LevelWordRegex`).
`rows_in_spans` turns spans into the file offsets of their lines. Pure functions
of their arguments (the templates learn as they are asked).
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from itertools import filterfalse

from prime_rl_logs.core.formats import HEADER_FIRST_BYTES, HEADER_LEVEL_RE, LEVEL_OF_BYTES
from prime_rl_logs.core.scan.lines import ChunkLines
from prime_rl_logs.core.scan.records import (
    embedded_level,
    header_level,
    level_from_bytes,
    token_line_starts,
)
from prime_rl_logs.core.scan.templates import HeaderTemplates

__all__ = [
    "Spans",
    "contains",
    "intersect",
    "level_spans",
    "rows_in_spans",
    "rows_without_levels_below",
    "subtract",
]

Spans = list[tuple[int, int]]


def intersect(a: Spans, b: Spans) -> Spans:
    """The parts of ``a`` that are in ``b``."""
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


def subtract(a: Spans, b: Spans) -> Spans:
    """The parts of ``a`` that are not in ``b``."""
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


def contains(spans: Spans, p: int) -> bool:
    """Is offset ``p`` in one of ``spans``?"""
    i = bisect_right(spans, (p, float("inf"))) - 1
    return i >= 0 and spans[i][0] <= p < spans[i][1]


def rows_in_spans(lines: ChunkLines, spans: Spans) -> array[int]:
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


def level_spans(
    buf: bytes,
    lo: int,
    hi: int,
    words: tuple[bytes, ...],
    min_level: int,
    *,
    keep: bool,
    shapes: bool = False,
) -> Spans:
    """Records of ``buf[lo:hi]`` (``lo`` a header) whose header's level is at least
    ``min_level`` (``keep``) or below it (not ``keep``), found from the lines that
    hold one of ``words`` (or, with ``shapes``, that `formats.SHAPE_LINE_RE` finds: the
    headers of WARNING and up that do not spell their level); adjacent records are
    joined.

    The hot loop of a level filter: one ``bytes.find`` pass per word, then per
    candidate one regex match for its header and one for the line after it (the
    loguru regex cannot run past a newline, so no line end is needed to call it).
    """
    find = buf.find
    match = HEADER_LEVEL_RE.match
    levels = LEVEL_OF_BYTES
    cr = find(b"\r", lo, hi) >= 0  # then every line goes through `header_level`
    cands = token_line_starts(buf, lo, hi, words, shapes)
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
            if find(b"\x1b[2m", m.end(), hi if q < 0 else q) >= 0:  # a record glued on
                level = header_level(buf, s, hi if q < 0 else q + 1)
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


def rows_without_levels_below(
    lines: ChunkLines,
    lo: int,
    hi: int,
    words: tuple[bytes, ...],
    min_level: int,
    templates: HeaderTemplates,
) -> tuple[array[int], bool]:
    """For a level filter that hides a few levels (``words``): the file offsets of
    the lines of ``buf[lo:hi]`` (``lo`` a header, ``hi`` the end of the chunk, no
    ``\\r`` in the range) in records of level ``min_level`` or above, and whether the
    last record (the one reaching ``hi``) is dropped.

    `LevelWordRegex` finds the dropped headers of known shape and whether their record
    is one line; the other occurrences of a word are judged by `HeaderTemplates.levels`
    and a dropped record's continuation lines walked to the next header. The kept
    rows are every line start (`ChunkLines`: the index's, or one newline scan) but the
    dropped ones.
    """
    buf, base = lines.buf, lines.base
    find, rfind = buf.find, buf.rfind
    dropped: set[int] = set()
    walk: list[int] = []  # headers of dropped records that may have continuation lines
    unknown: set[int] = set()  # lines holding a word that no template explains
    for w in words:
        wre = templates.word_regex(w)
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
        levels = templates.levels(buf, heads, hi)
        walk.extend(
            s for s, lv in zip(heads, levels, strict=True) if lv is not None and lv < min_level
        )
    last_dropped = False
    for s in walk:
        dropped.add(s + base)
        q = find(b"\n", s, hi) + 1 or hi
        while q < hi:  # continuation lines: the record runs to the next header
            if buf[q] in HEADER_FIRST_BYTES:
                if templates.levels(buf, [q], hi)[0] is not None:
                    break
            elif embedded_level(buf, q, find(b"\n", q, hi) + 1 or hi, bare=True) is not None:
                break
            dropped.add(q + base)
            q = find(b"\n", q, hi) + 1 or hi
        last_dropped |= q >= hi
    if not dropped:
        return lines.between(lo, hi), False
    kept = array("q")
    kept.fromlist(list(filterfalse(dropped.__contains__, lines.list_between(lo, hi))))
    return kept, last_dropped
