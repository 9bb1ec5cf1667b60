"""What the tails of an attempt's files say: step, reward, cadence, errors, finish.

`read_attempt` looks at one attempt (`find.Attempt`) with ``stat`` and the last few
KiB of each file, never a whole file: the main files (orchestrator, trainer, the
launcher, rank 0) get `MAIN_TAIL` bytes, every other log file `SIDE_TAIL`, and
``metrics.jsonl`` (or ``monitors/file/metrics.jsonl``) `MAIN_TAIL`. Step lines and
``metrics.jsonl`` rows are read through `prime_rl_logs.metrics.MetricsStore`, the
same parser as ``prime-logs metrics``. The answer is an `AttemptTail`: the facts,
no verdict; `judge` turns facts and `Thresholds` into a status and a reason in
words. Nothing here raises for a file that vanished or cannot be read.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from prime_rl_logs import layout, levels
from prime_rl_logs.core.parse import RunClock, decode_line, parse_line
from prime_rl_logs.metrics.store import MetricsStore
from prime_rl_logs.runs.find import Attempt

__all__ = [
    "MAIN_TAIL",
    "SIDE_TAIL",
    "STATUSES",
    "AttemptTail",
    "Thresholds",
    "judge",
    "metrics_file",
    "read_attempt",
]

MAIN_TAIL: Final = 16 << 10
SIDE_TAIL: Final = 4 << 10
HEAD: Final = 16 << 10
CADENCE_STEPS: Final = 11  # step lines read for the cadence (the median of 10 intervals)
FEED_STEPS: Final = 8  # orchestrator step lines fed to the metrics (reward sparkline)
MAIN_FILES: Final = frozenset(
    {
        "orchestrator.log",
        "orchestrator.stdout",
        "trainer.log",
        "rl.log",
        "launcher.log",
        "trainer/rank_0.log",
        "trainer/node_0.log",
    }
)
"""The files whose step lines are read (relative to the attempt's logs folder); a
run with none of them uses rank 0's torchrun ``stdout.log`` (`RANK0_STDOUT`)."""
RANK0_STDOUT: Final = "/0/stdout.log"
ORCHESTRATOR_FILES: Final = frozenset({"orchestrator.log", "orchestrator.stdout"})
PROBLEM_BYTES: Final = (b"ERROR", b"CRITICAL", b"Traceback", b"Error")
STATUSES: Final = ("running", "finished", "crashed", "stalled")
"""A run's statuses; an earlier attempt may also be ``"stopped"`` (ended, no error)."""

_FINISHED = re.compile(r"\b(?:training|trainer|orchestrator) finished\b", re.I)
_STEP = re.compile(r"^\s*Step\s+(\d+)\b")
_EXCEPTION = re.compile(r"^[\w.]*(?:Error|Exception|Interrupt|Exit)\b.*:|^[\w.]*Error$")


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When a silent run counts as stalled: silent longer than ``stall_factor`` times
    its median step interval and at least ``stall_min_s``; without a known cadence,
    silent longer than ``no_cadence_s``. ``crash_slack_s``: writes this long after
    the error still leave the attempt crashed (ranks stopping, the launcher's own
    last lines)."""

    stall_factor: float = 10.0
    stall_min_s: float = 300.0
    no_cadence_s: float = 1800.0
    crash_slack_s: float = 120.0


@dataclass(slots=True)
class AttemptTail:
    """The facts of one attempt, read from the ends of its files."""

    number: int
    last_write: float | None = None  # epoch seconds
    step: int | None = None
    first_step: int | None = None
    max_steps: int | None = None
    rewards: list[float] = field(default_factory=list)
    cadence_s: float | None = None  # median seconds per step
    finished: bool = False
    error: str | None = None  # the first words of the error the attempt ends with
    error_write: float | None = None  # mtime of the file that ends with it
    files: int = 0


def metrics_file(run: Path) -> Path | None:
    """``metrics.jsonl`` or ``monitors/file/metrics.jsonl`` of a run, when present."""
    path = layout.metrics_jsonl(run)
    return path if path.is_file() else None


def _tail(path: str | Path, size: int, nbytes: int) -> bytes:
    """The last whole lines in the last ``nbytes`` of a file ('' when unreadable)."""
    try:
        with open(path, "rb") as fh:
            start = max(0, size - nbytes)
            fh.seek(start)
            data = fh.read(nbytes)
    except OSError:
        return b""
    if start > 0:
        cut = data.find(b"\n")
        data = data[cut + 1 :] if cut >= 0 else b""
    return data


def _ending_error(lines: list[str]) -> str | None:
    """The error a file ends with: its last record is ERROR or worse, or a traceback
    comes after its last record below ERROR. None when it ends otherwise."""
    exception: str | None = None
    traceback = False
    for text in reversed(lines):
        if not text.strip():
            continue
        info = parse_line(text)
        message = info.message.strip()
        if info.header and info.clock is not None:
            if info.level >= levels.LEVELS["ERROR"]:
                return exception or message[:200]
            break
        if exception is None and _EXCEPTION.match(message):
            exception = message[:200]
        if message.startswith("Traceback (most recent call last)"):
            traceback = True
    if traceback:
        return exception or "Traceback"
    return None


def _steps(
    data: bytes, store: MetricsStore, component: str, rel: str, feed: int, keep: int
) -> list[float]:
    """The seconds per step of the step lines in ``data`` (the end of a file); the
    last ``feed`` of them (and any ``max_steps`` line) go to the store. Only lines
    holding ``Step `` are decoded."""
    picked = [line for line in data.splitlines() if b"Step " in line or b"max_steps" in line]
    clock = RunClock()
    seen: list[tuple[int, float]] = []
    cut = len(picked) - feed
    for i, raw in enumerate(picked[-CADENCE_STEPS:]):
        info = parse_line(decode_line(raw))
        run_time = clock.advance(info.clock) if info.clock is not None else None
        if i + max(0, len(picked) - CADENCE_STEPS) >= cut or "max_steps" in info.message:
            # No run time: the cadence is measured here, not by the store.
            store.feed(component, info.message, rank=0, source=rel)
        if info.header and run_time is not None and (m := _STEP.match(info.message)):
            step = int(m.group(1))
            if not seen or step > seen[-1][0]:
                seen.append((step, run_time))
            if store.last_step is None or step > store.last_step:
                store.last_step = step
    return _per_step(seen)


def _per_step(seen: list[tuple[int, float]]) -> list[float]:
    out = []
    for (s0, t0), (s1, t1) in itertools.pairwise(seen):
        if s1 > s0 and t1 >= t0:
            out.append((t1 - t0) / (s1 - s0))
    return out


def _walk(folder: str, depth: int = 8) -> list[tuple[str, str, os.stat_result]]:
    """(path, path relative to ``folder``, stat) of each log file below ``folder``:
    `layout.discover`'s walk without its `Path` objects (this runs over every file
    of every run of a folder)."""
    out: list[tuple[str, str, os.stat_result]] = []
    stack = [(folder, "")]
    while stack:
        where, rel = stack.pop()
        try:
            with os.scandir(where) as it:
                entries = list(it)
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    if rel.count("/") < depth:
                        stack.append((entry.path, f"{rel}{name}/"))
                elif name.endswith(layout.LOG_SUFFIXES):
                    out.append((entry.path, rel + name, entry.stat()))
            except OSError:
                continue
    return out


def _component(rel: str) -> str:
    name = rel.rsplit("/", 1)[-1]
    if name.startswith("orchestrator"):
        return layout.ORCHESTRATOR
    if name.startswith(("rl.", "launcher.")):
        return layout.LAUNCHER
    return layout.TRAINER


def read_attempt(attempt: Attempt, run: Path, *, with_metrics_file: bool) -> AttemptTail:
    """The facts of one attempt from ``stat`` and the ends of its files.

    ``with_metrics_file``: read the run's ``metrics.jsonl`` too (it spans attempts:
    give it to the current attempt only).
    """
    tail = AttemptTail(attempt.number)
    store = MetricsStore()
    intervals: list[float] = []
    files = _walk(os.fspath(attempt.logs))
    if attempt.current and attempt.logs == run / layout.LOGS_DIR:
        files = [f for f in files if not f[1].startswith("attempt_")]
    if attempt.current:
        for tree_file in layout.discover_torchrun_trees(run):
            with contextlib.suppress(OSError):
                rel = os.fspath(tree_file.relative_to(run))
                files.append((os.fspath(tree_file), rel, tree_file.stat()))
    rels = {rel for _, rel, _ in files}
    main = MAIN_FILES & rels or {r for r in rels if r.endswith(RANK0_STDOUT)}
    for path, rel, st in files:
        tail.files += 1
        if tail.last_write is None or st.st_mtime > tail.last_write:
            tail.last_write = st.st_mtime
        if st.st_size == 0:
            continue
        is_main = rel in main
        data = _tail(path, st.st_size, MAIN_TAIL if is_main else SIDE_TAIL)
        if is_main:
            component = _component(rel)
            # The orchestrator's lines give the reward and the cadence; the others
            # (when it is there) only their last step.
            lead = component == layout.ORCHESTRATOR or not main & ORCHESTRATOR_FILES
            feed, keep = (FEED_STEPS, CADENCE_STEPS) if lead else (1, 2)
            found = _steps(data, store, component, rel, feed, keep)
            if len(found) > len(intervals):
                intervals = found
            end = data[-4096:]
            if b"finished" in end and any(
                _FINISHED.search(decode_line(line)) for line in end.splitlines()[-20:]
            ):
                tail.finished = True
        end = data[-SIDE_TAIL:]
        if not any(word in end for word in PROBLEM_BYTES):
            continue
        error = _ending_error([decode_line(b) for b in end.splitlines()[-60:]])
        if error is not None and (tail.error_write is None or st.st_mtime > tail.error_write):
            tail.error, tail.error_write = error, st.st_mtime
    logged = store.steps()  # before metrics.jsonl, which spans every attempt
    tail.first_step = _first_step(files, logged)
    jsonl = metrics_file(run) if with_metrics_file else None
    if jsonl is not None:
        times = _read_jsonl(jsonl, store, tail)
        if len(times) > len(intervals):
            intervals = times
    step_file = run / "trainer_step"
    if attempt.current and step_file.is_file():
        _read_trainer_step(step_file, store, tail)
    tail.step = store.last_step
    tail.max_steps = store.max_steps
    tail.rewards = store.values("orchestrator/reward")[1][-FEED_STEPS:]
    if intervals:
        tail.cadence_s = statistics.median(intervals[-20:])
    return tail


def _first_step(files: list[tuple[str, str, os.stat_result]], logged: list[int]) -> int | None:
    """The first step an attempt logged: the first step line of its orchestrator (or
    trainer) file, read from the head of the file (`HEAD` bytes)."""
    for name in ("orchestrator.log", "trainer.log", "orchestrator.stdout"):
        for path, rel, _ in files:
            if rel != name:
                continue
            try:
                with open(path, "rb") as fh:
                    head = fh.read(HEAD)
            except OSError:
                continue
            for raw in head.splitlines():
                if b"Step " in raw and (m := _STEP.match(parse_line(decode_line(raw)).message)):
                    return int(m.group(1))
    return logged[0] if logged else None


def _read_jsonl(path: Path, store: MetricsStore, tail: AttemptTail) -> list[float]:
    try:
        st = path.stat()
    except OSError:
        return []
    tail.last_write = max(tail.last_write or 0.0, st.st_mtime)
    seen: list[tuple[int, float]] = []
    lines = _tail(path, st.st_size, MAIN_TAIL).splitlines()[-CADENCE_STEPS:]
    for i, raw in enumerate(lines):
        line = raw.decode("utf-8", "replace")
        if i >= len(lines) - FEED_STEPS:
            store.feed_jsonl(line)
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        step, when = (obj.get("step"), obj.get("time")) if isinstance(obj, dict) else (None, None)
        if isinstance(step, int) and isinstance(when, int | float):
            if not seen or step > seen[-1][0]:
                seen.append((step, float(when)))
            if store.last_step is None or step > store.last_step:
                store.last_step = step
    return _per_step(seen)


def _read_trainer_step(path: Path, store: MetricsStore, tail: AttemptTail) -> None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
        mtime = path.stat().st_mtime
    except OSError:
        return
    tail.last_write = max(tail.last_write or 0.0, mtime)
    if text.isdigit() and (store.last_step is None or int(text) > store.last_step):
        store.last_step = int(text)


def judge(
    tail: AttemptTail, now: float, thresholds: Thresholds, *, current: bool
) -> tuple[str, str]:
    """The status of one attempt and its reason in words.

    Finished (a finished line, or ``step >= max_steps``) wins over an error written
    while shutting down; crashed needs the error to be among the last writes
    (within ``crash_slack_s``); an earlier attempt that ended without either is
    ``"stopped"``; the current one is running or stalled by its silence.
    """
    at = f" at step {tail.step}" if tail.step is not None else ""
    done = tail.max_steps is not None and tail.step is not None and tail.step >= tail.max_steps
    if tail.finished or done:
        return "finished", f"finished{at}"
    last = tail.last_write
    if (
        tail.error is not None
        and tail.error_write is not None
        and (last is None or last - tail.error_write <= thresholds.crash_slack_s or not current)
    ):
        return "crashed", f"crashed{at}: {tail.error}"
    if not current:
        return "stopped", f"stopped{at}"
    if last is None:
        return "running", "no log written yet"
    silent = max(0.0, now - last)
    cadence = tail.cadence_s
    if cadence is not None:
        pace = f"step cadence {format_duration(cadence)}"
    else:
        pace = "no step yet" if tail.step is None else f"at step {tail.step}"
    limit = (
        max(thresholds.stall_factor * cadence, thresholds.stall_min_s)
        if cadence is not None
        else thresholds.no_cadence_s
    )
    if silent > limit:
        return "stalled", f"silent {format_duration(silent)}; {pace}"
    return "running", f"last write {format_duration(silent)} ago; {pace}"


def format_duration(seconds: float) -> str:
    """``12 s``, ``40 min``, ``3 h 5 min``, ``2 d 4 h``: the words of a reason."""
    total = round(seconds)
    if total < 90:
        return f"{total} s"
    if total < 90 * 60:
        return f"{round(total / 60)} min"
    if total < 48 * 3600:
        hours, minutes = divmod(round(total / 60), 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(round(total / 3600), 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
