"""`prime-logs tail OUTPUT_DIR`: the command line of `prime_rl_logs.tail`.

Turns the parsed options into `prime_rl_logs.tail.Options` (the filter, colour from
``--no-color``, ``NO_COLOR``, ``FORCE_COLOR`` and whether stdout is a terminal) and
runs `prime_rl_logs.tail.tail`. `main_as_follow` is ``prime-logs watch`` without a
terminal: ``tail --follow`` of the same panes. Bad options raise `UsageError`.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from prime_rl_logs.commands.watch import check_on_alert
from prime_rl_logs.core.view import Filter
from prime_rl_logs.errors import UsageError
from prime_rl_logs.layout import PANE_BY_KEY, pane_key
from prime_rl_logs.tail import Options, tail


def main(args: argparse.Namespace) -> int:
    """``prime-logs tail``."""
    if args.lines is not None and args.lines < 0:
        raise UsageError(f"--lines must be 0 or more, not {args.lines}")
    alerts = _alerts(args)
    if alerts and not args.follow:
        raise UsageError("--notify and --on-alert watch a live run: add --follow")
    options = Options(
        output_dir=Path(args.output_dir),
        flt=_filter(args.level, args.rank, args.component, args.grep, args.exclude),
        follow=args.follow,
        lines=args.lines,
        as_json=args.json,
        colour=_want_colour(args.no_color),
        poll=args.poll,
        logs=getattr(args, "logs", None),
        **alerts,
    )
    attempts = getattr(args, "attempts", None)
    if attempts is None:
        return tail(options)
    # --attempt all: every attempt in order, each record tagged with its attempt;
    # only the last one is followed.
    code = 0
    for i, attempt in enumerate(attempts):
        last = i == len(attempts) - 1
        one = replace(
            options,
            logs=attempt.logs,
            attempt=attempt.number,
            follow=options.follow and last,
        )
        code = tail(one) or code
    return code


def main_as_follow(args: argparse.Namespace) -> int:
    """``prime-logs watch`` with stdout not a terminal: ``tail --follow`` of the same view.

    ``--pane`` becomes ``--component`` (``all`` or no pane: every component, since a
    stream has no panes to switch between), ``--split A,B`` shows both panes'
    components; ``--level``, ``--rank`` and ``--poll`` carry over.
    """
    panes = [p for p in (getattr(args, "pane", None), getattr(args, "split", None)) if p]
    component = pane_components(",".join(panes)) if panes else None
    options = Options(
        output_dir=Path(args.output_dir),
        flt=_filter(args.level, args.rank, component, None, None),
        follow=True,
        colour=_want_colour(False),
        poll=args.poll,
        logs=getattr(args, "logs", None),
        **_alerts(args),
    )
    return tail(options)


def _alerts(args: argparse.Namespace) -> dict[str, Any]:
    """``--notify`` and ``--on-alert`` as `Options` fields (none when not given)."""
    notify, on_alert = getattr(args, "notify", False), getattr(args, "on_alert", None)
    if not (notify or on_alert):
        return {}
    try:
        check_on_alert(on_alert)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return {"notify": notify, "on_alert": on_alert}


def pane_components(panes: str) -> str | None:
    """Comma-separated pane names -> comma-separated components (None: all of them)."""
    components: list[str] = []
    for name in (p for p in panes.split(",") if p.strip()):
        try:
            pane = PANE_BY_KEY[pane_key(name)]
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if pane.components is None:
            return None
        components.extend(sorted(pane.components))
    return ",".join(dict.fromkeys(components)) or None


def _filter(
    level: str | None,
    rank: str | None,
    component: str | None,
    grep: str | None,
    exclude: str | None,
) -> Filter:
    try:
        return Filter.from_options(
            level=level, rank=rank, component=component, grep=grep, exclude=exclude
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _want_colour(no_color: bool) -> bool:
    if no_color or os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    try:
        return os.isatty(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # a replaced stdout without an fd
        return False
