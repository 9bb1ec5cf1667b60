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

import itertools
import json
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

MAIN_TAIL: Final = 32 << 10
SIDE_TAIL: Final = 4 << 10
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


def _tail(path: Path, size: int, nbytes: int) -> bytes:
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


def _is_main(source: layout.Source) -> bool:
    if source.component in (layout.ORCHESTRATOR, layout.LAUNCHER):
        return True
    return source.component == layout.TRAINER and source.rank in (None, 0) and not source.stream


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


def _step_clocks(lines: list[str], store: MetricsStore, source: layout.Source) -> list[float]:
    """Feed the store the lines' metrics; the run times at which new steps began."""
    clock = RunClock()
    seen: list[tuple[int, float]] = []
    for text in lines:
        info = parse_line(text)
        run_time = clock.advance(info.clock) if info.clock is not None else None
        store.feed(
            source.component,
            info.message,
            rank=info.rank if info.rank is not None else source.rank,
            run_time=run_time,
            source=source.rel,
        )
        if info.header and run_time is not None and (m := _STEP.match(info.message)):
            step = int(m.group(1))
            if not seen or step > seen[-1][0]:
                seen.append((step, run_time))
    return _per_step(seen)


def _per_step(seen: list[tuple[int, float]]) -> list[float]:
    out = []
    for (s0, t0), (s1, t1) in itertools.pairwise(seen):
        if s1 > s0 and t1 >= t0:
            out.append((t1 - t0) / (s1 - s0))
    return out


def read_attempt(attempt: Attempt, run: Path, *, with_metrics_file: bool) -> AttemptTail:
    """The facts of one attempt from ``stat`` and the ends of its files.

    ``with_metrics_file``: read the run's ``metrics.jsonl`` too (it spans attempts:
    give it to the current attempt only).
    """
    tail = AttemptTail(attempt.number)
    store = MetricsStore()
    intervals: list[float] = []
    paths = layout.discover(attempt.logs)
    if attempt.current:
        paths += layout.discover_torchrun_trees(run)
    for path in paths:
        try:
            st = path.stat()
        except OSError:
            continue
        tail.files += 1
        if tail.last_write is None or st.st_mtime > tail.last_write:
            tail.last_write = st.st_mtime
        if st.st_size == 0:
            continue
        source = layout.classify_in_run(path, run, attempt.logs)
        main = _is_main(source)
        lines = [
            decode_line(b)
            for b in _tail(path, st.st_size, MAIN_TAIL if main else SIDE_TAIL).splitlines()
        ]
        if main:
            found = _step_clocks(lines, store, source)
            if len(found) > len(intervals):
                intervals = found
            if any(_FINISHED.search(t) for t in lines[-20:]):
                tail.finished = True
        error = _ending_error(lines[-60:])
        if error is not None and (tail.error_write is None or st.st_mtime > tail.error_write):
            tail.error, tail.error_write = error, st.st_mtime
    logged = store.steps()  # before metrics.jsonl, which spans every attempt
    tail.first_step = logged[0] if logged else None
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
    tail.rewards = store.values("orchestrator/reward")[1][-20:]
    if intervals:
        tail.cadence_s = statistics.median(intervals[-20:])
    return tail


def _read_jsonl(path: Path, store: MetricsStore, tail: AttemptTail) -> list[float]:
    try:
        st = path.stat()
    except OSError:
        return []
    tail.last_write = max(tail.last_write or 0.0, st.st_mtime)
    seen: list[tuple[int, float]] = []
    for raw in _tail(path, st.st_size, MAIN_TAIL).splitlines():
        line = raw.decode("utf-8", "replace")
        store.feed_jsonl(line)
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        step, when = (obj.get("step"), obj.get("time")) if isinstance(obj, dict) else (None, None)
        if (
            isinstance(step, int)
            and isinstance(when, int | float)
            and (not seen or step > seen[-1][0])
        ):
            seen.append((step, float(when)))
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
    pace = f"step cadence {format_duration(cadence)}" if cadence is not None else "no step yet"
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
