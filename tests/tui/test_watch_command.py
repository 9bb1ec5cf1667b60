"""`prime_rl_logs.commands.watch`: options to the dashboard's starting state."""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from prime_rl_logs.commands import tail as tail_command
from prime_rl_logs.commands import watch
from prime_rl_logs.core.view import Filter
from prime_rl_logs.errors import UsageError
from prime_rl_logs.layout import DEFAULT_PANE
from prime_rl_logs.tui.app import PrimeLogsApp
from tests.fixtures import FixtureRun


def namespace(output_dir: Path, **options: object) -> argparse.Namespace:
    values: dict[str, object] = {
        "output_dir": output_dir,
        "pane": None,
        "split": None,
        "level": None,
        "rank": None,
        "poll": False,
    }
    values.update(options)
    return argparse.Namespace(**values)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[PrimeLogsApp]:
    """The apps `open_dashboard` built, run without a terminal (the run is recorded)."""
    apps: list[PrimeLogsApp] = []
    monkeypatch.setattr(PrimeLogsApp, "run", lambda self: apps.append(self))
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    return apps


def test_main_opens_the_dashboard_with_the_options(
    tmp_path: Path, started: list[PrimeLogsApp]
) -> None:
    args = namespace(tmp_path, split="trainer,orch", level="27", rank="0", poll=True)
    assert watch.main(args) == 0
    (app,) = started
    assert (app.panes[0].key, app.split_partner, app.poll) == ("trainer", "orchestrator", True)
    # 27 is shown as the named level below it, SUCCESS, and filters as SUCCESS.
    assert app.filter == Filter(min_level=25, ranks=frozenset({0}))


def test_open_dashboard_defaults(tmp_path: Path, started: list[PrimeLogsApp]) -> None:
    assert watch.open_dashboard(tmp_path) == 0
    (app,) = started
    assert (app.panes[0].key, app.split_partner, app.poll) == (DEFAULT_PANE, None, None)
    assert app.filter == Filter()


def test_without_a_terminal_it_follows_like_tail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[argparse.Namespace] = []

    def follow(args: argparse.Namespace) -> int:
        seen.append(args)
        return 7

    monkeypatch.setattr("sys.stdout.isatty", lambda: False)
    monkeypatch.setattr(tail_command, "main_as_follow", follow)
    args = namespace(tmp_path, pane="trainer")
    assert watch.main(args) == 7
    assert seen == [args]


@pytest.mark.parametrize(
    "options",
    [{"pane": "nope"}, {"split": "a,b,c"}, {"level": "loud"}, {"rank": "x"}],
)
def test_bad_options_are_usage_errors(tmp_path: Path, options: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        watch.main(namespace(tmp_path, **options))


# -- start-up (issue 12): no garbage collection while the dashboard's modules load


def test_the_collector_is_paused_while_loading_and_what_loaded_is_frozen() -> None:
    enabled = gc.isenabled()
    frozen = gc.get_freeze_count()
    thresholds = gc.get_threshold()
    try:
        gc.enable()
        with watch.collector_paused():
            assert not gc.isenabled()
            kept = [[i] for i in range(1000)]  # tracked objects made inside
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen + len(kept)
        # Young collections a few times a second, not a few times a frame.
        assert gc.get_threshold() == watch.COLLECTOR_THRESHOLDS
        assert watch.COLLECTOR_THRESHOLDS[0] >= 10_000
        gc.disable()  # a caller that has it off keeps it off
        with watch.collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        (gc.enable if enabled else gc.disable)()
        gc.set_threshold(*thresholds)


def test_watch_loads_the_dashboard_without_a_garbage_collection(library_run: FixtureRun) -> None:
    """From `watch.main` until the dashboard opens (Textual, the core, the app all
    imported in a fresh process), the cyclic collector does not run once: before,
    it ran about 140 times, 45-65 ms of a 0.35 s start."""
    run = library_run.output_dir
    code = (
        "import gc, json, os, sys\n"
        "os.environ['TEXTUAL_DRIVER'] = 'web_driver'  # stdout is a pipe: not `tail`\n"
        "collections = []\n"
        "gc.callbacks.append(lambda phase, info: phase == 'start' and collections.append(1))\n"
        "import prime_rl_logs.commands.watch as watch\n"
        "main = watch.main\n"
        "def counted(args):\n"
        "    collections.clear()\n"
        "    return main(args)\n"
        "def opened(output_dir, **options):\n"
        "    loaded = 'prime_rl_logs.tui.app' in sys.modules and 'textual.app' in sys.modules\n"
        "    from textual.constants import MAX_FPS\n"
        "    print(json.dumps([loaded, len(collections), gc.get_freeze_count(), MAX_FPS]))\n"
        "    return 0\n"
        "watch.main, watch.open_dashboard = counted, opened\n"
        "from prime_rl_logs.cli import main as cli\n"
        f"assert cli(['watch', {str(run)!r}]) == 0\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TEXTUAL_FPS"}  # (the user's would win)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    loaded, collections, frozen, fps = json.loads(out.stdout.splitlines()[-1])
    assert loaded
    assert fps == int(watch.FRAMES_PER_S) == 120  # a repaint waits 4 ms, not 8, on average
    assert collections == 0
    assert frozen > 10_000  # Textual's and our modules' objects (about 60,000)
