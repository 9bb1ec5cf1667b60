"""A user regex (``--grep``, ``--exclude``, search) run over a chunk of raw lines.

`RegexMatcher.lines` gives the lines of a chunk whose plain text (display text
without colour codes, `plain_text`) matches, exactly as matching each line alone
would: one MULTILINE search over the decoded chunk, with the lines where the
chunk's text differs from the line's (control characters, ``\r`` redraws,
non-SGR escapes, cut long lines) checked one by one. On coloured chunks the
words the regex requires (`required_words`) pre-select the lines instead. Holds
no state beyond the compiled regex. The regex runs as a `core.user_regex.UserRegex`
(an ``re`` pattern given is recompiled so): a search that runs out of time raises
`core.user_regex.RegexTooSlow` out of `RegexMatcher.lines` and `RegexMatcher.line`.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any, Final

from prime_rl_logs.core.ansi import SGR_RE, strip_sgr
from prime_rl_logs.core.parse import DISPLAY_LIMIT, decode_line
from prime_rl_logs.core.scan.lines import line_end, line_start
from prime_rl_logs.core.user_regex import UserRegex, bounded

__all__ = ["RegexMatcher", "plain_text", "required_words"]

_NL: Final = re.compile(b"\n")

# Control bytes that make `decode_line` differ from a plain decode of the line (CR,
# BEL, backspace...; not TAB, LF or ESC, which are looked at separately).
_CONTROLS: Final = bytes([*range(0, 9), *range(11, 27), *range(28, 32), 127])
_CONTROL_TABLE: Final = bytes(0 if i in _CONTROLS else i for i in range(256))


def plain_text(raw: bytes) -> str:
    """The text a line's regex is matched against: its display text, no colours."""
    return strip_sgr(decode_line(raw))


def _regex_tree(pattern: re.Pattern[str] | UserRegex) -> tuple[Any, tuple[Any, Any, Any]] | None:
    """The parse tree of ``pattern`` and the opcodes LITERAL, SUBPATTERN, BRANCH, from
    the standard library's private ``re._parser`` (``sre_parse``); None where it is
    missing or fails, and then `required_words` finds no words and the matcher
    reads every line (slower, same result). Its shape (``(op, arg)`` items,
    ``SUBPATTERN`` args ending in the sub-tree, ``BRANCH`` args ``(None, [trees])``)
    was checked against CPython 3.11, 3.12 and 3.13. The one use of a private API
    of the standard library in the package."""
    try:
        from re import _parser as sre_parse  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - other Pythons
        return None
    try:
        tree = sre_parse.parse(pattern.pattern, pattern.flags)
        ops = (sre_parse.LITERAL, sre_parse.SUBPATTERN, sre_parse.BRANCH)
    except Exception:  # any failure only turns the pre-filter off
        return None
    return tree, ops


def required_words(pattern: re.Pattern[str] | UserRegex) -> list[list[str]] | None:
    """Words a match must contain, from the parsed pattern: one list per top-level
    alternative, any single word of which that alternative requires. None when some
    alternative requires no word of 3+ characters (then there is no pre-filter)."""
    parsed = _regex_tree(pattern)
    if parsed is None:
        return None
    tree, (literal, subpattern, branch) = parsed

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

    try:
        items = list(tree)
        while len(items) == 1 and items[0][0] is subpattern:
            items = list(items[0][1][-1])
        if len(items) == 1 and items[0][0] is branch:
            alternatives = [words(alt) for alt in items[0][1][1]]
        else:
            alternatives = [words(items)]
    except (TypeError, ValueError, IndexError):  # a tree of another shape: no pre-filter
        return None
    if not alternatives or any(not alt for alt in alternatives):
        return None
    return alternatives


@dataclass(frozen=True)
class RegexMatcher:
    """A user regex prepared for chunks: MULTILINE for the bulk search, and the words
    it requires, which pre-select the lines of coloured chunks (where stripping the
    colour codes of every line would cost more than the search)."""

    pattern: UserRegex
    bulk: UserRegex
    words: list[list[bytes]] | None
    fold: bool  # the words are looked for in the lower-cased chunk

    @classmethod
    def of(cls, pattern: re.Pattern[str] | UserRegex) -> RegexMatcher:
        pattern = bounded(pattern)
        bulk = pattern.with_flags(re.MULTILINE)
        fold = bool(pattern.flags & re.IGNORECASE)
        alternatives = required_words(pattern)
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
        return self.pattern.search(plain_text(raw)) is not None

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
                starts.add(line_start(buf, lo + p, lo))
                if len(starts) > limit:
                    return None
                e = find(b"\n", p)
                if e < 0:
                    break
                p = find(w, e)
        return sorted(s for s in starts if self.line(buf[s : line_end(buf, s, hi)]))

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
                or self.line(buf[s : line_end(buf, s, hi)])
            ):
                found.add(s)
            pos = te + 1
        for s in special:
            if self.line(buf[s : line_end(buf, s, hi)]):
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
            out.add(line_start(buf, lo + p, lo))
            p = marked.find(0, line_end(buf, lo + p, hi) - lo)
        if "\x1b" in text or (not seg.isascii() and re.search("[\x80-\x9f]", text)):
            for m in re.finditer("[\x1b\x80-\x9f]", text):
                ts = text.rfind("\n", 0, m.start()) + 1
                if direct:
                    out.add(lo + ts)
                else:
                    out.add(lo + bstarts[bisect_right(tstarts, ts) - 1])
        return out
