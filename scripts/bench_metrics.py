"""Metrics benchmark: steps per second that `scan_run` parses from a large generated run.

``python scripts/bench.py metrics [--size-mb 200] [--rounds 3] [--dir DIR]``

Writes a run whose files look like a real one (coloured loguru lines, per step: an
orchestrator step line with per-env lines among INFO/DEBUG chatter, a trainer step
line among DEBUG lines, a vLLM stats line among uvicorn access lines), then times
`metrics.scan_run` on it, best of ``--rounds``. For contrast it also times the
per-line path a live view uses (`decode_line` + `parse_line` + `MetricsStore.feed`
on every line) once. Both must produce the same series.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from prime_rl_logs import layout
from prime_rl_logs.core.parse import RunClock, decode_line, parse_line
from prime_rl_logs.metrics import MetricsStore, scan_run

ESC = "\x1b"
DIM, RESET = f"{ESC}[2m", f"{ESC}[0m"
COLOURS = {"DEBUG": f"{ESC}[34m{ESC}[1m", "INFO": f"{ESC}[1m", "SUCCESS": f"{ESC}[32m{ESC}[1m"}


def loguru(clock: int, level: str, message: str) -> str:
    clock %= 86400
    hms = f"{clock // 3600:02d}:{clock // 60 % 60:02d}:{clock % 60:02d}"
    colour = COLOURS[level]
    return f"{DIM}{hms}{RESET} {colour}{level:>7}{RESET} {colour}{ESC}[22m{message}{RESET}{RESET}\n"


def generate(out: Path, size_mb: int, seed: int = 0) -> int:
    """Write the run into ``out``; returns the number of steps written."""
    rng = random.Random(seed)
    logs = layout.logs_dir(out)
    (logs / "trainer").mkdir(parents=True, exist_ok=True)
    target = size_mb * 1_000_000
    written = 0
    step = 0
    clock = 10 * 3600
    with (
        open(layout.orchestrator_log(out), "w", encoding="utf-8") as orch,
        open(layout.trainer_log(out, 0), "w", encoding="utf-8") as trainer,
        open(layout.inference_log(out), "w", encoding="utf-8") as inference,
    ):
        while written < target:
            step += 1
            clock += 9
            reward = 0.3 + 0.4 * step / (step + 500) + rng.uniform(-0.02, 0.02)
            o = [
                loguru(
                    clock,
                    "DEBUG",
                    f"Sampling batch of 128 rollouts for step {step} [sched.py::120]",
                )
                for _ in range(4)
            ]
            o += [loguru(clock, "INFO", f"[verifiers] Scored {k * 16} rollouts") for k in range(6)]
            o.append(
                loguru(
                    clock,
                    "SUCCESS",
                    f"Step {step} | Time: {rng.uniform(8, 14):.2f}s | Reward: {reward:.4f} | "
                    f"Throughput: {rng.uniform(1400, 1700):.1f} tokens/s | Seq. Length: "
                    f"{rng.uniform(380, 450):.1f} tokens/sample | Async Level: 1 | "
                    f"Max. Off-Policy Level: 2\n"
                    f"\t\t ╰─ gsm8k | Ratio 50.0% | Reward {reward + 0.05:.4f}\n"
                    f"\t\t ╰─ reverse_text | Ratio 50.0% | Reward {reward - 0.05:.4f}",
                )
            )
            t = [loguru(clock, "DEBUG", f"Micro batch {k} forward/backward done") for k in range(8)]
            t.append(
                loguru(
                    clock,
                    "SUCCESS",
                    f"Step {step} | Time: {rng.uniform(7, 9):.2f}s | "
                    f"Loss: {rng.uniform(0, 1e-3):.4f} | Entropy: {rng.uniform(0.4, 0.6):.4f} | "
                    f"Mismatch KL: 0.0011 | Grad. Norm: "
                    f"{rng.uniform(0.1, 0.3):.4f} | LR: 1.00e-06 | Throughput: 2210 tokens/s | "
                    f"MFU: 31.2% | Peak Mem.: 21.3 GiB",
                )
            )
            i = [
                f'(APIServer pid=41213) INFO:     127.0.0.1:{40000 + k} - "POST '
                f'/v1/chat/completions HTTP/1.1" 200 OK\n'
                for k in range(100)
            ]
            i.append(
                f"(APIServer pid=41213) INFO 02-09 10:00:00 [loggers.py:123] Avg prompt "
                f"throughput: {rng.uniform(300, 500):.1f} tokens/s, Avg generation throughput: "
                f"{rng.uniform(1000, 2000):.1f} tokens/s, Running: 64 reqs, Waiting: 0 reqs, "
                f"GPU KV cache usage: {rng.uniform(20, 80):.1f}%, Prefix cache hit rate: 12.0%\n"
            )
            for fh, lines in ((orch, o), (trainer, t), (inference, i)):
                text = "".join(lines)
                fh.write(text)
                written += len(text.encode())
    return step


def per_line(out: Path) -> MetricsStore:
    """Every line through decode_line + parse_line + feed: the live view's path."""
    logs = layout.logs_dir(out)
    store = MetricsStore()
    sources = [layout.classify(p, logs) for p in layout.discover(logs)]
    sources.sort(key=lambda s: (s.component == layout.INFERENCE, s.sort_key))
    for source in sources:
        clock = RunClock()
        with open(source.path, "rb") as fh:
            for raw in fh:
                info = parse_line(decode_line(raw))
                run_time = clock.advance(info.clock) if info.clock is not None else None
                store.feed(
                    source.component,
                    info.message,
                    rank=info.rank if info.rank is not None else source.rank,
                    run_time=run_time,
                    source=source.rel,
                )
    return store


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.py metrics", description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=200, help="size of the run (default 200)")
    parser.add_argument("--rounds", type=int, default=3, help="scan_run rounds, best kept")
    parser.add_argument("--dir", type=Path, default=None, help="write the run here and keep it")
    parser.add_argument("--no-per-line", action="store_true", help="skip the per-line contrast")
    args = parser.parse_args(argv)

    out = args.dir if args.dir is not None else Path(tempfile.mkdtemp(prefix="bench-metrics-"))
    try:
        t0 = time.perf_counter()
        steps = generate(out, args.size_mb)
        size = sum(p.stat().st_size for p in layout.discover(layout.logs_dir(out)))
        print(
            f"generated {size / 1e6:.0f} MB, {steps:,} steps in {time.perf_counter() - t0:.1f} s"
            f" ({out})"
        )

        best = float("inf")
        store = MetricsStore()
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            store = scan_run(out)
            best = min(best, time.perf_counter() - t0)
        parsed = len(store.series.get("orchestrator/reward", {}))
        assert parsed == steps, (parsed, steps)
        print(
            f"scan_run:  {best:.2f} s best of {args.rounds}: {steps / best:,.0f} steps/s, "
            f"{size / best / 1e6:,.0f} MB/s"
        )
        if not args.no_per_line:
            t0 = time.perf_counter()
            slow = per_line(out)
            elapsed = time.perf_counter() - t0
            assert slow.series == store.series, "per-line and scan_run disagree"
            print(
                f"per-line:  {elapsed:.2f} s: {steps / elapsed:,.0f} steps/s, "
                f"{size / elapsed / 1e6:,.0f} MB/s (every line decoded and parsed)"
            )
            print(f"ratio scan_run / per-line: {elapsed / best:.1f}x")
    finally:
        if args.dir is None:
            shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.fspath(Path(__file__).resolve().parent.parent))
    raise SystemExit(main(sys.argv[1:]))
