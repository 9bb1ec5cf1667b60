"""`prime-logs doctor [PATH] [--run NAME] [--attempt N|latest|all] [--json]`: what went wrong.

PATH, ``--run`` and ``--attempt`` are resolved as for ``tail`` and ``metrics``
(`commands.run_dir.apply_run_options`). Runs `prime_rl_logs.diagnose.diagnose` and
prints a report a person reads in ten seconds: the status, the first failure with
its traceback, the groups of problems (consequences indented under their cause),
the warnings, the stalls, each with file:line; or, with ``--json``, one object
(`Report.to_json`, docs/doctor.md). Every string that comes from a file or a file
name is passed through `core.ansi.sanitize` (colours kept only on a terminal) or
`layout.safe_name`. Exit code 0 when the run is healthy or finished without an
error, 1 when problems were found, 2 on bad input (`UsageError`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime
from pathlib import Path

from prime_rl_logs import layout
from prime_rl_logs.core.ansi import sanitize, strip_sgr
from prime_rl_logs.diagnose import Group, Report, diagnose
from prime_rl_logs.diagnose.model import Finding
from prime_rl_logs.diagnose.text import ranks_text
from prime_rl_logs.errors import UsageError
from prime_rl_logs.runs import Attempt, attempts_of
from prime_rl_logs.stdout import write_all

TRACEBACK_SHOWN = 24
"""Traceback lines printed under the first failure (the last ones)."""
WARNINGS_SHOWN = 8


def _attempts(args: argparse.Namespace, run: Path) -> list[Attempt] | None:
    if getattr(args, "attempts", None):
        return list(args.attempts)
    logs = getattr(args, "logs", None)
    if logs is None:
        return None
    return [a for a in attempts_of(run) if a.logs == Path(logs)] or None


def main(args: argparse.Namespace) -> int:
    """``prime-logs doctor``."""
    run = Path(args.output_dir)
    if not run.is_dir():
        raise UsageError(f"{layout.safe_name(str(run))} does not exist")
    if not layout.logs_dir(run).is_dir():
        raise UsageError(f"{layout.safe_name(str(run))} has no logs/ folder: not a prime-rl run")
    report = diagnose(run, _attempts(args, run))
    if getattr(args, "json", False):
        write_all(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        write_all(render(report, colour=colour))
    return 0 if report.healthy else 1


# ---------------------------------------------------------------------------
# The text report


def _clean(text: str, colour: bool) -> str:
    text = sanitize(text)
    return text if colour else strip_sgr(text)


def _when(t: float | None, inferred: bool = False) -> str:
    if t is None:
        return "time unknown"
    stamp = datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")
    return f"{stamp} (inferred)" if inferred else stamp


def _where(run: Path | None, file: Path, line: int) -> str:
    try:
        rel = file.relative_to(run) if run is not None else file
    except ValueError:
        rel = file
    return f"{layout.safe_name(str(rel))}:{line}"


def _who(f: Finding) -> str:
    parts = [f.component]
    if f.rank is not None:
        parts.append(f"rank {f.rank}")
    if f.node is not None:
        parts.append(f"node {f.node}")
    if f.attempt is not None:
        parts.append(f"attempt {f.attempt}")
    return " ".join(parts)


def _group_line(g: Group, run: Path | None, colour: bool, indent: str) -> list[str]:
    """Two lines: level, count, signature and title (a folded group: its note, which
    says who and how long after the cause); then who, when, and where the first is."""
    who = []
    if g.ranks:
        who.append(f"ranks {ranks_text(g.ranks)}" if len(g.ranks) > 1 else f"rank {g.ranks[0]}")
    who.append(", ".join(g.components))
    span = _when(g.first_seen)
    if g.last_seen is not None and g.last_seen != g.first_seen:
        span += f" .. {_when(g.last_seen)[11:]}"
    name = f"[{g.signature}] " if g.signature else ""
    head, pad = indent, " " * len(indent)
    title = g.note or g.title or g.template
    where = _where(run, g.first.file, g.first.line)
    return [
        f"{head}{g.level:<8} x{g.count:<5} {name}{_clean(title, colour)}",
        f"{pad}{'':16}{'; '.join(who)}; {span}; first at {where}",
    ]


def render(report: Report, *, colour: bool = False) -> str:
    """The text report (see the module docstring)."""
    run = report.path
    attempt = (
        f"attempt {report.attempt}"
        if report.attempt is not None
        else "attempts " + ",".join(map(str, report.attempts))
    )
    lines = [
        f"{layout.safe_name(report.run)} ({attempt}): {report.status.upper()}"
        f" — {_clean(report.reason, colour)}",
        "",
    ]
    ff = report.first_failure
    if ff is not None:
        sig = f" [{ff.signature}]" if ff.signature else ""
        lines.append(f"First failure{sig}: {_who(ff)}, {_when(ff.time, ff.time_inferred)}")
        lines.append(f"  {_clean(ff.message, colour)}")
        lines.append(f"  at {_where(run, ff.file, ff.line)}")
        if ff.hint:
            lines.append(f"  hint: {ff.hint}")
        tb = list(ff.traceback)
        if tb:
            shown = tb[-TRACEBACK_SHOWN:]
            if len(tb) > len(shown):
                lines.append(f"    ... ({len(tb) - len(shown)} lines above)")
            lines.extend("    " + _clean(t, colour) for t in shown)
        lines.append("")
    problems = [g for g in report.groups if g.level != "WARNING"]
    warnings = [g for g in report.groups if g.level == "WARNING"]
    if problems:
        lines.append(f"Errors ({len(problems)} groups):")
        by_cause: dict[str, list[Group]] = {}
        for g in report.groups:
            if g.caused_by:
                by_cause.setdefault(g.caused_by, []).append(g)
        for g in problems:
            if g.caused_by:
                continue
            lines.extend(_group_line(g, run, colour, "  "))
            for child in by_cause.get(g.key, []):
                lines.extend(_group_line(child, run, colour, "    └ "))
        lines.append("")
    unfolded = [g for g in warnings if not g.caused_by]
    if unfolded:
        lines.append(f"Warnings ({len(warnings)} groups):")
        for g in sorted(unfolded, key=lambda g: -g.count)[:WARNINGS_SHOWN]:
            lines.extend(_group_line(g, run, colour, "  "))
        if len(unfolded) > WARNINGS_SHOWN:
            lines.append(f"  ... and {len(unfolded) - WARNINGS_SHOWN} more (--json lists them)")
        lines.append("")
    if report.stalls:
        lines.append("Stalls:")
        for s in report.stalls:
            at = f" ({_where(run, s.file, 0)[:-2]})" if s.file is not None else ""
            lines.append(f"  {s.reason}: {_clean(s.detail, colour)}{at}")
        lines.append("")
    for error in report.errors:
        lines.append(f"could not read: {layout.safe_name(error)}")
    if report.healthy:
        lines.append("No problems found.")
    return "\n".join(lines).rstrip("\n") + "\n"
