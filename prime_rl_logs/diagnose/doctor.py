"""The doctor: what went wrong in a run, where, and first; which rank stalled.

`Doctor(run_dir, attempts=None)` follows the log files of one attempt (None: the
current one, read through ``logs/`` and ``logs/latest`` plus a torchrun
``--log-dir`` tree elsewhere in the run, as the dashboard reads it) or of the
attempts given (`runs.find.Attempt`, e.g. every one for ``--attempt all``).
`update()` reads only what was appended to each file since the last call (a
`diagnose.filescan.FileScan` per file: one ``stat`` when nothing changed, byte
searches for the rest) and says whether anything changed; `report(now)` builds a
`Report`: the run's status (`runs.run_info`), the first failure (the earliest
error-level record by time across the files), the groups of errors and warnings
(by signature, else by masked template; capped at `MAX_GROUPS`, counted beyond),
folded under their cause, and the stalls (`diagnose.stalls`). `diagnose(run_dir)`
is one update and one report. The dashboard calls `update` from a worker thread
every couple of seconds; the state it holds is per file a few numbers and the last
step lines, per group two findings and counts. When ``logs/latest`` moves to a new
attempt, what was found is forgotten and the new attempt is read from its start.

Folding (docs/doctor.md): a group other than the first failure's whose first record
is at or after the first failure and in the same attempt, with no signature or a
``consequence`` signature (`diagnose.signatures`), is ``caused_by`` the first
failure's group (a later attempt's problems are not caused by an earlier attempt's
crash), with a note
such as "NCCL watchdog timeout on ranks 0-4,6,7, 600 s after CUDA OOM on rank 5".
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from prime_rl_logs import layout, levels
from prime_rl_logs.core.formats import RANK_IN_MESSAGE_RE
from prime_rl_logs.diagnose.filescan import FileScan, Hit, SignatureCache
from prime_rl_logs.diagnose.model import Finding, Group, Report, Stall
from prime_rl_logs.diagnose.signatures import Signature
from prime_rl_logs.diagnose.stalls import LagMemory, find_stalls
from prime_rl_logs.diagnose.text import ranks_text, template
from prime_rl_logs.runs import Attempt, Thresholds, attempts_of, format_duration, run_info

__all__ = ["MAX_GROUPS", "OTHER_GROUP", "Doctor", "diagnose"]

MAX_GROUPS: Final = 400
"""Groups kept with their own template; records of further templates count in
`OTHER_GROUP` (a run that logs a new message per record must not grow memory)."""
OTHER_GROUP: Final = "(other)"
MAX_RANKS: Final = 4096
TITLE_MAX: Final = 80


def _level_name(level: int) -> str:
    if level >= levels.CRITICAL:
        return "CRITICAL"
    if level >= levels.ERROR:
        return "ERROR"
    return "WARNING"


@dataclass
class _Acc:
    """A group being counted."""

    key: str
    level: int
    signature: Signature | None
    template: str
    first: Finding
    last: Finding
    count: int = 0
    ranks: set[int] = field(default_factory=set)
    components: set[str] = field(default_factory=set)
    first_seen: float | None = None
    last_seen: float | None = None


def _earlier(a: float | None, b: float | None) -> bool:
    """Whether time ``a`` is before ``b`` (a known time is before an unknown one)."""
    if a is None:
        return False
    return b is None or a < b


class Doctor:
    """A run's problems, followed incrementally (see the module docstring)."""

    def __init__(
        self,
        run_dir: str | Path,
        attempts: list[Attempt] | None = None,
        *,
        thresholds: Thresholds | None = None,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.attempts = list(attempts) if attempts is not None else None
        self.thresholds = thresholds or Thresholds()
        self._scans: dict[Path, FileScan] = {}
        self._groups: dict[str, _Acc] = {}
        self._first_errors: dict[Path, Finding] = {}
        self.too_deep: list[Path] = []
        self._copies: set[Path] = set()
        self._sources: dict[Path, layout.Source] = {}
        self._sigs: SignatureCache = {}
        self._current: int | None = None
        self._lag: LagMemory = {}
        """When each lagging rank's peers were first seen past its step (`find_stalls`)."""

    # ------------------------------------------------------------------ files

    @property
    def scans(self) -> list[FileScan]:
        return list(self._scans.values())

    @property
    def bytes_read(self) -> int:
        """Bytes read from files so far (what the incremental test counts)."""
        return sum(s.bytes_read for s in self._scans.values())

    def _targets(self) -> list[tuple[Path, layout.Source, int | None]]:
        run = self.run_dir
        out: list[tuple[Path, layout.Source, int | None]] = []
        cut: list[Path] = []
        if self.attempts is None:
            logs = run / layout.LOGS_DIR
            current = next((a.number for a in attempts_of(run) if a.current), None)
            if current != self._current:
                # logs/latest moved to a new attempt: what was found is the old one's.
                self._forget()
                self._current = current
            paths = layout.discover(logs, cut=cut) if logs.is_dir() else []
            paths += layout.discover_torchrun_trees(run)
            # (Source.attempt of a torchrun file is torchrun's restart count, not the run's.)
            out.extend((p, self._source(p, logs), current) for p in paths)
        else:
            for a in self.attempts:
                paths = layout.discover(a.logs, cut=cut) if a.logs.is_dir() else []
                if a.logs == run / layout.LOGS_DIR:
                    paths = [
                        p
                        for p in paths
                        if not p.relative_to(a.logs).parts[0].startswith("attempt_")
                    ]
                if a.current:
                    paths += layout.discover_torchrun_trees(run)
                out.extend((p, self._source(p, a.logs), a.number) for p in paths)
        self.too_deep = cut
        # trainer.log repeats rank 0's lines (behind "[trainer0]:") when per-rank files
        # exist: only its own lines count then (torchrun's agent, ChildFailedError).
        per_rank = {a for _, s, a in out if s.stream is not None and s.component == layout.TRAINER}
        self._copies = {p for p, s, a in out if s.console_copy and a in per_rank}
        # A rank's stdout before its stderr (a bare traceback borrows its time).
        out.sort(key=lambda t: (t[1].stream == "stderr", t[1].sort_key))
        return out

    def _source(self, path: Path, logs: Path) -> layout.Source:
        """`layout.classify_in_run` of a path, once per path."""
        source = self._sources.get(path)
        if source is None:
            source = self._sources[path] = layout.classify_in_run(path, self.run_dir, logs)
        return source

    def _forget(self) -> None:
        self._scans.clear()
        self._groups.clear()
        self._first_errors.clear()
        self._sources.clear()
        self._lag.clear()

    # ------------------------------------------------------------------ update

    def update(self) -> bool:
        """Read what was appended to every file since the last call (new files from
        their start); True when anything changed."""
        changed = False
        for path, source, attempt in self._targets():
            scan = self._scans.get(path)
            if scan is None:
                scan = self._scans[path] = FileScan(path, source, attempt, self._sigs)
                changed = True
            hits = scan.poll()
            if hits is None:
                continue
            changed = True
            copy = path in self._copies
            for hit in hits:
                if not (copy and hit.rank is not None):
                    self._add(scan, hit)
        return changed

    def _time_of(self, scan: FileScan, hit: Hit) -> tuple[float | None, bool]:
        if hit.at is not None:
            return hit.at, False  # the line's own date
        t = scan.epoch(hit.rel)
        if not hit.inferred:
            return t, False
        if scan.source.stream == "stderr":
            # A bare traceback in a rank's stderr: its stdout's latest record is the
            # nearest neighbour in time.
            sibling = self._scans.get(scan.path.with_name("stdout.log"))
            near = sibling.last_epoch if sibling is not None else None
            if near is not None and (t is None or near > t):
                t = near
        if t is None:
            t = scan.mtime
        return t, True

    def _add(self, scan: FileScan, hit: Hit) -> None:
        src = scan.source
        when, inferred = self._time_of(scan, hit)
        rank = hit.rank if hit.rank is not None else src.rank
        if rank is None and (m := RANK_IN_MESSAGE_RE.search(hit.message)) is not None:
            rank = int(m.group(1))
        sig = hit.signature
        level = hit.level
        if sig is not None and sig.level is not None:
            level = max(level, levels.LEVELS[sig.level])
        tmpl = hit.template or template(hit.message)
        key = sig.name if sig is not None else f"{_level_name(level)}: {tmpl}"
        if key not in self._groups and len(self._groups) >= MAX_GROUPS:
            key = OTHER_GROUP
            tmpl = "(messages of further templates)"
        finding = Finding(
            time=when,
            component=src.component,
            rank=rank,
            node=src.node,
            file=scan.path,
            line=hit.line,
            offset=hit.offset,
            message=hit.message,
            signature=sig.name if sig is not None else None,
            hint=sig.hint if sig is not None else None,
            traceback=hit.traceback,
            time_inferred=inferred,
            attempt=scan.attempt,
            group=key,
            level=levels.name_at_or_below(hit.level) if hit.level else "ERROR",
        )
        acc = self._groups.get(key)
        if acc is None:
            acc = self._groups[key] = _Acc(key, level, sig, tmpl, finding, finding)
        acc.count += 1
        acc.level = max(acc.level, level)
        if rank is not None and len(acc.ranks) < MAX_RANKS:
            acc.ranks.add(rank)
        acc.components.add(src.component)
        if acc.count == 1 or _earlier(when, acc.first_seen):
            acc.first_seen = when
            acc.first = finding
        if when is not None and (acc.last_seen is None or when >= acc.last_seen):
            acc.last_seen = when
            acc.last = finding
        if hit.level >= levels.ERROR and scan.path not in self._first_errors:
            self._first_errors[scan.path] = finding

    # ------------------------------------------------------------------ report

    def first_failure(self) -> Finding | None:
        """The earliest error-level record across the files (ties: a signature that is
        not a consequence first, then a clock of its own, then the run's file order)."""
        order = {p: i for i, p in enumerate(self._scans)}

        def rank(f: Finding) -> tuple[float, int, int, int]:
            sig = self._groups[f.group].signature if f.group in self._groups else None
            kind = 1 if f.signature is None else (2 if sig is not None and sig.consequence else 0)
            t = f.time if f.time is not None else float("inf")
            return (t, kind, int(f.time_inferred), order.get(f.file, 0))

        found = list(self._first_errors.values())
        return min(found, key=rank) if found else None

    def _groups_out(self, first: Finding | None) -> tuple[Group, ...]:
        cause = self._groups.get(first.group) if first is not None and first.group else None
        out = []
        for acc in self._groups.values():
            caused_by = note = None
            if (
                cause is not None
                and first is not None
                and acc is not cause
                and (acc.signature is None or acc.signature.consequence)
                and acc.first_seen is not None
                and first.time is not None
                and acc.first_seen >= first.time
                and acc.first.attempt == first.attempt
            ):
                caused_by = cause.key
                there = _where({first.rank} if first.rank is not None else set(), {first.component})
                note = (
                    f"{_named(acc)} {_where(acc.ranks, acc.components)}, "
                    f"{format_duration(acc.first_seen - first.time)} after {_title(cause)} {there}"
                )
            out.append(
                Group(
                    key=acc.key,
                    level=_level_name(acc.level),
                    signature=acc.signature.name if acc.signature is not None else None,
                    template=acc.template,
                    count=acc.count,
                    ranks=tuple(sorted(acc.ranks)),
                    components=tuple(sorted(acc.components, key=_component_order)),
                    first_seen=acc.first_seen,
                    last_seen=acc.last_seen,
                    first=acc.first,
                    caused_by=caused_by,
                    note=note,
                    hint=acc.signature.hint if acc.signature is not None else None,
                    title=_title(acc),
                )
            )
        out.sort(key=lambda g: (g.first_seen is None, g.first_seen or 0.0, g.key))
        return tuple(out)

    def report(self, now: float | None = None) -> Report:
        """What the files read so far say, judged at ``now`` (default: the clock)."""
        now = time.time() if now is None else now
        info = run_info(self.run_dir, now=now, thresholds=self.thresholds)
        attempt: int | None = info.current_attempt
        status, reason = info.status, info.reason
        numbers: tuple[int, ...] = (info.current_attempt,)
        if self.attempts is not None:
            numbers = tuple(a.number for a in self.attempts)
            if len(self.attempts) == 1:
                attempt = self.attempts[0].number
                try:
                    one = info.attempt(attempt)
                    status, reason = one.status, one.reason
                except KeyError:
                    pass
            else:
                attempt = None
        first = self.first_failure()
        groups = self._groups_out(first)
        stalls: list[Stall] = []
        if status in ("running", "stalled"):
            scans = [s for s in self._scans.values() if self._live(s, info.current_attempt)]
            stalls = find_stalls(scans, self.run_dir, now, self.thresholds, self._lag)
            if status == "stalled" and not any(s.reason == "run silent" for s in stalls):
                silent = max(0.0, now - info.last_write.timestamp()) if info.last_write else 0.0
                stalls.insert(0, Stall("run", None, info.step, silent, "run silent", reason))
        errors = [s.error for s in self._scans.values() if s.error]
        notice = layout.too_deep_notice(self.run_dir / layout.LOGS_DIR, self.too_deep)
        if notice:
            errors.append(notice)
        return Report(
            run=self.run_dir.name,
            status=status,
            attempt=attempt,
            first_failure=first,
            groups=groups,
            stalls=tuple(stalls),
            errors=tuple(errors),
            reason=reason,
            attempts=numbers,
            path=self.run_dir,
        )

    def _live(self, scan: FileScan, current: int) -> bool:
        """A file of the current attempt (stalls are about the attempt running now)."""
        return self.attempts is None or scan.attempt in (None, current)


def _component_order(name: str) -> int:
    return layout.COMPONENTS.index(name) if name in layout.COMPONENTS else len(layout.COMPONENTS)


def _named(acc: _Acc) -> str:
    """The title in a sentence: a message in quotes."""
    return _title(acc) if acc.signature is not None else f'"{_title(acc)}"'


def _title(acc: _Acc) -> str:
    """The signature's title, else the first record's message (cut at `TITLE_MAX`)."""
    if acc.signature is not None:
        return acc.signature.title
    text = " ".join(acc.first.message.split())
    return text if len(text) <= TITLE_MAX else text[: TITLE_MAX - 1] + "…"


def _where(ranks: set[int], components: set[str]) -> str:
    if ranks:
        return (
            f"on rank {next(iter(ranks))}" if len(ranks) == 1 else f"on ranks {ranks_text(ranks)}"
        )
    return "in " + ", ".join(sorted(components, key=_component_order))


def diagnose(
    run_dir: str | Path,
    attempts: list[Attempt] | None = None,
    now: float | None = None,
    *,
    thresholds: Thresholds | None = None,
) -> Report:
    """One `Doctor.update` and its `Doctor.report`: a run's diagnosis, once."""
    doctor = Doctor(run_dir, attempts, thresholds=thresholds)
    doctor.update()
    return doctor.report(now)
