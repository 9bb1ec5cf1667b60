"""Header templates: the loguru header layouts a run's files use, learned as they are read.

Most lines of a file share a few header layouts that differ only in their digits
(the clock), so a header seen once is remembered as its bytes up to and
including the one after the level, digits turned into ``0``: `HEADER_LEVEL_RE`
tests every byte it reads there by classes that take all ASCII digits alike (no
literal digit in it) and reads nothing after that byte, so a line with the same
bytes, digit for digit, matches it the same way. A known header then costs a
slice, a translate and a dict lookup instead of the regex.

`HeaderTemplates` holds what is learned (templates and their levels, where their
clock is, the regexes built from them, clock strings already converted) for one
`Run` (``run.templates``), which passes it to its views; nothing is module-level.
Learning is bounded (`MAX_TEMPLATES`, `MAX_LENGTHS`) and never changes an answer,
only its cost: a view reads the same rows with fresh or warm templates. `reset`
forgets everything. Not thread-safe (like the views that use it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from prime_rl_logs.core.formats import HEADER_LEVEL_RE, LEVEL_OF_BYTES, LOGURU_CLOCK_RE
from prime_rl_logs.core.scan.records import header_level, level_from_bytes

__all__ = ["MAX_LENGTHS", "MAX_TEMPLATES", "HeaderTemplates", "LevelWordRegex", "template_re"]

MAX_TEMPLATES: Final = 256
"""Templates learned per run at most."""

MAX_LENGTHS: Final = 8
"""Distinct template lengths learned per run at most (one lookup each per line)."""

MAX_ALTERNATION: Final = 32
"""`LevelWordRegex` looks ahead for the next header among at most this many templates."""

_DIGITS0: Final = bytes.maketrans(b"0123456789", b"0000000000")
_HMATCH: Final = HEADER_LEVEL_RE.match


def template_re(template: bytes) -> bytes:
    """A header template (digits as ``0``) as a regex matching the lines it stands for."""
    return b"".join(b"[0-9]" if c == 0x30 else re.escape(bytes([c])) for c in template)


@dataclass(frozen=True, slots=True)
class LevelWordRegex:
    """Finds every occurrence of a level word in a chunk and, in the same C loop,
    recognises the headers of known shape among them (the learned templates):

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


class HeaderTemplates:
    """The header templates learned from one run's files, and what is built from them."""

    __slots__ = ("_word_regexes", "clock_at", "lengths", "level_of", "seconds")

    def __init__(self) -> None:
        self.level_of: dict[bytes, int] = {}
        """Template -> the level of its headers."""
        self.clock_at: dict[bytes, int] = {}
        """Template -> where its ``HH:MM:SS`` clock starts."""
        self.lengths: list[int] = []
        """The lengths of the templates, in the order learned."""
        self.seconds: dict[bytes, int] = {}
        """``b"HH:MM:SS"`` -> seconds since midnight, as met (at most 86,400 keys)."""
        self._word_regexes: dict[bytes, LevelWordRegex] = {}

    def reset(self) -> None:
        """Forget everything learned."""
        self.level_of.clear()
        self.clock_at.clear()
        self.lengths.clear()
        self.seconds.clear()
        self._word_regexes.clear()

    def level_at(self, buf: bytes, q: int, hi: int) -> int | None:
        """The level of the header line at ``q`` if `HEADER_LEVEL_RE` matches it there
        (endpos ``hi``), else None; the caller falls back to `header_level` (which
        agrees when the regex matches). Only for buffers without ``\\r``. A header
        that matches is learned as a template."""
        level_of = self.level_of
        for size in self.lengths:
            if q + size <= hi:
                level = level_of.get(buf[q : q + size].translate(_DIGITS0))
                if level is not None:
                    return level
        m = _HMATCH(buf, q, hi)
        if m is None:
            return None
        name = m.group(1)
        level = LEVEL_OF_BYTES.get(name)
        if level is None:
            level = level_from_bytes(name)
        size = m.end() - q + 1
        cm = LOGURU_CLOCK_RE.match(buf, q, hi)
        if m.end() < hi and len(level_of) < MAX_TEMPLATES and cm is not None:
            key = buf[q : q + size].translate(_DIGITS0)
            level_of[key] = level
            self.clock_at[key] = cm.start(1) - q
            if size not in self.lengths and len(self.lengths) < MAX_LENGTHS:
                self.lengths.append(size)
        return level

    def known(
        self, buf: bytes, starts: list[int], todo: list[int]
    ) -> tuple[list[tuple[int, bytes]], list[int]]:
        """Which lines ``starts[i]`` (``i`` in ``todo``; offsets in ``buf``, no ``\\r``
        in them) begin with a learned template: ``(i, template)`` pairs, and the
        other ``i``.

        `level_at` in bulk: the templates are looked up for all lines at once, one
        template length after the other, so a line costs a slice, a translate and a
        set lookup. A template holds no newline before its last byte, so a slice
        that equals one lies within its line, whatever follows the line.
        """
        found: list[tuple[int, bytes]] = []
        templates, digits0 = self.level_of, _DIGITS0
        for size in self.lengths:
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

    def levels(self, buf: bytes, starts: list[int], hi: int) -> list[int | None]:
        """The level of each line at ``starts`` (offsets in ``buf``, whole lines up to
        ``hi``, no ``\\r``) that is a record header; None for the others: `known`,
        then `level_at` (learning the template) and `header_level` for the rest."""
        out: list[int | None] = [None] * len(starts)
        found, rest = self.known(buf, starts, list(range(len(starts))))
        level_of = self.level_of
        for i, key in found:
            out[i] = level_of[key]
        for i in rest:
            s = starts[i]
            level = self.level_at(buf, s, hi)
            if level is None:
                e = buf.find(b"\n", s, hi)
                level = header_level(buf, s, hi if e < 0 else e + 1)
            out[i] = level
        return out

    def word_regex(self, word: bytes) -> LevelWordRegex:
        """The `LevelWordRegex` of a level word for the templates learned so far."""
        templates = list(self.level_of.items())
        cached = self._word_regexes.get(word)
        if cached is not None and cached.version == len(templates):
            return cached
        # The next line's header: an alternation of every template (their common
        # prefix is factored out by `re`), skipped when there are many.
        nxt = (
            b"|".join(template_re(t) for t, _ in templates)
            if len(templates) <= MAX_ALTERNATION
            else None
        )
        tail = b"(?:(?=" + nxt + b")()|())" if nxt else b"()()"
        parts, branches = [], []
        for t, level in templates:
            k = t.find(word)
            if k < 0 or t.find(word, k + 1) >= 0:
                continue
            behind = b"(?<=^" + template_re(t[: k + len(word)]) + b")"
            after = t[k + len(word) :]
            rest = b"" if after.endswith(b"\n") else rb"[^\n]*+\n"
            parts.append(behind + template_re(after) + rest + tail)
            branches.append((k, level))
        parts.append(b"()")
        pattern = re.compile(re.escape(word) + b"(?:" + b"|".join(parts) + b")", re.M)
        made = LevelWordRegex(pattern, tuple(branches), len(templates))
        self._word_regexes[word] = made
        return made
