"""`resolve_run_dir`: the run a path on the command line means.

People point the commands at whatever folder they are looking at: the run itself
(``outputs``), its ``logs/`` folder (``outputs/logs``), an attempt or a component
folder inside it (``outputs/logs/attempt_2``, ``outputs/logs/trainer``), or a file of
the run (``outputs/metrics.jsonl``). `resolve_run_dir` turns each into the run's
folder, the one holding ``logs/``, so ``watch outputs/logs`` opens ``outputs``
instead of waiting for ``outputs/logs/logs``. It only looks at names and at what
exists, and climbs to a ``logs`` ancestor only from something that is plainly part
of a logs tree (a file, a folder holding log files, or a folder named like one of
the layouts' own), so an empty run folder kept under some ``~/logs/`` is still
waited for, not taken for a file of the run ``~``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

from prime_rl_logs.errors import UsageError
from prime_rl_logs.layout import LOGS_DIR, safe_name

if TYPE_CHECKING:
    from prime_rl_logs.runs import Attempt

__all__ = [
    "RUN_MARKERS",
    "choose_run",
    "is_run_dir",
    "parse_attempt",
    "resolve_run_dir",
    "runs_folder",
    "select_attempts",
]

RUN_MARKERS: Final = (LOGS_DIR, "configs", "monitors", "metrics.jsonl")
"""`prime_rl_logs.runs.RUN_MARKERS`, spelt again here (a test keeps them equal): the
runs model (its config reader, tomllib, the status scan) is imported only where a
folder of runs, ``--run``, ``--attempt N`` or the default folder needs it, not on
the way to the dashboard of a single run (issue 12, start-up)."""


def is_run_dir(path: Path) -> bool:
    """True if ``path`` holds one of `RUN_MARKERS` (as `prime_rl_logs.runs.is_run_dir`)."""
    return any((path / marker).exists() for marker in RUN_MARKERS)


# Folders of the two layouts under logs/ (attempt_<n> too).
LOG_FOLDERS: Final = frozenset(
    {"latest", "trainer", "inference", "envs", "train", "eval", "env_workers", "torchrun"}
)
LOG_SUFFIXES: Final = (".log", ".stdout", ".stderr")


def resolve_run_dir(path: Path) -> Path:
    """The run folder ``path`` means (``path`` itself when it names no other).

    In order:

    * a folder with ``logs/`` in it is a run: itself (a run may be named ``logs``);
    * a path named ``logs`` (existing or not): its parent;
    * a file, a folder holding log files or a folder named as in the layouts
      (``attempt_2``, ``trainer``, ``envs``...) with a ``logs`` folder among its
      ancestors: that folder's parent (``run/logs/attempt_2/trainer`` -> ``run``);
    * an existing file, or a ``configs``/``monitors`` folder, whose parent is a run:
      the parent;
    * anything else: ``path`` unchanged (a run that has not started is waited for,
      and a folder of runs is a folder of runs: `choose_run` picks one in it).
    """
    if (path / LOGS_DIR).is_dir():
        return path
    if path.name == LOGS_DIR:
        return path.parent
    if path.absolute().name == LOGS_DIR:  # "." or ".." spelling a logs/ folder
        return path.absolute().parent
    if not path.exists():
        return path
    for ancestor in path.absolute().parents if _in_a_logs_tree(path) else ():
        if ancestor.name == LOGS_DIR and ancestor.is_dir():
            run = ancestor.parent
            # Keep the spelling the user gave (relative stays relative) when we can.
            depth = len(path.absolute().relative_to(run).parts)
            given = path
            for _ in range(depth):
                given = given.parent
            return given if given.absolute() == run else run
    if (path.is_file() or path.name in ("configs", "monitors")) and is_run_dir(path.parent):
        return path.parent
    return path


def _in_a_logs_tree(path: Path) -> bool:
    """A file, a folder holding log files, or a folder named as in the layouts."""
    if path.is_file():
        return True
    name = path.absolute().name
    if name in LOG_FOLDERS or name.startswith("attempt_"):
        return True
    try:
        return any(p.name.endswith(LOG_SUFFIXES) for p in path.iterdir())
    except OSError:
        return False


def _say(text: str) -> None:
    print(f"prime-logs: {text}", file=sys.stderr)


def choose_run(
    path: Path,
    *,
    name: str | None = None,
    latest: bool = False,
    strict: bool = True,
    say: bool = True,
) -> Path:
    """The run a command opens: ``path`` resolved (`resolve_run_dir`), then, for a
    folder of runs, the one ``--run NAME`` names (a prefix is enough), else the
    running one with the newest write (``--latest``), else the newest; which one is
    said in one line on stderr. A path that does not exist yet, or an empty folder,
    is a run to wait for; so is any other folder when not ``strict`` (``tmux``).
    ``say=False`` keeps the newest run's line quiet (``watch`` opens on the runs
    screen instead, `runs_folder`).

    Raises:
        UsageError: no such run, an ambiguous name, or a path that is neither a
            run nor a folder of runs (one line naming what was looked for).
    """
    run = resolve_run_dir(path)
    if run != path:
        given, inside = safe_name(str(path)), safe_name(str(run))
        _say(f"{given} is inside the run {inside}; opening {inside}")
    if is_run_dir(run) or not run.is_dir() or _empty(run):
        if name is not None and is_run_dir(run):
            from prime_rl_logs.runs import pick_run

            pick_run([run], name)
        elif name is not None:
            raise UsageError(f"{safe_name(str(run))} holds no runs to pick {name!r} from")
        return run
    from prime_rl_logs.runs import find_runs, pick_run, scan_runs

    try:
        found = find_runs(run)
    except UsageError:
        if strict or name is not None:
            raise
        return run
    if name is not None:
        return pick_run(found.runs, name)
    infos = scan_runs(found.runs)
    where = safe_name(str(run))
    if latest:
        running = [i for i in infos if i.status == "running"]
        if not running:
            raise UsageError(f"no run in {where} is running (see `prime-logs runs {where}`)")
        chosen = running[0]
        _say(f"opening {safe_name(chosen.name)}, the newest running run in {where}")
    else:
        chosen = infos[0]
        if say:
            _say(
                f"{where} holds {len(infos)} runs; opening the newest, {safe_name(chosen.name)}"
                " (--run NAME picks another; `prime-logs runs` lists them)"
            )
    return chosen.path


def runs_folder(path: Path) -> Path | None:
    """The folder of runs ``path`` names (resolved as `choose_run` does), or None
    when it names a run, a path inside one, or nothing yet."""
    folder = resolve_run_dir(path)
    if not folder.is_dir() or is_run_dir(folder) or _empty(folder):
        return None
    from prime_rl_logs.runs import find_runs

    try:
        return folder if find_runs(folder).kind == "folder" else None
    except UsageError:
        return None


def _empty(folder: Path) -> bool:
    try:
        return not any(True for _ in os.scandir(folder))
    except OSError:
        return False


def parse_attempt(value: str | None) -> int | str:
    """``--attempt``: a number from 1, ``latest`` (the default) or ``all``."""
    if value is None:
        return "latest"
    word = value.strip().lower()
    if word in ("latest", "all"):
        return word
    if word.isdigit() and int(word) >= 1:
        return int(word)
    raise UsageError(f"bad --attempt {value!r} (use a number from 1, latest or all)")


def select_attempts(run: Path, attempt: int | str) -> list[Attempt] | None:
    """The attempts ``--attempt`` names in ``run``: None for ``latest`` (the run is
    read through ``logs/``, following ``logs/latest`` when it moves), every attempt
    in order for ``all``, else the one numbered.

    Raises:
        UsageError: no attempt of that number (the line lists those there are).
    """
    if attempt == "latest":
        return None
    from prime_rl_logs.runs import attempts_of

    attempts = attempts_of(run)
    if attempt == "all":
        return attempts
    for a in attempts:
        if a.number == attempt:
            return [a]
    numbers = ", ".join(str(a.number) for a in attempts)
    raise UsageError(f"{safe_name(run.name)} has no attempt {attempt} (attempts: {numbers})")


def apply_run_options(args: argparse.Namespace, *, allow_all: bool = False) -> None:
    """Resolve ``args.output_dir`` (default: `default_output_dir`), ``--run``,
    ``--latest`` and ``--attempt`` in place: ``output_dir`` becomes the run,
    ``logs`` the attempt's folder (None: ``logs/``) and ``attempts`` the attempts
    ``--attempt all`` names (None otherwise). For ``watch`` and ``serve``, ``runs`` becomes the
    folder of runs given (None for a single run) and ``runs_screen`` whether to
    open on its runs screen (neither ``--run`` nor ``--latest``).
    """
    if args.output_dir is not None:
        path = args.output_dir
    else:
        from prime_rl_logs.runs import default_output_dir

        path = default_output_dir()
    folder = runs_folder(path) if args.command in ("watch", "serve") else None
    name = getattr(args, "run", None)
    latest = getattr(args, "latest", False)
    args.runs = folder
    args.runs_screen = folder is not None and name is None and not latest
    attempt = parse_attempt(getattr(args, "attempt", None))
    if attempt == "all" and not allow_all:
        raise UsageError(f"--attempt all is for `tail`; {args.command} shows one attempt")
    run = choose_run(
        path, name=name, latest=latest, strict=args.command != "tmux", say=not args.runs_screen
    )
    args.output_dir = run
    args.logs = None
    args.attempts = None
    selected = select_attempts(run, attempt) if run.is_dir() else None
    if attempt == "all":
        args.attempts = selected
    elif selected:
        [one] = selected
        # A run without attempt folders has one attempt: logs/ itself.
        args.logs = None if one.logs == run / LOGS_DIR else one.logs
