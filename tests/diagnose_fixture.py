"""Runs that went wrong, on disk, for the doctor's tests: real line shapes, real layout.

Each writer lays out one run the way prime-rl writes it today
(``<run>/logs/attempt_1/...``, ``logs/latest -> attempt_1``, per-rank
``trainer/torchrun/<rdzv>/attempt_0/<rank>/{stdout,stderr}.log``, ``configs/``) with
loguru lines as the coloured sink writes them, PyTorch's glog lines
(``[rank3]:[E1130 14:30:05.412345634 ProcessGroupNCCL.cpp:632] ...``), torchrun's
elastic agent (``E1130 ... api.py:874] failed ...``, a ``ChildFailedError`` box),
vLLM lines and bare Python tracebacks. Clocks are the local time of real epoch
seconds counted back from ``now``, and each file's mtime is the time of its last
line, so the times the doctor infers can be asserted to the second. Each writer
returns what a test asserts (`Case`): the file, rank and time of the first failure.

* `write_oom_cascade`: rank 5 runs out of CUDA memory (a bare traceback in its
  stderr), the other ranks time out in NCCL 600 s later, torchrun's agent reports
  the ChildFailedError in ``trainer.log``; crashed.
* `write_env_death`: the gsm8k env server dies with a traceback; the orchestrator
  then repeats "Waiting for rollouts" for 10 minutes without a step; running.
* `write_lagging`: rank 3 is one step behind its peers and the run is silent 40 min.
* `write_nan`: the trainer's loss turns NaN at step 30 and stays so; running.
* `write_clean`: 20 of 20 steps, a warning, ``Training finished!``; finished.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.fixtures import loguru_line

CADENCE = 12
RDZV = "rdzv1"
OOM = (
    "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 5 has a "
    "total capacity of 79.10 GiB of which 1.02 GiB is free."
)


@dataclass
class Case:
    run: Path
    first_file: Path | None = None
    first_rank: int | None = None
    first_time: float | None = None
    extra: dict[str, object] = field(default_factory=dict)


def hms(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


def loguru(t: float, level: str, message: str, prefix: str = "") -> str:
    return "".join(prefix + ln + "\n" for ln in loguru_line(hms(t), level, message).split("\n"))


def glog(t: float, letter: str, where: str, message: str, rank: int | None = None) -> str:
    """A PyTorch C++ line; with ``rank``, behind torchrun's ``[rankN]:`` prefix."""
    lt = time.localtime(t)
    head = f"[{letter}{lt.tm_mon:02d}{lt.tm_mday:02d} {hms(t)}.412345634 {where}] {message}"
    return (f"[rank{rank}]:" if rank is not None else "") + head + "\n"


def agent(t: float, letter: str, message: str) -> str:
    """torchrun's elastic agent (glog shape without brackets)."""
    lt = time.localtime(t)
    where = "torch/distributed/elastic/multiprocessing/api.py:874"
    return f"{letter}{lt.tm_mon:02d}{lt.tm_mday:02d} {hms(t)}.123456 4242 {where}] {message}\n"


def vllm(t: float, level: str, message: str) -> str:
    lt = time.localtime(t)
    return (
        f"(APIServer pid=41213) {level} {lt.tm_mon:02d}-{lt.tm_mday:02d} {hms(t)} "
        f"[api_server.py:1351] {message}\n"
    )


def traceback(*frames: str, last: str) -> str:
    body = "".join(f'  File "{f}", line 412, in run\n    step()\n' for f in frames)
    return f"Traceback (most recent call last):\n{body}{last}\n"


def child_failed_box(when: float, rank: int) -> str:
    stamp = time.strftime("%Y-%m-%d_%H:%M:%S", time.localtime(when))
    return (
        traceback("/venv/bin/torchrun", last="")[:-1]
        + "torch.distributed.elastic.multiprocessing.errors.ChildFailedError:\n"
        + "=" * 60
        + "\ntrain.py FAILED\n"
        + "-" * 60
        + "\nFailures:\n  <NO_OTHER_FAILURES>\n"
        + "-" * 60
        + "\nRoot Cause (first observed failure):\n[0]:\n"
        f"  time      : {stamp}\n  host      : gpu-node-1\n"
        f"  rank      : {rank} (local_rank: {rank})\n  exitcode  : 1 (pid: 5{rank:03d})\n"
        "  error_file: <N/A>\n"
        "  traceback : To enable traceback see: https://pytorch.org/docs/stable/elastic/errors.html\n"
        + "=" * 60
        + "\n"
    )


def write(path: Path, text: str, mtime: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.utime(path, (mtime, mtime))
    return path


def _skeleton(run: Path, max_steps: int = 100) -> Path:
    """configs/attempt_1 and logs/latest -> attempt_1; the attempt's logs folder."""
    cfg = run / "configs" / "attempt_1"
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "rl.toml").write_text(f'max_steps = {max_steps}\n\n[model]\nname = "Qwen/Qwen3-0.6B"\n')
    logs = run / "logs" / "attempt_1"
    logs.mkdir(parents=True, exist_ok=True)
    (run / "logs" / "latest").symlink_to("attempt_1", target_is_directory=True)
    return logs


def _step(step: int, loss: str = "0.0012") -> str:
    return (
        f"Step {step} | Time: {CADENCE}.00s | Loss: {loss} | Entropy: 0.4321 | Peak Mem. 21.3 GiB"
    )


def _orch_step(step: int) -> str:
    return f"Step {step} | Time: {CADENCE}.00s | Reward: 0.5123 | Seq. Length: 512.0 tokens"


def rank_dir(logs: Path, rank: int) -> Path:
    return logs / "trainer" / "torchrun" / RDZV / "attempt_0" / str(rank)


def _steps(t0: float, steps: range, orch: bool = False, loss: str = "0.0012") -> list[str]:
    return [
        loguru(t0 + s * CADENCE, "SUCCESS", _orch_step(s) if orch else _step(s, loss))
        for s in steps
    ]


def write_oom_cascade(run: Path, now: float, ranks: int = 8, oom_rank: int = 5) -> Case:
    logs = _skeleton(run)
    t0 = now - 1200
    last_step = 41
    oom_at = t0 + 500
    nccl_at = oom_at + 600
    stdout_last = t0 + last_step * CADENCE
    for r in range(ranks):
        d = rank_dir(logs, r)
        out = [loguru(t0, "INFO", f"Starting trainer on rank {r}")]
        out += _steps(t0, range(1, last_step + 1))
        write(d / "stdout.log", "".join(out), stdout_last)
        if r == oom_rank:
            err = traceback("/app/prime_rl/trainer/train.py", "/venv/torch/_tensor.py", last=OOM)
            write(d / "stderr.log", err, oom_at)
        else:
            nccl = glog(
                nccl_at,
                "E",
                "ProcessGroupNCCL.cpp:632",
                f"[Rank {r}] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=4821, "
                "OpType=ALLREDUCE, NumelIn=1048576, NumelOut=1048576, Timeout(ms)=600000) ran "
                "for 600043 milliseconds before timing out.",
                rank=r,
            )
            down = glog(
                nccl_at + 1,
                "E",
                "ProcessGroupNCCL.cpp:1664",
                f"[Rank {r}] To avoid data inconsistency, we are taking the entire process down.",
                rank=r,
            )
            write(d / "stderr.log", nccl + down, nccl_at + 1)
    console = [loguru(t0, "INFO", "Starting trainer on rank 0", "[trainer0]:")]
    console += [loguru(t0 + s * CADENCE, "SUCCESS", _step(s), "[trainer0]:") for s in range(1, 42)]
    tail_at = nccl_at + 5
    console.append(
        agent(
            tail_at,
            "E",
            f"failed (exitcode: 1) local_rank: {oom_rank} (pid: 5{oom_rank:03d}) "
            "of binary: /venv/bin/python",
        )
    )
    console.append(child_failed_box(oom_at, oom_rank))
    write(logs / "trainer.log", "".join(console), tail_at)
    orch = [loguru(t0, "INFO", "Starting orchestrator"), *_steps(t0, range(1, 43), orch=True)]
    orch.append(loguru(t0 + 43 * CADENCE, "INFO", "Waiting for new policy (step 42)"))
    orch.append(loguru(tail_at + 2, "ERROR", "Trainer process exited; stopping"))
    write(logs / "orchestrator.log", "".join(orch), tail_at + 2)
    write(logs / "inference.log", vllm(t0, "INFO", "Started server process"), t0)
    return Case(
        run,
        first_file=rank_dir(logs, oom_rank) / "stderr.log",
        first_rank=oom_rank,
        first_time=stdout_last,
        extra={"nccl_at": nccl_at, "oom_at": oom_at, "ranks": ranks},
    )


def write_env_death(run: Path, now: float, ranks: int = 2) -> Case:
    logs = _skeleton(run)
    t0 = now - 1000
    last_step = 20
    died = t0 + last_step * CADENCE + 8
    for r in range(ranks):
        d = rank_dir(logs, r)
        write(d / "stdout.log", "".join(_steps(t0, range(1, last_step + 1))), t0 + 240)
        write(d / "stderr.log", "", t0)
    env = [loguru(t0 + 1, "INFO", "env server gsm8k listening on port 8101")]
    env.append(
        loguru(died, "ERROR", "Env server gsm8k crashed while scoring a rollout")
        + traceback(
            "/app/verifiers/envs/gsm8k.py",
            "/app/verifiers/sandbox.py",
            last="RuntimeError: sandbox process exited with code 137",
        )
    )
    env_file = write(logs / "envs" / "train" / "gsm8k.log", "".join(env), died)
    orch = [
        loguru(t0, "INFO", "Starting orchestrator"),
        *_steps(t0, range(1, last_step + 1), orch=True),
    ]
    t = died + 2
    waits = 0
    while t < now - 5:
        orch.append(loguru(t, "INFO", "Waiting for rollouts from env server gsm8k (0/64 done)"))
        t += 30
        waits += 1
    write(logs / "orchestrator.log", "".join(orch), t - 30)
    write(logs / "inference.log", vllm(t0, "INFO", "Started server process"), t0)
    return Case(
        run,
        first_file=env_file,
        first_rank=None,
        first_time=died,
        extra={"last_step": last_step, "waits": waits},
    )


def write_lagging(run: Path, now: float, ranks: int = 4, lagging: int = 3) -> Case:
    logs = _skeleton(run)
    top = 42
    t0 = now - 2400 - top * CADENCE
    for r in range(ranks):
        last = top - 1 if r == lagging else top
        d = rank_dir(logs, r)
        write(d / "stdout.log", "".join(_steps(t0, range(1, last + 1))), t0 + last * CADENCE)
        write(d / "stderr.log", "", t0)
    orch = _steps(t0, range(1, top + 1), orch=True)
    write(logs / "orchestrator.log", "".join(orch), t0 + top * CADENCE)
    return Case(run, extra={"lagging": lagging, "top": top})


def write_nan(run: Path, now: float, ranks: int = 2, from_step: int = 30) -> Case:
    logs = _skeleton(run)
    last = 40
    t0 = now - 3 - last * CADENCE
    for r in range(ranks):
        d = rank_dir(logs, r)
        out = _steps(t0, range(1, from_step)) + _steps(t0, range(from_step, last + 1), loss="nan")
        write(d / "stdout.log", "".join(out), t0 + last * CADENCE)
        write(d / "stderr.log", "", t0)
    orch = _steps(t0, range(1, last + 1), orch=True)
    write(logs / "orchestrator.log", "".join(orch), t0 + last * CADENCE)
    first = rank_dir(logs, 0) / "stdout.log"
    return Case(run, first_file=first, first_time=t0 + from_step * CADENCE)


def write_clean(run: Path, now: float, ranks: int = 2) -> Case:
    logs = _skeleton(run, max_steps=20)
    t0 = now - 7200
    for r in range(ranks):
        d = rank_dir(logs, r)
        write(d / "stdout.log", "".join(_steps(t0, range(1, 21))), t0 + 20 * CADENCE)
        write(d / "stderr.log", "", t0)
    orch = [loguru(t0, "WARNING", "NCCL_ASYNC_ERROR_HANDLING is deprecated")]
    orch += _steps(t0, range(1, 21), orch=True)
    orch.append(loguru(t0 + 21 * CADENCE, "SUCCESS", "Training finished!"))
    write(logs / "orchestrator.log", "".join(orch), t0 + 21 * CADENCE)
    return Case(run)
