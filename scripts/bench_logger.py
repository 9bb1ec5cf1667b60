"""Benchmark: lines per second through ``get_logger()`` to a file vs bare loguru.

Both loggers write the same line format (colours included) to a file in the same
temporary folder, with no console handler:

* **ours**: ``setup_logger(level, file, console=False)`` then ``get_logger().info(...)``
  for each line, which writes through `AppendFileSink` (one ``O_APPEND`` write per
  record);
* **bare**: a loguru ``Logger`` on its own core with loguru's own file sink
  (``logger.add(path, format=..., colorize=True)``: line-buffered, one write per
  line) and the same format string.

Rounds alternate ours / bare so that machine noise hits both; the best round of each
is reported (the least disturbed), with the median alongside, and the ratio
ours / bare (1.00 = as fast as bare loguru; the target is >= 0.90).

    python scripts/bench.py logger [--lines 100000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from prime_rl_logs.logger import (
    get_logger,
    isolated_logger,
    line_format,
    reset_logger,
    setup_logger,
)

MESSAGE = (
    "Step {} | Time: 13.87s | Reward: 0.5123 | Throughput: 1234.5 tokens/s | "
    "Seq. Length: 812.3 | Async Level: 1 | Max. Off-Policy Level: 1"
)


def _ours(path: Path, lines: int) -> float:
    reset_logger()
    path.unlink(missing_ok=True)
    setup_logger("info", path, console=False)
    start = time.perf_counter()
    for i in range(lines):
        get_logger().info(MESSAGE.format(i))
    elapsed = time.perf_counter() - start
    reset_logger()
    return lines / elapsed


def _bare(path: Path, lines: int) -> float:
    path.unlink(missing_ok=True)
    logger = isolated_logger()  # the same bare loguru Logger, with loguru's own sink
    logger.add(path, format=line_format("info"), level="INFO", colorize=True)
    start = time.perf_counter()
    for i in range(lines):
        logger.info(MESSAGE.format(i))
    elapsed = time.perf_counter() - start
    logger.remove()
    return lines / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.py logger", description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000, help="lines per round")
    parser.add_argument("--rounds", type=int, default=7, help="rounds of each logger")
    args = parser.parse_args(argv)

    runs: dict[str, list[float]] = {"ours": [], "bare": []}
    bench: dict[str, Callable[[Path, int], float]] = {"ours": _ours, "bare": _bare}
    with tempfile.TemporaryDirectory(prefix="bench-logger-") as tmp:
        folder = Path(tmp)
        _ours(folder / "warm.log", 2_000)  # warm both paths (imports, caches)
        _bare(folder / "warm.log", 2_000)
        for round_no in range(args.rounds):
            order = ("ours", "bare") if round_no % 2 == 0 else ("bare", "ours")
            for name in order:
                runs[name].append(bench[name](folder / f"{name}.log", args.lines))
        sizes = {name: (folder / f"{name}.log").stat().st_size for name in runs}

    print(f"{args.lines:,} lines x {args.rounds} rounds, alternating; one INFO step line each")
    print(f"{'':6} {'best lines/s':>14} {'median lines/s':>16}")
    for name, label in (("ours", "ours"), ("bare", "bare")):
        print(f"{label:6} {max(runs[name]):>14,.0f} {statistics.median(runs[name]):>16,.0f}")
    best = max(runs["ours"]) / max(runs["bare"])
    median = statistics.median(runs["ours"]) / statistics.median(runs["bare"])
    print(f"ratio ours/bare: {best:.2f} (best), {median:.2f} (median); target >= 0.90")
    if sizes["ours"] != sizes["bare"]:
        print(f"note: file sizes differ (ours {sizes['ours']:,} B, bare {sizes['bare']:,} B)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
