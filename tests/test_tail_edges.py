"""`prime-logs tail` edges (issue 15, item 14): an unreadable file is skipped with one
warning line (once, also while following); FORCE_COLOR follows force-color.org (any
non-empty value forces colour, ``0`` included) and NO_COLOR or ``--no-color`` win."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from prime_rl_logs import tail as tail_cmd
from prime_rl_logs.cli import main
from prime_rl_logs.core import follow
from tests.fixtures import FixtureRun
from tests.test_tail import scripted_watch, writes


@pytest.fixture(autouse=True)
def _plain_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)


def deny(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """Make ``path`` unreadable (simulated: tests may run as root)."""
    real_open = os.open

    def fake_open(name: object, flags: int, *args: object) -> int:
        if str(name) == str(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(name, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(follow.os, "open", fake_open)


def test_an_unreadable_file_is_skipped_with_one_warning(
    library_run: FixtureRun, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    deny(monkeypatch, library_run.logs / "trainer" / "rank_1.log")
    assert main(["tail", str(library_run.output_dir)]) == 0
    out, err = capsys.readouterr()
    assert err == (
        "prime-logs: warning: cannot read trainer/rank_1.log: Permission denied; skipped\n"
    )
    assert "Starting trainer on rank 0" in out and "rank 1" not in out


def test_an_unreadable_file_is_warned_about_once_while_following(
    library_run: FixtureRun, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    deny(monkeypatch, library_run.logs / "trainer" / "rank_1.log")
    logs = library_run.logs
    monkeypatch.setattr(
        tail_cmd,
        "watch_run",
        scripted_watch(
            writes(logs / "orchestrator.log", "14:05:00", "INFO", "later"),
            writes(logs / "orchestrator.log", "14:05:01", "INFO", "later still"),
        ),
    )
    assert main(["tail", str(library_run.output_dir), "--follow"]) == 0
    out, err = capsys.readouterr()
    assert err.count("cannot read trainer/rank_1.log") == 1
    assert out.rstrip().endswith("later still")


@pytest.mark.parametrize(
    ("env", "flag", "coloured"),
    [
        ({"FORCE_COLOR": "1"}, False, True),
        ({"FORCE_COLOR": "0"}, False, True),  # force-color.org: any non-empty value
        ({"FORCE_COLOR": ""}, False, False),  # empty: as if unset (a pipe: no colour)
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False, False),  # NO_COLOR wins
        ({"FORCE_COLOR": "1"}, True, False),  # --no-color wins
    ],
)
def test_force_color_convention(
    library_run: FixtureRun,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    flag: bool,
    coloured: bool,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    args = ["tail", str(library_run.output_dir)] + (["--no-color"] if flag else [])
    assert main(args) == 0
    assert ("\x1b[" in capsys.readouterr().out) is coloured
