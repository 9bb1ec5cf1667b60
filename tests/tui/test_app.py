"""Pilot tests of the dashboard: every key, asserting what is on screen or in the view."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from prime_rl_logs.core.view import Filter
from prime_rl_logs.levels import ERROR
from prime_rl_logs.tui.app import PrimeLogsApp
from prime_rl_logs.tui.help import HelpScreen
from prime_rl_logs.tui.log_view import LogView
from prime_rl_logs.tui.pane import PaneSpec
from tests.fixtures import FixtureRun, loguru_line, settle
from tests.fixtures import pilot_wait_for as wait_for

SIZE = (160, 40)


def screen_lines(lv: LogView) -> list[str]:
    """The text of the rows the log view shows now."""
    height = lv.scrollable_content_region.height
    return [lv.render_line(y).text.rstrip() for y in range(height)]


def screen_text(lv: LogView) -> str:
    return "\n".join(screen_lines(lv))


def view_messages(lv: LogView) -> list[str]:
    """Plain text of every row of the pane's view (not only the visible ones)."""
    assert lv.view is not None
    return [lv.row_text(i).plain for i in range(len(lv.view))]


def active(app: PrimeLogsApp) -> LogView:
    return app.active_pane.log_view


async def test_starts_on_orchestrator_and_keys_switch_panes(library_run: FixtureRun) -> None:
    app = PrimeLogsApp(library_run.output_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        lv = active(app)
        assert app.active_pane.key == "orchestrator"
        text = screen_text(lv)
        for message in library_run.messages(component="orchestrator"):
            assert message[:60] in text
        assert "Starting trainer on rank 0" not in text
        # Tabs are expanded: a raw tab would leave stale cells on a real terminal.
        assert "\t" not in text
        assert "                 ╰─ gsm8k | Ratio 50.0% | Reward 0.6010" in text

        expected = {
            "1": ("trainer", "Starting trainer on rank 1"),
            "3": ("inference", "Starting vLLM API server 0"),
            "4": ("env", "Loaded 7473 examples"),
            "5": ("launcher", "All components running"),
            "6": ("all", "Starting trainer on rank 0"),
            "2": ("orchestrator", "Inference server slow to respond"),
        }
        for key, (pane, message) in expected.items():
            await pilot.press(key)
            await settle(pilot, app)
            assert app.active_pane.key == pane
            assert message in screen_text(active(app)), pane

        await pilot.press("tab")
        assert app.active_pane.key == "inference"
        await pilot.press("shift+tab", "shift+tab")
        assert app.active_pane.key == "trainer"


async def test_all_pane_is_merged_by_time_with_source_tags(library_run: FixtureRun) -> None:
    app = PrimeLogsApp(library_run.output_dir, pane="all")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        rows = view_messages(active(app))
        timed = library_run.messages(fmt="loguru")  # access lines carry no clock
        firsts = [r for r in rows if any(m[:40] in r for m in timed)]
        order = [next(i for i, m in enumerate(timed) if m[:40] in r) for r in firsts]
        assert order == list(range(len(timed)))
        launcher = next(r for r in rows if "Starting RL run" in r)
        assert launcher.startswith("rl ")
        rank1 = next(r for r in rows if "Starting trainer on rank 1" in r)
        assert rank1.startswith("r1 ")


async def test_rank0_toggle(library_run: FixtureRun) -> None:
    app = PrimeLogsApp(library_run.output_dir, pane="trainer")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert "Starting trainer on rank 1" in screen_text(active(app))
        await pilot.press("0")
        await settle(pilot, app)
        text = "\n".join(view_messages(active(app)))
        assert "Starting trainer on rank 0" in text
        assert "rank 1" not in text
        assert "ranks 0" in str(app.status.render())
        await pilot.press("0")
        await settle(pilot, app)
        assert "Starting trainer on rank 1" in screen_text(active(app))


async def test_level_keys_keep_tracebacks_whole(library_run: FixtureRun) -> None:
    app = PrimeLogsApp(library_run.output_dir, pane="trainer")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("w")
        await settle(pilot, app)
        rows = view_messages(active(app))
        assert any("Failed to load checkpoint shard" in r for r in rows)
        assert any("FileNotFoundError" in r for r in rows)  # the traceback stays with it
        assert not any("Starting trainer" in r for r in rows)
        assert not any("Step 1" in r for r in rows)
        assert "level ≥ WARNING" in str(app.status.render())

        await pilot.press("e")
        await settle(pilot, app)
        assert app.filter.min_level == 40
        await pilot.press("l")  # cycles ERROR -> every level
        await settle(pilot, app)
        assert app.filter.min_level == 0
        assert "all levels" in str(app.status.render())
        await pilot.press("l")
        assert app.filter.min_level == 10
        assert "level ≥ DEBUG" in str(app.status.render())
        await pilot.press("l")
        assert app.filter.min_level == 20
        await pilot.press("i", "d")
        await settle(pilot, app)
        assert any("Starting trainer on rank 0" in r for r in view_messages(active(app)))


async def test_search_highlights_and_moves(library_run: FixtureRun) -> None:
    app = PrimeLogsApp(library_run.output_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        lv = active(app)
        await pilot.press("slash")
        assert app.prompt.display and app.focused is app.prompt
        await pilot.press(*"Step", "enter")
        await pilot.pause()
        assert not app.prompt.display
        assert lv.cursor is not None
        assert "Step 2" in lv.row_text(lv.cursor).plain  # the most recent match first
        # The match is highlighted (reverse) in the rendered strip.
        strip = lv.render_line(lv.cursor - round(lv.scroll_y))
        assert any(seg.style is not None and seg.style.reverse for seg in strip)
        await pilot.press("N")
        assert "Step 1" in lv.row_text(lv.cursor).plain
        await pilot.press("n")
        assert "Step 2" in lv.row_text(lv.cursor).plain
        await pilot.press("escape")
        assert lv.search is None and lv.cursor is None


async def test_filter_and_exclude_hide_lines(library_run: FixtureRun) -> None:
    app = PrimeLogsApp(library_run.output_dir, pane="all")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("f", *"Step", "enter")
        await settle(pilot, app)
        rows = view_messages(active(app))
        assert rows and all("Step" in r or "╰─" in r for r in rows)
        await pilot.press("F", *"rank|Loss", "enter")
        await settle(pilot, app)
        rows = view_messages(active(app))
        assert rows and not any("Loss" in r for r in rows)
        assert "hide /rank|Loss/" in str(app.status.render())
        await pilot.press("escape")
        await settle(pilot, app)
        assert any("Starting RL run" in r for r in view_messages(active(app)))


async def test_invalid_regex_is_reported_in_the_prompt(library_run: FixtureRun) -> None:
    app = PrimeLogsApp(library_run.output_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("f", "(", "enter")
        await pilot.pause()
        assert app.prompt.display
        assert app.prompt.has_class("-error")
        assert "invalid regex" in str(app.prompt.border_title)
        await pilot.press("escape")
        assert not app.prompt.display
        assert app.filter.include is None


async def test_jump_to_problems(library_run: FixtureRun) -> None:
    app = PrimeLogsApp(library_run.output_dir, pane="all")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        lv = active(app)
        await pilot.press("left_square_bracket")
        assert lv.cursor is not None
        assert "Sample 12 exceeded max tokens" in lv.row_text(lv.cursor).plain
        await pilot.press("left_square_bracket")
        assert "Failed to load checkpoint shard" in lv.row_text(lv.cursor).plain
        await pilot.press("left_square_bracket")
        assert "Inference server slow" in lv.row_text(lv.cursor).plain
        await pilot.press("right_square_bracket")
        assert "Failed to load checkpoint shard" in lv.row_text(lv.cursor).plain


async def test_copy_takes_the_whole_record(library_run: FixtureRun) -> None:
    app = PrimeLogsApp(library_run.output_dir, pane="trainer")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("right_square_bracket")  # no cursor yet: from the bottom row
        await pilot.press("left_square_bracket")
        await pilot.press("c")
        assert "Failed to load checkpoint shard" in app.clipboard
        assert "FileNotFoundError" in app.clipboard
        assert "\x1b" not in app.clipboard


async def test_home_end_and_pause(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    lines = [loguru_line(f"10:00:{i % 60:02d}", "INFO", f"line number {i}") for i in range(300)]
    (logs / "orchestrator.log").write_text("\n".join(lines) + "\n")
    app = PrimeLogsApp(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        lv = active(app)
        assert "line number 299" in screen_text(lv)
        await pilot.press("g")
        assert "line number 0" in screen_lines(lv)[0]
        assert not lv.following
        await pilot.press("G")
        assert lv.following and "line number 299" in screen_text(lv)
        await pilot.press("space")
        assert not lv.following
        with open(logs / "orchestrator.log", "a") as fh:
            fh.write(loguru_line("10:05:00", "INFO", "arrived while paused") + "\n")
        await wait_for(pilot, lambda: lv.unseen == 1)
        assert "arrived while paused" not in screen_text(lv)
        assert "1 new lines" in str(app.active_pane.status.render())
        await pilot.press("space")
        assert lv.following
        await wait_for(pilot, lambda: "arrived while paused" in screen_text(lv))


async def test_follows_appended_lines_and_new_files(library_run: FixtureRun) -> None:
    app = PrimeLogsApp(library_run.output_dir, pane="trainer")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        lv = active(app)
        with open(library_run.logs / "trainer" / "rank_0.log", "a") as fh:
            fh.write(
                loguru_line("14:05:00", "SUCCESS", "Step 3 | Time: 7.90s | Loss: 0.0001") + "\n"
            )
        await wait_for(pilot, lambda: "Step 3 | Time: 7.90s" in screen_text(lv))
        (library_run.logs / "trainer" / "rank_2.log").write_text(
            loguru_line("14:05:01", "INFO", "Rank 2 joined late") + "\n"
        )
        await wait_for(pilot, lambda: "Rank 2 joined late" in screen_text(lv))
        assert screen_lines(lv)[-1].startswith("r2") or any(
            line.startswith("r2") for line in screen_lines(lv)
        )


async def test_split_shows_two_panes(library_run: FixtureRun) -> None:
    app = PrimeLogsApp(library_run.output_dir, pane="trainer")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("s")
        await settle(pilot, app)
        top, bottom = app.panes
        assert top.display and bottom.display
        assert (top.key, bottom.key) == ("trainer", "orchestrator")
        assert "Starting trainer on rank 0" in screen_text(top.log_view)
        assert "Inference server slow" in screen_text(bottom.log_view)
        await pilot.press("s")
        assert not bottom.display


async def test_split_from_command_line(library_run: FixtureRun) -> None:
    app = PrimeLogsApp(library_run.output_dir, pane="inference", split="env")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert app.panes[1].display
        assert "Loaded 7473 examples" in screen_text(app.panes[1].log_view)


async def test_help_screen_lists_keys(library_run: FixtureRun) -> None:
    app = PrimeLogsApp(library_run.output_dir)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=100, record=True, file=io.StringIO())
        console.print(app.screen.table)
        text = console.export_text()
        for words in ("Rank 0", "Search", "Next warn/error", "Split", "Copy"):
            assert words in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_sidebar_lists_sources_and_enter_opens_one(library_run: FixtureRun) -> None:
    app = PrimeLogsApp(library_run.output_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        sidebar = app.sidebar
        ids = [sidebar.get_option_at_index(i).id for i in range(sidebar.option_count)]
        assert "trainer/rank_1.log" in ids and "env_workers/gsm8k.log" in ids
        rank1 = sidebar.get_option_at_index(ids.index("trainer/rank_1.log"))
        # lines, then 1 error (the Problems pane's marker may stand before the lines)
        assert re.search(r"rank 1\s+(?:● +)?\d+\s+1", str(rank1.prompt))
        await pilot.press("o")
        assert app.focused is sidebar
        sidebar.highlighted = ids.index("trainer/rank_1.log")
        await pilot.press("enter")
        await settle(pilot, app)
        assert app.active_pane.spec == PaneSpec.of_source("trainer/rank_1.log")
        assert "trainer/rank_1.log  (1 file)" in str(app.active_pane.title.render())
        rows = view_messages(active(app))
        assert any("Starting trainer on rank 1" in r for r in rows)
        assert not any("rank 0" in r for r in rows)


async def test_metrics_pane_and_header(library_run: FixtureRun) -> None:
    app = PrimeLogsApp(library_run.output_dir)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.metrics.ready)
        await pilot.pause()
        assert "reward 0.5530" in str(app.header.render())
        await pilot.press("m")
        await pilot.pause()
        assert app.metrics_view.display and not app.panes[0].display
        plot = app.metrics_view.plot("orchestrator/reward")
        assert plot is not None
        await pilot.press("2")
        assert not app.metrics_view.display and app.panes[0].display


async def test_waits_for_a_run_that_has_not_started(tmp_path: Path) -> None:
    out = tmp_path / "not-yet"
    app = PrimeLogsApp(out)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "waiting for" in str(app.active_pane.status.render())
        (out / "logs").mkdir(parents=True)
        (out / "logs" / "orchestrator.log").write_text(
            loguru_line("09:00:00", "INFO", "first words of a new run") + "\n"
        )
        await wait_for(pilot, lambda: "first words of a new run" in screen_text(active(app)))


async def test_starting_filters(library_run: FixtureRun) -> None:
    app = PrimeLogsApp(library_run.output_dir, pane="trainer", flt=Filter(min_level=ERROR))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        rows = view_messages(active(app))
        assert rows and all("Step" not in r for r in rows)
        assert any("Failed to load checkpoint shard" in r for r in rows)


@pytest.mark.parametrize("layout", ["latest"])
async def test_newer_layout(latest_run: FixtureRun, layout: str) -> None:
    app = PrimeLogsApp(latest_run.output_dir, pane="trainer")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        text = "\n".join(view_messages(active(app)))
        assert "Starting trainer on rank 1" in text
        assert "Stale line" not in text
        await pilot.press("0")
        await settle(pilot, app)
        text = "\n".join(view_messages(active(app)))
        assert "Starting trainer on rank 0" in text
        assert "Starting trainer on rank 1" not in text


async def test_recreated_file_shows_new_lines_after_the_old(tmp_path: Path) -> None:
    """setup_logger deletes and recreates its file: old rows stay, new rows follow,
    and rows at the same byte offsets never show each other's text."""
    logs = tmp_path / "logs"
    logs.mkdir()
    path = logs / "orchestrator.log"
    path.write_text(
        "".join(loguru_line("10:00:0" + str(i), "INFO", f"old {i}") + "\n" for i in range(3))
    )
    app = PrimeLogsApp(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        lv = active(app)
        assert "old 2" in screen_text(lv)
        path.unlink()
        path.write_text(
            "".join(loguru_line("10:01:0" + str(i), "INFO", f"new {i}") + "\n" for i in range(3))
        )
        await wait_for(pilot, lambda: "new 2" in screen_text(lv))
        lines = [line for line in screen_lines(lv) if line]
        assert [line.split()[-1] for line in lines][-6:] == ["0", "1", "2", "0", "1", "2"]
        assert [line.split()[-2] for line in lines][-6:] == ["old"] * 3 + ["new"] * 3


async def test_rebuilt_pane_keeps_its_last_row_visible(tmp_path: Path) -> None:
    """Lines wider than the pane: the horizontal scrollbar that appears after a
    rebuild must not hide the last row while following."""
    trainer = tmp_path / "logs" / "trainer"
    trainer.mkdir(parents=True)
    for rank in range(2):
        body = "".join(
            loguru_line(
                f"10:{i // 60:02d}:{i % 60:02d}", "INFO", f"rank {rank} line {i} " + "x" * 150
            )
            + "\n"
            for i in range(60)
        )
        (trainer / f"rank_{rank}.log").write_text(body)
    app = PrimeLogsApp(tmp_path, pane="trainer")
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, app)
        for key in ("0", "0", "i", "d", "6", "1"):
            await pilot.press(key)
            await settle(pilot, app)
            lv = active(app)
            assert lv.view is not None and len(lv.view)
            last = lv.row_text(len(lv.view) - 1).plain
            assert last[:40] in screen_text(lv), key
            assert lv.scroll_y == lv.max_scroll_y, key


async def test_source_tag_colour_stays_on_the_tag(library_run: FixtureRun) -> None:
    app = PrimeLogsApp(library_run.output_dir, pane="all")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        lv = active(app)
        row = next(i for i in range(len(lv.view or [])) if "Traceback" in lv.row_text(i).plain)
        text = lv.row_text(row)
        tag_end = lv.tag_width
        tag_styles = {str(span.style) for span in text.spans if span.end <= tag_end + 1}
        assert tag_styles, "the tag has a colour"
        # Nothing of the tag's style reaches past it: the traceback line keeps its own.
        assert not any(
            span.end > tag_end + 1 for span in text.spans if str(span.style) in tag_styles
        )
        assert str(text.style) in ("", "none")


async def test_unreadable_file_is_an_error_row_and_the_rest_works(
    library_run: FixtureRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file we may not read (permissions: simulated, since tests may run as root)."""
    import os

    from prime_rl_logs.core import follow

    real_open = os.open
    denied = str(library_run.logs / "trainer" / "rank_1.log")

    def fake_open(path: object, flags: int, *args: object) -> int:
        if str(path) == denied:
            raise PermissionError(13, "Permission denied", denied)
        return real_open(path, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(follow.os, "open", fake_open)
    app = PrimeLogsApp(library_run.output_dir, pane="trainer")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        sidebar = app.sidebar
        rows = {
            sidebar.get_option_at_index(i).id: str(sidebar.get_option_at_index(i).prompt)
            for i in range(sidebar.option_count)
        }
        assert "Permission denied" in rows["trainer/rank_1.log"]
        assert "Starting trainer on rank 0" in screen_text(active(app))
        await pilot.press("2")
        await settle(pilot, app)
        assert "Inference server slow to respond" in screen_text(active(app))


async def test_metrics_update_when_a_step_line_is_appended(library_run: FixtureRun) -> None:
    app = PrimeLogsApp(library_run.output_dir)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.metrics.ready)
        await pilot.press("m")
        await pilot.pause()
        plot = app.metrics_view.plot("orchestrator/reward")
        assert plot is not None and plot.last_value == pytest.approx(0.5530)
        step3 = "Step 3 | Time: 11.20s | Reward: 0.6104 | Throughput: 1650.0 tokens/s"
        with open(library_run.logs / "orchestrator.log", "a") as fh:
            fh.write(loguru_line("14:05:10", "SUCCESS", step3) + "\n")
        await wait_for(pilot, lambda: plot.last_value == pytest.approx(0.6104))
        assert "step 3" in str(app.header.render())
        assert "reward 0.6104" in str(app.header.render())


async def test_q_quits_and_the_palette_offers_every_action(library_run: FixtureRun) -> None:
    app = PrimeLogsApp(library_run.output_dir)
    async with app.run_test(size=SIZE) as pilot:
        titles = {command.title for command in app.get_system_commands(app.screen)}
        for title in ("Rank 0", "Search", "Filter", "Split", "Metrics", "Next warn/error"):
            assert title in titles
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_jump_after_end_starts_from_the_screen(tmp_path: Path) -> None:
    """Issue 15 item 12: ``G`` then ``[`` finds the newest warning on screen, not the
    one before an old selection that scrolled away."""
    logs = tmp_path / "logs"
    logs.mkdir()
    lines = [loguru_line("10:00:00", "WARNING", "old warning")]
    lines += [loguru_line(f"10:01:{i % 60:02d}", "INFO", f"filler {i}") for i in range(200)]
    lines += [loguru_line("10:05:00", "WARNING", "newest warning")]
    lines += [loguru_line("10:05:01", "INFO", "last line")]
    (logs / "orchestrator.log").write_text("\n".join(lines) + "\n")
    app = PrimeLogsApp(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        lv = active(app)
        await pilot.press("g")
        await pilot.press("right_square_bracket")
        await pilot.press("left_square_bracket")
        assert lv.cursor is not None and "old warning" in lv.row_text(lv.cursor).plain
        await pilot.press("G")
        await pilot.press("left_square_bracket")
        assert lv.cursor is not None and "newest warning" in lv.row_text(lv.cursor).plain


def test_a_catastrophic_filter_never_freezes_the_keys(tmp_path: Path) -> None:
    """Issue 15 item 5: ``f`` then ``(a+)+$`` over lines of ``aaa...b``: the pattern
    is refused with a message, and ``q`` quits. Run in a subprocess: on the old code
    the match holds the GIL for minutes, so only a process timeout can end it."""
    import os
    import subprocess
    import sys
    import textwrap

    logs = tmp_path / "logs"
    logs.mkdir()
    lines = [loguru_line("10:00:00", "INFO", "a" * 40 + "b") for _ in range(50)]
    (logs / "orchestrator.log").write_text("\n".join(lines) + "\n")
    body = textwrap.dedent(
        """
        import asyncio, sys
        from pathlib import Path
        from prime_rl_logs.tui.app import PrimeLogsApp

        async def main() -> None:
            app = PrimeLogsApp(Path(sys.argv[1]))
            async with app.run_test(size=(120, 30)) as pilot:
                await pilot.pause(0.2)
                await pilot.press("f")
                await pilot.press(*"(a+)+$")
                await pilot.press("enter")
                await pilot.pause(0.1)
                print("title", app.prompt.border_title)
                await pilot.press("escape")
                await pilot.press("q")
            print("quit", app.return_code)

        asyncio.run(main())
        """
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    try:
        proc = subprocess.run(
            [sys.executable, "-c", body, str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=120,  # a hang guard, not a timing assertion
            env=env,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the dashboard froze on a catastrophic regex")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "exponential" in proc.stdout and "quit 0" in proc.stdout, proc.stdout
