"""Doctor benchmark: ``python scripts/bench.py doctor [--size-mb 1024] [--files 64] [--rounds 3]``.

Lays out a run of ``--files`` log files (prime-rl's layout: ``logs/attempt_1/``,
``logs/latest``, the orchestrator and per-rank torchrun ``stdout.log`` files), each
a copy of one orchestrator-like log made by the reading-engine benchmark's generator
(`bench_core.generate`: coloured loguru lines, 0.2% WARNING, 0.05% ERROR with a
traceback, step lines), ``--size-mb`` in all, plus a crash: rank 5's ``stderr.log``
ends in a CUDA OOM traceback and the other ranks' in NCCL watchdog timeouts (cached
under /tmp/prime-logs-bench). With the page cache warm, each round runs in a fresh
interpreter: `diagnose` (one `Doctor.update` reading every byte, one `report`),
then an `update` with nothing changed, then one after 64 KiB appended to 16 files.
Prints wall and CPU seconds, MB/s and peak RSS; the issue's bar is under 10 s and
at least 100 MB/s on 1 GB over 64 files.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_core import CACHE, _line, _rss_mb, generate  # noqa: E402

GEN_VERSION = 1
OOM = (
    "Traceback (most recent call last):\n"
    '  File "/app/prime_rl/trainer/train.py", line 412, in train\n'
    "    loss.backward()\n"
    "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB\n"
)


def _nccl(rank: int) -> str:
    return (
        f"[rank{rank}]:[E1201 09:40:05.412345634 ProcessGroupNCCL.cpp:632] [Rank {rank}] "
        "Watchdog caught collective operation timeout: WorkNCCL(SeqNum=4821, OpType=ALLREDUCE) "
        "ran for 600043 milliseconds before timing out.\n"
    )


def prepare(size_mb: int, files: int) -> Path:
    """The run (cached): ``files`` copies of one generated log of ``size_mb / files``."""
    run = CACHE / f"doctor-v{GEN_VERSION}-{size_mb}mb-{files}"
    if (run / ".done").exists():
        return run
    if run.exists():
        shutil.rmtree(run)
    logs = run / "logs" / "attempt_1"
    one = run / "one.log"
    generate(one, max(1, size_mb // files))
    targets = [logs / "orchestrator.log"]
    ranks = files - 1
    for r in range(ranks):
        targets.append(logs / "trainer" / "torchrun" / "rdzv" / "attempt_0" / str(r) / "stdout.log")
    for path in targets:
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(one, path)
    for r in range(ranks):
        err = logs / "trainer" / "torchrun" / "rdzv" / "attempt_0" / str(r) / "stderr.log"
        err.write_text(OOM if r == 5 else _nccl(r))
    one.unlink()
    (run / "logs" / "latest").symlink_to("attempt_1", target_is_directory=True)
    (run / ".done").touch()
    return run


def child(run: Path) -> dict[str, float]:
    from prime_rl_logs.diagnose import Doctor

    t0, c0 = time.perf_counter(), time.process_time()
    doctor = Doctor(run)
    doctor.update()
    report = doctor.report()
    first = (time.perf_counter() - t0, time.process_time() - c0)
    nbytes = doctor.bytes_read
    t1 = time.perf_counter()
    changed = doctor.update()
    idle = time.perf_counter() - t1
    grown = [s.path for s in doctor.scans if s.path.name == "stdout.log"][:16]
    stats = [p.stat() for p in grown]
    chunk = "".join(_line(9 * 3600 + i, "INFO", f"more {i}") for i in range(700))
    added = 0
    for path in grown:
        with path.open("a") as fh:
            fh.write(chunk)
        added += len(chunk.encode())
    t2 = time.perf_counter()
    doctor.update()
    doctor.report()
    live = time.perf_counter() - t2
    for path, st in zip(grown, stats, strict=True):  # undo: the run stays as generated
        with path.open("r+b") as fh:
            fh.truncate(st.st_size)
        os.utime(path, (st.st_atime, st.st_mtime))
    ff = report.first_failure
    return {
        "seconds": first[0],
        "cpu": first[1],
        "mb": nbytes / 1e6,
        "files": len(doctor.scans),
        "groups": len(report.groups),
        "first_rank": -1 if ff is None or ff.rank is None else ff.rank,
        "idle_ms": idle * 1000,
        "idle_changed": float(changed),
        "live_ms": live * 1000,
        "live_kb": added / 1024,
        "rss_mb": _rss_mb(),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.py doctor", description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--files", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child)))
        return 0
    t0 = time.perf_counter()
    run = prepare(args.size_mb, args.files)
    print(f"run {run} ready in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    when = (run / ".done").stat().st_mtime
    for path in (run / "logs").rglob("*.log"):  # into the page cache, one mtime for all
        with path.open("rb") as fh:
            while fh.read(16 << 20):
                pass
        os.utime(path, (when, when))
    results = []
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    for _ in range(args.rounds):
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(run)],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    best = min(results, key=lambda r: r["seconds"])
    med = statistics.median(r["seconds"] for r in results)
    cpu = statistics.median(r["cpu"] for r in results)
    print(
        f"doctor on {best['mb']:,.0f} MB in {best['files']:.0f} files: "
        f"best {best['seconds']:.2f} s ({best['mb'] / best['seconds']:,.0f} MB/s), "
        f"median {med:.2f} s ({best['mb'] / med:,.0f} MB/s), CPU median {cpu:.2f} s "
        f"over {args.rounds} rounds; peak RSS {max(r['rss_mb'] for r in results):.0f} MB"
    )
    print(
        f"  {best['groups']:.0f} groups, first failure on rank {best['first_rank']:.0f}; "
        f"update with nothing changed: {statistics.median(r['idle_ms'] for r in results):.1f} ms; "
        f"update + report after {best['live_kb']:.0f} KiB appended to 16 files: "
        f"{statistics.median(r['live_ms'] for r in results):.0f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
