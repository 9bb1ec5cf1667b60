"""`prime-logs runs`, and `--run` / `--attempt` of `tail`, `metrics` and `watch`, on a
folder of runs written as prime-rl writes it today (`tests.runs_fixture`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prime_rl_logs.cli import main
from prime_rl_logs.runs import JSON_KEYS
from tests.runs_fixture import LIVE, OOM, Outputs, write_outputs


@pytest.fixture
def outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Outputs:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no registry of the machine's own
    return write_outputs(tmp_path / "outputs")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_runs_json_one_object_per_run_with_the_documented_keys(
    outputs: Outputs, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "runs", str(outputs.root), "--json")
    assert code == 0, err
    objs = [json.loads(line) for line in out.splitlines()]
    assert [tuple(o) for o in objs] == [JSON_KEYS] * 3
    by_name = {o["name"]: o for o in objs}
    live = by_name[LIVE]
    assert live["status"] == "running"
    assert live["reason"].startswith("attempt 1 crashed at step 12, attempt 2 running")
    assert (live["attempts"], live["current_attempt"], live["step"]) == (2, 2, 15)
    assert (live["model"], live["envs"], live["max_steps"]) == ("Qwen/Qwen3-0.6B", ["gsm8k"], 100)
    assert live["last_reward"] == 0.5
    assert [o["status"] for o in objs] == ["running", "stalled", "finished"]


def test_runs_table(outputs: Outputs, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "runs", str(outputs.root))
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split()[:4] == ["NAME", "STATUS", "STEP", "REWARD"]
    assert rows[0].split()[:5] == [LIVE, "running", "15/100", "0.5", "2"]
    assert "silent 40 min; step cadence 12 s" in rows[1]


def test_runs_without_path_uses_prl_output_dir(
    outputs: Outputs, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRL_OUTPUT_DIR", str(outputs.root))
    code, out, _ = run(capsys, "runs", "--json")
    assert code == 0 and len(out.splitlines()) == 3


def test_runs_stall_thresholds(outputs: Outputs, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "runs", str(outputs.stalled), "--json", "--stall-min", "60")
    assert code == 0 and json.loads(out)["status"] == "running"


def test_a_path_that_is_no_run_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "x.txt").write_text("x")
    for command in ("runs", "tail"):
        code, _, err = run(capsys, command, str(tmp_path))
        assert code == 2
        assert err.count("\n") == 1 and "not a run" in err
    code, _, err = run(capsys, "runs", str(tmp_path / "x.txt"))
    assert code == 2 and err == f"prime-logs: error: {tmp_path / 'x.txt'} is not a directory\n"


def test_tail_on_a_folder_opens_the_newest_run_and_says_so(
    outputs: Outputs, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "tail", str(outputs.root), "-n", "1")
    assert code == 0
    assert f"opening the newest, {LIVE} (--run NAME picks another" in err
    assert "Step 15" in out


def test_run_by_prefix(outputs: Outputs, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "tail", str(outputs.root), "--run", "math", "-n", "1")
    assert code == 0 and "Training finished!" in out
    code, out, _ = run(capsys, "metrics", str(outputs.root), "--run", "wordle", "--json")
    assert code == 0 and json.loads(out)["steps"][-1] == 30


def test_ambiguous_run_lists_the_candidates(
    outputs: Outputs, capsys: pytest.CaptureFixture[str]
) -> None:
    write_outputs(outputs.root / "more")  # nested: not a direct child, not a candidate
    (outputs.root / "gsm8k--qwen3-4b--9z9z" / "logs").mkdir(parents=True)
    code, _, err = run(capsys, "tail", str(outputs.root), "--run", "gsm8k")
    assert code == 2
    assert err.count("\n") == 1
    assert "matches 2 runs" in err and LIVE in err and "gsm8k--qwen3-4b--9z9z" in err


def test_attempt_n_reads_that_attempt(outputs: Outputs, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "tail", str(outputs.live), "--attempt", "1", "--level", "error")
    assert code == 0
    assert "Training step 13 failed on rank 1" in out and OOM in out
    code, out, _ = run(capsys, "tail", str(outputs.live), "--level", "error")
    assert code == 0 and out == ""  # latest: attempt 2 has no error


def test_attempt_all_prints_every_attempt_in_order_tagged(
    outputs: Outputs, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "tail", str(outputs.live), "--attempt", "all", "--component", "orch")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("a1 orch") and "Step 1 |" in lines[0]
    assert lines[-1].startswith("a2 orch") and "Step 15 |" in lines[-1]
    tags = [line.split()[0] for line in lines]
    assert tags == sorted(tags)  # every a1 line before every a2 line
    code, out, _ = run(capsys, "tail", str(outputs.live), "--attempt", "all", "--json", "-n", "1")
    assert [json.loads(line)["attempt"] for line in out.splitlines()] == [1, 2]


def test_bad_attempts(outputs: Outputs, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "tail", str(outputs.live), "--attempt", "7")
    assert code == 2 and "has no attempt 7 (attempts: 1, 2)" in err
    code, _, err = run(capsys, "tail", str(outputs.live), "--attempt", "zero")
    assert code == 2 and "bad --attempt" in err
    code, _, err = run(capsys, "metrics", str(outputs.live), "--attempt", "all")
    assert code == 2 and "--attempt all is for `tail`" in err


def test_metrics_of_one_attempt(outputs: Outputs, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "metrics", str(outputs.live), "--attempt", "1", "--csv")
    assert code == 0
    assert "orchestrator/reward" in out.splitlines()[0]


def test_a_path_inside_a_run_opens_the_run(
    outputs: Outputs, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "tail", str(outputs.live / "logs" / "latest"), "-n", "1")
    assert code == 0 and "is inside the run" in err and "Step 15" in out


def test_watch_latest_without_a_terminal_follows_the_newest_running_run(
    outputs: Outputs, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from prime_rl_logs.commands import run_dir

    seen: list[Path] = []

    def fake_main(args: object) -> int:
        seen.append(args.output_dir)  # type: ignore[attr-defined]
        return 0

    import prime_rl_logs.commands.watch as watch

    monkeypatch.setattr(watch, "main", fake_main)
    code, _, err = run(capsys, "watch", str(outputs.root), "--latest")
    assert code == 0 and seen == [outputs.live]
    assert f"opening {LIVE}, the newest running run" in err
    assert run_dir.parse_attempt(None) == "latest"
