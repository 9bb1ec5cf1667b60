"""The dashboard beside its peers, measured from outside with tuibench in one run.

    python scripts/bench.py tui --tuibench ../shared/bench/tuibench.py [--size-mb 1024]

Runs each scenario of tuibench (open a big file, append-to-screen latency under
load, idle CPU) for `prime-logs watch`, toolong (`tl`), lnav and `tail -F`, one
viewer after the other inside each scenario, and prints one table. Viewers that are
not installed are skipped with a note. tuibench writes the marker into
``logs/orchestrator.log``, the pane `prime-logs watch` opens by default.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

VIEWERS: dict[str, tuple[str, str]] = {
    # name -> (executable to look for, command for tuibench). Each viewer is given
    # every log file of the run ({files}), as prime-logs finds them by itself; in the
    # open scenario the other files are empty.
    "prime-logs": ("prime-logs", "{exe} watch {dir}"),
    "toolong": ("tl", "{exe} {files}"),
    "lnav": ("lnav", "{exe} {files}"),
    "tail -F": ("tail", "{exe} -F {files}"),
}


def find(exe: str) -> str | None:
    here = Path(sys.executable).with_name(exe)
    return str(here) if here.exists() else shutil.which(exe)


def run(tuibench: Path, scenario: list[str], command: str, timeout: float) -> dict[str, object]:
    try:
        out = subprocess.run(
            [sys.executable, str(tuibench), *scenario, "--", *command.split()],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:  # a viewer that never shows the marker
        return {"error": f"no result in {timeout:.0f} s"}
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"error": (out.stderr.strip().splitlines() or ["no result"])[-1]}
    result: dict[str, object] = json.loads(lines[-1])
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tuibench", type=Path, default=Path("../shared/bench/tuibench.py"))
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--idle-files", type=int, default=64)
    parser.add_argument("--viewers", default=",".join(VIEWERS))
    parser.add_argument("--skip", default="", help="scenarios to skip: open,latency,idle")
    args = parser.parse_args(argv)
    if not args.tuibench.exists():
        print(f"bench tui: no tuibench at {args.tuibench}", file=sys.stderr)
        return 2

    scenarios = {
        "open": ["open", "--size-mb", str(args.size_mb), "--timeout", "120"],
        "latency": ["latency", "--rate", str(args.rate), "--files", str(args.files)],
        "idle": ["idle", "--files", str(args.idle_files)],
    }
    skip = set(filter(None, args.skip.split(",")))
    results: dict[str, dict[str, dict[str, object]]] = {}
    for name in args.viewers.split(","):
        exe_name, template = VIEWERS[name]
        exe = find(exe_name)
        if exe is None:
            print(f"{name}: not installed, skipped", file=sys.stderr)
    for scenario, scenario_args in scenarios.items():
        if scenario in skip:
            continue
        for name in args.viewers.split(","):
            exe_name, template = VIEWERS[name]
            exe = find(exe_name)
            if exe is None:
                continue
            command = template.replace("{exe}", exe)
            result = run(args.tuibench, scenario_args, command, timeout=600)
            results.setdefault(name, {})[scenario] = result
            print(f"{scenario:8} {name:11} {json.dumps(result)}", file=sys.stderr)

    def cell(name: str, scenario: str, key: str, unit: str = "") -> str:
        value = results.get(name, {}).get(scenario, {}).get(key)
        return "n/a" if value is None else f"{value}{unit}"

    header = (
        f"| viewer | end of {args.size_mb} MB on screen | RSS then | "
        f"latency p50 / p95 ({args.rate} lines/s, {args.files} files) | CPU under load | "
        f"idle CPU ({args.idle_files} files, per 10 s) |"
    )
    print(header)
    print("|---|---|---|---|---|---|")
    for name in results:
        print(
            f"| {name} | {cell(name, 'open', 'seconds', ' s')} | "
            f"{cell(name, 'open', 'rss_mb', ' MB')} | "
            f"{cell(name, 'latency', 'p50_ms', ' ms')} / {cell(name, 'latency', 'p95_ms', ' ms')}"
            f" | {cell(name, 'latency', 'cpu_share')} | "
            f"{cell(name, 'idle', 'cpu_s_per_10s', ' s')} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
