"""Log levels: loguru's names and numbers, the one table every module reads.

A leaf module: it imports nothing from the package, so the logging library
(`logger`, `config`, `env_workers`) and the reader (`core`, `tui`, the commands)
can both use it without one loading the other.

Loguru's levels are ``TRACE`` 5, ``DEBUG`` 10, ``INFO`` 20, ``SUCCESS`` 25,
``WARNING`` 30, ``ERROR`` 40 and ``CRITICAL`` 50. People also type the stdlib
spellings ``WARN`` and ``FATAL``; `normalize` accepts them. Readers meet custom
level names in files too; `number_lenient` gives those INFO so they show wherever
INFO does.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = [
    "ALIASES",
    "ALLOWED",
    "CRITICAL",
    "DEBUG",
    "ERROR",
    "INFO",
    "LEVELS",
    "SUCCESS",
    "TRACE",
    "WARNING",
    "name_at_or_below",
    "normalize",
    "number",
    "number_lenient",
]

TRACE: Final = 5
DEBUG: Final = 10
INFO: Final = 20
SUCCESS: Final = 25
WARNING: Final = 30
ERROR: Final = 40
CRITICAL: Final = 50

LEVELS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "TRACE": TRACE,
        "DEBUG": DEBUG,
        "INFO": INFO,
        "SUCCESS": SUCCESS,
        "WARNING": WARNING,
        "ERROR": ERROR,
        "CRITICAL": CRITICAL,
    }
)
"""Loguru's level names, upper case, to their numbers, in increasing order."""

ALIASES: Final[Mapping[str, str]] = MappingProxyType({"WARN": "WARNING", "FATAL": "CRITICAL"})
"""The stdlib spellings people type, to loguru's names."""

ALLOWED: Final = "trace, debug, info, success, warning (warn), error, critical"
"""The accepted names as one phrase, for error messages."""


def normalize(name: object) -> str:
    """A level name as loguru spells it: ``"warn"`` -> ``"WARNING"``.

    Args:
        name: a level name in any case, or a stdlib alias (``warn``, ``fatal``).

    Raises:
        ValueError: one line listing the allowed names, for anything else
            (a non-string included).
    """
    if not isinstance(name, str):
        raise ValueError(f"level must be a string, got {name!r}; allowed: {ALLOWED}")
    upper = name.strip().upper()
    upper = ALIASES.get(upper, upper)
    if upper not in LEVELS:
        raise ValueError(f"{name!r} is not a log level; allowed: {ALLOWED}")
    return upper


def number(name: object) -> int:
    """The number of a level name (``"warn"`` -> 30).

    Args:
        name: a level name, as `normalize` takes it.

    Raises:
        ValueError: as `normalize`.
    """
    return LEVELS[normalize(name)]


def number_lenient(name: str) -> int:
    """The number of a level name read from a file, never raising.

    Args:
        name: the level word as the file spells it. Case-insensitive; ``WARN`` is 30
            and ``FATAL`` 50; any other name, a custom loguru level included, is
            `INFO` so it shows wherever INFO does.
    """
    found = LEVELS.get(name)
    if found is not None:
        return found
    upper = name.upper()
    return LEVELS.get(ALIASES.get(upper, upper), INFO)


def name_at_or_below(no: int) -> str:
    """The highest named level at or below ``no`` (``TRACE`` below every name).

    Used to show a numeric threshold (27 -> ``SUCCESS``) and to name the level of a
    record whose file spelled it in a way loguru does not.

    Args:
        no: a level number.
    """
    best = "TRACE"
    for name, value in LEVELS.items():
        if value <= no:
            best = name
    return best
