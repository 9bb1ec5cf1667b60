"""A folder of runs on disk, the way prime-rl writes ``<output_dir>/<run_name>/`` today.

`write_outputs(root)` writes three runs and returns an `Outputs` naming them:

* ``gsm8k--qwen3-0.6b--1a2b`` (`Outputs.live`): attempt 1 crashed at step 12 (rank 1's
  torchrun ``stderr.log`` ends in a CUDA OOM traceback, ``trainer.log`` in an ERROR),
  attempt 2 resumed from step 10 and is running (written seconds ago);
  ``logs/latest -> attempt_2``; ``configs/attempt_{1,2}/`` (``rl.toml``,
  ``command.txt``) and ``configs/latest``; ``monitors/file/metrics.jsonl``; per-rank
  ``trainer/torchrun/<rdzv>/attempt_0/<rank>/{stdout,stderr}.log``; ``trainer.log``
  with ``[trainer0]:`` prefixes; ``envs/train/gsm8k.log`` and ``envs/eval/math500.log``.
* ``math--qwen3-1.7b--3c4d`` (`Outputs.finished`): one attempt that reached
  ``max_steps`` (20) and logged ``Training finished!`` two hours ago; ``metrics.jsonl``
  at the run's top; ``configs/attempt_1/rl.json``.
* ``wordle--qwen3-4b--5e6f`` (`Outputs.stalled`): the seed's layout (no attempt
  folders: ``logs/orchestrator.log``, ``logs/env_workers/wordle/worker_{0,1}.log``,
  a torchrun ``--log-dir`` tree at ``<run>/torchrun/``), steps 12 s apart, silent for
  40 minutes, no error; ``configs/rl.toml`` with ``max_steps = 200``.

Modification times are set relative to ``now`` (default: the time of writing), so
the statuses hold for the CLI, which judges against the clock. `write_run` writes
one run of a kind, for the benchmark's folder of 200.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from tests.fixtures import clock, loguru_line

LIVE = "gsm8k--qwen3-0.6b--1a2b"
FINISHED = "math--qwen3-1.7b--3c4d"
STALLED = "wordle--qwen3-4b--5e6f"
START = 10 * 3600  # 10:00:00
CADENCE = 12  # seconds per step
OOM = "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"


@dataclass(frozen=True)
class Outputs:
    root: Path
    live: Path
    finished: Path
    stalled: Path
    ranks: int

    @property
    def runs(self) -> list[Path]:
        return [self.live, self.finished, self.stalled]


def _write(path: Path, text: str, mtime: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.utime(path, (mtime, mtime))


def _step(step: int, reward: float) -> str:
    return f"Step {step} | Time: {CADENCE}.00s | Reward: {reward:.4f} | Seq. Length: 512.0 tokens"


def _trainer_step(step: int) -> str:
    return (
        f"Step {step} | Time: {CADENCE}.00s | Loss: 0.0012 | Entropy: 0.4321 | Peak Mem. 21.3 GiB"
    )


def _reward(step: int) -> float:
    return round(0.2 + 0.02 * step, 4)


def _lines(records: list[tuple[int, str, str]], prefix: str = "") -> str:
    """``(seconds, level, message)`` -> loguru lines, each physical line behind ``prefix``."""
    out = []
    for seconds, level, message in records:
        for line in loguru_line(clock(seconds), level, message).split("\n"):
            out.append(prefix + line + "\n")
    return "".join(out)


def _config(folder: Path, *, model: str, env: str, max_steps: int, mtime: float) -> None:
    toml = (
        f'max_steps = {max_steps}\n\n[model]\nname = "{model}"\n\n'
        f'[[orchestrator.train.source]]\nname = "{env}"\n'
    )
    _write(folder / "rl.toml", toml, mtime)
    _write(folder / "command.txt", f"uv run rl @ configs/{env}.toml\n", mtime)


def _torchrun(
    folder: Path,
    rdzv: str,
    ranks: int,
    steps: range,
    mtime: float,
    stderr: dict[int, str],
    start: int = START,
) -> None:
    """Per-rank files: each rank's own lines (no prefix), ``stderr`` per rank; step
    ``s`` at ``start + (s - steps[0] + 1) * CADENCE``."""
    for rank in range(ranks):
        base = folder / rdzv / "attempt_0" / str(rank)
        records = [
            (start + (s - steps[0] + 1) * CADENCE, "SUCCESS", _trainer_step(s)) for s in steps
        ]
        _write(base / "stdout.log", _lines(records), mtime)
        _write(base / "stderr.log", stderr.get(rank, ""), mtime)


def _link(link: Path, target: str) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target, target_is_directory=True)


def write_live(run: Path, now: float, ranks: int = 2) -> None:
    """Attempt 1 crashed at step 12; attempt 2 resumed at step 11 and is running."""
    old, fresh = now - 1800, now - 5
    for n, mtime in ((1, old), (2, fresh)):
        _config(
            run / "configs" / f"attempt_{n}",
            model="Qwen/Qwen3-0.6B",
            env="gsm8k",
            max_steps=100,
            mtime=mtime,
        )
    _link(run / "configs" / "latest", "attempt_2")
    # Attempt 1: steps 1..12, then rank 1 runs out of memory.
    a1 = run / "logs" / "attempt_1"
    steps1 = range(1, 13)
    orch = [(START + s * CADENCE, "SUCCESS", _step(s, _reward(s))) for s in steps1]
    _write(a1 / "orchestrator.log", _lines(orch), old)
    crash_at = START + 13 * CADENCE
    trainer = [(START + s * CADENCE, "SUCCESS", _trainer_step(s)) for s in steps1]
    _write(a1 / "trainer.log", _lines(trainer, "[trainer0]:"), old)  # rank 0's console copy
    traceback = _lines([(crash_at, "ERROR", "Training step 13 failed on rank 1")]) + (
        "Traceback (most recent call last):\n"
        '  File "train.py", line 412, in train\n'
        "    loss.backward()\n"
        f"{OOM}\n"
    )
    _torchrun(a1 / "trainer" / "torchrun", "rdzv1", ranks, steps1, old, {1: traceback})
    _write(
        a1 / "inference.log",
        "(APIServer pid=41213) INFO 02-09 10:00:01 [api_server.py:1351] ready\n",
        old,
    )
    # Attempt 2: resumed from the step-10 checkpoint, steps 11..15, still writing.
    a2 = run / "logs" / "attempt_2"
    start2 = START + 3600
    steps2 = range(11, 16)
    orch2 = [(start2, "INFO", "Resuming from checkpoint step 10")]
    orch2 += [(start2 + (s - 10) * CADENCE, "SUCCESS", _step(s, _reward(s))) for s in steps2]
    _write(a2 / "orchestrator.log", _lines(orch2), fresh)
    trainer2 = [(start2 + (s - 10) * CADENCE, "SUCCESS", _trainer_step(s)) for s in steps2]
    _write(a2 / "trainer.log", _lines(trainer2, "[trainer0]:"), fresh)
    warn = _lines([(start2, "WARNING", "NCCL_ASYNC_ERROR_HANDLING is deprecated")])
    _torchrun(a2 / "trainer" / "torchrun", "rdzv2", ranks, steps2, fresh, {1: warn}, start2)
    _write(
        a2 / "inference.log",
        "(APIServer pid=41213) INFO 02-09 11:00:01 [api_server.py:1351] ready\n",
        fresh,
    )
    env = [(start2 + 1, "INFO", "env server listening on port 8101")]
    _write(a2 / "envs" / "train" / "gsm8k.log", _lines(env), fresh)
    _write(a2 / "envs" / "eval" / "math500.log", _lines(env), fresh)
    _link(run / "logs" / "latest", "attempt_2")
    rows = [
        {"step": s, "time": now - (15 - s) * CADENCE, "reward/mean": _reward(s)}
        for s in range(1, 16)
    ]
    jsonl = "".join(json.dumps(r) + "\n" for r in rows)
    _write(run / "monitors" / "file" / "metrics.jsonl", jsonl, fresh)


def write_finished(run: Path, now: float, ranks: int = 2) -> None:
    """One attempt, steps 1..20 of 20, ``Training finished!``, two hours ago."""
    done = now - 7200
    folder = run / "configs" / "attempt_1"
    rl = {
        "max_steps": 20,
        "model": {"name": "Qwen/Qwen3-1.7B"},
        "orchestrator": {"train": {"source": [{"name": "math"}]}},
    }
    _write(folder / "rl.json", json.dumps(rl), done)
    _write(folder / "command.txt", "uv run rl @ configs/math.toml\n", done)
    a1 = run / "logs" / "attempt_1"
    steps = range(1, 21)
    orch = [(START + s * CADENCE, "SUCCESS", _step(s, _reward(s))) for s in steps]
    orch.append((START + 21 * CADENCE, "SUCCESS", "Training finished!"))
    _write(a1 / "orchestrator.log", _lines(orch), done)
    _torchrun(a1 / "trainer" / "torchrun", "rdzv1", ranks, steps, done, {})
    trainer = [(START + s * CADENCE, "SUCCESS", _trainer_step(s)) for s in steps]
    _write(a1 / "trainer.log", _lines(trainer, "[trainer0]:"), done)
    _link(run / "logs" / "latest", "attempt_1")
    rows = [
        {"step": s, "time": done - (20 - s) * CADENCE, "reward/mean": _reward(s)} for s in steps
    ]
    _write(run / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in rows), done)


def write_stalled(run: Path, now: float, ranks: int = 2) -> None:
    """The seed's layout, steps 1..30 12 s apart, silent for 40 minutes."""
    quiet = now - 2400
    _config(run / "configs", model="Qwen/Qwen3-4B", env="wordle", max_steps=200, mtime=quiet)
    logs = run / "logs"
    steps = range(1, 31)
    orch = [(START + s * CADENCE, "SUCCESS", _step(s, _reward(s) / 2)) for s in steps]
    _write(logs / "orchestrator.log", _lines(orch), quiet)
    _write(logs / "rl.log", _lines([(START, "INFO", "Starting RL run")]), quiet)
    for worker in (0, 1):
        lines = _lines([(START + 1, "INFO", f"worker {worker} ready")])
        _write(logs / "env_workers" / "wordle" / f"worker_{worker}.log", lines, quiet)
    _torchrun(run / "torchrun", "rdzv9", ranks, steps, quiet, {})


def write_outputs(root: Path, *, now: float | None = None, ranks: int = 2) -> Outputs:
    """The three runs under ``root`` (see the module docstring)."""
    now = time.time() if now is None else now
    out = Outputs(root, root / LIVE, root / FINISHED, root / STALLED, ranks)
    write_live(out.live, now, ranks)
    write_finished(out.finished, now, ranks)
    write_stalled(out.stalled, now, ranks)
    return out
