"""The doctor on runs that went wrong (tests/diagnose_fixture.py): first failure, groups
folded under their cause, stalls, the JSON keys and the exit codes of
``prime-logs doctor``."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from prime_rl_logs.cli import main
from prime_rl_logs.diagnose import diagnose
from prime_rl_logs.runs import attempts_of
from tests import diagnose_fixture as fx
from tests.runs_fixture import write_outputs

REPORT_KEYS = {"run", "status", "attempt", "first_failure", "groups", "stalls"}
FIRST_KEYS = {"time", "component", "rank", "file", "line", "message", "signature", "traceback"}
GROUP_KEYS = {
    "signature",
    "template",
    "count",
    "ranks",
    "components",
    "first_seen",
    "last_seen",
    "caused_by",
}
STALL_KEYS = {"component", "rank", "last_step", "silent_s", "reason"}


def doctor_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    code = main(["doctor", *argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def doctor_text(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["doctor", *argv])
    return code, capsys.readouterr().out


def test_oom_then_nccl_timeouts_first_failure_is_the_oom_rank(tmp_path: Path) -> None:
    now = time.time()
    case = fx.write_oom_cascade(tmp_path / "run", now)
    report = diagnose(case.run, now=now)
    assert report.status == "crashed"
    ff = report.first_failure
    assert ff is not None
    # The OOM's traceback is in rank 5's stderr, with no clock: it takes the time of
    # the rank's last stdout record, 10 minutes before the NCCL timeouts.
    assert ff.file.name == "stderr.log" and ff.file.parent.name == "5"
    assert ff.file.resolve() == case.first_file.resolve()
    assert (ff.rank, ff.component, ff.signature, ff.line) == (5, "trainer", "cuda-oom", 1)
    assert ff.time == pytest.approx(case.first_time, abs=1) and ff.time_inferred
    assert ff.message.startswith("torch.OutOfMemoryError: CUDA out of memory")
    assert ff.traceback[0] == "Traceback (most recent call last):"
    assert ff.traceback[-1].startswith("torch.OutOfMemoryError")
    groups = {g.key: g for g in report.groups}
    oom, nccl = groups["cuda-oom"], groups["nccl-timeout"]
    assert oom.caused_by is None and oom.count == 1 and oom.ranks == (5,)
    assert nccl.count == 7 and nccl.ranks == (0, 1, 2, 3, 4, 6, 7)
    assert nccl.caused_by == "cuda-oom"
    assert nccl.first_seen == pytest.approx(case.extra["nccl_at"], abs=1)
    assert nccl.note is not None
    assert nccl.note.startswith("NCCL watchdog timeout on ranks 0-4,6,7, ")
    assert nccl.note.endswith("after CUDA out of memory on rank 5")
    # torchrun's ChildFailedError (in trainer.log) is folded too.
    assert groups["killed"].caused_by == "cuda-oom"
    # rank 0's console copy is not counted twice: every group of trainer.log is the agent's.
    assert all(g.first.file.name != "trainer.log" or g.ranks == () for g in report.groups)
    assert report.stalls == ()


def test_oom_cascade_command_json_and_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = fx.write_oom_cascade(tmp_path / "run", time.time())
    code, data = doctor_json(capsys, str(case.run))
    assert code == 1
    assert set(data) >= REPORT_KEYS
    assert data["run"] == "run" and data["status"] == "crashed" and data["attempt"] == 1
    first = data["first_failure"]
    assert isinstance(first, dict) and set(first) >= FIRST_KEYS
    assert (first["rank"], first["component"], first["signature"]) == (5, "trainer", "cuda-oom")
    assert first["file"].endswith("attempt_0/5/stderr.log") and first["line"] == 1
    assert isinstance(first["time"], str) and first["time"].startswith(
        time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(case.first_time))
    )
    groups = data["groups"]
    assert isinstance(groups, list) and all(set(g) >= GROUP_KEYS for g in groups)
    nccl = next(g for g in groups if g["signature"] == "nccl-timeout")
    assert nccl["caused_by"] == "cuda-oom" and nccl["ranks"] == [0, 1, 2, 3, 4, 6, 7]


def test_oom_cascade_text_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = fx.write_oom_cascade(tmp_path / "run", time.time())
    code, out = doctor_text(capsys, str(case.run))
    assert code == 1
    lines = out.splitlines()
    assert "CRASHED" in lines[0]
    first = lines.index(next(ln for ln in lines if ln.startswith("First failure")))
    assert "[cuda-oom]" in lines[first] and "rank 5" in lines[first]
    assert "logs/latest/trainer/torchrun/rdzv1/attempt_0/5/stderr.log:1" in out
    assert "Traceback (most recent call last):" in out
    folded = next(ln for ln in lines if "[nccl-timeout]" in ln)
    assert folded.lstrip().startswith("└")  # under its cause
    assert "\x1b" not in out  # not a terminal: no colour codes


def test_env_worker_dies_and_the_orchestrator_waits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = time.time()
    case = fx.write_env_death(tmp_path / "run", now)
    report = diagnose(case.run, now=now)
    ff = report.first_failure
    assert ff is not None and ff.component == "env"
    assert ff.file.resolve() == case.first_file.resolve()
    assert ff.time == pytest.approx(case.first_time, abs=1) and not ff.time_inferred
    assert ff.traceback[-1] == "RuntimeError: sandbox process exited with code 137"
    assert report.status == "running"
    [frozen] = [s for s in report.stalls if s.reason == "frozen"]
    assert frozen.component == "orchestrator" and frozen.last_step == case.extra["last_step"]
    assert "Waiting for rollouts" in frozen.detail and "no step for" in frozen.detail
    assert frozen.silent_s > 600
    code, data = doctor_json(capsys, str(case.run))
    assert code == 1
    stalls = data["stalls"]
    assert isinstance(stalls, list) and all(set(s) >= STALL_KEYS for s in stalls)
    assert [s["reason"] for s in stalls] == ["frozen"]


def test_one_rank_behind_and_all_silent(tmp_path: Path) -> None:
    now = time.time()
    case = fx.write_lagging(tmp_path / "run", now)
    report = diagnose(case.run, now=now)
    assert report.status == "stalled" and report.first_failure is None
    by_reason = {s.reason: s for s in report.stalls}
    assert set(by_reason) == {"run silent", "lagging"}
    silent = by_reason["run silent"]
    assert silent.silent_s == pytest.approx(2400, abs=5)
    assert "40 min" in silent.detail and "step cadence 12 s" in silent.detail
    lag = by_reason["lagging"]
    assert (lag.component, lag.rank, lag.last_step) == ("trainer", case.extra["lagging"], 41)
    assert "peers at step 42" in lag.detail


def test_nan_loss_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    now = time.time()
    case = fx.write_nan(tmp_path / "run", now)
    report = diagnose(case.run, now=now)
    [nan] = [g for g in report.groups if g.signature == "nan"]
    assert nan.level == "ERROR" and nan.ranks == (0, 1) and nan.count == 22
    assert nan.first.file.resolve() == case.first_file.resolve() and nan.first.line == 30
    assert nan.first_seen == pytest.approx(case.first_time, abs=1)
    assert report.first_failure is None  # a step line is not an error record
    code, _ = doctor_json(capsys, str(case.run))
    assert code == 1


def test_clean_finished_run_has_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = fx.write_clean(tmp_path / "run", time.time())
    code, out = doctor_text(capsys, str(case.run))
    assert code == 0
    assert "FINISHED" in out and "No problems found." in out
    code, data = doctor_json(capsys, str(case.run))
    assert code == 0
    assert data["first_failure"] is None and data["stalls"] == []
    assert [g["template"] for g in data["groups"]] == ["NCCL_ASYNC_ERROR_HANDLING is deprecated"]


def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = fx.write_clean(tmp_path / "run", time.time())
    assert main(["doctor", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error" in err and "Traceback" not in err
    assert main(["doctor", str(case.run), "--attempt", "7"]) == 2
    assert "no attempt 7" in capsys.readouterr().err
    assert main(["doctor", str(case.run), "--attempt", "soon"]) == 2
    assert "bad --attempt" in capsys.readouterr().err


def test_folder_of_runs_and_attempts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    now = time.time()
    fx.write_clean(tmp_path / "a-clean", now)
    fx.write_oom_cascade(tmp_path / "b-oom", now)
    code, data = doctor_json(capsys, str(tmp_path), "--run", "b-")
    assert code == 1 and data["run"] == "b-oom"
    # A run of two attempts: the first crashed (rank 1 out of memory), the second runs.
    live = write_outputs(tmp_path / "outputs", now=now).live
    code, data = doctor_json(capsys, str(live))
    assert data["attempt"] == 2 and data["first_failure"] is None and data["status"] == "running"
    code, data = doctor_json(capsys, str(live), "--attempt", "all")
    assert data["attempt"] is None and data["attempts"] == [1, 2]
    first = data["first_failure"]
    assert isinstance(first, dict) and (first["rank"], first["signature"]) == (1, "cuda-oom")
    assert "/attempt_1/" in first["file"]
    one = attempts_of(live)[0]
    report = diagnose(live, [one], now=now)
    assert report.attempt == 1 and report.status == "crashed"
    assert report.first_failure is not None and report.first_failure.attempt == 1
    code, data = doctor_json(capsys, str(live), "--attempt", "1")
    assert code == 1 and data["attempt"] == 1 and data["status"] == "crashed"


def test_hostile_text_is_sanitised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    now = time.time()
    case = fx.write_clean(tmp_path / "run", now)
    orch = case.run / "logs" / "attempt_1" / "orchestrator.log"
    with orch.open("a") as fh:
        fh.write(fx.loguru(now - 60, "ERROR", "bad \x1b]52;c;aGk=\x07 \x1b[2J title"))
    code, out = doctor_text(capsys, str(case.run))
    assert code == 1
    assert "\x1b]" not in out and "\x07" not in out and "\x1b[2J" not in out
    assert "bad" in out


def test_a_rank_silent_while_its_peers_write(tmp_path: Path) -> None:
    now = time.time()
    run = tmp_path / "run"
    logs = fx._skeleton(run)
    t0 = now - 60 * fx.CADENCE
    for r in range(4):
        last = 10 if r == 2 else 60  # rank 2 stopped 50 steps (10 min) ago
        out = fx._steps(t0, range(1, last + 1))
        fx.write(fx.rank_dir(logs, r) / "stdout.log", "".join(out), t0 + last * fx.CADENCE)
    # rank 3 logs no step at all (rank 0 logs for everyone): not judged.
    fx.write(fx.rank_dir(logs, 3) / "stdout.log", fx.loguru(t0, "INFO", "rank 3 up"), t0)
    orch = fx._steps(t0, range(1, 61), orch=True)
    fx.write(logs / "orchestrator.log", "".join(orch), t0 + 60 * fx.CADENCE)
    report = diagnose(run, now=now)
    assert report.status == "running"
    [silent] = [s for s in report.stalls if s.reason == "silent"]
    assert (silent.component, silent.rank, silent.last_step) == ("trainer", 2, 10)
    assert silent.silent_s == pytest.approx(50 * fx.CADENCE, abs=2)
    assert "rank 2 silent for 10 min while its peers wrote" in silent.detail
    [lag] = [s for s in report.stalls if s.reason == "lagging"]
    assert lag.rank == 2


def test_a_healthy_running_run_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = fx.write_nan(tmp_path / "run", time.time(), from_step=100)  # never NaN
    code, data = doctor_json(capsys, str(case.run))
    assert code == 0
    assert data["status"] == "running" and data["stalls"] == [] and data["groups"] == []


def test_trainer_step_counts_as_a_write_and_a_step(tmp_path: Path) -> None:
    now = time.time()
    case = fx.write_lagging(tmp_path / "run", now)
    (case.run / "trainer_step").write_text("43\n")
    os.utime(case.run / "trainer_step", (now - 2000, now - 2000))
    report = diagnose(case.run, now=now)
    [silent] = [s for s in report.stalls if s.reason == "run silent"]
    assert silent.last_step == 43 and silent.silent_s == pytest.approx(2000, abs=5)


def test_a_later_attempts_groups_are_not_folded_under_an_earlier_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo's live run: attempt 1 crashed (rank 1's OOM, then NCCL timeouts folded
    under it); attempt 2's warnings and errors, half an hour later, are its own."""
    from prime_rl_logs.demo.runs import prepare_runs

    now = time.time()
    live = prepare_runs(tmp_path, ranks=4, now=now)
    logs2 = live / "logs" / "attempt_2"
    fx.write(
        logs2 / "orchestrator.log",
        fx.loguru(now - 5, "WARNING", "12/256 rollouts truncated")
        + fx.loguru(now - 4, "ERROR", "Failed to score rollouts; retrying"),
        now - 4,
    )
    report = diagnose(live, attempts_of(live), now=now)
    first = report.first_failure
    assert first is not None and (first.signature, first.attempt) == ("cuda-oom", 1)
    by_key = {g.key: g for g in report.groups}
    assert by_key["nccl-timeout"].caused_by == "cuda-oom"
    later = [g for g in report.groups if g.first.attempt == 2]
    assert {g.level for g in later} == {"WARNING", "ERROR"}
    assert all(g.caused_by is None and g.note is None for g in later)
    code, out = doctor_text(capsys, str(live), "--attempt", "all")
    assert code == 1
    assert "Errors (3 groups):" in out  # the OOM, the NCCL timeouts, attempt 2's error
    assert "\n  ERROR    x1     Failed to score rollouts; retrying\n" in out
    assert "\n  WARNING  x1     12/256 rollouts truncated\n" in out
    assert "after CUDA out of memory on rank 1" in out  # the NCCL timeouts' note
    assert out.count("└") == 1
