"""`prime-logs runs [PATH] [--json]`: the runs of a folder, one line (or object) each.

PATH is a folder of runs, a run, or a path inside a run (`run_dir.resolve_run_dir`);
without it, `runs.default_output_dir`. The table has the name, the status and its
reason, step / max_steps, the last reward, the attempts and the age of the last
write, newest first. ``--json`` prints one JSON object per run per line with exactly
the keys of `prime_rl_logs.runs.JSON_KEYS` (documented in the README).
``--stall-factor`` and ``--stall-min`` set when a silent run counts as stalled.
"""

from __future__ import annotations

import argparse
import json
import time

from prime_rl_logs.commands.run_dir import resolve_run_dir
from prime_rl_logs.errors import UsageError
from prime_rl_logs.layout import safe_name
from prime_rl_logs.runs import (
    RunInfo,
    Thresholds,
    default_output_dir,
    find_runs,
    format_duration,
    scan_runs,
)
from prime_rl_logs.stdout import write_all

COLUMNS = ("NAME", "STATUS", "STEP", "REWARD", "ATT", "LAST WRITE", "REASON")


def thresholds(args: argparse.Namespace) -> Thresholds:
    factor = getattr(args, "stall_factor", None)
    minimum = getattr(args, "stall_min", None)
    if factor is not None and factor <= 0:
        raise UsageError(f"--stall-factor must be above 0, not {factor}")
    if minimum is not None and minimum < 0:
        raise UsageError(f"--stall-min must be 0 or more minutes, not {minimum}")
    base = Thresholds()
    return Thresholds(
        stall_factor=base.stall_factor if factor is None else factor,
        stall_min_s=base.stall_min_s if minimum is None else minimum * 60,
        no_cadence_s=base.no_cadence_s,
        crash_slack_s=base.crash_slack_s,
    )


def main(args: argparse.Namespace) -> int:
    """``prime-logs runs``."""
    path = args.output_dir if args.output_dir is not None else default_output_dir()
    found = find_runs(resolve_run_dir(path))
    now = time.time()
    infos = scan_runs(found.runs, now=now, thresholds=thresholds(args))
    if args.json:
        write_all("".join(json.dumps(i.to_json(), ensure_ascii=False) + "\n" for i in infos))
    else:
        write_all(table(infos, now))
    return 0


def table(infos: list[RunInfo], now: float) -> str:
    """The runs as aligned plain-text columns (names escaped)."""
    rows = [COLUMNS]
    for i in infos:
        step = "-" if i.step is None else str(i.step)
        if i.max_steps is not None:
            step += f"/{i.max_steps}"
        reward = "-" if i.last_reward is None else f"{i.last_reward:.4g}"
        age = "-"
        if i.last_write is not None:
            age = format_duration(max(0.0, now - i.last_write.timestamp())) + " ago"
        attempts = str(len(i.attempts))
        rows.append((safe_name(i.name), i.status, step, reward, attempts, age, i.reason))
    widths = [max(len(r[c]) for r in rows) for c in range(len(COLUMNS) - 1)]
    lines = []
    for r in rows:
        cells = [f"{cell:<{w}}" for cell, w in zip(r, widths, strict=False)]
        lines.append("  ".join([*cells, r[-1]]).rstrip())
    return "\n".join(lines) + "\n"
