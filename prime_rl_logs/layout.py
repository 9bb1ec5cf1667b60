"""Where each component of a prime-rl run writes, and what any file under `logs/` is.

Two layouts are in use and both are read:

* the one this library writes::

    logs/rl.log  logs/orchestrator.log  logs/inference.stdout
    logs/trainer/rank_{N}.log  logs/env_workers/{env_name}.log

* prime-rl's newer one, where ``logs/latest`` is a symlink swapped atomically to
  ``logs/attempt_{n}`` on each resume::

    trainer.log  orchestrator.log  inference.log  envs/{train,eval}/{name}.log
    trainer/node_{N}.log  inference/node_{N}.log

  plus torchrun's ``--log-dir`` tree ``{rdzv_id}/attempt_{k}/{rank}/{stdout,stderr}.log``.

`classify` turns any path into a `Source`; a file it does not recognise is still a
`Source` with component ``"other"``, never an error. `discover` lists a run's log
files without recursion, down to `MAX_DEPTH` folders below ``logs/``; what it left
out for depth it hands back (``cut=``), so every reader can report it rather than
drop it (`too_deep_notice`).

Names are hostile input: anything under ``logs/`` can be named by a process of the
run. `safe_name` makes a name printable (control characters, escape sequences and
bytes that are not UTF-8 shown escaped, as ``ls -b`` does), and a `Source` carries
its display strings (`Source.tag`, `Source.title`, `Source.label`) made safe once,
when it is built: every printer and widget shows those, never ``rel`` or ``path``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

LOGS_DIR: Final = "logs"

# Components, in the order the dashboard lists them.
TRAINER: Final = "trainer"
ORCHESTRATOR: Final = "orchestrator"
INFERENCE: Final = "inference"
ENV: Final = "env"
LAUNCHER: Final = "launcher"
OTHER: Final = "other"
COMPONENTS: Final = (TRAINER, ORCHESTRATOR, INFERENCE, ENV, LAUNCHER, OTHER)

COMPONENT_TITLES: Final = {
    TRAINER: "Trainer",
    ORCHESTRATOR: "Orchestrator",
    INFERENCE: "Inference",
    ENV: "Env workers",
    LAUNCHER: "Launcher",
    OTHER: "Other",
}

# Files that hold logs; anything else under logs/ (core dumps, .pid files) is ignored
# by discovery, though `classify` still accepts it.
LOG_SUFFIXES: Final = (".log", ".stdout", ".stderr", ".out", ".err", ".txt", ".jsonl")

# How many folders deep below logs/ discovery looks. prime-rl's deepest file,
# latest/trainer/torchrun/{rdzv}/attempt_{k}/{rank}/stdout.log, is 6 deep.
MAX_DEPTH: Final = 32


# ---------------------------------------------------------------------------
# Names made safe to show


def safe_name(text: str) -> str:
    """A string from the file system or a file, made safe to print or draw.

    Every character that is not printable is shown escaped, as ``ls -b`` does:
    control characters (ESC, BEL, CR, DEL, C1) as ``\\x1b``, the bytes of a name that
    is not valid UTF-8 (Python holds them as lone surrogates) as ``\\xff``, and other
    invisible characters (bidi overrides, zero-width or line separators) as
    ``\\u202e``. The result is printable, so it holds no escape sequence at all (not
    even a colour), encodes as UTF-8, and two different names stay different.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escaped(c) for c in text)


def _escaped(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8, under surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


# ---------------------------------------------------------------------------
# Where the library writes (the first layout)


def logs_dir(output_dir: str | os.PathLike[str]) -> Path:
    """The ``logs/`` folder of a run."""
    return Path(output_dir) / LOGS_DIR


def launcher_log(output_dir: str | os.PathLike[str]) -> Path:
    return logs_dir(output_dir) / "rl.log"


def orchestrator_log(output_dir: str | os.PathLike[str]) -> Path:
    return logs_dir(output_dir) / "orchestrator.log"


def inference_log(output_dir: str | os.PathLike[str]) -> Path:
    return logs_dir(output_dir) / "inference.stdout"


def trainer_log(output_dir: str | os.PathLike[str], rank: int) -> Path:
    return logs_dir(output_dir) / "trainer" / f"rank_{rank}.log"


def env_worker_log(output_dir: str | os.PathLike[str], env_name: str) -> Path:
    return logs_dir(output_dir) / "env_workers" / f"{env_name}.log"


METRICS_FILES: Final = ("metrics.jsonl", "monitors/file/metrics.jsonl")
"""Where prime-rl's file monitor writes one JSON object per step (older, newer)."""


def metrics_jsonl(output_dir: str | os.PathLike[str]) -> Path:
    """The run's ``metrics.jsonl``: the first of `METRICS_FILES` that exists, else
    the first (a file that may appear later)."""
    for rel in METRICS_FILES:
        path = Path(output_dir) / rel
        if path.is_file():
            return path
    return Path(output_dir) / METRICS_FILES[0]


# ---------------------------------------------------------------------------
# What a file is


@dataclass(frozen=True, slots=True)
class Source:
    """One log file of a run and what it belongs to.

    ``rel`` is the path relative to ``logs/`` as discovered (through ``latest/`` when
    that symlink is used), so it stays the same when ``latest`` is swapped to a new
    attempt; ``attempt`` is what it pointed to when classified. ``rel`` and ``path``
    identify the file and are raw; what is shown is ``tag``, ``title`` and ``label``,
    computed once from them here and passed through `safe_name`.
    """

    path: Path
    rel: str
    component: str = OTHER
    rank: int | None = None
    node: int | None = None
    env: str | None = None
    split: str | None = None  # "train" / "eval" for envs/{split}/{name}.log
    attempt: int | None = None
    stream: str | None = None  # "stdout" / "stderr" in torchrun's tree
    worker: int | None = None  # N of env_workers/{env}/worker_{N}.log
    tag: str = field(init=False, repr=False, compare=False)
    """Short label shown before each line in a multi-source pane: r3, orch, inf, gsm8k."""
    title: str = field(init=False, repr=False, compare=False)
    """A row label for the sidebar."""
    label: str = field(init=False, repr=False, compare=False)
    """``rel`` made safe to show: pane titles, messages, ``tail --json``'s ``file``."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "tag", safe_name(self._tag()))
        object.__setattr__(self, "title", safe_name(self._title()))
        object.__setattr__(self, "label", safe_name(self.rel))

    def _tag(self) -> str:
        if self.component == TRAINER:
            if self.rank is not None:
                base = f"r{self.rank}"
            elif self.node is not None:
                base = f"n{self.node}"
            else:
                base = "train"
            return f"{base}!" if self.stream == "stderr" else base
        if self.component == ORCHESTRATOR:
            return "orch"
        if self.component == INFERENCE:
            return "inf" if self.node is None else f"inf{self.node}"
        if self.component == ENV:
            name = self.env or "env"
            if self.worker is not None:
                return f"{name}:w{self.worker}"
            return f"{name}:eval" if self.split == "eval" else name
        if self.component == LAUNCHER:
            return "rl"
        return Path(self.rel).stem

    def _title(self) -> str:
        if self.component == TRAINER:
            if self.rank is not None:
                label = f"rank {self.rank}"
            elif self.node is not None:
                label = f"node {self.node}"
            else:
                label = "trainer"
            return f"{label} ({self.stream})" if self.stream else label
        if self.component == INFERENCE and self.node is not None:
            return f"node {self.node}"
        if self.component == ENV:
            name = self.env or "env"
            if self.worker is not None:
                return f"{name} (worker {self.worker})"
            return f"{name} ({self.split})" if self.split else name
        if self.component in (ORCHESTRATOR, INFERENCE, LAUNCHER):
            return Path(self.rel).name
        return self.rel

    @property
    def console_copy(self) -> bool:
        """``trainer.log`` of prime-rl's layout: rank 0's console copy, which repeats
        the per-rank torchrun files when those exist (see `Run.shadowed`)."""
        return self.component == TRAINER and self.rel.split("/")[-1] == "trainer.log"

    @property
    def sort_key(self) -> tuple[int, str, int, str]:
        return (
            COMPONENTS.index(self.component),
            self.env or "",
            self.rank if self.rank is not None else (self.node if self.node is not None else -1),
            self.rel,
        )


_ATTEMPT_DIR = re.compile(r"attempt_(\d+)")
_TORCHRUN = re.compile(r"(?:^|/)attempt_(\d+)/(\d+)/(stdout|stderr)\.log$")
_RANK = re.compile(r"rank_?(\d+)")
_NODE = re.compile(r"node_?(\d+)")
_WORKER = re.compile(r"worker_?(\d+)")


def _attempt_of(path: Path, logs: Path | None) -> int | None:
    """The attempt a ``latest/...`` path points into, read off the symlink."""
    if logs is None:
        return None
    try:
        target = os.readlink(logs / "latest")
    except OSError:
        return None
    m = _ATTEMPT_DIR.fullmatch(Path(target).name)
    return int(m.group(1)) if m else None


def classify(path: str | os.PathLike[str], logs: str | os.PathLike[str] | None = None) -> Source:
    """Say what a log file is from its path.

    ``logs`` is the run's ``logs/`` folder; without it the path is taken as relative
    to one. Never raises for an unknown shape: that is a ``Source`` of component
    ``"other"``.
    """
    path = Path(path)
    logs_path = Path(logs) if logs is not None else None
    if logs_path is not None:
        try:
            rel = path.relative_to(logs_path).as_posix()
        except ValueError:
            rel = path.name
    else:
        rel = path.as_posix()

    parts = rel.split("/")
    attempt: int | None = None
    if parts[0] == "latest":
        attempt = _attempt_of(path, logs_path)
        parts = parts[1:]
    elif len(parts) > 1 and (m := _ATTEMPT_DIR.fullmatch(parts[0])):
        attempt = int(m.group(1))
        parts = parts[1:]
    inner = "/".join(parts)
    name = parts[-1]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    top = parts[0] if len(parts) > 1 else None

    def make(component: str, **kw: object) -> Source:
        kw.setdefault("attempt", attempt)
        return Source(path=path, rel=rel, component=component, **kw)  # type: ignore[arg-type]

    if m := _TORCHRUN.search(inner):
        return make(TRAINER, rank=int(m.group(2)), attempt=int(m.group(1)), stream=m.group(3))
    if len(parts) == 1:
        if stem in ("rl", "launcher"):
            return make(LAUNCHER)
        if stem == "orchestrator":
            return make(ORCHESTRATOR)
        if stem == "inference":
            return make(INFERENCE)
        if stem == "trainer":
            return make(TRAINER)
        if m := _RANK.fullmatch(stem):
            return make(TRAINER, rank=int(m.group(1)))
        return make(OTHER)
    if top == "trainer":
        if m := _RANK.fullmatch(stem):
            return make(TRAINER, rank=int(m.group(1)))
        if m := _NODE.fullmatch(stem):
            return make(TRAINER, node=int(m.group(1)))
        return make(TRAINER)
    if top == "inference":
        if m := _NODE.fullmatch(stem):
            return make(INFERENCE, node=int(m.group(1)))
        return make(INFERENCE)
    if top == "orchestrator":
        return make(ORCHESTRATOR)
    if top == "env_workers":
        if len(parts) == 3 and (m := _WORKER.fullmatch(stem)):  # env_workers/{env}/worker_{N}
            return make(ENV, env=parts[1], worker=int(m.group(1)))
        return make(ENV, env=stem)
    if top == "envs":
        split = parts[1] if len(parts) == 3 else None
        return make(ENV, env=stem, split=split)
    return make(OTHER)


def classify_in_run(
    path: str | os.PathLike[str], run: str | os.PathLike[str], logs: str | os.PathLike[str]
) -> Source:
    """`classify` of a file of a run: under ``logs`` (``logs/`` or an attempt folder)
    relative to it, elsewhere in the run (a torchrun ``--log-dir`` tree) relative to
    the run folder, so its ``rel`` reads ``torchrun/{rdzv}/attempt_0/3/stdout.log``."""
    path, logs = Path(path), Path(logs)
    if path.is_relative_to(logs):
        return classify(path, logs)
    return classify(path, run)


# Folders of a run that never hold a torchrun --log-dir tree: not looked into.
_NOT_TORCHRUN: Final = frozenset(
    {LOGS_DIR, "configs", "monitors", "checkpoints", "weights", "rollouts", "broadcasts", "evals"}
)


def discover_torchrun_trees(run: str | os.PathLike[str]) -> list[Path]:
    """Per-rank files of a torchrun ``--log-dir`` tree outside ``logs/``, sorted.

    torchrun writes ``{log_dir}/{rdzv_id}/attempt_{k}/{rank}/{stdout,stderr}.log``;
    the seed's tmux recipe uses ``--log-dir <run>/torchrun``. Each direct child
    folder of the run (but `_NOT_TORCHRUN`) whose grandchildren are ``attempt_{k}``
    folders is such a tree. Reads a few folder listings; never raises.
    """
    found: list[Path] = []
    try:
        children = [e.path for e in os.scandir(run) if e.name not in _NOT_TORCHRUN and e.is_dir()]
    except OSError:
        return found
    for child in children:
        for rdzv in _subdirs(child):
            for attempt in _subdirs(rdzv):
                if not _ATTEMPT_DIR.fullmatch(os.path.basename(attempt)):
                    continue
                for rank in _subdirs(attempt):
                    for stream in ("stdout.log", "stderr.log"):
                        path = Path(rank) / stream
                        if path.is_file():
                            found.append(path)
    return sorted(found)


def _subdirs(folder: str) -> list[str]:
    try:
        return [e.path for e in os.scandir(folder) if e.is_dir() and not e.name.startswith(".")]
    except OSError:
        return []


def _is_log_file(name: str) -> bool:
    return name.endswith(LOG_SUFFIXES) and not name.startswith(".")


def discover(
    logs: str | os.PathLike[str], max_depth: int = MAX_DEPTH, *, cut: list[Path] | None = None
) -> list[Path]:
    """Every log file under a run's ``logs/`` folder, sorted.

    When ``logs/latest`` exists (prime-rl's newer layout) the current attempt is read
    through it and the ``attempt_*`` folders beside it are skipped, so one resume does
    not show every line twice; files are named ``logs/latest/...`` so that a swap of
    the symlink reads as the same file being recreated, the way ``tail -F`` sees it.
    Unreadable folders are skipped, not raised.

    The walk is a loop over a stack, not a recursion, so no depth of folders can
    overflow it. Files down to ``max_depth`` folders below ``logs/`` are found;
    folders deeper than that are not entered, and are appended to ``cut`` when given
    (`too_deep_notice` words them).
    """
    root = Path(logs)
    has_latest = (root / "latest").is_dir()
    found: list[Path] = []
    skipped: list[Path] = []
    stack: list[tuple[str, int]] = [(os.fspath(root), 0)]
    while stack:
        folder, depth = stack.pop()
        top = depth == 0
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError:
            continue
        for entry in entries:
            if top and has_latest and _ATTEMPT_DIR.fullmatch(entry.name):
                continue
            try:
                if entry.is_dir(follow_symlinks=top and entry.name == "latest"):
                    if depth < max_depth:
                        stack.append((entry.path, depth + 1))
                    else:
                        skipped.append(Path(entry.path))
                elif entry.is_file() and _is_log_file(entry.name):
                    found.append(Path(entry.path))
            except OSError:
                continue
    if cut is not None:
        cut.extend(sorted(skipped))
    return sorted(found)


def too_deep_notice(
    logs: str | os.PathLike[str], cut: Sequence[Path], depth: int = MAX_DEPTH
) -> str | None:
    """One line saying which folders under ``logs`` `discover` did not enter (its
    ``cut``, deeper than ``depth``), or None when there were none."""
    if not cut:
        return None
    first = safe_name(os.path.relpath(cut[0], logs))
    if len(first) > 60:
        first = first[:60] + "…"
    more = f" (and {len(cut) - 1} more)" if len(cut) > 1 else ""
    return f"folders more than {depth} deep under logs/ are not read: {first}{more}"


# ---------------------------------------------------------------------------
# Panes: the groups of sources the dashboard switches between (and `tail --pane`)


@dataclass(frozen=True, slots=True)
class Pane:
    key: str
    title: str
    components: frozenset[str] | None  # None: every component


PANES: Final = (
    Pane("trainer", "Trainer", frozenset({TRAINER})),
    Pane("orchestrator", "Orchestrator", frozenset({ORCHESTRATOR})),
    Pane("inference", "Inference", frozenset({INFERENCE})),
    Pane("env", "Env workers", frozenset({ENV})),
    Pane("launcher", "Launcher", frozenset({LAUNCHER})),
    Pane("all", "All", None),
)
PANE_BY_KEY: Final = {p.key: p for p in PANES}
PANE_ALIASES: Final = {
    "orch": "orchestrator",
    "inf": "inference",
    "envs": "env",
    "env_workers": "env",
    "rl": "launcher",
    "merged": "all",
}
DEFAULT_PANE: Final = "orchestrator"


def pane_key(name: str) -> str:
    """A pane name as a user types it (aliases allowed), or ValueError naming the choices."""
    key = PANE_ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in PANE_BY_KEY:
        raise ValueError(f"unknown pane {name!r}; choose one of {', '.join(PANE_BY_KEY)}")
    return key
