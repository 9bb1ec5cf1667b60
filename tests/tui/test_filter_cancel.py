"""Issue 15 item 5: a filter's history scan is stopped by the next filter or by
``esc``, and ``q`` quits while one is being read; issue 12: a pane shown again is
the view it showed (kept live while hidden), and history rows are shown in a few
batches, not one per slice."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from prime_rl_logs.core import view_file
from prime_rl_logs.core.user_regex import compile_user_regex
from prime_rl_logs.core.view import CANCELLED, View
from prime_rl_logs.tui import history as history_module
from prime_rl_logs.tui.app import PrimeLogsApp
from prime_rl_logs.tui.pane import HIDDEN_VIEWS
from tests.fixtures import append, count_reads, log_line, pilot_wait_for, settle

SIZE = (120, 30)
T0 = 9 * 3600


def big_run(path: Path, lines: int = 100_000) -> Path:
    """One orchestrator log long enough that a regex filter reads its history for
    many slices (every line matches ``step``, so each is judged)."""
    block = b"".join(
        log_line(T0 + i // 100, "INFO", f"step {i} rollout x{i % 7}") for i in range(lines)
    )
    append(path / "logs" / "orchestrator.log", block)
    return path


@pytest.fixture
def slow_history(monkeypatch: pytest.MonkeyPatch) -> None:
    """History read 4 kB a slice: a filter's scan spans hundreds of slices."""
    monkeypatch.setattr(view_file, "FIRST_CHUNK", 4 << 10)
    monkeypatch.setattr(view_file, "STEP_CHUNK", 4 << 10)
    monkeypatch.setattr(history_module, "HISTORY_SLICE_S", 0.0)


@pytest.mark.usefixtures("slow_history")
async def test_a_new_filter_or_esc_cancels_the_scan_and_q_quits(tmp_path: Path) -> None:
    app = PrimeLogsApp(big_run(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("f", *"step", "enter")
        first = app.active_pane.view
        assert first is not None and first.filter.include is not None
        assert not first.complete  # still reading history
        await pilot.press("f", *"x3", "enter")  # a new filter
        second = app.active_pane.view
        assert second is not None and second is not first
        assert first.stopped == CANCELLED and first.complete
        assert not second.complete
        rows = len(first)
        await pilot.press("escape")  # no filter at all
        assert second.stopped == CANCELLED
        shown = app.active_pane.view
        assert shown is not None and shown.filter.include is None
        assert len(first) == rows  # a cancelled view takes nothing more
        await pilot.press("f", *"step", "enter")
        third = app.active_pane.view
        assert third is not None and not third.complete
        await pilot.press("q")  # quits while the history of `third` is read
        await pilot_wait_for(pilot, lambda: not app.is_running)
    assert app.return_code in (None, 0)


async def test_a_pane_shown_again_is_the_view_it_showed(tmp_path: Path) -> None:
    """Key 1 then 2 then 1: the Trainer view comes back as it was, history and all,
    and followed the lines written while the Orchestrator pane was shown."""
    logs = tmp_path / "logs"
    for r in range(4):
        append(logs / "trainer" / f"rank_{r}.log", log_line(T0 + r, "INFO", f"rank {r} old"))
    append(logs / "orchestrator.log", log_line(T0, "INFO", "orchestrator"))
    app = PrimeLogsApp(tmp_path, pane="trainer")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        trainer = app.active_pane.view
        assert trainer is not None and len(trainer) == 4
        await pilot.press("2")
        await settle(pilot, app)
        assert app.active_pane.view is not trainer
        append(logs / "trainer" / "rank_2.log", log_line(T0 + 9, "INFO", "rank 2 while hidden"))
        await pilot_wait_for(pilot, lambda: len(trainer) == 5)
        await pilot.press("1")
        assert app.active_pane.view is trainer
        assert "rank 2 while hidden" in trainer.row(4).text
        assert len(app.hidden_views) <= HIDDEN_VIEWS


async def test_history_rows_are_shown_in_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long history is read in many slices; the pane is told of new rows at most
    every `HISTORY_PUBLISH_S` (and once complete), not once per slice."""
    for r in range(3):
        append(
            tmp_path / "logs" / "trainer" / f"rank_{r}.log",
            b"".join(log_line(T0 + i // 50, "INFO", f"r{r} {i}") for i in range(20_000)),
        )
    slices: list[int] = []
    original = View.build

    def counting(self: View, budget_s: float = 0.02, held: bool = False) -> int:
        slices.append(1)
        return original(self, budget_s, held)

    monkeypatch.setattr(View, "build", counting)
    app = PrimeLogsApp(tmp_path, pane="trainer")
    async with app.run_test(size=SIZE) as pilot:
        lv = app.active_pane.log_view
        shown: list[int] = []
        on_delta = lv.on_delta
        monkeypatch.setattr(lv, "on_delta", lambda d: (shown.append(d.prepended), on_delta(d)))
        await settle(pilot, app)
        view = app.active_pane.view
        assert view is not None and view.complete and view.held == 0
        assert len(view) == 60_000
        assert len(slices) > 4
        assert 0 < len([n for n in shown if n]) < len(slices)


async def test_a_slow_filter_runs_off_the_event_loop(tmp_path: Path) -> None:
    """The history of a regex filter is read on a thread: the event loop runs on
    while the regex spends its time limit (at least 0.25 s of CPU) on a line that
    backtracks; on the event loop, the filter had stopped before anything else ran."""
    from tests.test_slow_regex import SLOW, write_run

    app = PrimeLogsApp(write_run(tmp_path, plain=30, slow=5))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        app._set_filter(replace(app.filter, include=compile_user_regex(SLOW)))
        pane = app.active_pane
        view = pane.view
        assert view is not None and view.stopped is None
        for _ in range(2000):  # (not `pilot.pause`: it waits for the CPU to be idle)
            if pane._building is view:
                break
            await asyncio.sleep(0.005)
        for _ in range(5):
            await asyncio.sleep(0.01)  # the loop turns while the thread searches
        assert view.stopped is None and pane._building is view
        await pilot_wait_for(pilot, lambda: view.stopped is not None)
        assert "too slow" in (view.stopped or "")
        await pilot.press("q")
        await pilot_wait_for(pilot, lambda: not app.is_running)


async def test_a_pane_switch_reads_no_history_on_the_key_press(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12: key 1 shows the Trainer pane (title, status) without reading a byte
    of history; its first screen comes from the history worker right after (the
    old code read 256 kB of every rank file first, inside the key's handler)."""
    logs = tmp_path / "logs"
    for r in range(8):
        append(
            logs / "trainer" / f"rank_{r}.log",
            b"".join(log_line(T0 + i, "INFO", f"rank {r} step {i}") for i in range(2000)),
        )
    append(logs / "orchestrator.log", log_line(T0, "INFO", "orchestrator"))
    app = PrimeLogsApp(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        read = count_reads(monkeypatch)
        app.action_pane("trainer")  # what key 1 does, synchronously
        assert read == []
        assert "1 Trainer" in str(app.active_pane.title.render())
        await settle(pilot, app)
        view = app.active_pane.view
        assert view is not None and len(view) == 16_000 and read
