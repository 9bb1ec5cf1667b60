"""Keys first: background work steps aside while a key is on its way (`core.gate`),
and the sidebar's tick touches only the rows that changed."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.drivers.headless_driver import HeadlessDriver
from textual.widget import Widget
from textual.widgets._footer import FooterKey

from prime_rl_logs.core import gate as gate_module
from prime_rl_logs.core.gate import Gate
from prime_rl_logs.core.run import Run
from prime_rl_logs.core.watch import watch_run
from prime_rl_logs.tui import app as app_module
from prime_rl_logs.tui import history as history_module
from prime_rl_logs.tui.app import PrimeLogsApp
from prime_rl_logs.tui.keys import KeyFooter, keys_first_driver
from prime_rl_logs.tui.sidebar import Sidebar
from tests.fixtures import FixtureRun, append, log_line, settle
from tests.fixtures import pilot_wait_for as wait_for


async def test_a_wait_ends_when_the_gate_opens_or_after_the_most() -> None:
    gate = Gate()
    await gate.wait()  # open: at once
    gate.hold(0.15)
    assert gate.held > 0.1
    start = time.monotonic()
    await gate.wait(most=10)
    assert time.monotonic() - start >= 0.14 and gate.held == 0
    gate.hold(60)
    gate.hold(1)  # a shorter hold never shortens a longer one
    assert gate.held > 50
    start = time.monotonic()
    await gate.wait(most=0.05)  # held for a minute, yet the work moves on
    assert 0.04 <= time.monotonic() - start < 30
    gate.release()
    assert gate.held == 0


async def test_index_slices_wait_while_the_gate_is_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gate_module, "MOST_WAIT_S", 60.0)
    append(
        tmp_path / "logs" / "orchestrator.log",
        b"".join(log_line(i, "INFO", "x" * 80) for i in range(20_000)),
    )
    run = Run(tmp_path)
    gate = Gate()
    gate.hold(0.4)
    held_at_slices: list[float] = []
    build = run.build_index

    def counted(budget_s: float, stop: Callable[[], bool] | None = None) -> bool:
        held_at_slices.append(gate.held)
        return build(budget_s, stop)

    run.build_index = counted  # type: ignore[method-assign]
    stop = asyncio.Event()

    async def watch() -> None:
        async for _ in watch_run(run, stop_event=stop, gate=gate):
            pass

    task = asyncio.create_task(watch())
    for _ in range(300):
        await asyncio.sleep(0.01)
        if held_at_slices:
            break
    stop.set()
    await task
    assert held_at_slices, "the index never ran"
    assert held_at_slices[0] == 0  # the first slice came after the hold


async def test_a_key_holds_history_until_the_gate_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history_module, "HISTORY_SLICE_S", 0.0)  # one chunk a slice
    monkeypatch.setattr(app_module, "INPUT_HOLD_S", 60.0)
    monkeypatch.setattr(gate_module, "MOST_WAIT_S", 60.0)
    lines = [
        log_line(i, "ERROR" if i % 10 == 0 else "INFO", f"line {i} " + "x" * 80)
        for i in range(30_000)
    ]
    append(tmp_path / "logs" / "orchestrator.log", b"".join(lines))
    app = PrimeLogsApp(tmp_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, app)
        slices: list[Any] = []
        pane = app.panes[0]
        build = pane.build_history

        async def counted(budget_s: float) -> None:
            slices.append(budget_s)
            await build(budget_s)

        pane.build_history = counted  # type: ignore[method-assign]
        app.gate.release()
        await pilot.press("e")  # level ERROR: a new view, its history to read
        assert app.gate.held > 30
        slices.clear()
        await asyncio.sleep(0.3)
        await pilot.pause()
        assert slices == [] and pane.history_pending
        app.gate.release()
        await wait_for(pilot, lambda: len(slices) > 0)


def count_drawn_rows(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The ids of the sidebar rows drawn from now on, in order."""
    drawn: list[str | None] = []
    draw_row = Sidebar._draw_row

    def counted(self: Sidebar, prompt: Any, base: Any, width: int, index: int) -> Any:
        drawn.append(self.get_option_at_index(index).id)
        return draw_row(self, prompt, base, width, index)

    monkeypatch.setattr(Sidebar, "_draw_row", counted)
    return drawn


async def test_the_sidebar_tick_rerenders_only_the_rows_that_changed(
    library_run: FixtureRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = PrimeLogsApp(library_run.output_dir)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, app)
        sidebar = app.sidebar
        rel = next(f.source.rel for f in app.run_model.files if f.source.rel not in sidebar.marked)
        index = sidebar.get_option_index(rel)
        assert "●" not in sidebar.render_line(index - sidebar.scroll_offset.y).text
        drawn = count_drawn_rows(monkeypatch)
        sidebar.marked = sidebar.marked | {rel}
        sidebar.update_sources(app.run_model.files)
        await pilot.pause()
        assert "●" in sidebar.render_line(index - sidebar.scroll_offset.y).text
        # One row changed: the others are neither measured nor drawn again.
        assert drawn and set(drawn) == {rel}


async def test_a_sidebar_row_is_drawn_again_only_when_what_it_says_changed(
    library_run: FixtureRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above 10,000 lines a count reads ``12k`` for a thousand lines: a new line
    changes the file's count but not its row, which is then not drawn again."""
    big = library_run.logs / "orchestrator.log"
    append(big, b"".join(log_line(i, "INFO", "history") for i in range(12_000)))
    app = PrimeLogsApp(library_run.output_dir)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, app)
        sidebar = app.sidebar
        files = {f.source.rel: f for f in app.run_model.files}
        small = next(
            rel for rel, f in files.items() if 0 < f.lines < 9_000 and rel != "orchestrator.log"
        )
        drawn = count_drawn_rows(monkeypatch)
        counts = {rel: files[rel].lines for rel in ("orchestrator.log", small)}
        append(big, log_line(1, "INFO", "one more"))
        append(library_run.logs / small, log_line(1, "INFO", "one more"))
        await wait_for(pilot, lambda: all(files[r].lines > n for r, n in counts.items()))
        sidebar.update_sources(app.run_model.files)
        await pilot.pause()
        assert small in drawn  # its count reads one more
        assert "orchestrator.log" not in drawn  # still "12k"


async def test_the_driver_holds_the_gate_as_it_reads_a_key(library_run: FixtureRun) -> None:
    """The driver's input thread holds the gate before the key's first hop: the
    work already waiting on the loop steps aside instead of running ahead of it."""
    app = PrimeLogsApp(library_run.output_dir)
    assert issubclass(app.driver_class, app_module.App.get_driver_class(app))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, app)
        driver = keys_first_driver(HeadlessDriver)(app)
        app.gate.release()
        assert app.gate.held == 0
        thread = threading.Thread(
            target=driver.process_message, args=(events.Key("1", "1"),), daemon=True
        )
        thread.start()
        thread.join()
        assert app.gate.held > 0  # before the app has seen the key
        await wait_for(pilot, lambda: app.active_pane.spec.key == "trainer")


async def test_live_lines_wait_while_a_key_is_on_its_way(
    library_run: FixtureRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gate_module, "MOST_WAIT_S", 60.0)
    app = PrimeLogsApp(library_run.output_dir)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, app)
        lv = app.active_pane.log_view
        assert lv.view is not None
        rows = len(lv.view)
        app.gate.hold(60)
        append(library_run.logs / "orchestrator.log", log_line(99, "INFO", "HELD-BACK"))
        await asyncio.sleep(0.4)  # the watch reads it within 25 ms (inotify) or 2 s (poll)
        await pilot.pause()
        assert len(lv.view) == rows
        app.gate.release()
        await wait_for(pilot, lambda: len(lv.view or ()) > rows)


async def test_an_app_key_runs_its_action_without_the_hops_through_the_widgets(
    library_run: FixtureRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pane key runs when the app gets it: Textual would send it to the focused
    log view, then to each parent (a message hop each), then back to the app."""
    forwarded: list[str] = []
    forward = Widget._forward_event

    def counted(self: Widget, event: events.Event) -> None:
        if isinstance(event, events.Key):
            forwarded.append(f"{type(self).__name__} {event.key}")
        forward(self, event)

    monkeypatch.setattr(Widget, "_forward_event", counted)
    app = PrimeLogsApp(library_run.output_dir)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, app)
        assert app.focused is app.active_pane.log_view
        await pilot.press("1")
        assert app.active_pane.spec.key == "trainer" and forwarded == []
        await pilot.press("2")
        assert app.active_pane.spec.key == "orchestrator" and forwarded == []

        # A key the focused widget binds takes Textual's route: the sidebar's enter.
        app.sidebar.focus()
        await pilot.pause()
        await pilot.press("down", "enter")
        assert forwarded == ["Sidebar down", "Sidebar enter"]
        assert app.active_pane.spec.rel is not None

        # A text field types it: "1" in the search prompt is a character, not a pane.
        forwarded.clear()
        await pilot.press("slash", "1")
        assert app.prompt.value == "1" and forwarded == ["Prompt 1"]
        assert app.active_pane.spec.rel is not None


async def test_the_footer_is_composed_again_only_when_its_keys_change(
    library_run: FixtureRun,
) -> None:
    """Textual's footer composes its keys again at every focus change (a pane switch,
    a click on the other split pane): 15-20 ms of the frame, and cyclic garbage."""
    app = PrimeLogsApp(library_run.output_dir)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("s")  # two panes: tab moves the focus between their views
        await settle(pilot, app)
        footer = app.query_one(KeyFooter)
        keys = list(footer.query(FooterKey))
        assert keys
        other = next(p.log_view for p in app.panes if p.log_view is not app.focused)
        other.focus()  # what a click on the other pane does
        await settle(pilot, app)
        assert app.focused is other
        assert list(footer.query(FooterKey)) == keys  # the same widgets: not composed
        app.attempt_count = 2  # `a` (Attempts) now means something: it shows
        app.refresh_bindings()
        await wait_for(pilot, lambda: any(k.action == "attempts" for k in footer.query(FooterKey)))
