"""The plan every process of a demo run follows, and the clock a child keeps.

`Plan` (picklable, handed to every child) fixes the output folder, the ranks, the
number of steps and the pace; step ``k`` is due at ``Plan.at(k)``. `env_reward` and
`run_reward` are drawn from generators seeded by the step, so every process agrees
on them. `Clock` is the child side: it sleeps until a step is due and says when to
stop (a stop signal, or the supervisor gone).
"""

from __future__ import annotations

import math
import os
import random
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Final

ENVS: Final = ("gsm8k", "math")
ENV_MIX: Final = {"gsm8k": 0.5, "math": 0.5}
WORKERS_PER_ENV: Final = 2
MODEL: Final = "Qwen/Qwen3-0.6B"
BASE_PERIOD: Final = 2.0  # seconds per step at speed 1
STARTUP_STEPS: Final = 3  # start-up phase, in step periods
EVAL_EVERY: Final = 10
PAUSE_EVERY: Final = 6
CKPT_EVERY: Final = 5
QUIET_FROM: Final = 2  # the last rank is silent from this step ...
# ... for this many step periods: 100 s at speed 1. The sidebar shows it red after 15 s
# of silence (`tui.sidebar.SILENT_MIN_S`). The doctor calls a rank lagging once its
# peers passed its step more than max(3 cadences, 30 s) before (`diagnose.stalls`):
# the Problems pane shows the lag about 40 s after the demo starts
# (tests/diagnose/test_demo_lag.py).
QUIET_STEPS: Final = 50
# The max_steps the launcher logs when --steps is not given (the run goes on past it).
NOMINAL_MAX_STEPS: Final = 1000
TRACEBACK_STEP: Final = 7
STOP_GRACE_S: Final = 3.0

STOP_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


# ---------------------------------------------------------------------------
# The plan every process follows


@dataclass(frozen=True)
class Plan:
    """What a run looks like; picklable, handed to every child."""

    out: str
    ranks: int
    steps: int | None
    period: float
    t0: float  # when the processes were started (epoch seconds)
    supervisor: int  # pid of the process that started them
    quiet_rank: int

    @property
    def start(self) -> float:
        """Time of step 0; step k is due at ``start + k * period``."""
        return self.t0 + STARTUP_STEPS * self.period

    def at(self, step: float) -> float:
        return self.start + step * self.period

    def step_numbers(self) -> Iterator[int]:
        step = 1
        while self.steps is None or step <= self.steps:
            yield step
            step += 1


def env_reward(step: int, env: str) -> float:
    """The mean reward of ``env`` at ``step``: rising towards ~0.8, noisy, same in every process."""
    rng = random.Random(f"{env}:{step}")
    base = {"gsm8k": 0.30, "math": 0.15}.get(env, 0.2)
    trend = base + (0.85 - base) * (1 - math.exp(-step / 40))
    return min(1.0, max(0.0, trend + rng.gauss(0, 0.05)))


def run_reward(step: int) -> float:
    return sum(ENV_MIX[env] * env_reward(step, env) for env in ENVS)


# ---------------------------------------------------------------------------
# Child side: a clock that stops on a signal or when the supervisor is gone


class Clock:
    """When a child's next line is due, and whether it should stop."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.stopped = False
        self.signal_name: str | None = None
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopped = True
        self.signal_name = signal.Signals(signum).name

    def alive(self) -> bool:
        if os.getppid() != self.plan.supervisor:
            self.stopped = True  # orphaned: the supervisor died without stopping us
        return not self.stopped

    def until(self, when: float) -> bool:
        """Sleep until ``when``; False as soon as the process should stop."""
        while self.alive():
            remaining = when - time.time()
            if remaining <= 0:
                return True
            time.sleep(min(remaining, 0.1))
        return False
