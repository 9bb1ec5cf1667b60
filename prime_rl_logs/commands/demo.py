"""`prime-logs demo [OUTPUT_DIR]`: the command line of `prime_rl_logs.demo`.

Checks ``--speed``, ``--steps`` and ``--ranks``, picks the folder (a new temporary
one without OUTPUT_DIR), and runs `prime_rl_logs.demo.simulate` with the dashboard
(`prime_rl_logs.commands.watch.open_dashboard`) unless ``--no-ui`` is given or
stdout is not a terminal. A dashboard that cannot be imported is said on stderr and
the logs are written anyway.

``--layout today`` (the default) makes OUTPUT_DIR a folder of two runs as prime-rl
writes them now (`prime_rl_logs.demo.runs`): a finished one, and a live one whose
first attempt crashed, whose second attempt is the simulation; the dashboard opens
the runs screen of the folder (`tui.runs_screen`), the live run first.
``--layout seed`` writes one run in the library's layout into OUTPUT_DIR, as before.

Never silently replaces a run: an OUTPUT_DIR that already holds the demo's runs
(``seed``: whose ``logs/`` holds anything) is refused (one line, exit 2) unless
``--force``, which removes them first. A temporary folder is removed when the demo
ends unless ``--keep``; only a kept folder is named as where the logs are.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
from pathlib import Path

from prime_rl_logs import demo, layout
from prime_rl_logs.demo.runs import FINISHED, LIVE, SIM, prepare_runs, sim_dir
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
    keep = bool(getattr(args, "keep", False))
    seed = getattr(args, "layout", "today") == "seed"
    if args.output_dir is None:
        out = Path(tempfile.mkdtemp(prefix="prime-logs-demo-"))
        temporary = True
    else:
        out = Path(args.output_dir).expanduser()
        temporary = False
        force = bool(getattr(args, "force", False))
        if seed:
            _refuse_existing_logs(out, force=force)
        else:
            _refuse_existing_runs(out, force=force)
    try:
        shown = out  # the run the dashboard opens
        if not seed:
            try:
                shown = prepare_runs(out, ranks=ranks)
            except OSError as exc:
                raise UsageError(
                    f"cannot write the demo runs to {out}: {exc.strerror or exc}"
                ) from None
            print(
                f"prime-logs demo: {out} holds two runs, {FINISHED} (finished) and {LIVE} "
                "(live; its first attempt crashed); opening the runs screen (enter opens a run)",
                file=sys.stderr,
            )
        sim = out if seed else sim_dir(out)
        demo.prepare(sim)
        no_ui = bool(args.no_ui)
        if not no_ui and not sys.stdout.isatty():
            print(
                "prime-logs demo: stdout is not a terminal; writing the logs only", file=sys.stderr
            )
            no_ui = True
        return demo.simulate(
            sim,
            speed=speed,
            steps=steps,
            ranks=ranks,
            dashboard=None if no_ui else lambda: _dashboard(shown, None if seed else out),
            say_where=keep or not temporary,
            name=None if seed else out,
        )
    finally:
        if temporary and not keep:
            shutil.rmtree(out, ignore_errors=True)
            print(f"prime-logs demo: removed {out} (--keep keeps the logs)", file=sys.stderr)


def _refuse_existing_runs(out: Path, *, force: bool) -> None:
    """Refuse a folder that already holds the demo's runs; ``force`` removes them.

    Raises:
        UsageError: the runs are there and ``force`` is false, or they cannot be removed.
    """
    there = [out / name for name in (FINISHED, LIVE, SIM) if (out / name).exists()]
    if not there:
        return
    if not force:
        raise UsageError(
            f"{out} already holds the demo's runs; the demo would replace them "
            "(use --force to overwrite, or give another folder)"
        )
    for path in there:
        try:
            shutil.rmtree(path)
        except OSError as exc:
            raise UsageError(f"cannot clear {path}: {exc.strerror or exc}") from None


def _refuse_existing_logs(out: Path, *, force: bool) -> None:
    """Refuse a folder whose ``logs/`` holds anything; with ``force``, remove that ``logs/``.

    Raises:
        UsageError: the folder holds logs and ``force`` is false, or they cannot be removed.
    """
    logs = layout.logs_dir(out)
    try:
        if logs.is_symlink() or logs.is_file():
            held = True
        elif logs.is_dir():
            held = any(True for _ in logs.iterdir())
        else:
            held = False
        if not held:
            return
        if not force:
            raise UsageError(
                f"{out} already holds logs; the demo would replace them "
                "(use --force to overwrite, or give another folder)"
            )
        if logs.is_dir() and not logs.is_symlink():
            shutil.rmtree(logs)
        else:
            logs.unlink()
    except OSError as exc:
        raise UsageError(f"cannot clear {logs}: {exc.strerror or exc}") from None


def _dashboard(out: Path, runs: Path | None = None) -> int | None:
    """Run the dashboard on ``out`` (on the runs screen of ``runs``, the folder of
    runs, when given); None when it cannot be imported."""
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

    if runs is None:
        return open_dashboard(out)
    return open_dashboard(out, runs=runs, runs_screen=True)
