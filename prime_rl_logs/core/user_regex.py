"""Regexes typed by a user (``f``, ``F``, ``/``, ``--grep``, ``--exclude``): compiled
with a guard against catastrophic backtracking, and run with a time limit.

Python's ``re`` cannot be interrupted within one match and holds the GIL while it
runs: ``(a|aa)+$`` on a line of 60 ``a`` takes minutes, and neither a worker thread
nor a cancel flag gets a word in. So a user's pattern is a `UserRegex`: checked
with ``re`` (the syntax users get is exactly Python's), refused at once where it
nests an unbounded repetition in another (`nested_repetition`: ``(a+)+``,
``(\\w*\\s?)*``, ``(x+y?)+``; ``[a-z]+(\\.[a-z]+)*`` passes, atomic groups and
possessive repeats too), and run by the third-party ``regex`` module, whose
searches take a ``timeout`` and release the GIL on a ``str`` (measured: the main
thread ticks on while another runs ``(a|aa)+$``; ``concurrent=True`` is not passed,
it costs 0.4 us a call for nothing more). One search
gets `SEARCH_BASE_S` plus `SEARCH_S_PER_CHAR` per character it may scan (a pattern
slower than 10 MB/s is too slow for a log viewer). A search that runs out raises
`RegexTooSlow`, and the pattern is *spent*: every later search of it raises at
once, so one pattern freezes the caller for one time limit at most, whatever the
number of lines and panes. Callers stop the filter on it with `RegexTooSlow`'s
one-line message (`core.view.View.stopped`, ``tail``: exit 2).

Why this way: the time limit is ``regex``'s own (checked inside the match, counted
in CPU time: 0.25 s of CPU even on a loaded machine), so the scans keep their
shape and speed (``docs/benchmarks.md``) and the history builder keeps its time
slices on the event loop, where `core.view.View` (not thread-safe) lives. A
worker thread alone would not help with ``re`` (the main thread got no tick in
27 s), and a subprocess that can be killed would copy every chunk through a pipe.
``regex`` runs in ``VERSION0`` (``re``'s behaviour) with ``re``'s flags.
"""

from __future__ import annotations

import importlib
import re
import sys
import threading
from collections.abc import Iterator
from typing import Any, Final

_c: Any = importlib.import_module("re._constants")  # the parser of `re` itself
_parser: Any = importlib.import_module("re._parser")

__all__ = [
    "SEARCH_BASE_S",
    "SEARCH_S_PER_CHAR",
    "RegexTooSlow",
    "UserRegex",
    "bounded",
    "compile_user_regex",
    "nested_repetition",
]

SEARCH_BASE_S: Final = 0.25
"""Seconds one search of a user regex may take, plus `SEARCH_S_PER_CHAR` a character."""

SEARCH_S_PER_CHAR: Final = 1e-7
"""The slowest rate a search may go at: 10 million characters a second."""

_REPEATS = {_c.MAX_REPEAT, _c.MIN_REPEAT}
_ONE_CHAR = {_c.LITERAL, _c.NOT_LITERAL, _c.IN, _c.ANY, _c.CATEGORY}


def _has_mandatory_char(items: Any) -> bool:
    """Does the sequence always consume a character outside any repetition (as the
    ``.`` of ``(\\.[a-z]+)*``)? A separator like that keeps the nesting linear."""
    for op, av in items:
        if op in _ONE_CHAR:
            return True
        if op is _c.SUBPATTERN and _has_mandatory_char(av[-1]):
            return True
    return False


def nested_repetition(pattern: str) -> bool:
    """Does ``pattern`` hold an unbounded repetition inside another one?

    Raises:
        re.error: the pattern does not parse.
    """
    return _walk(_parser.parse(pattern), inside=False)


def _walk(items: Any, *, inside: bool) -> bool:
    for op, av in items:
        children: list[Any] = []
        nested = inside
        if op in _REPEATS:
            _, hi, sub = av
            unbounded = hi == _c.MAXREPEAT
            if unbounded and inside:
                return True
            children = [sub]
            nested = inside or (unbounded and not _has_mandatory_char(sub))
        elif op is _c.SUBPATTERN:
            children = [av[-1]]
        elif op is _c.BRANCH:
            children = list(av[1])
        elif op in (_c.ASSERT, _c.ASSERT_NOT):
            children = [av[1]]
        elif op is _c.GROUPREF_EXISTS:
            children = [b for b in av[1:] if b is not None]
        # ATOMIC_GROUP and POSSESSIVE_REPEAT never backtrack into: not descended.
        if any(_walk(child, inside=nested) for child in children):
            return True
    return False


class RegexTooSlow(TimeoutError):
    """A user regex ran out of time on one search; ``str()`` says so in one line."""


class UserRegex:
    """A user's pattern, run by ``regex`` with a time limit per search (module doc).

    Quacks like the ``re.Pattern`` it was checked as where the package uses one:
    ``pattern`` and ``flags`` are ``re``'s (``re._parser`` can read them, as
    `scan.matcher.required_words` does), `search` and `finditer` take a string,
    and two of them are equal when their pattern and flags are. Safe to share
    between threads; `spent` once any search ran out of time.
    """

    __slots__ = ("_compiled", "_spent", "flags", "pattern")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags
        import regex  # here, not at the top: the dashboard's first screen needs no regex

        try:
            self._compiled = regex.compile(pattern, (flags & _RE_FLAGS) | regex.VERSION0)
        except regex.error as exc:  # accepted by `re`, refused by `regex`: rare
            raise re.error(str(exc)) from None
        self._spent = threading.Event()

    def __repr__(self) -> str:
        return f"UserRegex({self.pattern!r}, {self.flags})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, UserRegex):
            return NotImplemented
        return (self.pattern, self.flags) == (other.pattern, other.flags)

    def __hash__(self) -> int:
        return hash((self.pattern, self.flags))

    @property
    def spent(self) -> bool:
        """A search of this pattern ran out of time: every later one raises at once."""
        return self._spent.is_set()

    def with_flags(self, flags: int) -> UserRegex:
        """The same pattern with more flags (``re.MULTILINE`` for a chunk), sharing
        whether it is spent."""
        out = UserRegex(self.pattern, self.flags | flags)
        out._spent = self._spent
        return out

    def too_slow(self) -> RegexTooSlow:
        return RegexTooSlow(
            f"the regex /{self.pattern}/ is too slow "
            f"(one search took over {SEARCH_BASE_S:g} s: it backtracks)"
        )

    def _limit(self, n: int) -> float:
        if self._spent.is_set():
            raise self.too_slow()
        return SEARCH_BASE_S + max(n, 0) * SEARCH_S_PER_CHAR

    def search(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> Any:
        """``re.Pattern.search``; `RegexTooSlow` past the time limit."""
        timeout = self._limit(min(endpos, len(string)) - pos)
        try:
            return self._compiled.search(string, pos, endpos, timeout=timeout)
        except TimeoutError:
            self._spent.set()
            raise self.too_slow() from None

    def finditer(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> Iterator[Any]:
        """``re.Pattern.finditer`` (one time limit for the whole string);
        `RegexTooSlow` past it."""
        timeout = self._limit(min(endpos, len(string)) - pos)
        try:
            yield from self._compiled.finditer(string, pos, endpos, timeout=timeout)
        except TimeoutError:
            self._spent.set()
            raise self.too_slow() from None


_RE_FLAGS: Final = re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE | re.ASCII


def bounded(pattern: re.Pattern[str] | UserRegex) -> UserRegex:
    """``pattern`` as a `UserRegex` (an ``re`` pattern is recompiled with ``regex``)."""
    if isinstance(pattern, UserRegex):
        return pattern
    return UserRegex(pattern.pattern, pattern.flags)


def compile_user_regex(pattern: str) -> UserRegex:
    """A `UserRegex`, refusing nested unbounded repetition (see the module docstring).

    Raises:
        re.error: the pattern is invalid, or could take exponential time (one line).
    """
    compiled = re.compile(pattern)
    if nested_repetition(pattern):
        raise re.error(
            "a repetition inside a repetition, such as (a+)+, can take exponential "
            "time on one line; drop the inner + or *, or make it possessive (a++)"
        )
    return UserRegex(pattern, compiled.flags)
