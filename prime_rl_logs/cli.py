"""prime-logs: watch | serve | tail | runs | demo | tmux | metrics | doctor.

The parser (`build_parser`) and the dispatch (`main`). Each command lives in its own
module of `prime_rl_logs.commands` (the `COMMANDS` table) and is imported only when
it runs, so ``prime-logs tail`` never pays for Textual. A command returns its exit
code; bad input raises `UsageError` (old name `CLIError`), which becomes one line on
stderr and exit code 2. Without a command the help goes to stderr, exit code 2.
For ``watch``, ``serve``, ``tail``, ``metrics``, ``doctor`` and ``tmux`` (`RESOLVES_RUN`),
PATH may be a run, a path inside one (its ``logs/``, ``logs/latest``...) or a folder of runs;
``--run``, ``--latest`` and ``--attempt`` pick the run and the attempt
(`prime_rl_logs.commands.run_dir.apply_run_options`); what was opened instead of
PATH is said in one line on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import Any, Final

from prime_rl_logs import __version__
from prime_rl_logs.errors import UsageError

CLIError = UsageError
"""The old name of `prime_rl_logs.errors.UsageError`."""

COMMANDS: Final = {
    "watch": "prime_rl_logs.commands.watch",
    "tail": "prime_rl_logs.commands.tail",
    "runs": "prime_rl_logs.commands.runs",
    "demo": "prime_rl_logs.commands.demo",
    "tmux": "prime_rl_logs.commands.tmux",
    "metrics": "prime_rl_logs.commands.metrics",
    "serve": "prime_rl_logs.commands.serve",
    "doctor": "prime_rl_logs.commands.doctor",
}
"""Each command's module, imported when it runs; each has ``main(args) -> int``."""

RESOLVES_RUN: Final = frozenset({"watch", "serve", "tail", "metrics", "tmux", "doctor"})
"""Commands whose OUTPUT_DIR may name a run's ``logs/`` or a path inside it
(`prime_rl_logs.commands.run_dir.resolve_run_dir`)."""


def output_dir_arg(value: str) -> Path:
    return Path(value).expanduser()


def check_output_dir(path: Path | None) -> None:
    """An OUTPUT_DIR may not exist yet (it is waited for) but must not be a file or
    a folder we cannot read; the error is one line, not argparse's usage block."""
    if path is None:
        return
    if path.exists() and not path.is_dir():
        raise UsageError(f"{path} is not a directory")
    if path.is_dir() and not os.access(path, os.R_OK | os.X_OK):
        raise UsageError(f"{path} is not readable")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="prime-logs",
        description="Watch the logs of a prime-rl run: a live dashboard, a plain-text "
        "tail, a tmux fallback, and the metrics from the step lines.",
    )
    parser.add_argument("--version", action="version", version=f"prime-logs {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add_filters(p: argparse.ArgumentParser) -> None:
        p.add_argument("--level", metavar="LEVEL", help="minimum level (debug, info, ...)")
        p.add_argument("--rank", metavar="RANK", help="trainer ranks to show, e.g. 0 or 0,3")
        p.add_argument("--poll", action="store_true", help="poll files (network filesystems)")

    def add_alerts(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--notify",
            action="store_true",
            help="on a new error group, a stall, a crash or a NaN: ring the bell and "
            "send a desktop notification through the terminal (OSC 9/777)",
        )
        p.add_argument(
            "--on-alert",
            metavar="CMD",
            help="run CMD (no shell) with each alert as JSON on stdin; at most one a minute",
        )

    def add_run(p: argparse.ArgumentParser, *, attempts: str) -> None:
        p.add_argument("--run", metavar="NAME", help="the run of a folder of runs (a prefix)")
        p.add_argument("--attempt", metavar="N", help=attempts)

    path_help = "a run, a path inside one, or a folder of runs"
    watch = sub.add_parser("watch", help="live dashboard of a run")
    watch.add_argument(
        "output_dir",
        nargs="?",
        type=output_dir_arg,
        metavar="PATH",
        help=path_help + " (default: $PRL_OUTPUT_DIR, ./outputs, .)",
    )
    add_run(watch, attempts="attempt to show: a number or latest (default)")
    watch.add_argument("--latest", action="store_true", help="open the newest running run")
    watch.add_argument("--pane", metavar="NAME", help="starting pane (trainer, orchestrator, ...)")
    watch.add_argument("--split", metavar="A,B", help="start split with two panes")
    add_filters(watch)
    add_alerts(watch)

    # serve takes every option of watch (it serves `prime-logs watch` with them).
    serve = sub.add_parser(
        "serve", parents=[watch], add_help=False, help="the live dashboard in a browser"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=7788, help="port (7788, or the next free)")
    serve.add_argument("--public-url", metavar="URL", help="the URL the page is reached at")
    serve.set_defaults(watch_parser=watch)

    tail = sub.add_parser("tail", help="print a run's records as plain text")
    tail.add_argument("output_dir", type=output_dir_arg, metavar="PATH", help=path_help)
    add_run(tail, attempts="attempt to print: a number, latest (default) or all")
    add_filters(tail)
    tail.add_argument("--component", metavar="NAME", help="components to show, comma separated")
    tail.add_argument("--grep", metavar="REGEX", help="only records matching REGEX")
    tail.add_argument("--exclude", metavar="REGEX", help="hide records matching REGEX")
    tail.add_argument("-f", "--follow", action="store_true", help="keep printing new records")
    tail.add_argument("-n", "--lines", type=int, default=None, metavar="N", help="last N lines")
    tail.add_argument("--json", action="store_true", help="one JSON object per record")
    tail.add_argument("--no-color", action="store_true", help="drop colour codes")
    add_alerts(tail)

    demo = sub.add_parser("demo", help="simulate a run and watch it")
    demo.add_argument("output_dir", nargs="?", type=output_dir_arg, metavar="OUTPUT_DIR")
    demo.add_argument("--no-ui", action="store_true", help="only write the logs")
    demo.add_argument(
        "--layout",
        choices=("today", "seed"),
        default="today",
        help="today: a folder of two runs as prime-rl writes them now (default); "
        "seed: one run in the library's layout",
    )
    demo.add_argument("--speed", type=float, default=1.0, help="pace multiplier (default 1)")
    demo.add_argument("--steps", type=int, default=None, help="stop after N steps")
    demo.add_argument("--ranks", type=int, default=4, help="trainer ranks (default 4)")
    demo.add_argument("--force", action="store_true", help="replace the logs already in OUTPUT_DIR")
    demo.add_argument(
        "--keep", action="store_true", help="keep the temporary folder (no OUTPUT_DIR) on exit"
    )

    tmux = sub.add_parser("tmux", help="open the run in tmux panes (tail -F fallback)")
    tmux.add_argument("output_dir", type=output_dir_arg, metavar="OUTPUT_DIR")
    tmux.add_argument("-s", "--session", default=None, help="tmux session name")

    metrics = sub.add_parser("metrics", help="print the run's metric series")
    metrics.add_argument("output_dir", type=output_dir_arg, metavar="PATH", help=path_help)
    add_run(metrics, attempts="attempt to read: a number or latest (default)")
    fmt = metrics.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="CSV, one row per step (default)")
    fmt.add_argument("--json", action="store_true", help="JSON object of series")

    doctor = sub.add_parser("doctor", help="what went wrong in a run, where, and first")
    doctor.add_argument(
        "output_dir",
        nargs="?",
        type=output_dir_arg,
        metavar="PATH",
        help=path_help + " (default: $PRL_OUTPUT_DIR, ./outputs, .)",
    )
    add_run(doctor, attempts="attempt to examine: a number, latest (default) or all")
    doctor.add_argument("--json", action="store_true", help="one JSON object (docs/doctor.md)")

    runs = sub.add_parser("runs", help="list the runs of a folder with their status")
    runs.add_argument(
        "output_dir",
        nargs="?",
        type=output_dir_arg,
        metavar="PATH",
        help=path_help + " (default: $PRL_OUTPUT_DIR, ./outputs, .)",
    )
    runs.add_argument("--json", action="store_true", help="one JSON object per run")
    runs.add_argument(
        "--stall-factor",
        type=float,
        metavar="X",
        help="stalled: silent X times the step cadence (default 10)",
    )
    runs.add_argument(
        "--stall-min", type=float, metavar="MIN", help="and at least MIN minutes (default 5)"
    )
    return parser


def dispatch(args: argparse.Namespace) -> int:
    """Run the parsed command: its module's ``main(args)``, imported now."""
    if args.command in RESOLVES_RUN:
        from prime_rl_logs.commands.run_dir import apply_run_options

        apply_run_options(args, allow_all=args.command in ("tail", "doctor"))
    check_output_dir(args.output_dir)
    module = COMMANDS.get(args.command)
    if module is None:
        raise UsageError(f"unknown command {args.command!r}")
    command: Any = importlib.import_module(module)
    code: int = command.main(args)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return dispatch(args)
    except UsageError as exc:
        print(f"prime-logs: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
