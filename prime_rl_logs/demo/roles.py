"""The child processes of a demo run: one function per part, each writing its files.

`child` is every child's entry point: it silences stdio when the dashboard owns the
terminal, starts a `Clock` and runs the role. Every part but the vLLM imitation logs
through `setup_logger` like a real prime-rl process: the launcher (``logs/rl.log``),
the orchestrator, one trainer per rank, and the environment workers (through
`setup_env_worker_logger`); `_inference` writes vLLM's own shape.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prime_rl_logs import layout
from prime_rl_logs.demo.plan import (
    CKPT_EVERY,
    ENV_MIX,
    ENVS,
    EVAL_EVERY,
    MODEL,
    NOMINAL_MAX_STEPS,
    PAUSE_EVERY,
    QUIET_FROM,
    QUIET_STEPS,
    TRACEBACK_STEP,
    WORKERS_PER_ENV,
    Clock,
    Plan,
    env_reward,
    run_reward,
)


def child(role: str, plan: Plan, index: int, quiet_stdio: bool) -> None:
    """Entry point of every child process."""
    if quiet_stdio:  # the dashboard owns the terminal
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.close(devnull)
    clock = Clock(plan)
    roles: dict[str, Callable[[Plan, Clock, int], None]] = {
        "launcher": _launcher,
        "orchestrator": _orchestrator,
        "trainer": _trainer,
        "inference": _inference,
        "env": _env_worker,
    }
    try:
        roles[role](plan, clock, index)
    except Exception:
        from prime_rl_logs.logger import get_logger

        with contextlib.suppress(RuntimeError):
            get_logger().exception(f"demo {role} process crashed")
        raise


# ---------------------------------------------------------------------------
# The launcher: logs/rl.log


def _launcher(plan: Plan, clock: Clock, _: int) -> None:
    from prime_rl_logs.logger import setup_logger

    log = setup_logger("info", layout.launcher_log(plan.out), console=False)
    out = Path(plan.out)
    log.info(f"Starting RL run (output dir {out})")
    # prime-rl's config dump names max_steps: the dashboard's ETA needs it.
    log.info(f"Run config: max_steps={plan.steps or NOMINAL_MAX_STEPS}, ranks={plan.ranks}")
    log.info(f"Starting inference server: vllm serve {MODEL} --port 8000 (logs/inference.stdout)")
    log.info("Starting orchestrator (logs/orchestrator.log)")
    log.info(
        f"Starting trainer: torchrun --nproc-per-node {plan.ranks} "
        f"(logs/trainer/rank_{{0..{plan.ranks - 1}}}.log)"
    )
    log.info("Waiting for inference server to be ready")
    if not clock.until(plan.t0 + 2 * plan.period):
        return _launcher_stop(log, clock)
    log.success("Inference server ready on http://localhost:8000")
    for step in plan.step_numbers():
        if not clock.until(plan.at(step + 0.9)):
            return _launcher_stop(log, clock)
        if step % 25 == 0:
            log.info(f"Run progress: step {step} ({60 / plan.period:.1f} steps/min)")
    log.success(f"RL run finished after {plan.steps} steps; all processes exited")


def _launcher_stop(log: Any, clock: Clock) -> None:
    why = f"Received {clock.signal_name}" if clock.signal_name else "Stop requested"
    log.warning(f"{why}: shutting down inference, orchestrator and trainer")


# ---------------------------------------------------------------------------
# The orchestrator: logs/orchestrator.log


def _score_rollouts(step: int) -> None:
    def ask_sandbox(rollout: int) -> float:
        raise TimeoutError(f"sandbox for rollout {rollout} did not answer within 30.0s")

    try:
        ask_sandbox(117)
    except TimeoutError as exc:
        raise RuntimeError(f"Scoring failed for 3 rollouts of step {step}") from exc


def _orchestrator(plan: Plan, clock: Clock, _: int) -> None:
    from prime_rl_logs.logger import setup_logger

    log = setup_logger("info", layout.orchestrator_log(plan.out), console=False)
    rng = random.Random(11)
    log.info("Starting orchestrator")
    log.info(f"Loading tokenizer {MODEL}")
    log.info(f"Loading environments: {', '.join(ENVS)} ({WORKERS_PER_ENV} workers each)")
    log.info("Waiting for inference server at http://localhost:8000/v1")
    if not clock.until(plan.t0 + 2 * plan.period):
        return
    log.success("Inference server is ready")
    log.info("Starting rollout generation (batch size 256, 8 rollouts per example)")
    for step in plan.step_numbers():
        if not clock.until(plan.at(step)):
            return
        if step == TRACEBACK_STEP:
            try:
                _score_rollouts(step)
            except RuntimeError:
                log.exception("Failed to score rollouts; retrying the batch")
        if rng.random() < 0.15:
            truncated = rng.randint(3, 20)
            log.warning(
                f"{truncated}/256 rollouts were truncated at max_tokens=2048 "
                f"({truncated / 2.56:.1f}%)"
            )
        reward = run_reward(step)
        seconds = 12.0 + rng.gauss(0, 1.2)
        lines = [
            f"Step {step} | Time: {seconds:.2f}s | Reward: {reward:.4f} | "
            f"Throughput: {rng.gauss(1250, 60):.1f} tokens/s | "
            f"Seq. Length: {700 + 4 * step + rng.gauss(0, 25):.1f} | "
            f"Async Level: 1 | Max. Off-Policy Level: {1 if rng.random() < 0.8 else 2}"
        ]
        for env in ENVS:
            lines.append(
                f"\t\t ╰─ {env} | Ratio {100 * ENV_MIX[env]:.1f}% | "
                f"Reward {env_reward(step, env):.4f}"
            )
        log.success("\n".join(lines))
        if step % EVAL_EVERY == 0:
            if not clock.until(plan.at(step + 0.3)):
                return
            log.info(f"Running evals at step {step}")
            for env in ENVS:
                score = min(1.0, env_reward(step, env) + 0.05)
                log.success(
                    f"Evaluated {env} (Step {step}) | Avg@4: {score:.4f} | "
                    f"Pass@4: {min(1.0, score + 0.12):.4f} | "
                    f"Seq. Length: {640 + rng.gauss(0, 30):.1f} | Reward: {score:.4f}"
                )
        if step % PAUSE_EVERY == 0:
            if not clock.until(plan.at(step + 0.4)):
                return
            log.info(
                f"Orchestrator paused: waiting for trainer checkpoint step {step - 1} "
                "(async level 1 reached)"
            )
            if not clock.until(plan.at(step + 0.8)):
                return
            log.info(
                f"Orchestrator resumed: checkpoint step {step - 1} ready after "
                f"{0.4 * plan.period * rng.uniform(0.9, 1.3):.2f}s"
            )
    log.success("Orchestrator finished")


# ---------------------------------------------------------------------------
# Trainer ranks: logs/trainer/rank_{N}.log


def _trainer_line(step: int, rank: int) -> str:
    rng = random.Random(f"trainer:{rank}:{step}")
    lr = 3e-6 * min(1.0, step / 10)
    return (
        f"Step {step} | Time: {8.0 + rng.gauss(0, 0.4):.2f}s | "
        f"Loss: {abs(rng.gauss(0.0004, 0.0002)):.4f} | "
        f"Entropy: {0.30 + 0.30 * math.exp(-step / 50) + rng.gauss(0, 0.01):.4f} | "
        f"Mismatch KL: {abs(rng.gauss(0.0011, 0.0003)):.4f} | "
        f"Grad. Norm: {abs(rng.gauss(0.18, 0.04)):.4f} | LR: {lr:.2e} | "
        f"Throughput: {rng.gauss(3100, 80):.0f} tokens/s | MFU: {rng.gauss(4.1, 0.15):.1f}% | "
        f"Peak Mem.: {18.0 + 0.02 * min(step, 100) + rng.gauss(0, 0.05):.1f} GiB"
    )


def _trainer(plan: Plan, clock: Clock, rank: int) -> None:
    from prime_rl_logs.logger import setup_logger

    level = "debug" if rank == 0 else "info"
    log = setup_logger(level, layout.trainer_log(plan.out, rank), console=False)
    log.info(f"Starting trainer rank {rank}/{plan.ranks} on cuda:{rank}")
    log.info(f"Loading model {MODEL} (bf16, FSDP over {plan.ranks} ranks)")
    log.debug("Applying activation checkpointing to 28 decoder layers")
    if not clock.until(plan.t0 + 1.5 * plan.period):
        return
    log.success(f"Model loaded: 0.60B parameters, {1.2 / plan.ranks:.2f} GiB per rank")
    quiet = range(QUIET_FROM, QUIET_FROM + QUIET_STEPS) if rank == plan.quiet_rank else range(0)
    backlog: list[int] = []
    last = 0
    for step in plan.step_numbers():
        last = step
        if step in quiet:
            backlog.append(step)
            continue
        if not clock.until(plan.at(step + 0.5)):
            return
        if backlog:
            _catch_up(log, backlog, rank)
            backlog = []
        _trainer_step(log, step, rank)
    if backlog:  # the run ended while this rank was quiet
        if not clock.until(plan.at(last + 0.5)):
            return
        _catch_up(log, backlog, rank)
    log.success(f"Trainer rank {rank} finished")


def _catch_up(log: Any, backlog: list[int], rank: int) -> None:
    stalled = 8.0 * len(backlog) + 4.2  # simulated seconds, like the step times
    log.warning(
        f"Step {backlog[0]} took {stalled:.2f}s: rank {rank} waited on an all-reduce "
        "(NCCL watchdog: slow peer)"
    )
    for step in backlog:
        _trainer_step(log, step, rank)


def _trainer_step(log: Any, step: int, rank: int) -> None:
    log.debug(f"Received batch for step {step}: 64 samples, {52_000 + 200 * step:,} tokens")
    if rank == 2 and step == 5:
        log.warning("Grad. norm 1.8421 exceeds the clip threshold 1.0; clipping")
    log.success(_trainer_line(step, rank))
    if rank == 0 and step % CKPT_EVERY == 0:
        log.info(f"Saved checkpoint to checkpoints/step_{step} in {3 + 0.1 * step:.2f}s")


# ---------------------------------------------------------------------------
# Inference: logs/inference.stdout in vLLM's shape (vLLM does not use our logger)


class _VllmWriter:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
        self.prefix = f"(APIServer pid={os.getpid()})"

    def log(self, source: str, message: str, level: str = "INFO") -> None:
        stamp = time.strftime("%m-%d %H:%M:%S")
        os.write(self.fd, f"{self.prefix} {level} {stamp} [{source}] {message}\n".encode())

    def access(self, rng: random.Random, path: str = "/v1/chat/completions") -> None:
        port = rng.randint(40000, 60000)
        line = f'{self.prefix} INFO:     127.0.0.1:{port} - "POST {path} HTTP/1.1" 200 OK\n'
        os.write(self.fd, line.encode())

    def uvicorn(self, message: str) -> None:
        os.write(self.fd, f"{self.prefix} INFO:     {message}\n".encode())


def _inference(plan: Plan, clock: Clock, _: int) -> None:
    vllm = _VllmWriter(layout.inference_log(plan.out))
    rng = random.Random(5)
    vllm.log("api_server.py:1885", "vLLM API server version 0.11.0")
    vllm.log(
        "utils.py:328",
        f"non-default args: {{'model_tag': '{MODEL}', 'port': 8000, 'model': '{MODEL}', "
        "'max_model_len': 4096, 'enable_prefix_caching': True}",
    )
    vllm.log("model.py:547", "Resolved architecture: Qwen3ForCausalLM")
    vllm.log("model.py:1510", "Using max model len 4096")
    if not clock.until(plan.t0 + 1.0 * plan.period):
        return
    vllm.log("gpu_model_runner.py:2653", "Model loading took 1.1201 GiB and 2.315 seconds")
    vllm.log("kv_cache_utils.py:1087", "GPU KV cache size: 326,528 tokens")
    vllm.log("api_server.py:1679", "Starting vLLM API server 0 on http://0.0.0.0:8000")
    vllm.log("launcher.py:42", "Route: /v1/chat/completions, Methods: POST")
    vllm.log("launcher.py:42", "Route: /update_weights, Methods: POST")
    vllm.uvicorn(f"Started server process [{os.getpid()}]")
    vllm.uvicorn("Waiting for application startup.")
    vllm.uvicorn("Application startup complete.")
    for step in plan.step_numbers():
        for tick in range(8):
            if not clock.until(plan.at(step - 1 + tick / 8)):
                return
            vllm.access(rng)
            if tick == 4 and rng.random() < 0.1:
                vllm.log(
                    "scheduler.py:1560",
                    f"Sequence group {rng.randint(1000, 9999)} is preempted by "
                    "PreemptionMode.RECOMPUTE mode because there is not enough KV cache space.",
                    level="WARNING",
                )
        if step % 2 == 0:
            running = rng.randint(8, 32)
            vllm.log(
                "loggers.py:127",
                f"Engine 000: Avg prompt throughput: {rng.gauss(1200, 100):.1f} tokens/s, "
                f"Avg generation throughput: {rng.gauss(560, 40):.1f} tokens/s, "
                f"Running: {running} reqs, Waiting: {rng.choice([0, 0, 0, 2])} reqs, "
                f"GPU KV cache usage: {min(99.0, 20 + running * 1.1):.1f}%, "
                f"Prefix cache hit rate: {rng.gauss(40, 3):.1f}%",
            )
        vllm.log("api_server.py:1410", f"Updating weights from broadcasts/step_{step}")
        vllm.access(rng, "/update_weights")
    if clock.until(plan.at((plan.steps or 0) + 0.7)):
        vllm.uvicorn("Shutting down")
        vllm.uvicorn("Application shutdown complete.")


# ---------------------------------------------------------------------------
# Environment workers: logs/env_workers/{env}.log


def _env_worker(plan: Plan, clock: Clock, index: int) -> None:
    from prime_rl_logs.config import LogConfig
    from prime_rl_logs.env_workers import setup_env_worker_logger

    env, worker = ENVS[index // WORKERS_PER_ENV], index % WORKERS_PER_ENV
    log = setup_env_worker_logger(env, worker, plan.out, LogConfig(env_worker_logs=True))
    vf = logging.getLogger(f"verifiers.envs.{env}")
    rng = random.Random(f"env:{index}")
    log.info(f"Loading environment {env} ({7473 if env == 'gsm8k' else 12000} examples)")
    log.info(f"Worker {worker} ready (max concurrent rollouts 64)")
    for step in plan.step_numbers():
        if not clock.until(plan.at(step - 0.4 + 0.1 * worker)):
            return
        reward = min(1.0, max(0.0, env_reward(step, env) + rng.gauss(0, 0.03)))
        log.info(
            f"Finished {rng.randint(12, 20)} groups for step {step} | Reward {reward:.4f} | "
            f"{rng.uniform(1.5, 4.0):.2f}s"
        )
        if rng.random() < 0.08:
            vf.warning("Parser could not extract an answer from rollout %d", rng.randint(0, 9999))
