"""`prime-logs demo` by default: a folder of two runs as prime-rl writes them today,
one finished and one live whose first attempt crashed (`prime_rl_logs.demo.runs`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prime_rl_logs import cli
from prime_rl_logs.demo.runs import FINISHED, LIVE


def test_demo_writes_a_folder_of_two_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    out = tmp_path / "outputs"
    argv = ["demo", str(out), "--no-ui", "--steps", "2", "--speed", "50", "--ranks", "2"]
    assert cli.main(argv) == 0
    err = capsys.readouterr().err
    assert f"{FINISHED} (finished) and {LIVE} (live; its first attempt crashed)" in err
    live = out / LIVE
    assert (live / "logs" / "latest").readlink() == Path("attempt_2")
    assert "Step 2 |" in (live / "logs" / "attempt_2" / "orchestrator.log").read_text()
    assert cli.main(["runs", str(out), "--json"]) == 0
    runs = {o["name"]: o for o in map(json.loads, capsys.readouterr().out.splitlines())}
    assert set(runs) == {FINISHED, LIVE}
    assert runs[FINISHED]["status"] == "finished"
    assert runs[LIVE]["reason"].startswith("attempt 1 crashed at step 6, attempt 2")
    assert (runs[LIVE]["attempts"], runs[LIVE]["model"]) == (2, "Qwen/Qwen3-0.6B")
    # A second demo into the same folder is refused, --force replaces the runs.
    assert cli.main(argv) == 2
    assert "already holds the demo's runs" in capsys.readouterr().err
    assert cli.main([*argv, "--force"]) == 0


def test_demo_opens_on_the_runs_screen_of_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys
    import types

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    seen: list[tuple[Path, dict[str, object]]] = []

    class FakeApp:
        return_code = 0

        def __init__(self, output_dir: Path, **options: object) -> None:
            seen.append((output_dir, options))

        def run(self) -> None:
            pass

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    fake = types.ModuleType("prime_rl_logs.tui.app")
    fake.PrimeLogsApp = FakeApp  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "prime_rl_logs.tui.app", fake)
    out = tmp_path / "outputs"
    assert cli.main(["demo", str(out), "--steps", "1", "--speed", "50", "--ranks", "1"]) == 0
    ((output_dir, options),) = seen
    assert output_dir == out / LIVE
    assert options["runs"] == out and options["runs_screen"] is True
    assert "opening the runs screen" in capsys.readouterr().err


def test_the_live_runs_crashed_attempt_is_an_oom_then_nccl_timeouts(tmp_path: Path) -> None:
    """What the Problems pane shows on the demo: rank 1's CUDA OOM first, the other
    ranks' NCCL watchdog timeouts ten minutes later, folded under it."""
    from prime_rl_logs.demo.runs import NCCL_TIMEOUT_S, prepare_runs
    from prime_rl_logs.diagnose.alerts import doctor_for

    live = prepare_runs(tmp_path, ranks=4)
    doctor = doctor_for(live, every_attempt=True)
    doctor.update()
    report = doctor.report()
    first = report.first_failure
    assert first is not None
    assert (first.signature, first.rank, first.attempt) == ("cuda-oom", 1, 1)
    assert first.file.name == "stderr.log" and first.file.parent.name == "1"
    [nccl] = [g for g in report.groups if g.signature == "nccl-timeout"]
    assert nccl.ranks == (0, 2, 3) and nccl.caused_by == first.group
    assert nccl.first_seen is not None and first.time is not None
    assert nccl.first_seen - first.time == pytest.approx(NCCL_TIMEOUT_S, abs=3)
