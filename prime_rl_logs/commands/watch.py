"""`prime-logs watch OUTPUT_DIR`: check the options, then open the dashboard.

`main` is the command: it checks ``--pane``, ``--split``, ``--level`` and
``--rank`` (one-line `UsageError`), falls back to ``tail --follow`` when stdout is
not a terminal (a pipe or a file, but not the pipe of Textual's web driver, which
``prime-logs serve`` runs it under: `under_web_driver`), and otherwise opens the
dashboard. `open_dashboard` is the same
dashboard for callers that hold values, not an argparse namespace (``prime-logs
demo``). Textual and the reader's core are imported only when the dashboard opens
or an option is checked, with the cyclic garbage collector paused while they load
(`collector_paused`).
"""

from __future__ import annotations

import argparse
import gc
import os
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prime_rl_logs.errors import UsageError
from prime_rl_logs.layout import DEFAULT_PANE, pane_key, safe_name
from prime_rl_logs.levels import LEVELS, name_at_or_below

if TYPE_CHECKING:
    from prime_rl_logs.core.view import Filter

__all__ = [
    "COLLECTOR_THRESHOLDS",
    "FRAMES_PER_S",
    "check_options",
    "collector_paused",
    "main",
    "open_dashboard",
    "starting_state",
    "under_web_driver",
]


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while the dashboard's modules load, and what they
    made kept out of later ones (issue 12, start-up).

    Importing Textual and our modules makes hundreds of thousands of objects that live
    as long as the process; the collector walked them again and again as they came
    (about 140 collections, 45-65 ms of a 0.35 s start, a third of it full ones).
    Inside this block it does not run; on leaving, `gc.freeze` moves everything then
    alive to the permanent generation, which no collection walks, the thresholds
    become `COLLECTOR_THRESHOLDS`, and the collector is switched back on if it was
    on. The cost: a reference cycle made and dropped inside the block is never freed
    (imports make few).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.set_threshold(*COLLECTOR_THRESHOLDS)
        if enabled:
            gc.enable()


FRAMES_PER_S = "120"
"""Textual's frame cap (``TEXTUAL_FPS``, 60 by default) unless the user set one.

A repaint waits for the next tick of the cap's grid: at 120, 4 ms on average
instead of 8, for every line that arrives and every key (`tuibench.py latency
--files 64 --rate 10000`: p50 33-38 ms, p95 52-53 against 41-47 and 77 at 60). It
costs nothing while nothing changes: frames are drawn only when something did."""

COLLECTOR_THRESHOLDS = (20_000, 10, 10)
"""The dashboard's collector thresholds (Python's: 700, 10, 10), set with the freeze.

Every frame makes thousands of short-lived objects (strips, segments, styles);
counted 700 at a time, they ran a young collection several times a frame, whose
survivors (what the frame still held) filled the old generations, so a full
collection came every 1.5 s and took 50-100 ms on the event loop: the slowest key
presses (`tuibench.py keys --files 64`: max 228 ms, 139 ms with these). At 20,000
a young collection comes about twice a second (2 ms) and a full one about every
40 s."""


def under_web_driver() -> bool:
    """True when Textual's web driver draws the app (``textual-serve`` and Textual Web
    name it in ``TEXTUAL_DRIVER`` for each app process): stdout is then the driver's
    pipe to the browser, not a pipe for text."""
    return "web_driver" in os.environ.get("TEXTUAL_DRIVER", "")


def check_options(args: argparse.Namespace) -> None:
    """Pane, split, level and rank of `watch`, checked before anything starts.

    Raises:
        UsageError: one line naming the bad value.
    """
    from prime_rl_logs.core.view import Filter

    try:
        for name in [args.pane or "", *(args.split or "").split(",")]:
            if name:
                pane_key(name)
        if args.split and len(args.split.split(",")) > 2:
            raise ValueError("--split takes one or two panes, e.g. trainer,orchestrator")
        Filter.from_options(level=args.level, rank=args.rank)
        check_on_alert(getattr(args, "on_alert", None))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def check_on_alert(command: str | None) -> None:
    """``--on-alert CMD`` splits into a command (ValueError with one line if not)."""
    if command is not None:
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise ValueError(f"--on-alert: {exc}") from None
        if not argv:
            raise ValueError("--on-alert needs a command")


def starting_state(args: argparse.Namespace) -> tuple[str, str | None, Filter]:
    """The first pane, the split partner (or None) and the filter of checked options.

    ``--split A,B`` shows panes A over B; ``--split B`` shows the ``--pane`` (or the
    default pane) over B. ``--level`` is taken to the highest named level at or
    below it (``27`` is SUCCESS), the level the status line names; no ``--level``
    shows every level.
    """
    from prime_rl_logs.core.view import Filter

    start = pane_key(args.pane) if args.pane else DEFAULT_PANE
    split = None
    if args.split:
        names = args.split.split(",")
        if len(names) == 2:
            start = pane_key(names[0])
        split = pane_key(names[-1])
    flt = Filter.from_options(level=args.level, rank=args.rank)
    if args.level:
        flt = replace(flt, min_level=LEVELS[name_at_or_below(flt.min_level)])
    return start, split, flt


def main(args: argparse.Namespace) -> int:
    """Entry point of `prime-logs watch`; returns the exit code.

    Raises:
        UsageError: a bad pane, split, level or rank.
    """
    dashboard = sys.stdout.isatty() or under_web_driver()
    painted = dashboard and first_paint(args)
    try:
        if dashboard:
            os.environ.setdefault("TEXTUAL_FPS", FRAMES_PER_S)  # read when Textual loads
            with collector_paused():  # the dashboard's modules, the core's among them
                check_options(args)
                import prime_rl_logs.tui.app  # noqa: F401
        else:
            check_options(args)
    except BaseException:
        _leave_if(painted)
        raise
    if not dashboard:
        if getattr(args, "runs_screen", False):
            print(
                f"prime-logs: {safe_name(str(args.runs))} holds runs; following the newest,"
                f" {safe_name(Path(args.output_dir).name)} (--run NAME picks another)",
                file=sys.stderr,
            )
        print(
            "prime-logs: stdout is not a terminal; printing as `prime-logs tail --follow`",
            file=sys.stderr,
        )
        from prime_rl_logs.commands.tail import main_as_follow

        return main_as_follow(args)
    pane, split, flt = starting_state(args)
    try:
        return open_dashboard(
            Path(args.output_dir),
            pane=pane,
            split=split,
            flt=flt,
            poll=True if args.poll else None,
            logs=getattr(args, "logs", None),
            runs=getattr(args, "runs", None),
            runs_screen=getattr(args, "runs_screen", False),
            notify=getattr(args, "notify", False),
            on_alert=getattr(args, "on_alert", None),
        )
    except BaseException:
        _leave_if(painted)  # (Textual gives its own screen back)
        raise


def _leave_if(painted: bool) -> None:
    if painted:
        from prime_rl_logs.first_paint import leave

        leave()


def first_paint(args: argparse.Namespace) -> bool:
    """Draw the first pane's last lines before Textual and the reader load
    (`prime_rl_logs.first_paint`), when the first frame will show exactly those:
    True if drawn. Options are checked after it (a bad one gives the screen back)."""
    if (
        under_web_driver()
        or args.split
        or args.level
        or args.rank
        or getattr(args, "runs_screen", False)
    ):
        return False
    from prime_rl_logs.first_paint import paint

    try:
        pane = pane_key(args.pane) if args.pane else DEFAULT_PANE
    except ValueError:
        return False  # (`check_options` says so)
    return paint(Path(args.output_dir), pane, getattr(args, "logs", None))


def open_dashboard(
    output_dir: Path,
    *,
    pane: str | None = None,
    split: str | None = None,
    flt: Filter | None = None,
    poll: bool | None = None,
    logs: Path | None = None,
    runs: Path | None = None,
    runs_screen: bool = False,
    notify: bool = False,
    on_alert: str | None = None,
) -> int:
    """Run the dashboard on ``output_dir`` until the user quits; returns the exit code.

    Args:
        output_dir: the run's output folder (it may not exist yet).
        pane: the first pane's key (`layout.pane_key` form); the default pane if None.
        split: the key of a second pane shown under the first, or None.
        flt: the app-wide filter (level, ranks, include, exclude); every level if None.
        poll: poll files instead of waiting for events (None: decide by filesystem).
        logs: one attempt's logs folder instead of ``logs/`` (``--attempt N``).
        runs: the folder of runs ``output_dir`` was picked from (`r` shows its runs
            screen), or None.
        runs_screen: open on the runs screen of ``runs``.
        notify: the bell and a desktop notification on each alert (``--notify``).
        on_alert: a command run with each alert as JSON on stdin (``--on-alert``).
    """
    with collector_paused():
        from prime_rl_logs.tui.app import PrimeLogsApp

    extra: dict[str, Any] = {"logs": logs} if logs is not None else {}  # else logs/
    if notify or on_alert:
        extra.update(notify=notify, on_alert=on_alert)
    if runs is not None:
        extra.update(runs=runs, runs_screen=runs_screen)
    app = PrimeLogsApp(
        output_dir, pane=pane or DEFAULT_PANE, split=split, flt=flt, poll=poll, **extra
    )
    app.run()
    return app.return_code or 0
