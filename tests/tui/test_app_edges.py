"""The dashboard on hostile input and first-minute edges (issue 15): a step beyond 64
bits, the sidebar at 80 columns, `b`, `s`, `]` at the newest problem."""

from __future__ import annotations

import json

import pytest

from prime_rl_logs.tui.app import PrimeLogsApp
from tests.fixtures import FixtureRun, loguru_line
from tests.tui.test_app import SIZE, active, screen_text, settle, wait_for

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


async def test_at_80_columns_the_sidebar_is_narrow_and_b_hides_it(
    library_run: FixtureRun,
) -> None:
    app = PrimeLogsApp(library_run.output_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.pause()
        assert app.sidebar.outer_size.width <= 30
        assert app.sidebar.compact
        prompts = [str(app.sidebar.get_option_at_index(i).prompt) for i in range(3)]
        assert all(len(p) <= 28 for p in prompts), prompts
        main = app.query_one("#main")
        assert main.outer_size.width >= 50
        await pilot.press("b")
        await pilot.pause()
        assert not app.sidebar.display
        assert main.outer_size.width == 80
        await pilot.press("b")
        await pilot.pause()
        assert app.sidebar.display and main.outer_size.width >= 50


async def test_a_wide_terminal_keeps_the_full_sidebar(library_run: FixtureRun) -> None:
    app = PrimeLogsApp(library_run.output_dir)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.sidebar.outer_size.width == 44 and not app.sidebar.compact


async def test_s_splits_trainer_over_orchestrator_from_the_orchestrator(
    library_run: FixtureRun,
) -> None:
    app = PrimeLogsApp(library_run.output_dir)  # starts on the orchestrator
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("s")
        await settle(pilot, app)
        top, bottom = app.panes
        assert top.display and bottom.display
        assert (top.key, bottom.key) == ("trainer", "orchestrator")
        assert "Starting trainer on rank 0" in screen_text(top.log_view)
        await pilot.press("s")
        await pilot.pause()
        assert not bottom.display


async def test_next_problem_at_the_newest_one_says_so(
    library_run: FixtureRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = PrimeLogsApp(library_run.output_dir, pane="all")
    said: list[str] = []
    monkeypatch.setattr(app, "notify", lambda message, **_: said.append(str(message)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("G")
        await pilot.pause()
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert said == ["no newer warning or error"]
        await pilot.press("left_square_bracket")  # the newest problem: selected
        await pilot.pause()
        assert active(app).cursor is not None
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert said[-1] == "no newer warning or error"
