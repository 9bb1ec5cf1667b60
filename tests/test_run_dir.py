"""`resolve_run_dir`: a run's logs/ folder, or a path inside the run, opens that run
(issue 15, item 15: `watch outputs/logs` no longer waits for `outputs/logs/logs`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from prime_rl_logs.cli import main
from prime_rl_logs.commands.run_dir import resolve_run_dir
from prime_rl_logs.tui.app import PrimeLogsApp
from tests.fixtures import FixtureRun


def test_a_run_is_itself(library_run: FixtureRun) -> None:
    assert resolve_run_dir(library_run.output_dir) == library_run.output_dir


def test_a_logs_folder_is_its_run(library_run: FixtureRun) -> None:
    assert resolve_run_dir(library_run.logs) == library_run.output_dir


def test_a_logs_folder_not_yet_written_is_its_run(tmp_path: Path) -> None:
    assert resolve_run_dir(tmp_path / "out" / "logs") == tmp_path / "out"


def test_a_run_named_logs_is_itself(tmp_path: Path) -> None:
    run = tmp_path / "logs"
    (run / "logs").mkdir(parents=True)
    assert resolve_run_dir(run) == run


def test_a_path_inside_the_logs_is_its_run(library_run: FixtureRun) -> None:
    out = library_run.output_dir
    assert resolve_run_dir(library_run.logs / "trainer") == out
    assert resolve_run_dir(library_run.logs / "orchestrator.log") == out


def test_an_attempt_of_the_newer_layout_is_its_run(latest_run: FixtureRun) -> None:
    attempts = [p for p in latest_run.logs.iterdir() if p.name.startswith("attempt_")]
    assert attempts
    for attempt in attempts:
        assert resolve_run_dir(attempt) == latest_run.output_dir
    assert resolve_run_dir(latest_run.logs / "latest") == latest_run.output_dir


def test_a_relative_path_stays_relative(
    library_run: FixtureRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(library_run.output_dir.parent)
    name = library_run.output_dir.name
    assert resolve_run_dir(Path(name) / "logs" / "trainer") == Path(name)
    monkeypatch.chdir(library_run.logs)
    assert resolve_run_dir(Path(".")).resolve() == library_run.output_dir.resolve()
    monkeypatch.chdir(library_run.logs / "trainer")
    assert resolve_run_dir(Path(".")).resolve() == library_run.output_dir.resolve()


def test_metrics_jsonl_is_its_run(library_run: FixtureRun) -> None:
    jsonl = library_run.output_dir / "metrics.jsonl"
    jsonl.write_text("")
    assert resolve_run_dir(jsonl) == library_run.output_dir


def test_an_empty_run_folder_under_some_logs_folder_is_waited_for(tmp_path: Path) -> None:
    """A run that has not started, kept in ``~/logs/``: not a file of the run ``~``."""
    waiting = tmp_path / "logs" / "my-run"
    waiting.mkdir(parents=True)
    assert resolve_run_dir(waiting) == waiting


def test_tail_of_a_logs_folder_prints_its_run(
    library_run: FixtureRun, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    assert main(["tail", str(library_run.output_dir)]) == 0
    whole = capsys.readouterr().out
    assert main(["tail", str(library_run.logs)]) == 0
    out, err = capsys.readouterr()
    assert out == whole
    assert err == (
        f"prime-logs: {library_run.logs} is inside the run {library_run.output_dir}; "
        f"opening {library_run.output_dir}\n"
    )


def test_metrics_of_a_logs_folder(
    library_run: FixtureRun, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["metrics", str(library_run.logs)]) == 0
    assert capsys.readouterr().out.startswith("step,")


def test_watch_of_a_logs_folder_opens_the_run(
    library_run: FixtureRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    apps: list[PrimeLogsApp] = []
    monkeypatch.setattr(PrimeLogsApp, "run", lambda self: apps.append(self))
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    assert main(["watch", str(library_run.logs)]) == 0
    (app,) = apps
    assert app.output_dir == library_run.output_dir


# -- start-up (issue 12): the runs model is not on a single run's way to the dashboard


def _modules_when_watch_opens(path: Path) -> set[str]:
    """The modules loaded when ``prime-logs watch PATH`` opens the dashboard (stopped
    there: `open_dashboard` imports the app and returns)."""
    code = (
        "import json, os, sys\n"
        "os.environ['TEXTUAL_DRIVER'] = 'web_driver'  # stdout is a pipe: not `tail`\n"
        "import prime_rl_logs.commands.watch as watch\n"
        "def opened(output_dir, **options):\n"
        "    import prime_rl_logs.tui.app\n"
        "    print(json.dumps([str(output_dir), sorted(sys.modules)]))\n"
        "    return 0\n"
        "watch.open_dashboard = opened\n"
        "from prime_rl_logs.cli import main\n"
        f"assert main(['watch', {str(path)!r}]) == 0\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    opened, modules = json.loads(out.stdout.splitlines()[-1])
    assert Path(opened).name == "run"
    return set(modules)


def test_watch_of_a_single_run_does_not_import_the_runs_model(library_run: FixtureRun) -> None:
    for given in (library_run.output_dir, library_run.output_dir / "logs"):
        loaded = _modules_when_watch_opens(given)
        assert "prime_rl_logs.tui.app" in loaded
        assert sorted(m for m in loaded if m.startswith("prime_rl_logs.runs")) == []
        assert "tomllib" not in loaded


def test_watch_of_a_folder_of_runs_imports_the_runs_model(library_run: FixtureRun) -> None:
    loaded = _modules_when_watch_opens(library_run.output_dir.parent)
    assert "prime_rl_logs.runs" in loaded


def test_the_run_markers_are_the_runs_models(tmp_path: Path) -> None:
    from prime_rl_logs import runs
    from prime_rl_logs.commands import run_dir

    assert run_dir.RUN_MARKERS == runs.RUN_MARKERS
    for marker in runs.RUN_MARKERS:
        (tmp_path / marker).mkdir()
        assert run_dir.is_run_dir(tmp_path) and runs.is_run_dir(tmp_path)
        (tmp_path / marker).rmdir()
        assert not run_dir.is_run_dir(tmp_path) and not runs.is_run_dir(tmp_path)
