"""``python scripts/bench.py runs [--runs N] [--ranks R] [--repeat K]``: the runs table.

Writes a folder of N runs (default 200) of R ranks (default 8) with
`tests.runs_fixture` (a third each live after a crashed attempt, finished,
stalled; every rank with its torchrun stdout and stderr), then times what the runs
screen and ``prime-logs runs`` do: `prime_rl_logs.runs.find_runs` and
`scan_runs` (stat and the tails of files), K times, and prints the best and the
median. The issue's bar: well under 1 s for 200 runs of 8 ranks.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prime_rl_logs.runs import find_runs, scan_runs  # noqa: E402
from tests.runs_fixture import write_finished, write_live, write_stalled  # noqa: E402


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.py runs")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--ranks", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5)
    opts = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-runs-") as tmp:
        root = Path(tmp) / "outputs"
        now = time.time()
        writers = (write_live, write_finished, write_stalled)
        t0 = time.perf_counter()
        for i in range(opts.runs):
            writers[i % 3](root / f"run-{i:04d}", now, opts.ranks)
        files = sum(1 for p in root.rglob("*") if p.is_file())
        print(
            f"wrote {opts.runs} runs x {opts.ranks} ranks ({files} files) "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        times, cpu = [], []
        for _ in range(opts.repeat):
            t, c = time.perf_counter(), time.process_time()
            found = find_runs(root, registry=None)
            infos = scan_runs(found.runs)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        counts: dict[str, int] = {}
        for info in infos:
            counts[info.status] = counts.get(info.status, 0) + 1
        print(f"statuses: {counts}")
        print(
            f"find_runs + scan_runs: best {min(times) * 1000:.0f} ms, "
            f"median {statistics.median(times) * 1000:.0f} ms over {opts.repeat}; "
            f"CPU best {min(cpu) * 1000:.0f} ms (wall time also counts other processes' load)"
        )
    return 0
