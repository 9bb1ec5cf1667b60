"""The model of runs and attempts (`prime_rl_logs.runs`) on a folder written as
prime-rl writes it today (`tests.runs_fixture`): what a path is, attempts, status
and reason, metrics, config; and the layout of the files inside a run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from prime_rl_logs import layout
from prime_rl_logs.core.run import Run
from prime_rl_logs.core.view import Filter, View
from prime_rl_logs.errors import UsageError
from prime_rl_logs.runs import (
    JSON_KEYS,
    Thresholds,
    attempts_of,
    default_output_dir,
    find_runs,
    pick_run,
    registry_dirs,
    run_info,
    scan_runs,
)
from tests.runs_fixture import OOM, Outputs, write_outputs

NOW = 2_000_000_000.0


@pytest.fixture
def outputs(tmp_path: Path) -> Outputs:
    return write_outputs(tmp_path / "outputs", now=NOW)


# -- what a path is


def test_a_folder_of_runs_lists_its_runs(outputs: Outputs) -> None:
    found = find_runs(outputs.root, registry=None)
    assert found.kind == "folder"
    assert sorted(found.runs) == sorted(outputs.runs)


def test_a_run_is_a_run(outputs: Outputs) -> None:
    found = find_runs(outputs.live, registry=None)
    assert (found.kind, found.runs) == ("run", (outputs.live,))


def test_a_folder_that_is_neither_names_what_was_looked_for(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("x")
    with pytest.raises(
        UsageError, match=r"not a run \(no logs, configs, monitors, metrics.jsonl\)"
    ):
        find_runs(tmp_path, registry=None)


def test_registry_runs_are_added_and_never_written(outputs: Outputs, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    write_outputs(other, now=NOW)
    registry = tmp_path / "dirs.json"
    registry.write_text(json.dumps([str(other), str(tmp_path / "gone")]))
    before = registry.stat().st_mtime_ns
    assert registry_dirs(registry) == [other]
    found = find_runs(outputs.root, registry=registry)
    assert len(found.runs) == 6
    assert registry.stat().st_mtime_ns == before
    registry.write_text("{not json")
    assert registry_dirs(registry) == []


def test_default_output_dir(tmp_path: Path) -> None:
    assert default_output_dir({"PRL_OUTPUT_DIR": "/x/y"}, tmp_path) == Path("/x/y")
    assert default_output_dir({}, tmp_path) == Path(".")
    (tmp_path / "outputs").mkdir()
    assert default_output_dir({}, tmp_path) == Path("outputs")


def test_pick_run_by_prefix_and_ambiguity(outputs: Outputs) -> None:
    runs = tuple(outputs.runs)
    assert pick_run(runs, "gsm") == outputs.live
    with pytest.raises(UsageError, match="matches 3 runs"):
        pick_run(runs, "")
    with pytest.raises(UsageError, match="no run named 'zzz'"):
        pick_run(runs, "zzz")


# -- attempts


def test_attempts_follow_logs_latest(outputs: Outputs) -> None:
    attempts = attempts_of(outputs.live)
    assert [(a.number, a.current) for a in attempts] == [(1, False), (2, True)]
    assert attempts[0].logs == outputs.live / "logs" / "attempt_1"
    assert attempts[1].configs == outputs.live / "configs" / "attempt_2"
    assert attempts[1].command_file is not None
    assert "command.txt" in [p.name for p in attempts[1].config_files()]


def test_a_run_without_attempt_folders_is_one_attempt(outputs: Outputs) -> None:
    [only] = attempts_of(outputs.stalled)
    assert (only.number, only.current, only.logs) == (1, True, outputs.stalled / "logs")
    assert only.configs == outputs.stalled / "configs"


# -- status and reason


def test_crashed_attempt_then_running_one(outputs: Outputs) -> None:
    info = run_info(outputs.live, now=NOW)
    assert info.status == "running"
    assert info.reason.startswith("attempt 1 crashed at step 12, attempt 2 running")
    first, second = info.attempts
    assert (first.status, first.last_step, first.error) == ("crashed", 12, OOM)
    assert (second.status, second.first_step, second.last_step) == ("running", 11, 15)
    assert (info.step, info.max_steps, info.last_reward) == (15, 100, 0.5)
    assert info.current_attempt == 2
    assert (info.model, info.envs) == ("Qwen/Qwen3-0.6B", ("gsm8k",))


def test_finished_run(outputs: Outputs) -> None:
    info = run_info(outputs.finished, now=NOW)
    assert (info.status, info.reason) == ("finished", "finished at step 20")
    assert (info.step, info.max_steps) == (20, 20)
    assert (info.model, info.envs) == ("Qwen/Qwen3-1.7B", ("math",))


def test_stalled_run_says_how_long_and_its_cadence(outputs: Outputs) -> None:
    info = run_info(outputs.stalled, now=NOW)
    assert (info.status, info.reason) == ("stalled", "silent 40 min; step cadence 12 s")
    assert info.max_steps == 200  # from configs/rl.toml: the logs do not say it


def test_stall_thresholds_can_be_set(outputs: Outputs) -> None:
    patient = Thresholds(stall_min_s=3600)
    assert run_info(outputs.stalled, now=NOW, thresholds=patient).status == "running"
    eager = Thresholds(stall_factor=1, stall_min_s=0)
    live = run_info(outputs.live, now=NOW + 30, thresholds=eager)
    assert live.status == "stalled"


def test_crashed_when_the_current_attempt_ends_in_an_error(outputs: Outputs) -> None:
    # Without attempt 2, attempt 1 is the current one: it crashed.
    os.replace(outputs.live / "logs" / "attempt_2", outputs.live / "attempt_2.moved")
    (outputs.live / "logs" / "latest").unlink()
    (outputs.live / "logs" / "latest").symlink_to("attempt_1")
    jsonl = outputs.live / "monitors" / "file" / "metrics.jsonl"
    jsonl.write_text("".join(jsonl.read_text().splitlines(keepends=True)[:12]))
    os.utime(jsonl, (NOW - 1800, NOW - 1800))
    info = run_info(outputs.live, now=NOW)
    assert info.status == "crashed"
    assert info.reason == f"crashed at step 12: {OOM}"


def test_max_steps_reached_is_finished_without_a_finished_line(outputs: Outputs) -> None:
    log = outputs.finished / "logs" / "attempt_1" / "orchestrator.log"
    lines = log.read_text().splitlines(keepends=True)
    log.write_text("".join(line for line in lines if "finished" not in line))
    assert run_info(outputs.finished, now=NOW).status == "finished"


def test_json_has_exactly_the_documented_keys(outputs: Outputs) -> None:
    for info in scan_runs(outputs.runs, now=NOW):
        obj = info.to_json()
        assert tuple(obj) == JSON_KEYS
        assert obj["last_write"] is not None and obj["last_write"][-6] in "+-"


def test_newest_first(outputs: Outputs) -> None:
    names = [i.path for i in scan_runs(outputs.runs, now=NOW)]
    assert names == [outputs.live, outputs.stalled, outputs.finished]


def test_monitors_metrics_file_is_read(outputs: Outputs) -> None:
    jsonl = outputs.live / "monitors" / "file" / "metrics.jsonl"
    with jsonl.open("a") as fh:
        fh.write(json.dumps({"step": 16, "time": NOW, "reward/mean": 0.9}) + "\n")
    info = run_info(outputs.live, now=NOW)
    assert info.step == 16


# -- the files of a run


def test_env_worker_files_belong_to_their_env() -> None:
    source = layout.classify("env_workers/gsm8k/worker_3.log")
    assert (source.component, source.env, source.worker) == ("env", "gsm8k", 3)
    assert (source.tag, source.title) == ("gsm8k:w3", "gsm8k (worker 3)")
    assert layout.classify("env_workers/gsm8k.log").env == "gsm8k"


def test_torchrun_tree_outside_logs_is_read(outputs: Outputs) -> None:
    run = Run(outputs.stalled)
    run.refresh()
    ranks = {(f.source.rank, f.source.stream) for f in run.files if f.source.rank is not None}
    assert ranks == {(0, "stdout"), (0, "stderr"), (1, "stdout"), (1, "stderr")}
    rels = {f.source.rel for f in run.files}
    assert "torchrun/rdzv9/attempt_0/0/stdout.log" in rels
    assert "env_workers/wordle/worker_1.log" in rels


def test_trainer_log_is_not_merged_twice_but_stays_openable(outputs: Outputs) -> None:
    run = Run(outputs.live)
    run.refresh()
    trainer = View(run, Filter(components=frozenset({"trainer"})))
    assert "latest/trainer.log" not in {f.source.rel for f in trainer.files}
    alone = View(run, Filter(rels=frozenset({"latest/trainer.log"})))
    assert [f.source.rel for f in alone.files] == ["latest/trainer.log"]


def test_an_attempt_folder_is_read_alone(outputs: Outputs) -> None:
    run = Run(outputs.live, outputs.live / "logs" / "attempt_1")
    run.refresh()
    rels = {f.source.rel for f in run.files}
    assert "orchestrator.log" in rels
    assert not any(r.startswith("latest/") for r in rels)
