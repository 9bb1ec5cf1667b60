"""Pane identity, chrome and the status message: `tui.pane` and `LogView.StatusChanged`."""

from __future__ import annotations

from dataclasses import replace

from prime_rl_logs.core.view import Filter
from prime_rl_logs.levels import WARNING
from prime_rl_logs.tui.app import PrimeLogsApp
from prime_rl_logs.tui.log_view import LogView
from prime_rl_logs.tui.pane import PaneSpec, describe
from tests.fixtures import FixtureRun, settle

SIZE = (160, 40)


def status(app: PrimeLogsApp) -> str:
    return str(app.active_pane.status.render())


async def test_space_updates_the_status_line_at_once(library_run: FixtureRun) -> None:
    """D1: the pane's status follows `space` without waiting for the app's tick."""
    app = PrimeLogsApp(library_run.output_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert "following" in status(app)
        await pilot.press("space")
        assert "paused" in status(app)
        await pilot.press("space")
        assert "following" in status(app)


async def test_title_counts_the_files_the_view_shows(library_run: FixtureRun) -> None:
    """With rank 0 selected, the Trainer title counts rank 0's file only, and a pane of
    one file has no tag column."""
    app = PrimeLogsApp(library_run.output_dir, pane="trainer")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        pane = app.active_pane
        assert "Trainer  (2 files)" in str(pane.title.render())
        assert pane.log_view.tag_width > 0
        await pilot.press("0")
        await settle(pilot, app)
        assert "Trainer  (1 file)" in str(pane.title.render())
        assert pane.log_view.tag_width == 0


async def test_the_default_pane_is_a_window_of_its_files_index(library_run: FixtureRun) -> None:
    """D2: the dashboard's default filter shows every level, so the default pane (one
    file, the Orchestrator's) needs no rows of its own; the status line says so."""
    app = PrimeLogsApp(library_run.output_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert app.filter == Filter()
        view = app.active_pane.view
        assert view is not None and view.is_index_window
        assert str(app.status.render()).startswith(" all levels")
        await pilot.press("d")
        await settle(pilot, app)
        view = app.active_pane.view
        assert view is not None and not view.is_index_window
        assert "level ≥ DEBUG" in str(app.status.render())


def test_pane_spec_narrows_the_app_filter() -> None:
    base = Filter(min_level=WARNING, ranks=frozenset({0}))
    trainer = PaneSpec.of_pane("trainer")
    assert (trainer.title, trainer.number) == ("Trainer", 1)
    assert trainer.filter(base) == replace(base, components=frozenset({"trainer"}))
    assert PaneSpec.of_pane("all").filter(base) == base
    source = PaneSpec.of_source("trainer/rank_1.log")
    assert (source.title, source.number, source.key) == (
        "trainer/rank_1.log",
        None,
        "trainer/rank_1.log",
    )
    assert source.filter(replace(base, components=frozenset({"env"}))) == replace(
        base, rels=frozenset({"trainer/rank_1.log"})
    )


def test_describe_names_the_level_shown() -> None:
    assert describe(Filter()) == "all levels │ ranks all"
    assert describe(Filter(min_level=WARNING, ranks=frozenset({3, 0}))) == (
        "level ≥ WARNING │ ranks 0,3"
    )
    assert describe(Filter(min_level=27)) == "level ≥ 27 │ ranks all"


def test_status_messages_name_their_log_view_and_coalesce() -> None:
    a, b = LogView(), LogView()
    first, second, other = (
        LogView.StatusChanged(a),
        LogView.StatusChanged(a),
        LogView.StatusChanged(b),
    )
    assert first.control is a and first.log_view is a
    assert second.can_replace(first)
    assert not other.can_replace(first)


async def test_a_selected_row_survives_a_smaller_view_and_a_hidden_pane(
    library_run: FixtureRun,
) -> None:
    """The cursor of a long view, then a pane of fewer rows, then the pane hidden."""
    app = PrimeLogsApp(library_run.output_dir, pane="all")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        lv = app.active_pane.log_view
        assert lv.view is not None
        lv.show_row(len(lv.view) - 1)
        await pilot.press("5")  # the launcher: a few rows
        await settle(pilot, app)
        assert lv.cursor is None and lv.view is not None
        await pilot.press("s")
        await settle(pilot, app)
        bottom = app.panes[1].log_view
        assert bottom.view is not None
        bottom.show_row(len(bottom.view) - 1)
        await pilot.press("s")
        await settle(pilot, app)
        assert bottom.view is None and bottom.cursor is None
