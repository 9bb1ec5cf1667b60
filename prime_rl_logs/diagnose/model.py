"""What the doctor finds, as plain data: the contract between the analysis
(`diagnose.doctor`), the `doctor` command, the Problems pane and the alerts.

Everything here is frozen and holds only numbers, strings, paths and tuples of
them, so a `Report` can be built in a worker thread, handed to the event loop and
compared with the previous one. `Report.to_json` gives the documented `--json`
keys (README, "When something goes wrong"); strings from log files are kept as
read (sanitising is the printer's job, as everywhere else).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    """One line for people: "NCCL watchdog timeout on ranks 0-4,6,7, 600 s after CUDA OOM on rank 5"."""


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

    @property
    def problem_count(self) -> int:
        return sum(1 for g in self.groups if g.level != "WARNING") + len(self.stalls)

    @property
    def healthy(self) -> bool:
        return self.first_failure is None and not self.stalls and self.problem_count == 0

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError  # the doctor helper writes this (documented keys)
