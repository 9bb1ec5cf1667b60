"""`prime-logs demo [OUTPUT_DIR]`: a simulated prime-rl run, written through this library.

No GPU and no prime-rl needed: separate processes play the parts of a real run and
write the files the dashboard reads, in the library's layout::

    logs/rl.log                  the launcher
    logs/orchestrator.log        step lines with per-env continuation lines, evals,
                                 pause/resume, warnings, one traceback
    logs/inference.stdout        vLLM's shape: start-up, access lines, throughput
    logs/trainer/rank_{N}.log    one file per rank; rank 0 logs at DEBUG, and the
                                 last rank goes quiet for a while, then catches up
    logs/env_workers/{gsm8k,math}.log   two workers each, via setup_env_worker_logger

Every process but the vLLM imitation logs through `setup_logger` like a real
prime-rl process; rewards rise noisily and all processes agree on them, since each
step's numbers are drawn from a generator seeded by the step.

Pace: one step every ``2 / speed`` seconds, all processes keyed to one shared
clock. ``--steps`` bounds the run; without it the writers go on until stopped.
The supervisor (this process) never logs itself. Ctrl+C, SIGTERM or SIGHUP stops
every child: children stop on the signal or on a SIGTERM from the supervisor,
whichever comes first, stragglers are killed after a grace period, and a child
whose supervisor vanished (even by SIGKILL) notices and exits, so no orphans stay.

The package: `plan` (what every process follows: the constants, `Plan`, the rewards
and the child's `Clock`), `roles` (the child processes, one function per part) and
`supervisor` (`prepare`, `DemoRun`, `simulate`). The command line that checks
``--speed``/``--steps``/``--ranks`` and opens the dashboard is
`prime_rl_logs.commands.demo`.
"""

from __future__ import annotations

from prime_rl_logs.demo.plan import (
    BASE_PERIOD,
    ENV_MIX,
    ENVS,
    WORKERS_PER_ENV,
    Plan,
    env_reward,
    run_reward,
)
from prime_rl_logs.demo.supervisor import DemoRun, prepare, simulate

__all__ = [
    "BASE_PERIOD",
    "ENVS",
    "ENV_MIX",
    "WORKERS_PER_ENV",
    "DemoRun",
    "Plan",
    "env_reward",
    "prepare",
    "run_reward",
    "simulate",
]
