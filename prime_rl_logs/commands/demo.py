"""`prime-logs demo [OUTPUT_DIR]`: the command line of `prime_rl_logs.demo`.

Checks ``--speed``, ``--steps`` and ``--ranks``, picks the folder (a new temporary
one without OUTPUT_DIR), and runs `prime_rl_logs.demo.simulate` with the dashboard
(`prime_rl_logs.commands.watch.open_dashboard`) unless ``--no-ui`` is given or
stdout is not a terminal. A dashboard that cannot be imported is said on stderr and
the logs are written anyway.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

from prime_rl_logs import demo
from prime_rl_logs.errors import UsageError


def main(args: argparse.Namespace) -> int:
    """``prime-logs demo``."""
    speed = float(args.speed)
    if not math.isfinite(speed) or speed <= 0:
        raise UsageError(f"--speed must be a positive number, got {args.speed}")
    steps = args.steps
    if steps is not None and steps < 1:
        raise UsageError(f"--steps must be at least 1, got {steps}")
    ranks = int(args.ranks)
    if not 1 <= ranks <= 64:
        raise UsageError(f"--ranks must be between 1 and 64, got {ranks}")
    if args.output_dir is None:
        out = Path(tempfile.mkdtemp(prefix="prime-logs-demo-"))
    else:
        out = Path(args.output_dir).expanduser()
    demo.prepare(out)
    no_ui = bool(args.no_ui)
    if not no_ui and not sys.stdout.isatty():
        print("prime-logs demo: stdout is not a terminal; writing the logs only", file=sys.stderr)
        no_ui = True
    return demo.simulate(
        out,
        speed=speed,
        steps=steps,
        ranks=ranks,
        dashboard=None if no_ui else lambda: _dashboard(out),
    )


def _dashboard(out: Path) -> int | None:
    """Run the dashboard on ``out``; None when it cannot be imported."""
    try:
        import prime_rl_logs.tui.app  # noqa: F401  (checked here, so a failure is one line)
    except Exception as exc:
        print(
            f"prime-logs demo: the dashboard is not available ({type(exc).__name__}: {exc}); "
            f"writing the logs only. Follow them with: prime-logs tail {out} --follow",
            file=sys.stderr,
        )
        return None
    from prime_rl_logs.commands.watch import open_dashboard

    return open_dashboard(out)
