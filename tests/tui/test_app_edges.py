"""The dashboard on hostile input and first-minute edges (issue 15): a step beyond 64
bits, the sidebar at 80 columns, `b`, `s`, `]` at the newest problem."""

from __future__ import annotations

import json

from prime_rl_logs.tui.app import PrimeLogsApp
from tests.fixtures import FixtureRun, loguru_line
from tests.tui.test_app import SIZE, wait_for

HUGE = "99999999999999999999"


async def test_a_step_beyond_64_bits_is_skipped_and_shown_in_the_header(
    library_run: FixtureRun,
) -> None:
    with open(library_run.logs / "orchestrator.log", "a") as fh:
        fh.write(loguru_line("14:05:00", "SUCCESS", f"Step {HUGE} | Reward: 0.9") + "\n")
    (library_run.output_dir / "metrics.jsonl").write_text(
        json.dumps({"step": int(HUGE), "reward/mean": 0.9}) + "\n", encoding="utf-8"
    )
    app = PrimeLogsApp(library_run.output_dir)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.metrics.ready)
        await pilot.press("m")
        await pilot.pause()
        assert app.metrics_view.plot("orchestrator/reward") is not None
        # Appended while the dashboard follows the run: skipped too.
        with open(library_run.logs / "orchestrator.log", "a") as fh:
            fh.write(loguru_line("14:05:10", "SUCCESS", f"Step {HUGE}1 | Reward: 0.8") + "\n")
        await wait_for(pilot, lambda: app.metrics.store.skipped == 3)
        await wait_for(pilot, lambda: "3 skipped: step beyond 64 bits" in str(app.header.render()))
        assert "reward 0.5530" in str(app.header.render())
        assert app.is_running
