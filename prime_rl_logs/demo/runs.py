"""The demo's folder of runs, laid out as prime-rl writes ``<output_dir>/<run_name>/`` today.

`prepare_runs(root)` writes, before the simulation starts:

* `FINISHED` (``math--qwen3-1.7b--3c4d``): a whole run that ended two hours ago:
  ``configs/attempt_1/`` (``rl.toml``, ``command.txt``), ``logs/attempt_1/``
  (``orchestrator.log`` up to ``Training finished!``, ``trainer.log`` with
  ``[trainer0]:`` prefixes, per-rank torchrun ``stdout.log``/``stderr.log``),
  ``logs/latest``, and ``monitors/file/metrics.jsonl``;
* `LIVE` (``gsm8k--qwen3-0.6b--1a2b``): its first attempt, which crashed at step
  `CRASH_STEP` half an hour ago: rank 1 ran out of CUDA memory (an ERROR and a
  traceback in its ``stderr.log``) and `NCCL_TIMEOUT_S` (ten minutes) later every
  other rank's NCCL watchdog timed out (PyTorch's glog lines, ``[rank0]:[E1130
  14:30:05.412345 123 ProcessGroupNCCL.cpp:689] [Rank 0] Watchdog caught collective
  operation timeout: ...``), the cascade the Problems pane folds under its cause;
  ``configs/attempt_{1,2}/``, ``logs/latest -> attempt_2``, and the
  hidden folder `sim_dir` whose ``logs`` points at ``logs/attempt_2``: the simulated
  processes write there (the library's own file names), so the live attempt grows
  as a real resumed run does.

Lines are written in loguru's coloured format, with clocks before the simulation's.
Only `prime_rl_logs.commands.demo` calls this; the folder is its OUTPUT_DIR.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Final

__all__ = ["CRASH_STEP", "FINISHED", "LIVE", "NCCL_TIMEOUT_S", "prepare_runs", "sim_dir"]

LIVE: Final = "gsm8k--qwen3-0.6b--1a2b"
FINISHED: Final = "math--qwen3-1.7b--3c4d"
CRASH_STEP: Final = 6
NCCL_TIMEOUT_S: Final = 600
"""How long after rank 1's OOM the other ranks' NCCL watchdogs give up (its default)."""
CRASH_AGO_S: Final = 1800
"""How long before the demo starts the crashed attempt began."""
SIM: Final = ".live-attempt"
_ESC = "\x1b"
_COLOURS = {
    "INFO": f"{_ESC}[1m",
    "SUCCESS": f"{_ESC}[32m{_ESC}[1m",
    "ERROR": f"{_ESC}[31m{_ESC}[1m",
}


def sim_dir(root: Path) -> Path:
    """The folder the simulation writes to: its ``logs`` is the live run's attempt 2."""
    return root / SIM


def _line(seconds: int, level: str, message: str, prefix: str = "") -> str:
    seconds %= 86400
    clock = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    c = _COLOURS[level]
    return (
        f"{prefix}{_ESC}[2m{clock}{_ESC}[0m {c}{level:>7}{_ESC}[0m "
        f"{c}{_ESC}[22m{message}{_ESC}[0m{_ESC}[0m\n"
    )


def _write(path: Path, text: str, mtime: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.utime(path, (mtime, mtime))


def _link(link: Path, target: str) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink():
        link.unlink()
    link.symlink_to(target, target_is_directory=True)


def _config(folder: Path, model: str, env: str, max_steps: int | None, mtime: float) -> None:
    steps = f"max_steps = {max_steps}\n\n" if max_steps is not None else ""
    toml = f'{steps}[model]\nname = "{model}"\n\n[[orchestrator.train.source]]\nname = "{env}"\n'
    _write(folder / "rl.toml", toml, mtime)
    _write(folder / "command.txt", f"uv run rl @ examples/{env}/rl.toml\n", mtime)


def _attempt(
    folder: Path, steps: range, start: int, ranks: int, mtime: float, *, reward0: float
) -> None:
    """An attempt's files: orchestrator step lines, rank files, trainer.log."""
    orch = "".join(
        _line(
            start + 10 * s, "SUCCESS", f"Step {s} | Time: 10.00s | Reward: {reward0 + 0.02 * s:.4f}"
        )
        for s in steps
    )
    _write(folder / "orchestrator.log", _line(start, "INFO", "Starting orchestrator") + orch, mtime)
    rank0 = ""
    for rank in range(ranks):
        lines = "".join(
            _line(
                start + 10 * s, "SUCCESS", f"Step {s} | Time: 9.80s | Loss: 0.0012 | Entropy: 0.43"
            )
            for s in steps
        )
        base = folder / "trainer" / "torchrun" / "demo" / "attempt_0" / str(rank)
        _write(base / "stdout.log", lines, mtime)
        _write(base / "stderr.log", "", mtime)
        if rank == 0:
            rank0 = lines
    console = "".join(f"[trainer0]:{line}" for line in rank0.splitlines(keepends=True))
    _write(folder / "trainer.log", console, mtime)


def _nccl_timeout(rank: int, seconds: int, day: time.struct_time) -> str:
    """What PyTorch's NCCL watchdog writes to a rank's stderr when a collective it
    waits on never completes: a glog line behind torchrun's ``[rankN]:`` prefix (the
    real one goes on with two more lines; one keeps the demo's Problems pane short)."""
    seconds %= 86400
    clock = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    head = f"[rank{rank}]:[E{day.tm_mon:02d}{day.tm_mday:02d} {clock}.{412345 + 1111 * rank}"
    tid = 3150 + rank
    work = (
        "WorkNCCL(SeqNum=4821, OpType=ALLREDUCE, NumelIn=1, NumelOut=1, "
        f"Timeout(ms)={NCCL_TIMEOUT_S * 1000})"
    )
    return (
        f"{head} {tid} ProcessGroupNCCL.cpp:689] [Rank {rank}] Watchdog caught collective "
        f"operation timeout: {work} ran for {NCCL_TIMEOUT_S * 1000 + 43} milliseconds "
        "before timing out.\n"
    )


def prepare_runs(root: Path, *, ranks: int, now: float | None = None) -> Path:
    """Write the finished run and the live run's crashed first attempt under ``root``;
    returns the live run's folder. The simulation then writes into `sim_dir`."""
    now = time.time() if now is None else now
    start = int(now % 86400) - 7200 - 600
    # The finished run.
    done = now - 7200
    fin = root / FINISHED
    _config(fin / "configs" / "attempt_1", "Qwen/Qwen3-1.7B", "math", 20, done)
    _link(fin / "configs" / "latest", "attempt_1")
    a1 = fin / "logs" / "attempt_1"
    _attempt(a1, range(1, 21), start, ranks, done, reward0=0.3)
    with (a1 / "orchestrator.log").open("a", encoding="utf-8") as fh:
        fh.write(_line(start + 215, "SUCCESS", "Training finished!"))
    os.utime(a1 / "orchestrator.log", (done, done))
    _link(fin / "logs" / "latest", "attempt_1")
    rows = [
        {"step": s, "time": done - 10 * (20 - s), "reward/mean": 0.3 + 0.02 * s}
        for s in range(1, 21)
    ]
    _write(
        fin / "monitors" / "file" / "metrics.jsonl",
        "".join(json.dumps(r) + "\n" for r in rows),
        done,
    )
    # The live run: attempt 1 crashed; attempt 2 is the simulation.
    live = root / LIVE
    start1 = int(now % 86400) - CRASH_AGO_S
    oom_at = start1 + 10 * CRASH_STEP + 8
    crashed = now - CRASH_AGO_S + (oom_at - start1) + NCCL_TIMEOUT_S + 5
    for n in (1, 2):
        _config(live / "configs" / f"attempt_{n}", "Qwen/Qwen3-0.6B", "gsm8k", None, crashed)
    _link(live / "configs" / "latest", "attempt_2")
    first = live / "logs" / "attempt_1"
    _attempt(first, range(1, CRASH_STEP + 1), start1, ranks, crashed, reward0=0.2)
    oom = (
        _line(oom_at, "ERROR", f"Training step {CRASH_STEP + 1} failed on rank 1")
        + "Traceback (most recent call last):\n"
        + '  File "prime_rl/trainer/rl/train.py", line 412, in train\n'
        + "    loss.backward()\n"
        + "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB\n"
    )
    torchrun = first / "trainer" / "torchrun" / "demo" / "attempt_0"
    _write(torchrun / "1" / "stderr.log", oom, crashed)
    day = time.gmtime(now - CRASH_AGO_S)  # the clocks above are UTC seconds of the day
    for rank in (r for r in range(ranks) if r != 1):
        lines = _nccl_timeout(rank, oom_at + NCCL_TIMEOUT_S + rank % 3, day)
        _write(torchrun / str(rank) / "stderr.log", lines, crashed)
        if rank == 0:  # torchrun's console copy of rank 0 has its stderr too
            with (first / "trainer.log").open("a", encoding="utf-8") as fh:
                fh.write("".join(f"[trainer0]:{line}\n" for line in lines.splitlines()))
            os.utime(first / "trainer.log", (crashed, crashed))
    (live / "logs" / "attempt_2").mkdir(parents=True, exist_ok=True)
    _link(live / "logs" / "latest", "attempt_2")
    _link(sim_dir(root) / "logs", f"../{LIVE}/logs/attempt_2")
    return live
