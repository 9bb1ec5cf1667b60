"""Regexes typed by a user (``f``, ``F``, ``/``, ``--grep``, ``--exclude``), compiled
with a guard against catastrophic backtracking.

Python's ``re`` cannot be interrupted within one match and holds the GIL while it
runs, so neither a worker thread nor a cancel flag can save the dashboard from a
pattern such as ``(a+)+$`` on a line of a few dozen ``a``: one match takes minutes
and ``q`` is not even read. `compile_user_regex` therefore refuses, with one line
saying why, the shape that causes it in practice: an unbounded repetition (``+``,
``*``, ``{n,}``) inside another one whose body has no character it must always
match besides, as in ``(a+)+``, ``(\\w*\\s?)*`` or ``(x+y?)+`` (while
``[a-z]+(\\.[a-z]+)*`` passes: the ``.`` separates the repetitions). Atomic groups
and possessive repeats (``(?>...)``, ``a++``) do not backtrack and are allowed.
What remains: other exponential shapes (overlapping alternatives under one
repetition, ``(a|aa)+$``, or ``(a+a)+$``) are not detected; a merely slow pattern
runs in the history's time slices, so ``esc`` or a new filter replaces it between
slices.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

_c: Any = importlib.import_module("re._constants")  # the parser of `re` itself
_parser: Any = importlib.import_module("re._parser")

__all__ = ["compile_user_regex", "nested_repetition"]

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


def compile_user_regex(pattern: str) -> re.Pattern[str]:
    """``re.compile``, refusing nested unbounded repetition (see the module docstring).

    Raises:
        re.error: the pattern is invalid, or could take exponential time (one line).
    """
    compiled = re.compile(pattern)
    if nested_repetition(pattern):
        raise re.error(
            "a repetition inside a repetition, such as (a+)+, can take exponential "
            "time on one line; drop the inner + or *, or make it possessive (a++)"
        )
    return compiled
