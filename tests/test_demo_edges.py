"""`prime-logs demo` never replaces a run's logs silently, cleans its temporary folder,
logs max_steps (for the ETA) and keeps its quiet rank quiet long enough to see
(issue 15, items 9 and 15)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from prime_rl_logs import cli
from prime_rl_logs.commands import demo as demo_command
from prime_rl_logs.demo import BASE_PERIOD
from prime_rl_logs.demo.plan import QUIET_STEPS
from prime_rl_logs.metrics import scan_run
from prime_rl_logs.tui.sidebar import SILENT_MIN_S
from tests.fixtures import demo_args


def test_a_folder_that_holds_logs_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = tmp_path / "logs" / "orchestrator.log"
    real.parent.mkdir()
    real.write_text("12:00:00    INFO the real run\n")
    assert cli.main(["demo", str(tmp_path), "--layout", "seed", "--no-ui", "--steps", "1"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and "already holds logs" in err and "--force" in err
    assert real.read_text() == "12:00:00    INFO the real run\n"
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == ["orchestrator.log"]


def test_force_replaces_the_logs(tmp_path: Path) -> None:
    (tmp_path / "logs" / "attempt_1").mkdir(parents=True)
    (tmp_path / "logs" / "attempt_1" / "trainer.log").write_text("old\n")
    (tmp_path / "logs" / "orchestrator.log").write_text("old\n")
    argv = ["demo", str(tmp_path), "--layout", "seed", "--no-ui", "--steps", "1"]
    assert cli.main([*argv, "--speed", "50", "--ranks", "1", "--force"]) == 0
    assert not (tmp_path / "logs" / "attempt_1").exists()
    assert "Step 1 |" in (tmp_path / "logs" / "orchestrator.log").read_text()


def test_an_empty_logs_folder_is_not_refused(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    assert demo_command.main(demo_args(tmp_path, steps=1)) == 0


@pytest.mark.parametrize("keep", [False, True])
def test_a_temporary_folder_is_removed_on_exit_unless_keep(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    keep: bool,
) -> None:
    made = tmp_path / "prime-logs-demo-x"

    def mkdtemp(prefix: str = "") -> str:
        made.mkdir()
        return str(made)

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    assert demo_command.main(demo_args(None, keep=keep)) == 0
    out, err = capsys.readouterr()
    assert made.is_dir() is keep
    assert (f"the logs are in {made}" in out) is keep
    assert (f"removed {made}" in err) is not keep


def test_the_demo_logs_max_steps_so_the_eta_shows(tmp_path: Path) -> None:
    assert demo_command.main(demo_args(tmp_path, steps=3)) == 0
    store = scan_run(tmp_path)
    assert store.max_steps == 3
    assert "step 3/3" in store.summary().text()


def test_the_quiet_rank_is_red_for_at_least_half_a_minute_at_speed_1() -> None:
    quiet_s = QUIET_STEPS * BASE_PERIOD
    assert quiet_s - SILENT_MIN_S >= 30
