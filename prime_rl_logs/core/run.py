"""A run's ``logs/`` folder as a set of live files.

`Run` discovers the files (both layouts, ``logs/latest`` read through the symlink),
and `Run.refresh` reads what was appended to them and says so in a `RunChanges`:
new files, resets, files gone, and per grown file an `Appended` that carries the
appended lines' range and (within `BATCH_DATA_MAX` for the whole refresh) their
bytes, so views and metrics consume the batch they are handed and never read it
back. One file is a `LogFile` (`core.log_file`), what it found a `FileChange`
(`core.file_change`); import them from there.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final

from prime_rl_logs.core.file_change import Appended
from prime_rl_logs.core.log_file import LogFile
from prime_rl_logs.core.scan.templates import HeaderTemplates
from prime_rl_logs.layout import (
    TRAINER,
    classify_in_run,
    discover,
    discover_torchrun_trees,
    logs_dir,
)

__all__ = ["BATCH_DATA_MAX", "Run", "RunChanges"]

BATCH_DATA_MAX: Final = 64 << 20
"""Appended bytes held in one `RunChanges` for all its files together; the files
past it carry their range only (``Appended.data is None``)."""


@dataclass(eq=False)
class RunChanges:
    """What one `Run.refresh` found; falsy when nothing changed."""

    new_files: list[LogFile] = field(default_factory=list)
    grown: dict[LogFile, Appended] = field(default_factory=dict)
    """The lines appended to each file (in its current generation), with their bytes
    unless the batch was too large (see `Appended`): read them with `LogFile.appended`."""
    reset: list[LogFile] = field(default_factory=list)
    """Files truncated or replaced: their ``generation`` went up and ``grown`` (if
    present) covers the new content from 0."""
    gone: list[LogFile] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.new_files or self.grown or self.reset or self.gone)


class Run:
    """The log files of one prime-rl run, discovered and followed.

    ``logs/`` may not exist yet: `refresh` keeps looking (``exists`` says whether it
    has been seen). Files present at the first refresh are read from their end
    (history comes from the backward index and the views); files that appear later
    (``logs/`` included) are read from their first byte.

    A torchrun ``--log-dir`` tree elsewhere in the run folder (``<run>/torchrun/``,
    `layout.discover_torchrun_trees`) is read as the ranks' files too, when the
    current attempt is read. Where per-rank files exist, ``trainer.log`` (rank 0's
    console copy) is `shadowed`: views that take every file skip it, a view of that
    file alone shows it.

    Args:
        output_dir: the run's output folder (the one holding ``logs/``).
        logs: the folder of logs to read instead of ``logs/`` (through ``latest``):
            one attempt's, ``logs/attempt_<n>`` (`prime_rl_logs.runs.Attempt.logs`).
    """

    def __init__(
        self, output_dir: str | os.PathLike[str], logs: str | os.PathLike[str] | None = None
    ) -> None:
        self.output_dir = Path(output_dir)
        self.logs = logs_dir(self.output_dir) if logs is None else Path(logs)
        self._outside = logs is None  # also read torchrun trees outside logs/
        self.files: list[LogFile] = []
        self.exists = False
        self._by_path: dict[Path, LogFile] = {}
        self._by_name: dict[str, LogFile] = {}  # the same, by the path's string
        self._by_real: dict[str, LogFile] = {}
        self._first_refresh = True
        self.too_deep: tuple[Path, ...] = ()
        """Folders under ``logs/`` the last discovery did not enter (`layout.MAX_DEPTH`)."""
        self.templates = HeaderTemplates()
        """Header layouts learned from this run's files, shared by its views."""

    def file(self, path: str | os.PathLike[str]) -> LogFile | None:
        """The file followed at a path.

        Args:
            path: a path under ``logs/``, as discovered (not resolved).

        Returns:
            Its `LogFile`, or None if no file is followed there.
        """
        return self._known(path)

    def _known(self, path: str | os.PathLike[str]) -> LogFile | None:
        # By the string first: a notification names a file thousands of times a
        # second, and a `Path` made for each lookup was 10% of the dashboard's CPU
        # at 10,000 lines/s.
        f = self._by_name.get(path) if isinstance(path, str) else None
        return f if f is not None else self._by_path.get(Path(path))

    @property
    def behind(self) -> bool:
        """Some file has more to read right now: call `refresh` again."""
        return any(f.behind for f in self.files)

    @property
    def indexed(self) -> bool:
        return all(f.indexed or f.status == "error" for f in self.files)

    def close(self) -> None:
        for f in self.files:
            f.close()

    def refresh(self, paths: Iterable[str | os.PathLike[str]] | None = None) -> RunChanges:
        """Discover new files and read what was appended.

        With ``paths`` (what a change notification named), only those files are
        read, and discovery runs only if one of them is not a known file; without,
        every file is read and the folder walked. Cheap when nothing changed: a
        ``stat`` and an ``fstat`` per file. Never raises for file trouble (see
        `LogFile.status`).

        Args:
            paths: the paths a change notification named; None for all.

        Returns:
            What changed; falsy when nothing did.
        """
        changes = RunChanges()
        first_sight, self._first_refresh = self._first_refresh, False
        if not self._logs_is_dir():
            return changes
        targets: list[LogFile]
        if paths is None:
            self._discover(changes, first=first_sight)
            targets = self.files
        else:
            targets, unknown = [], False
            for p in paths:
                f = self._known(p) or self._by_real.get(os.path.realpath(p))
                if f is None:
                    unknown = True
                elif f not in targets:
                    targets.append(f)
            if unknown:
                self._discover(changes, first=first_sight)
                targets = self.files
        held = 0
        for f in targets:
            fresh = f in changes.new_files
            change = f.refresh()
            if fresh and first_sight:
                f.build_index(0.0)  # one small step: the last screen's lines and counts
            if change.reset:
                changes.reset.append(f)
                self._by_real[os.path.realpath(f.path)] = f
            appended = change.appended
            if appended is not None:
                if appended.data is not None:
                    held += len(appended.data)
                    if held > BATCH_DATA_MAX:
                        appended = replace(appended, data=None)
                changes.grown[f] = appended
            if change.gone:
                changes.gone.append(f)
        return changes

    def build_index(self, budget_s: float = 0.02, stop: Callable[[], bool] | None = None) -> bool:
        """Index older lines of the files (in the run's order) for a while.

        Args:
            budget_s: about how long to work, in seconds.
            stop: asked between steps; True ends the slice early (a key arrived).

        Returns:
            True once every file is indexed.
        """
        deadline = time.perf_counter() + budget_s
        for f in self.files:
            if f.indexed:
                continue
            f.build_index(max(0.0, deadline - time.perf_counter()), stop)
            if time.perf_counter() >= deadline or (stop is not None and stop()):
                break
        return self.indexed

    def _logs_is_dir(self) -> bool:
        if self.logs.is_dir():
            self.exists = True
            return True
        return False

    def shadowed(self, file: LogFile) -> bool:
        """``trainer.log`` while per-rank torchrun files of the run are followed: its
        lines are rank 0's, shown once from rank 0's own file."""
        return file.source.console_copy and any(
            f.source.stream is not None and f.source.component == TRAINER for f in self.files
        )

    def _discover(self, changes: RunChanges, *, first: bool) -> None:
        added = False
        cut: list[Path] = []
        paths = discover(self.logs, cut=cut)
        self.too_deep = tuple(cut)
        if self._outside:
            paths += discover_torchrun_trees(self.output_dir)
        for path in paths:
            if path in self._by_path:
                continue
            source = classify_in_run(path, self.output_dir, self.logs)
            f = LogFile(source, from_start=not first)
            self._by_path[path] = f
            self._by_name[os.fspath(path)] = f
            self._by_real[os.path.realpath(path)] = f
            self.files.append(f)
            changes.new_files.append(f)
            added = True
        if added:
            self.files.sort(key=lambda f: f.source.sort_key)
