"""The demo's lagging rank is a stall in the Problems pane within the demo's first minute.

The demo (`prime_rl_logs.demo.plan`) keeps its last rank quiet from step `QUIET_FROM`
for `QUIET_STEPS` step periods of `BASE_PERIOD` seconds while its peers go on. Here
the same schedule (at speed 1 and 2) is written to disk tick by tick (the pane's
doctor looks every 2 s), with simulated clocks and mtimes, and one `Doctor` is
updated and judged at each tick, as the pane's worker does.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from prime_rl_logs.demo.plan import BASE_PERIOD, QUIET_FROM, QUIET_STEPS, Plan
from prime_rl_logs.diagnose import Doctor
from tests.diagnose_fixture import _skeleton, loguru

TICK_S = 2.0
RANKS = 4


def _append(path: Path, text: str, mtime: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)
    os.utime(path, (mtime, mtime))


@pytest.mark.parametrize("speed", [1, 2])
def test_the_demos_quiet_rank_is_lagging_within_the_first_minute(
    tmp_path: Path, speed: int
) -> None:
    """At speed 2 the lag (30 s) is longer than the peers' last `STEP_HISTORY` step
    lines (24 s): the doctor remembers when they passed the quiet rank's step."""
    t0 = time.time() - 600  # clocks in the past: the simulated minute is over
    period = BASE_PERIOD / speed
    plan = Plan(str(tmp_path), RANKS, None, period, t0, 0, RANKS - 1)
    run = tmp_path / "run"
    logs = _skeleton(run)
    orch = logs / "orchestrator.log"
    ranks = [logs / "trainer" / f"rank_{r}.log" for r in range(RANKS)]
    for path in [orch, *ranks]:
        _append(path, loguru(t0, "INFO", "Starting"), t0)
    quiet = range(QUIET_FROM, QUIET_FROM + QUIET_STEPS)
    written = {path: 0 for path in [orch, *ranks]}
    doctor = Doctor(run)
    shown_at = None
    detail = ""
    tick = 0.0
    while tick <= 60:
        now = t0 + tick
        for path, delay in [(orch, 0.3), *[(p, 0.5) for p in ranks]]:
            step = written[path] + 1
            while plan.at(step + delay) <= now:
                when = plan.at(step + delay)
                if not (path == ranks[plan.quiet_rank] and step in quiet):
                    line = f"Step {step} | Time: {period:.2f}s | Loss: 0.0123"
                    _append(path, loguru(when, "SUCCESS", line), when)
                written[path] = step
                step += 1
        doctor.update()
        report = doctor.report(now)
        lagging = [s for s in report.stalls if s.reason == "lagging"]
        if lagging:
            [stall] = lagging
            assert (stall.rank, stall.last_step) == (plan.quiet_rank, QUIET_FROM - 1)
            shown_at, detail = tick, stall.detail
            break
        tick += TICK_S
    # Time to enter the live run and press p: the stall is there well within a minute.
    assert shown_at is not None and shown_at <= 50, "the demo's lag never became a stall"
    assert f"rank {plan.quiet_rank} at step {QUIET_FROM - 1}, its peers passed step" in detail
    assert f"step cadence {period:.0f} s" in detail
