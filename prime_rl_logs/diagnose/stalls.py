"""Stalls: which rank or component stopped making progress, and compared with what.

`find_stalls` looks at what the doctor's `FileScan`s hold (each file's last step
lines with their times, its mtime) plus ``trainer_step`` and ``metrics.jsonl``'s
mtimes, and says, each in words with how long and against what:

* **run silent**: no file written for longer than the limit, the same rule as
  `runs.status.judge` (``max(stall_factor x cadence, stall_min_s)``, or
  ``no_cadence_s`` before a cadence is known);
* **lagging**: a trainer rank whose last step its peers passed more than
  ``max(LAG_CADENCES x cadence, LAG_MIN_S)`` ago (3 cadences, at least 30 s). When
  they passed it is their first step line after it; a `LagMemory` (the doctor's)
  keeps it per rank while that rank stays at its step, so a lag longer than the
  peers' last `STEP_HISTORY` step lines is still measured from when it began;
* **silent**: a rank (or the orchestrator) that logged steps, quiet for longer than
  the limit while its peers (the other files) wrote within it;
* **frozen**: the orchestrator writes, but the same line over and over (3 times or
  more among its last lines) and no step for longer than the limit.

The cadence is the median seconds per step of the orchestrator's step lines, else
of the ranks'. Reads only the last `TAIL` bytes of the orchestrator's file; never
raises for a file gone.
"""

from __future__ import annotations

import os
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Final

from prime_rl_logs import layout
from prime_rl_logs.core.parse import decode_line, parse_line
from prime_rl_logs.diagnose.filescan import FileScan
from prime_rl_logs.diagnose.model import Stall
from prime_rl_logs.diagnose.text import template
from prime_rl_logs.runs.status import Thresholds, format_duration

__all__ = ["LAG_CADENCES", "LAG_MIN_S", "REPEATS", "TAIL", "LagMemory", "cadence_of", "find_stalls"]

TAIL: Final = 16 << 10
_STEP: Final = re.compile(r"\s*Step\s+\d+")
REPEATS: Final = 3
"""The orchestrator's last line, seen this many times among its last lines, is a wait."""
LAG_CADENCES: Final = 3
LAG_MIN_S: Final = 30.0
"""A rank is lagging once its peers passed its step more than ``max(LAG_CADENCES x
cadence, LAG_MIN_S)`` ago (300 s before a cadence is known)."""
LAG_NO_CADENCE_S: Final = 300.0

LagMemory = dict[int, tuple[int, float, float]]
"""rank -> (its last step, that step line's time, the earliest time a peer was seen
past it): one entry per rank, replaced when the rank moves on (`find_stalls`)."""


@dataclass
class _Unit:
    component: str
    rank: int | None
    scans: list[FileScan] = field(default_factory=list)

    @property
    def last_write(self) -> float:
        return max((s.mtime for s in self.scans if s.mtime is not None), default=0.0)

    @property
    def steps(self) -> list[tuple[int, float]]:
        """(step, epoch) of the unit's last step lines, oldest first."""
        best: list[tuple[int, float]] = []
        for s in self.scans:
            timed = [(n, t) for n, rel in s.steps if (t := s.epoch(rel)) is not None]
            if len(timed) > len(best) or (timed and best and timed[-1][0] > best[-1][0]):
                best = timed
        return best

    @property
    def name(self) -> str:
        return f"rank {self.rank}" if self.rank is not None else self.component


def cadence_of(steps: list[tuple[int, float]]) -> list[float]:
    """Seconds per step between successive step lines."""
    return [(t1 - t0) / (s1 - s0) for (s0, t0), (s1, t1) in pairwise(steps) if s1 > s0 and t1 >= t0]


def _units(scans: Iterable[FileScan]) -> tuple[list[_Unit], _Unit | None]:
    ranks: dict[int, _Unit] = {}
    orch: _Unit | None = None
    for s in scans:
        src = s.source
        if src.component == layout.TRAINER and src.rank is not None:
            ranks.setdefault(src.rank, _Unit(layout.TRAINER, src.rank)).scans.append(s)
        elif src.component == layout.ORCHESTRATOR:
            orch = orch or _Unit(layout.ORCHESTRATOR, None)
            orch.scans.append(s)
    return [ranks[r] for r in sorted(ranks)], orch


def _trainer_step(path: Path) -> int | None:
    """The step ``trainer_step`` holds (prime-rl's trainer writes its last finished step)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() and len(text) < 19 else None


def _mtime(path: Path) -> float | None:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def find_stalls(
    scans: list[FileScan],
    run_dir: Path,
    now: float,
    thresholds: Thresholds,
    memory: LagMemory | None = None,
) -> list[Stall]:
    """The stalls of the files ``scans`` (one attempt's, or several), at ``now``;
    ``memory`` (kept by the caller between calls) remembers when each rank's peers
    were first seen past its step."""
    ranks, orch = _units(scans)
    per_step: list[float] = cadence_of(orch.steps) if orch is not None else []
    if len(per_step) < 1:
        per_step = [x for u in ranks for x in cadence_of(u.steps)]
    cadence = statistics.median(per_step[-40:]) if per_step else None
    limit = (
        max(thresholds.stall_factor * cadence, thresholds.stall_min_s)
        if cadence is not None
        else thresholds.no_cadence_s
    )
    pace = f"step cadence {format_duration(cadence)}" if cadence is not None else "no cadence yet"
    writes = [s.mtime for s in scans if s.mtime is not None]
    writes += [
        t
        for p in (run_dir / "trainer_step", layout.metrics_jsonl(run_dir))
        if (t := _mtime(p)) is not None
    ]
    if not writes:
        return []
    newest = max(writes)
    out: list[Stall] = []
    last_steps = [u.steps[-1][0] for u in [*ranks, *([orch] if orch else [])] if u.steps]
    trained = _trainer_step(run_dir / "trainer_step")
    if trained is not None:
        last_steps.append(trained)
    top_step = max(last_steps) if last_steps else None
    silent = now - newest
    run_silent = silent > limit
    if run_silent:
        out.append(
            Stall(
                "run",
                None,
                top_step,
                silent,
                "run silent",
                f"no log written for {format_duration(silent)} ({pace}; limit "
                f"{format_duration(limit)})",
            )
        )
    out.extend(_lagging(ranks, now, cadence, pace, {} if memory is None else memory))
    if not run_silent:
        out.extend(_silent(ranks, orch, scans, now, limit, pace))
        if orch is not None:
            frozen = _frozen(orch, now, limit, pace)
            if frozen is not None:
                out.append(frozen)
    return out


def _lagging(
    ranks: list[_Unit], now: float, cadence: float | None, pace: str, memory: LagMemory
) -> list[Stall]:
    """Ranks whose last step its peers passed more than ``max(LAG_CADENCES x cadence,
    LAG_MIN_S)`` ago. When the peers passed it: their first step line after it in
    their last `STEP_HISTORY` lines (else the oldest one there: at the latest then),
    or earlier when ``memory`` saw one before."""
    stepped = [(u, st) for u in ranks if (st := u.steps)]
    if len(stepped) < 2:
        memory.clear()
        return []
    top = max(st[-1][0] for _, st in stepped)
    at_top = sum(1 for _, st in stepped if st[-1][0] == top)
    grace = max(LAG_CADENCES * cadence, LAG_MIN_S) if cadence is not None else LAG_NO_CADENCE_S
    out = []
    behind: set[int] = set()
    for u, st in stepped:
        step, when = st[-1]
        if step >= top or u.rank is None:
            continue
        passed = min(t for p, pst in stepped if p is not u for s, t in pst if s > step)
        seen = memory.get(u.rank)
        if seen is not None and seen[0] == step and abs(seen[1] - when) < 1.0:
            passed = min(passed, seen[2])
        memory[u.rank] = (step, when, passed)
        behind.add(u.rank)
        behind_for = now - passed
        if behind_for <= grace:
            continue
        peers = f"{at_top} of its peers at step {top}"
        out.append(
            Stall(
                layout.TRAINER,
                u.rank,
                step,
                max(0.0, now - when),
                "lagging",
                f"{u.name} at step {step}, its peers passed step {step} "
                f"{format_duration(behind_for)} ago ({peers}; {pace})",
                u.scans[0].path,
            )
        )
    for rank in [r for r in memory if r not in behind]:
        del memory[rank]  # caught up (or gone): bounded by the ranks behind
    return out


def _silent(
    ranks: list[_Unit],
    orch: _Unit | None,
    scans: list[FileScan],
    now: float,
    limit: float,
    pace: str,
) -> list[Stall]:
    out = []
    units = [*ranks, *([orch] if orch is not None else [])]
    for u in units:
        quiet = now - u.last_write
        if quiet <= limit or not u.steps:
            continue  # (a rank that never logs a step, rank 0 logging for all, is not judged)
        if u.component == layout.TRAINER:
            peers = [p.last_write for p in ranks if p is not u]
            whom = "its peers"
        else:
            peers = [s.mtime for s in scans if s.mtime is not None and s not in u.scans]
            whom = "the other files"
        if not peers or now - max(peers) > limit:
            continue
        step = u.steps[-1][0] if u.steps else None
        out.append(
            Stall(
                u.component,
                u.rank,
                step,
                quiet,
                "silent",
                f"{u.name} silent for {format_duration(quiet)} while {whom} wrote "
                f"{format_duration(now - max(peers))} ago ({pace}; limit {format_duration(limit)})",
                u.scans[0].path,
            )
        )
    return out


def _frozen(orch: _Unit, now: float, limit: float, pace: str) -> Stall | None:
    if now - orch.last_write > limit:
        return None  # silent, not frozen
    steps = orch.steps
    if not steps:
        return None
    step, when = steps[-1]
    if now - when <= limit:
        return None
    main = max(orch.scans, key=lambda s: s.size)
    line, count = _repeated_last_line(main.path)
    if count < REPEATS or _STEP.match(line):
        return None
    return Stall(
        layout.ORCHESTRATOR,
        None,
        step,
        now - when,
        "frozen",
        f"orchestrator: no step for {format_duration(now - when)} (last step {step}; {pace}), "
        f"repeating {line!r} ({count} times in its last lines)",
        main.path,
    )


def _repeated_last_line(path: Path) -> tuple[str, int]:
    """The message of the last record of a file and how many of its last records share
    its template (read from the last `TAIL` bytes)."""
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - TAIL))
            data = fh.read(TAIL)
    except OSError:
        return "", 0
    records = []
    for raw in data.splitlines()[1:] if len(data) == TAIL else data.splitlines():
        info = parse_line(decode_line(raw))
        if info.header and info.message.strip():
            records.append(info.message.strip())
    if not records:
        return "", 0
    last = template(records[-1])
    count = sum(1 for m in records[-200:] if template(m) == last)
    return records[-1][:80], count
