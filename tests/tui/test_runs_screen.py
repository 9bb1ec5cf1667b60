"""Pilot tests of the runs screen, the attempt picker and the header's attempt phrase,
on a folder of runs written as prime-rl writes it today (`tests.runs_fixture`)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.pilot import Pilot

from prime_rl_logs.tui.app import PrimeLogsApp
from prime_rl_logs.tui.attempts import AttemptPicker
from prime_rl_logs.tui.config_view import MATCH_STYLE, ConfigView, config_text
from prime_rl_logs.tui.runs_screen import RunsScreen, sparkline
from tests.fixtures import pilot_wait_for as wait_for
from tests.fixtures import settle
from tests.runs_fixture import FINISHED, LIVE, STALLED, Outputs, write_finished, write_outputs

SIZE = (180, 40)


@pytest.fixture
def outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Outputs:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no registry of this machine
    return write_outputs(tmp_path / "outputs")


async def runs_screen(pilot: Pilot[int], app: PrimeLogsApp, *, rows: int) -> RunsScreen:
    """Wait until the app shows its runs screen with ``rows`` runs listed."""
    await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))
    screen = app.screen
    assert isinstance(screen, RunsScreen)
    await wait_for(pilot, lambda: screen.table.row_count == rows)
    return screen


def table_text(screen: RunsScreen) -> list[str]:
    table = screen.table
    return [" ".join(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]


def header(app: PrimeLogsApp) -> str:
    return str(app.header.render())


def test_sparkline_follows_the_values() -> None:
    assert sparkline([]) == ""
    assert sparkline([1, 2, 3]) == "▁▅█"
    assert sparkline([2, 2]) == "▅▅"
    assert len(sparkline(range(20))) == 8


async def test_runs_screen_lists_the_runs_newest_first_and_opens_one(outputs: Outputs) -> None:
    app = PrimeLogsApp(outputs.live, runs=outputs.root, runs_screen=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await runs_screen(pilot, app, rows=3)
        rows = table_text(screen)
        assert [r.split()[0] for r in rows] == [LIVE, STALLED, FINISHED]  # newest first
        live, stalled, finished = rows
        assert "running" in live and "attempt 1 crashed at step 12" in live
        assert "15/100" in live and "Qwen/Qwen3-0.6B" in live and "gsm8k" in live
        assert "finished" in finished and "20/20" in finished
        assert "stalled" in stalled
        assert any(c in live for c in "▁▂▃▄▅▆▇█")  # the reward's trend
        # enter on the third row opens the finished run in the dashboard
        await pilot.press("down", "down", "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, RunsScreen))
        await settle(pilot, app)
        assert app.output_dir == outputs.finished
        assert FINISHED in header(app)
        # r returns to the runs screen, escape goes back to the run
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, RunsScreen))
        assert app.output_dir == outputs.finished


async def test_a_run_that_starts_while_the_screen_is_open_appears(outputs: Outputs) -> None:
    app = PrimeLogsApp(outputs.live, runs=outputs.root, runs_screen=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await runs_screen(pilot, app, rows=3)
        write_finished(outputs.root / "new--run--0000", time.time())
        await wait_for(pilot, lambda: screen.table.row_count == 4, timeout=15)
        assert any("new--run--0000" in r for r in table_text(screen))


async def test_names_are_drawn_escaped(outputs: Outputs) -> None:
    import time

    write_finished(outputs.root / "evil\x1b]0;pwned\x07run", time.time())
    app = PrimeLogsApp(outputs.live, runs=outputs.root, runs_screen=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await runs_screen(pilot, app, rows=4)
        text = "\n".join(table_text(screen))
        assert "\x1b" not in text and "\x07" not in text
        assert "evil\\x1b]0;pwned\\x07run" in text


async def test_attempt_picker_shows_an_older_attempt_and_L_returns(outputs: Outputs) -> None:
    app = PrimeLogsApp(outputs.live)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert "resumed after crash at step 12" in header(app)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AttemptPicker))
        picker = app.screen
        assert isinstance(picker, AttemptPicker)
        lines = [str(picker.options.get_option_at_index(i).prompt) for i in range(2)]
        assert "attempt 1" in lines[0] and "crashed" in lines[0] and "steps 1-12" in lines[0]
        assert "OutOfMemoryError" in lines[0] or "failed" in lines[0]
        assert "attempt 2" in lines[1] and "running" in lines[1] and "(live)" in lines[1]
        await pilot.press("up", "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, AttemptPicker))
        await settle(pilot, app)
        assert app.run_model.logs == outputs.live / "logs" / "attempt_1"
        assert "attempt 1 of 2, crashed" in header(app)
        # every pane reads attempt 1's files only
        assert all("attempt_2" not in str(f.path) for f in app.run_model.files)
        await pilot.press("L")
        await settle(pilot, app)
        assert app.shown_logs is None and app.run_model.logs == outputs.live / "logs"
        assert "resumed after crash at step 12" in header(app)


async def test_a_single_run_has_no_runs_screen(outputs: Outputs) -> None:
    app = PrimeLogsApp(outputs.finished)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert not isinstance(app.screen, RunsScreen)
        await pilot.press("r")
        await pilot.pause()
        assert not isinstance(app.screen, RunsScreen)


def test_watch_on_a_folder_of_runs_opens_the_runs_screen(
    outputs: Outputs, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import argparse

    import prime_rl_logs.commands.watch as watch
    from prime_rl_logs.cli import main

    seen: list[argparse.Namespace] = []

    def fake_main(args: argparse.Namespace) -> int:
        seen.append(args)
        return 0

    monkeypatch.setattr(watch, "main", fake_main)
    assert main(["watch", str(outputs.root)]) == 0
    args = seen[-1]
    assert args.runs == outputs.root and args.runs_screen
    assert "opening the newest" not in capsys.readouterr().err  # the runs screen opens
    assert main(["watch", str(outputs.root), "--run", "math"]) == 0
    assert seen[-1].output_dir == outputs.finished and not seen[-1].runs_screen
    assert seen[-1].runs == outputs.root  # r still shows the runs
    assert main(["watch", str(outputs.finished)]) == 0
    assert seen[-1].runs is None and not seen[-1].runs_screen  # a single run opens as today


def body_text(view: ConfigView) -> str:
    return view.shown.plain


async def test_config_view_shows_the_shown_attempts_config_and_searches(
    outputs: Outputs,
) -> None:
    app = PrimeLogsApp(outputs.live)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("C")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfigView))
        view = app.screen
        assert isinstance(view, ConfigView)
        text = body_text(view)
        assert "configs/attempt_2/rl.toml" in text and "configs/attempt_2/command.txt" in text
        assert 'name = "Qwen/Qwen3-0.6B"' in text and "uv run rl" in text
        assert any(span.style for span in view.text.spans)  # highlighted by rich
        await pilot.press("slash", *"max_steps", "enter")
        await pilot.pause()
        assert view.matches and view.current == 0
        assert any(str(s.style) == MATCH_STYLE for s in view.shown.spans)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfigView))
        # the config of an older attempt, once it is shown
        await pilot.press("a", "up", "enter")
        await wait_for(pilot, lambda: app.shown_logs is not None)
        await pilot.press("C")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfigView))
        assert isinstance(app.screen, ConfigView)
        assert "configs/attempt_1/rl.toml" in body_text(app.screen)
        assert "attempt 1" in app.screen.title_text


def test_config_text_escapes_control_characters(tmp_path: Path) -> None:
    path = tmp_path / "rl.toml"
    path.write_bytes(b'name = "\x1b]0;pwned\x07\x1b[31mred"\n\tx = 1\nbad = "\xff"\n')
    text = config_text([path], tmp_path)
    assert not any(ord(c) < 32 and c != "\n" for c in text.plain)
    assert "\\x1b]0;pwned\\x07\\x1b[31mred" in text.plain and "\\xff" in text.plain
    assert "    x = 1" in text.plain  # a tab is spaces, not \x09


async def test_marked_runs_are_overlaid_in_the_metrics_pane(outputs: Outputs) -> None:
    app = PrimeLogsApp(outputs.live, runs=outputs.root, runs_screen=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await runs_screen(pilot, app, rows=3)
        # mark the stalled and the finished run, open the live one
        await pilot.press("down", "space", "down", "space", "up", "up")
        assert screen.marked == [outputs.stalled, outputs.finished]
        assert "●" in table_text(screen)[1]
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, RunsScreen))
        assert app.compared == [outputs.stalled, outputs.finished]
        await pilot.press("m")
        key = "orchestrator/reward"
        await wait_for(
            pilot,
            lambda: (plot := app.metrics_view.plot(key)) is not None and len(plot.others) == 2,
        )
        plot = app.metrics_view.plot(key)
        assert plot is not None
        names = [name for name, _, _ in plot.others]
        assert names == [STALLED, FINISHED]
        colours = {plot.colour, *(c for _, _, c in plot.others)}
        assert len(colours) == 3  # distinct colours
        text = plot.render().plain
        assert "this run" in text and STALLED in text and FINISHED in text  # the legend


def test_serve_on_a_folder_of_runs_serves_the_runs_screen(outputs: Outputs) -> None:
    from prime_rl_logs.cli import build_parser
    from prime_rl_logs.commands.run_dir import apply_run_options

    args = build_parser().parse_args(["serve", str(outputs.root)])
    apply_run_options(args)
    assert args.runs == outputs.root and args.runs_screen  # serve.main then serves the folder
