"""What the doctor finds, as plain data: the contract between the analysis
(`diagnose.doctor`), the `doctor` command, the Problems pane and the alerts.

Everything here is frozen and holds only numbers, strings, paths and tuples of
them, so a `Report` can be built in a worker thread, handed to the event loop and
compared with the previous one. `Report.to_json` gives the documented `--json`
keys (docs/doctor.md; README, "When something goes wrong"); strings from log files are kept as
read (sanitising is the printer's job, as everywhere else).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prime_rl_logs.diagnose.text import iso

__all__ = ["Finding", "Group", "Report", "Stall"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One error-level record: where it is, when, and what it says."""

    time: float | None
    """Epoch seconds: the record's clock, or the clock it inherits (`time_inferred`)."""
    component: str
    """"trainer", "orchestrator", "inference", "env", ... (`layout.Source.component`)."""
    rank: int | None
    node: int | None
    file: Path
    line: int
    """1-based line number of the record's header in `file`."""
    offset: int
    """Byte offset of the header line in `file` (what the dashboard jumps to)."""
    message: str
    """The header line's message, or a bare traceback's final exception line."""
    signature: str | None = None
    """The name of the known failure it matches (`diagnose.signatures`), if any."""
    hint: str | None = None
    traceback: tuple[str, ...] = ()
    time_inferred: bool = False
    attempt: int | None = None
    group: str | None = None
    """The key of the `Group` this record counts in."""
    level: str = "ERROR"
    """Its level name: "ERROR", "CRITICAL", "WARNING" (or below, for a NaN line)."""

    def to_json(self) -> dict[str, Any]:
        """The ``first_failure`` object of ``doctor --json`` (times: `text.iso`)."""
        return {
            "time": iso(self.time),
            "time_inferred": self.time_inferred,
            "component": self.component,
            "rank": self.rank,
            "node": self.node,
            "attempt": self.attempt,
            "file": str(self.file),
            "line": self.line,
            "offset": self.offset,
            "level": self.level,
            "message": self.message,
            "signature": self.signature,
            "hint": self.hint,
            "traceback": list(self.traceback),
        }


@dataclass(frozen=True, slots=True)
class Group:
    """Error or warning records that share a masked template."""

    key: str
    """Stable identity across updates: signature or level plus template."""
    level: str
    """"ERROR" (or "CRITICAL") or "WARNING"."""
    signature: str | None
    template: str
    count: int
    ranks: tuple[int, ...]
    components: tuple[str, ...]
    first_seen: float | None
    last_seen: float | None
    first: Finding
    """The earliest record of the group (where `enter` goes)."""
    caused_by: str | None = None
    """The key of the group this one is folded under, e.g. NCCL timeouts after an OOM."""
    note: str | None = None
    """One line for people: "NCCL watchdog timeout on ranks 0-4,6,7, 600 s after CUDA OOM on
    rank 5"."""
    hint: str | None = None
    title: str | None = None
    """The signature's title, else the template: what a person reads first."""

    def to_json(self) -> dict[str, Any]:
        """One object of ``groups`` in ``doctor --json``."""
        return {
            "key": self.key,
            "level": self.level,
            "signature": self.signature,
            "title": self.title,
            "template": self.template,
            "count": self.count,
            "ranks": list(self.ranks),
            "components": list(self.components),
            "first_seen": iso(self.first_seen),
            "last_seen": iso(self.last_seen),
            "caused_by": self.caused_by,
            "note": self.note,
            "hint": self.hint,
            "file": str(self.first.file),
            "line": self.first.line,
        }


@dataclass(frozen=True, slots=True)
class Stall:
    """A rank or component that stopped making progress, and compared with what."""

    component: str
    rank: int | None
    last_step: int | None
    silent_s: float
    reason: str
    """"lagging" | "silent" | "frozen" | "run silent"."""
    detail: str
    """One line saying how long and compared with what."""
    file: Path | None = None

    def to_json(self) -> dict[str, Any]:
        """One object of ``stalls`` in ``doctor --json``."""
        return {
            "component": self.component,
            "rank": self.rank,
            "last_step": self.last_step,
            "silent_s": round(self.silent_s, 1),
            "reason": self.reason,
            "detail": self.detail,
            "file": str(self.file) if self.file is not None else None,
        }


@dataclass(frozen=True, slots=True)
class Report:
    run: str
    status: str
    """The run's status from `runs` ("running", "crashed", "finished", "stalled", ...)."""
    attempt: int | None
    first_failure: Finding | None
    groups: tuple[Group, ...] = ()
    stalls: tuple[Stall, ...] = ()
    errors: tuple[str, ...] = field(default=())
    """Files that could not be read, and why (never dropped in silence)."""
    reason: str = ""
    """The status in words (`runs.status.judge`): "crashed at step 42: ..."."""
    attempts: tuple[int, ...] = ()
    """The attempts read (``--attempt all``: every one; ``attempt`` is then None)."""
    path: Path | None = None
    """The run's folder."""

    @property
    def problem_count(self) -> int:
        return sum(1 for g in self.groups if g.level != "WARNING") + len(self.stalls)

    @property
    def healthy(self) -> bool:
        return self.first_failure is None and not self.stalls and self.problem_count == 0

    def to_json(self) -> dict[str, Any]:
        """What ``prime-logs doctor --json`` prints (docs/doctor.md): ``run``,
        ``status``, ``attempt``, ``first_failure``, ``groups``, ``stalls`` and
        ``reason``, ``attempts``, ``path``, ``problems``, ``errors``. Times are ISO 8601
        strings in local time with their offset (``2026-11-30T14:30:05+00:00``), or
        null; ``silent_s`` is seconds."""
        return {
            "run": self.run,
            "path": str(self.path) if self.path is not None else None,
            "status": self.status,
            "reason": self.reason,
            "attempt": self.attempt,
            "attempts": list(self.attempts),
            "problems": self.problem_count,
            "first_failure": self.first_failure.to_json() if self.first_failure else None,
            "groups": [g.to_json() for g in self.groups],
            "stalls": [s.to_json() for s in self.stalls],
            "errors": list(self.errors),
        }
