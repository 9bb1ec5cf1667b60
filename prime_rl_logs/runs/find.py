"""Where the runs are: what a path on the command line names, and a run's attempts.

A **run directory** holds one of `RUN_MARKERS` (``logs/``, ``configs/``,
``monitors/``, ``metrics.jsonl``). A **folder of runs** is a folder that is not a run
but whose direct children include runs (prime-rl's ``<output_dir>/<run_name>/``).
`find_runs` answers with a `Found` (which of the two, and the run folders), or raises
`UsageError` naming what was looked for. `default_output_dir` is what ``watch`` and
``runs`` open without a path (``$PRL_OUTPUT_DIR``, then ``./outputs``, then the
current directory), and `registry_dirs` the output folders prime-rl's own dashboard
lists in ``~/.cache/prime-rl/dashboard/dirs.json`` (only read, never written; a
missing or malformed file is no runs, not an error).

`attempts_of` lists a run's attempts: ``logs/attempt_<n>`` folders, the current one
being where ``logs/latest`` points (else the highest number); a run without
attempt folders is one attempt, numbered 1, whose logs are ``logs/`` itself. Each
`Attempt` also names its ``configs/attempt_<n>`` folder (or ``configs/`` when the
run keeps one set of configs). Only names and ``stat`` are looked at here.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from prime_rl_logs.errors import UsageError
from prime_rl_logs.layout import LOGS_DIR, safe_name

__all__ = [
    "REGISTRY",
    "RUN_MARKERS",
    "Attempt",
    "Found",
    "attempts_of",
    "default_output_dir",
    "find_runs",
    "is_run_dir",
    "pick_run",
    "registry_dirs",
]

RUN_MARKERS: Final = (LOGS_DIR, "configs", "monitors", "metrics.jsonl")
"""What a run directory holds (any one of them), as prime-rl writes it."""

REGISTRY: Final = Path("~/.cache/prime-rl/dashboard/dirs.json")
"""prime-rl's registry of output folders (read, never written)."""

_ATTEMPT = re.compile(r"attempt_(\d+)")


def is_run_dir(path: Path) -> bool:
    """True if ``path`` holds one of `RUN_MARKERS`."""
    return any((path / marker).exists() for marker in RUN_MARKERS)


@dataclass(frozen=True, slots=True)
class Found:
    """What a path names: one run (``kind == "run"``) or a folder of runs."""

    kind: str  # "run" | "folder"
    root: Path
    runs: tuple[Path, ...]


def default_output_dir(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Path:
    """``$PRL_OUTPUT_DIR``, else ``./outputs`` when it is a folder, else the current one."""
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    if env.get("PRL_OUTPUT_DIR"):
        return Path(env["PRL_OUTPUT_DIR"]).expanduser()
    outputs = cwd / "outputs"
    return Path("outputs") if outputs.is_dir() else Path(".")


def registry_dirs(path: Path | None = None) -> list[Path]:
    """The folders listed in prime-rl's dashboard registry that exist (never raises).

    The file is a JSON list of paths, an object with a ``dirs`` list, or an object
    keyed by path; entries may be strings or objects with a ``path``.
    """
    path = (path or REGISTRY).expanduser()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if isinstance(data, dict):
        data = data.get("dirs", list(data))
    out: list[Path] = []
    for entry in data if isinstance(data, list) else []:
        value = entry.get("path") if isinstance(entry, dict) else entry
        if isinstance(value, str) and value and Path(value).expanduser().is_dir():
            out.append(Path(value).expanduser())
    return out


def _child_runs(folder: Path) -> list[Path]:
    try:
        entries = [e for e in os.scandir(folder) if not e.name.startswith(".")]
    except OSError:
        return []
    runs = []
    for entry in entries:
        try:
            if entry.is_dir() and is_run_dir(Path(entry.path)):
                runs.append(Path(entry.path))
        except OSError:
            continue
    return sorted(runs)


def find_runs(path: Path, *, registry: Path | None = REGISTRY) -> Found:
    """What ``path`` is: a run, or a folder of runs (plus the registry's runs).

    ``registry``: the registry file to read (None: none). Its
    entries are runs or folders of runs; those not already found are added to a
    folder's list (a single run given on the command line stays a single run).

    Raises:
        UsageError: ``path`` is neither (one line naming what was looked for).
    """
    if is_run_dir(path):
        return Found("run", path, (path,))
    if not path.exists():
        raise UsageError(f"{safe_name(str(path))} does not exist")
    if not path.is_dir():
        raise UsageError(f"{safe_name(str(path))} is not a directory")
    runs = _child_runs(path)
    if registry is not None:
        seen = {os.path.realpath(r) for r in runs}
        for folder in registry_dirs(registry):
            for run in [folder] if is_run_dir(folder) else _child_runs(folder):
                if os.path.realpath(run) not in seen:
                    seen.add(os.path.realpath(run))
                    runs.append(run)
    if not runs:
        markers = ", ".join(RUN_MARKERS)
        raise UsageError(
            f"{safe_name(str(path))} is not a run (no {markers}) and holds no run folders"
        )
    return Found("folder", path, tuple(runs))


def pick_run(runs: tuple[Path, ...] | list[Path], name: str) -> Path:
    """The run whose folder name is ``name`` or starts with it.

    Raises:
        UsageError: no run, or several (the one line lists the candidates).
    """
    exact = [r for r in runs if r.name == name]
    if len(exact) == 1:
        return exact[0]
    matches = [r for r in runs if r.name.startswith(name)]
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(safe_name(r.name) for r in (matches or runs)[:12])
    if not matches:
        raise UsageError(f"no run named {safe_name(name)!r}; runs: {names}")
    raise UsageError(f"--run {safe_name(name)!r} matches {len(matches)} runs: {names}")


@dataclass(frozen=True, slots=True)
class Attempt:
    """One launch of a run: its number, its logs folder and its configs folder."""

    number: int
    logs: Path
    configs: Path | None
    current: bool

    @property
    def command_file(self) -> Path | None:
        """``command.txt`` of the attempt, when written."""
        if self.configs is None:
            return None
        path = self.configs / "command.txt"
        return path if path.is_file() else None

    def config_files(self) -> list[Path]:
        """The attempt's config files (``.toml``, ``.json``, ``.yaml``, ``command.txt``), sorted."""
        if self.configs is None:
            return []
        out = []
        for root, dirs, files in os.walk(self.configs):
            dirs.sort()
            for name in sorted(files):
                if name.endswith((".toml", ".json", ".yaml", ".yml", ".txt")):
                    out.append(Path(root) / name)
        return out


def _numbered(folder: Path) -> dict[int, Path]:
    try:
        names = os.listdir(folder)
    except OSError:
        return {}
    out = {}
    for name in names:
        if m := _ATTEMPT.fullmatch(name):
            out[int(m.group(1))] = folder / name
    return out


def _latest(folder: Path) -> int | None:
    try:
        m = _ATTEMPT.fullmatch(Path(os.readlink(folder / "latest")).name)
    except OSError:
        return None
    return int(m.group(1)) if m else None


def attempts_of(run: Path) -> list[Attempt]:
    """The run's attempts in order (at least one, even before ``logs/`` exists)."""
    logs, configs = run / LOGS_DIR, run / "configs"
    numbered = _numbered(logs)
    config_dirs = _numbered(configs)
    shared = configs if configs.is_dir() else None
    if not numbered:
        return [Attempt(1, logs, config_dirs.get(1, shared), True)]
    current = _latest(logs)
    if current not in numbered:
        current = max(numbered)
    return [
        Attempt(n, numbered[n], config_dirs.get(n, None if config_dirs else shared), n == current)
        for n in sorted(numbered)
    ]
