"""Runs and attempts: the model that ``prime-logs runs``, ``--run``/``--attempt`` and
the runs screen share. UI-free: it imports neither the TUI nor the commands.

* `find_runs(path)` -> `Found`: a run, or a folder of runs (prime-rl's
  ``<output_dir>/<run_name>/``), plus the runs of prime-rl's registry;
  `default_output_dir`, `pick_run` (a name or a prefix; ambiguity is a one-line
  `UsageError` listing the candidates).
* `attempts_of(run)` -> `Attempt` (number, ``logs`` folder, ``configs`` folder,
  ``current``); a run without ``logs/attempt_<n>`` is one attempt, ``logs/`` itself.
* `run_info(run, now=..., thresholds=...)` -> `RunInfo`: name, status (running /
  finished / crashed / stalled) with a reason in words, step / max_steps, rewards,
  last write (timezone-aware), model and envs from the config, and one
  `AttemptInfo` per attempt (status, steps covered, first error). It reads ``stat``
  and the ends of files only (`runs.status`), so a folder of 200 runs of 8 ranks
  takes a fraction of a second (``scripts/bench.py runs``).
* `scan_runs(paths)` -> ``list[RunInfo]``, newest first; `RunInfo.to_json` gives
  the keys ``prime-logs runs --json`` prints (`JSON_KEYS`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from prime_rl_logs.runs.config import RunConfig, read_config
from prime_rl_logs.runs.find import (
    REGISTRY,
    RUN_MARKERS,
    Attempt,
    Found,
    attempts_of,
    default_output_dir,
    find_runs,
    is_run_dir,
    pick_run,
    registry_dirs,
)
from prime_rl_logs.runs.status import (
    STATUSES,
    AttemptTail,
    Thresholds,
    format_duration,
    judge,
    metrics_file,
    read_attempt,
)

__all__ = [
    "JSON_KEYS",
    "REGISTRY",
    "RUN_MARKERS",
    "STATUSES",
    "Attempt",
    "AttemptInfo",
    "Found",
    "RunConfig",
    "RunInfo",
    "Thresholds",
    "attempts_of",
    "default_output_dir",
    "find_runs",
    "format_duration",
    "is_run_dir",
    "metrics_file",
    "pick_run",
    "read_config",
    "registry_dirs",
    "run_info",
    "scan_runs",
]

JSON_KEYS: Final = (
    "name",
    "path",
    "status",
    "reason",
    "step",
    "max_steps",
    "last_reward",
    "attempts",
    "current_attempt",
    "last_write",
    "model",
    "envs",
)
"""The keys of one run in ``prime-logs runs --json``, in order (documented in the README)."""


def _when(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch).astimezone() if epoch is not None else None


@dataclass(frozen=True, slots=True)
class AttemptInfo:
    """One attempt as the attempt picker lists it."""

    attempt: Attempt
    status: str  # running | finished | crashed | stalled | stopped
    reason: str
    first_step: int | None
    last_step: int | None
    error: str | None
    last_write: datetime | None

    @property
    def number(self) -> int:
        return self.attempt.number

    @property
    def logs(self) -> Path:
        return self.attempt.logs


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One run as the runs table shows it."""

    name: str
    path: Path
    status: str
    reason: str
    step: int | None
    max_steps: int | None
    rewards: tuple[float, ...]  # the last ones, oldest first (a sparkline)
    attempts: tuple[AttemptInfo, ...]
    current_attempt: int
    last_write: datetime | None
    model: str | None
    envs: tuple[str, ...]
    config: RunConfig

    @property
    def last_reward(self) -> float | None:
        return self.rewards[-1] if self.rewards else None

    @property
    def current(self) -> AttemptInfo:
        return next(a for a in self.attempts if a.number == self.current_attempt)

    def attempt(self, number: int) -> AttemptInfo:
        """The attempt numbered ``number``; KeyError when there is none."""
        for a in self.attempts:
            if a.number == number:
                return a
        raise KeyError(number)

    def to_json(self) -> dict[str, Any]:
        """The object ``prime-logs runs --json`` prints: exactly `JSON_KEYS`."""
        return {
            "name": self.name,
            "path": str(self.path),
            "status": self.status,
            "reason": self.reason,
            "step": self.step,
            "max_steps": self.max_steps,
            "last_reward": self.last_reward,
            "attempts": len(self.attempts),
            "current_attempt": self.current_attempt,
            "last_write": self.last_write.isoformat() if self.last_write else None,
            "model": self.model,
            "envs": list(self.envs),
        }


def run_info(
    run: Path, *, now: float | None = None, thresholds: Thresholds | None = None
) -> RunInfo:
    """Everything the runs table shows of one run, from ``stat`` and file tails."""
    now = time.time() if now is None else now
    thresholds = thresholds or Thresholds()
    attempts = attempts_of(run)
    current = next(a for a in attempts if a.current)
    tails: list[tuple[Attempt, AttemptTail]] = [
        (a, read_attempt(a, run, with_metrics_file=a.current)) for a in attempts
    ]
    infos = []
    for attempt, tail in tails:
        status, reason = judge(tail, now, thresholds, current=attempt.current)
        infos.append(
            AttemptInfo(
                attempt,
                status,
                reason,
                tail.first_step,
                tail.step,
                tail.error,
                _when(tail.last_write),
            )
        )
    config = read_config(current)
    cur_tail = next(t for a, t in tails if a.current)
    cur_info = next(i for i in infos if i.attempt.current)
    max_steps = cur_tail.max_steps if cur_tail.max_steps is not None else config.max_steps
    status, reason = cur_info.status, cur_info.reason
    if cur_tail.max_steps is None and config.max_steps is not None:
        # The logs did not say max_steps: judge again with the config's.
        cur_tail.max_steps = config.max_steps
        status, reason = judge(cur_tail, now, thresholds, current=True)
        infos[infos.index(cur_info)] = AttemptInfo(
            current,
            status,
            reason,
            cur_tail.first_step,
            cur_tail.step,
            cur_tail.error,
            _when(cur_tail.last_write),
        )
    reason = _run_reason(infos, status, reason)
    last_write = max((t.last_write for _, t in tails if t.last_write is not None), default=None)
    return RunInfo(
        name=run.name,
        path=run,
        status=status,
        reason=reason,
        step=cur_tail.step,
        max_steps=max_steps,
        rewards=tuple(cur_tail.rewards),
        attempts=tuple(infos),
        current_attempt=current.number,
        last_write=_when(last_write),
        model=config.model,
        envs=config.envs,
        config=config,
    )


def _run_reason(infos: list[AttemptInfo], status: str, reason: str) -> str:
    """The current attempt's reason, led by the earlier attempts' crashes:
    "attempt 1 crashed at step 12, attempt 2 running"."""
    if len(infos) == 1:
        return reason
    current = next(i for i in infos if i.attempt.current)
    earlier = []
    for info in infos:
        if info is current:
            continue
        if info.status == "crashed":
            at = f" at step {info.last_step}" if info.last_step is not None else ""
            earlier.append(f"attempt {info.number} crashed{at}")
    if not earlier:
        return reason
    return ", ".join([*earlier, f"attempt {current.number} {status}"]) + f" ({reason})"


def scan_runs(
    runs: tuple[Path, ...] | list[Path],
    *,
    now: float | None = None,
    thresholds: Thresholds | None = None,
) -> list[RunInfo]:
    """`run_info` of each run, newest last write first (runs never written last)."""
    now = time.time() if now is None else now
    infos = [run_info(r, now=now, thresholds=thresholds) for r in runs]
    infos.sort(
        key=lambda i: (
            i.last_write is None,
            -(i.last_write.timestamp() if i.last_write else 0),
            i.name,
        )
    )
    return infos
