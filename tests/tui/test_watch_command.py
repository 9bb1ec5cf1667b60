"""`prime_rl_logs.commands.watch`: options to the dashboard's starting state."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from prime_rl_logs.commands import tail as tail_command
from prime_rl_logs.commands import watch
from prime_rl_logs.core.view import Filter
from prime_rl_logs.errors import UsageError
from prime_rl_logs.layout import DEFAULT_PANE
from prime_rl_logs.tui.app import PrimeLogsApp


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
