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

from pathlib import Path
from typing import Final

from prime_rl_logs.layout import LOGS_DIR

__all__ = ["RUN_MARKERS", "is_run_dir", "resolve_run_dir"]

# What a run directory holds (any one of them), as prime-rl writes it.
RUN_MARKERS: Final = (LOGS_DIR, "configs", "monitors", "metrics.jsonl")
# Folders of the two layouts under logs/ (attempt_<n> too).
LOG_FOLDERS: Final = frozenset(
    {"latest", "trainer", "inference", "envs", "train", "eval", "env_workers", "torchrun"}
)
LOG_SUFFIXES: Final = (".log", ".stdout", ".stderr")


def is_run_dir(path: Path) -> bool:
    """True if ``path`` holds one of `RUN_MARKERS`."""
    return any((path / marker).exists() for marker in RUN_MARKERS)


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
    * anything else: ``path`` unchanged (a run that has not started is waited for).
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
