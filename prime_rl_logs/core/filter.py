"""What a pane shows: the `Filter` (level, ranks, components, files, include and
exclude regexes), and its parsing from the command-line options.

A `Filter` is frozen and holds only what the user asked for; `core.view` turns it
into what the scans need (`scan.decide.Rules`). ``Filter()`` shows everything
and is the dashboard's default pane (a window on the file's line index, see
`View.is_index_window`). `Filter.from_options` raises a one-line `ValueError` on a
bad value, for the commands to print.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from prime_rl_logs.core.user_regex import UserRegex, compile_user_regex
from prime_rl_logs.layout import (
    COMPONENTS,
    ENV,
    INFERENCE,
    LAUNCHER,
    ORCHESTRATOR,
    TRAINER,
    Source,
)
from prime_rl_logs.levels import ALIASES, LEVELS

__all__ = ["Filter"]

WARNING: Final = LEVELS["WARNING"]

_LEVEL_NAMES: Final = {
    **{k.lower(): v for k, v in LEVELS.items()},
    **{alias.lower(): LEVELS[name] for alias, name in ALIASES.items()},
}

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


def _compile(pattern: str | None, option: str) -> UserRegex | None:
    if pattern is None or pattern == "":
        return None
    try:
        return compile_user_regex(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regex for {option} {pattern!r}: {exc}") from None


@dataclass(frozen=True, slots=True)
class Filter:
    """What a pane shows. ``None`` means no restriction.

    ``ranks`` restricts trainer sources (a rank's own file, or the lines of a
    combined ``trainer.log`` by their torchrun prefix); other components pass.
    ``include`` / ``exclude`` match the plain text (no colour codes) of any line of
    a record and show / hide the whole record; hidden, not dimmed. They run with a
    time limit per search (`core.user_regex`; an ``re`` pattern is recompiled).
    """

    min_level: int = 0
    ranks: frozenset[int] | None = None
    components: frozenset[str] | None = None
    rels: frozenset[str] | None = None
    include: re.Pattern[str] | UserRegex | None = None
    exclude: re.Pattern[str] | UserRegex | None = None

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
