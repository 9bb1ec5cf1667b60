"""Bad input on the command line: one clear line on stderr, exit code 2, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from prime_rl_logs.cli import main
from prime_rl_logs.core.view import Filter
from prime_rl_logs.levels import name_at_or_below
from tests.fixtures import FixtureRun


@pytest.mark.parametrize("command", ["watch", "tail", "tmux", "metrics"])
def test_output_dir_that_is_a_file(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "run.log"
    target.write_text("not a folder\n")
    assert main([command, str(target)]) == 2
    err = capsys.readouterr().err
    assert err == f"prime-logs: error: {target} is not a directory\n"


def test_bad_level_and_pane_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["watch", str(tmp_path), "--level", "loud"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "loud" in err[0]
    assert main(["watch", str(tmp_path), "--pane", "gpu"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "unknown pane 'gpu'" in err[0]


def test_installed_command_gives_no_traceback(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    out = subprocess.run(
        [sys.executable, "-m", "prime_rl_logs", "tail", str(target)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


def test_no_command_prints_the_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("usage: prime-logs")
    for command in ("watch", "tail", "demo", "tmux", "metrics"):
        assert command in captured.err


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for command in ("watch", "tail", "demo", "tmux", "metrics"):
        assert command in out


def test_every_command_has_a_module_with_main() -> None:
    import importlib

    from prime_rl_logs.cli import COMMANDS, build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(COMMANDS) == set(sub.choices)  # type: ignore[arg-type]
    for module in COMMANDS.values():
        assert callable(importlib.import_module(module).main)


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"import sys; {code}; print(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(out.stdout.split())


def test_tail_never_imports_textual(library_run: FixtureRun) -> None:
    loaded = _modules_after(
        "from prime_rl_logs.cli import main; "
        f"main(['tail', {str(library_run.output_dir)!r}, '-n', '1'])"
    )
    assert "prime_rl_logs.commands.tail" in loaded
    assert not any(
        m == "textual" or m.startswith(("textual.", "prime_rl_logs.tui")) for m in loaded
    )


def test_domain_modules_never_load_the_command_line() -> None:
    loaded = _modules_after(
        "import prime_rl_logs.tail, prime_rl_logs.metrics, prime_rl_logs.demo, prime_rl_logs.tmux"
    )
    assert not any(
        m == "prime_rl_logs.cli" or m.startswith("prime_rl_logs.commands") for m in loaded
    )


@pytest.mark.parametrize(
    ("options", "pane", "split", "level", "ranks"),
    [
        ([], "orchestrator", None, "TRACE", None),
        (["--level", "warn", "--rank", "0"], "orchestrator", None, "WARNING", frozenset({0})),
        (["--pane", "trainer", "--split", "orch"], "trainer", "orchestrator", "TRACE", None),
        (["--split", "inf,envs", "--level", "27"], "inference", "env", "SUCCESS", None),
    ],
)
def test_watch_options_set_the_starting_state(
    options: list[str],
    pane: str,
    split: str | None,
    level: str,
    ranks: frozenset[int] | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prime_rl_logs.tui import app as tui_app

    started: dict[str, object] = {}

    def fake_run(self: tui_app.PrimeLogsApp) -> None:
        started.update(pane=self.panes[0].key, split=self.split_partner, flt=self.filter)

    monkeypatch.setattr(tui_app.PrimeLogsApp, "run", fake_run)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    assert main(["watch", str(tmp_path), *options]) == 0
    flt = started["flt"]
    assert isinstance(flt, Filter)
    assert (started["pane"], started["split"], name_at_or_below(flt.min_level), flt.ranks) == (
        pane,
        split,
        level,
        ranks,
    )
