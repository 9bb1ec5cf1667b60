"""Snapshot tests (pytest-textual-snapshot) of the dashboard's main screens.

Each test opens the library-layout fixture run in a folder named ``demo-run`` (the
header shows the folder's name), waits until every pane's history is built and the
metrics are loaded, presses the keys of the scene, waits again, and compares an SVG
of the screen with the one stored in ``__snapshots__/test_snapshots/``.

Deterministic on any machine: the log files' mtimes are set to a fixed epoch and
the sidebar's clock (``time.time()`` in ``prime_rl_logs.tui.sidebar``) is pinned
to a fixed instant, so "age since last write" never changes; nothing shows the
temporary path. Update the SVGs with ``pytest tests/tui/test_snapshots.py
--snapshot-update`` and look at the report before committing them.
"""

from __future__ import annotations

import asyncio
import os
import types
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from textual.pilot import Pilot

from prime_rl_logs.core.view import Filter
from prime_rl_logs.tui import sidebar
from prime_rl_logs.tui.app import PrimeLogsApp
from tests.fixtures import write_fixture_run

SIZE = (160, 40)
MTIME = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC, any fixed instant will do
NOW = MTIME + 42.0  # every source last wrote 42 s ago

SnapCompare = Callable[..., bool]


@pytest.fixture
def demo_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The library fixture run at ``tmp_path/demo-run`` with a frozen sidebar clock."""
    run = write_fixture_run(tmp_path / "demo-run", "library")
    for path in run.logs.rglob("*"):
        if path.is_file():
            os.utime(path, (MTIME, MTIME))
    monkeypatch.setattr(sidebar, "time", types.SimpleNamespace(time=lambda: NOW))
    return run.output_dir


def is_settled(app: PrimeLogsApp) -> bool:
    views = all(p.view is None or p.view.complete for p in app.panes)
    return views and app.metrics.ready and app.problems.ready


async def settle(pilot: Pilot[int]) -> None:
    """Wait until the views are complete and the metrics loaded, then repaint."""
    app = pilot.app
    assert isinstance(app, PrimeLogsApp)
    for _ in range(500):
        await pilot.pause()
        if is_settled(app):
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the dashboard did not settle")
    await pilot.pause()


def scene(*keys: str) -> Callable[[Pilot[int]], object]:
    """A ``run_before`` that settles, presses ``keys``, and settles again."""

    async def run_before(pilot: Pilot[int]) -> None:
        await settle(pilot)
        if keys:
            await pilot.press(*keys)
            await settle(pilot)

    return run_before


def shot(
    snap_compare: SnapCompare,
    run_dir: Path,
    *,
    pane: str = "orchestrator",
    keys: Sequence[str] = (),
    flt: Filter | None = None,
) -> bool:
    app = PrimeLogsApp(run_dir, pane=pane, flt=flt)
    return snap_compare(app, terminal_size=SIZE, run_before=scene(*keys))


def test_orchestrator(snap_compare: SnapCompare, demo_run: Path) -> None:
    assert shot(snap_compare, demo_run)


def test_trainer_all_ranks(snap_compare: SnapCompare, demo_run: Path) -> None:
    assert shot(snap_compare, demo_run, pane="trainer")


def test_trainer_rank0(snap_compare: SnapCompare, demo_run: Path) -> None:
    assert shot(snap_compare, demo_run, pane="trainer", keys=["0"])


def test_all_merged(snap_compare: SnapCompare, demo_run: Path) -> None:
    assert shot(snap_compare, demo_run, pane="all")


def test_level_warning(snap_compare: SnapCompare, demo_run: Path) -> None:
    assert shot(snap_compare, demo_run, pane="all", keys=["w"])


def test_search(snap_compare: SnapCompare, demo_run: Path) -> None:
    assert shot(snap_compare, demo_run, keys=["slash", *"Step", "enter"])


def test_split(snap_compare: SnapCompare, demo_run: Path) -> None:
    assert shot(snap_compare, demo_run, pane="trainer", keys=["s"])


def test_help(snap_compare: SnapCompare, demo_run: Path) -> None:
    assert shot(snap_compare, demo_run, keys=["question_mark"])


def test_metrics(snap_compare: SnapCompare, demo_run: Path) -> None:
    assert shot(snap_compare, demo_run, keys=["m"])
