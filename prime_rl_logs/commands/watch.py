"""`prime-logs watch OUTPUT_DIR`: the live dashboard, or a follow when there is no terminal.

`main` checks ``--pane``, ``--split``, ``--level`` and ``--rank`` before anything
starts, falls back to ``prime-logs tail --follow`` of the same view when stdout is
not a terminal, and otherwise runs the dashboard (`prime_rl_logs.tui.app`).
`open_dashboard` runs the dashboard from code (``prime-logs demo`` uses it).
Textual is imported only when the dashboard really opens.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from prime_rl_logs.errors import UsageError

if TYPE_CHECKING:
    from prime_rl_logs.core.view import Filter


def main(args: argparse.Namespace) -> int:
    """``prime-logs watch``: check the options, then the dashboard or a follow."""
    from prime_rl_logs.core.view import Filter
    from prime_rl_logs.layout import pane_key

    try:
        for name in [args.pane or "", *(args.split or "").split(",")]:
            if name:
                pane_key(name)
        if args.split and len(args.split.split(",")) > 2:
            raise ValueError("--split takes one or two panes, e.g. trainer,orchestrator")
        Filter.from_options(level=args.level, rank=args.rank)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not sys.stdout.isatty():
        print(
            "prime-logs: stdout is not a terminal; printing as `prime-logs tail --follow`",
            file=sys.stderr,
        )
        from prime_rl_logs.commands import tail

        return tail.main_as_follow(args)
    from prime_rl_logs.tui.app import run

    return run(args)


def open_dashboard(
    output_dir: str | os.PathLike[str],
    *,
    pane: str | None = None,
    split: str | None = None,
    flt: Filter | None = None,
    poll: bool | None = None,
) -> int:
    """Run the dashboard on ``output_dir`` until it is closed; its exit code.

    Args:
        output_dir: the run's output folder (it may not exist yet).
        pane: the starting pane's name, as ``--pane`` takes it (None: the default).
        split: one or two pane names, as ``--split`` takes them.
        flt: the starting level and trainer ranks (only those two are used).
        poll: poll files instead of waiting for change events (network filesystems).

    Raises:
        ImportError: the dashboard cannot be imported (Textual missing or broken).
    """
    from pathlib import Path

    from prime_rl_logs.tui.app import run

    level = rank = None
    if flt is not None:
        level = str(flt.min_level) if flt.min_level else None
        rank = ",".join(map(str, sorted(flt.ranks))) if flt.ranks is not None else None
    namespace = argparse.Namespace(
        output_dir=Path(output_dir), pane=pane, split=split, level=level, rank=rank, poll=bool(poll)
    )
    return run(namespace)
