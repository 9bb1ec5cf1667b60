"""Metrics from step lines and metrics.jsonl: exact values of every spelling, CSV of a run."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from prime_rl_logs import cli
from prime_rl_logs.metrics import MetricsStore, MetricsSummary, Series, parse_duration, scan_run
from tests.fixtures import FixtureRun, Layout, loguru_line, write_fixture_run

TRAINER_1 = (
    "Step 3 | Time: 8.03s | Loss: 0.0003 | Entropy: 0.5121 | Mismatch KL: 0.0011 | "
    "Grad. Norm: 0.1820 | LR: 3.00e-06 | Throughput: 3120 tokens/s | MFU: 4.1% | "
    "Peak Mem.: 18.2 GiB"
)
TRAINER_2 = (
    "Step 12 |    9.8s | Loss 0.0012 | Entropy 0.4321 | Mismatch KL 0.0009 | Grad. Norm 0.2000 "
    "| LR 1.00e-06 | Throughput 2980 tokens/s | MFU 3.9% | Peak Mem. 21.3 GiB"
)
ORCH_1 = (
    "Step 4 | Time: 13.87s | Reward: 0.5123 | Throughput: 1520.3 tokens/s | "
    "Seq. Length: 412.5 tokens/sample | Async Level: 1 | Max. Off-Policy Level: 2"
)
ORCH_2 = (
    "Step 12 |   13.9s | Reward 0.5832 | Throughput 1600.2 tokens/s | Seq. Length 418.0 "
    "tokens/sample | Async Level 1 | Max. Off-Policy Level 2 | Trainable 120/128 (93.8%) | "
    "Error 0.0% | Truncation 2.3%"
)


def at(store: MetricsStore, step: int) -> dict[str, float]:
    """Every series' value at one step."""
    return {name: data[step] for name, data in store.series.items() if step in data}


# -- durations


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("120ms", 0.12),
        ("9.8s", 9.8),
        ("13.87s", 13.87),
        ("1m 5s", 65.0),
        ("2h 3m", 7380.0),
        ("1d 4h", 100_800.0),
        ("  9.8s ", 9.8),
        ("5min", 300.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds, abs=1e-12)


@pytest.mark.parametrize("text", ["", "5", "abc", "9.8 tokens/s", "1m 5x", "s"])
def test_parse_duration_rejects(text: str) -> None:
    assert parse_duration(text) is None


# -- trainer


def test_trainer_step_line_with_colons() -> None:
    store = MetricsStore()
    assert store.feed("trainer", TRAINER_1)
    assert at(store, 3) == {
        "trainer/step_time": 8.03,
        "trainer/loss": 0.0003,
        "trainer/entropy": 0.5121,
        "trainer/mismatch_kl": 0.0011,
        "trainer/grad_norm": 0.182,
        "trainer/lr": 3e-06,
        "trainer/throughput": 3120.0,
        "trainer/mfu": 4.1,
        "trainer/peak_mem": 18.2,
    }
    assert store.last_step == 3


def test_trainer_step_line_without_colons() -> None:
    store = MetricsStore()
    store.feed("trainer", TRAINER_2)
    assert at(store, 12) == {
        "trainer/step_time": 9.8,
        "trainer/loss": 0.0012,
        "trainer/entropy": 0.4321,
        "trainer/mismatch_kl": 0.0009,
        "trainer/grad_norm": 0.2,
        "trainer/lr": 1e-06,
        "trainer/throughput": 2980.0,
        "trainer/mfu": 3.9,
        "trainer/peak_mem": 21.3,
    }


@pytest.mark.parametrize(
    ("field", "seconds"),
    [("Time: 120ms", 0.12), ("   1m 5s", 65.0), ("Time 2h 3m", 7380.0), ("1d 4h", 100_800.0)],
)
def test_step_time_in_every_unit(field: str, seconds: float) -> None:
    store = MetricsStore()
    store.feed("trainer", f"Step 1 | {field} | Loss 0.1")
    assert store.series["trainer/step_time"] == {1: pytest.approx(seconds)}


def test_memory_in_mib_is_converted_to_gib() -> None:
    store = MetricsStore()
    store.feed("trainer", "Step 1 | Peak Mem.: 512 MiB")
    assert store.series["trainer/peak_mem"] == {1: 0.5}


def test_unknown_keys_are_kept_and_a_bad_value_skips_only_itself() -> None:
    store = MetricsStore()
    store.feed(
        "trainer",
        "Step 5 | Loss: abc | Entropy: 0.5 | Max Vio: 0.0123 | Grad. Norm: 1.2.3 | "
        "MFU: 4.1%% | Weird | | Loss Scale=1024 | Loss: nan",
    )
    assert at(store, 5) == {
        "trainer/entropy": 0.5,
        "trainer/max_vio": 0.0123,
        "trainer/loss_scale": 1024.0,
        "trainer/loss": pytest.approx(math.nan, nan_ok=True),
    }


def test_debug_location_suffix_is_not_part_of_the_last_value() -> None:
    store = MetricsStore()
    store.feed("trainer", "Step 2 | Loss: 0.5 | Peak Mem.: 18.2 GiB [train.py::412]")
    assert at(store, 2) == {"trainer/loss": 0.5, "trainer/peak_mem": 18.2}


def test_lines_that_merely_mention_step_are_ignored() -> None:
    store = MetricsStore()
    assert not store.feed("trainer", "Saving checkpoint at Step 5")
    assert not store.feed("trainer", "Step 5: sending batch")
    assert not store.feed("trainer", "Starting trainer on rank 0")
    assert store.series == {}


def test_only_the_lowest_trainer_rank_counts() -> None:
    store = MetricsStore()
    store.feed("trainer", "Step 1 | Loss: 0.9", rank=1)
    assert store.series["trainer/loss"] == {1: 0.9}
    store.feed("trainer", "Step 1 | Loss: 0.5", rank=0)
    store.feed("trainer", "Step 2 | Loss: 0.8", rank=1)
    store.feed("trainer", "Step 2 | Loss: 0.4", rank=0)
    assert store.series["trainer/loss"] == {1: 0.5, 2: 0.4}


# -- orchestrator


def test_orchestrator_step_line_with_colons() -> None:
    store = MetricsStore()
    store.feed("orchestrator", ORCH_1)
    assert at(store, 4) == {
        "orchestrator/step_time": 13.87,
        "orchestrator/reward": 0.5123,
        "orchestrator/throughput": 1520.3,
        "orchestrator/seq_length": 412.5,
        "orchestrator/async_level": 1.0,
        "orchestrator/max_off_policy_level": 2.0,
    }


def test_orchestrator_step_line_without_colons() -> None:
    store = MetricsStore()
    store.feed("orchestrator", ORCH_2)
    assert at(store, 12) == {
        "orchestrator/step_time": 13.9,
        "orchestrator/reward": 0.5832,
        "orchestrator/throughput": 1600.2,
        "orchestrator/seq_length": 418.0,
        "orchestrator/async_level": 1.0,
        "orchestrator/max_off_policy_level": 2.0,
        "orchestrator/trainable": 120.0,
        "orchestrator/trainable_total": 128.0,
        "orchestrator/trainable_pct": 93.8,
        "orchestrator/error": 0.0,
        "orchestrator/truncation": 2.3,
    }


def test_per_env_lines_belong_to_the_step_record_above() -> None:
    store = MetricsStore()
    assert not store.feed("orchestrator", "\t\t ╰─ gsm8k | Ratio 50.0% | Reward 0.1")  # no step
    store.feed("orchestrator", ORCH_1, source="orchestrator.log")
    store.feed(
        "orchestrator", "\t\t ╰─ gsm8k | Ratio 50.0% | Reward 0.6010", source="orchestrator.log"
    )
    store.feed(
        "orchestrator",
        "\t\t ╰─ reverse_text | Ratio 50.0% | Reward 0.4236",
        source="orchestrator.log",
    )
    store.feed("orchestrator", ORCH_2, source="orchestrator.log")
    store.feed("orchestrator", "╰─ gsm8k | Ratio 40.0% | Reward 0.7000", source="orchestrator.log")
    assert store.series["env/gsm8k/reward"] == {4: 0.601, 12: 0.7}
    assert store.series["env/gsm8k/ratio"] == {4: 50.0, 12: 40.0}
    assert store.series["env/reverse_text/reward"] == {4: 0.4236}


def test_step_line_in_a_launcher_file_is_placed_by_its_keys() -> None:
    store = MetricsStore()
    store.feed("launcher", "Step 2 | Reward: 0.5")
    store.feed("other", "Step 2 | Loss: 0.1")
    store.feed("other", "Step 2 | Frobs: 3")
    assert store.series == {"orchestrator/reward": {2: 0.5}, "trainer/loss": {2: 0.1}}


def test_json_logging_message_with_continuation_lines() -> None:
    store = MetricsStore()
    store.feed("orchestrator", "Step 7 | Reward: 0.25\n\t\t ╰─ gsm8k | Ratio 100.0% | Reward 0.25")
    assert at(store, 7) == {
        "orchestrator/reward": 0.25,
        "env/gsm8k/ratio": 100.0,
        "env/gsm8k/reward": 0.25,
    }


# -- eval


def test_evaluated_line_with_step() -> None:
    store = MetricsStore()
    store.feed(
        "orchestrator",
        "Evaluated gsm8k (Step 10) | Time: 5.20s | Reward 0.7100 | Pass@4: 0.8500",
    )
    assert at(store, 10) == {
        "eval/gsm8k/time": 5.2,
        "eval/gsm8k/reward": 0.71,
        "eval/gsm8k/pass_4": 0.85,
    }


def test_evaluated_line_of_the_older_shape_lands_on_the_last_step() -> None:
    store = MetricsStore()
    store.feed("orchestrator", "Step 6 | Reward: 0.5")
    store.feed(
        "orchestrator",
        "Evaluated math500 in 1m 5s (Avg@4=0.7100, Pass@4: 0.8000, No-response: 0.0%, "
        "Completion Length: 412.3 (±12.1), Truncated: 2.3%)",
    )
    assert at(store, 6) == {
        "orchestrator/reward": 0.5,
        "eval/math500/time": 65.0,
        "eval/math500/avg_4": 0.71,
        "eval/math500/pass_4": 0.8,
        "eval/math500/no_response": 0.0,
        "eval/math500/completion_length": 412.3,
        "eval/math500/truncated": 2.3,
    }


# -- vLLM

VLLM = (
    "Avg prompt throughput: 412.3 tokens/s, Avg generation throughput: 1234.5 tokens/s, "
    "Running: 64 reqs, Waiting: 3 reqs, GPU KV cache usage: 45.2%, Prefix cache hit rate: 12.0%"
)


def test_vllm_stats_line_at_the_last_step_seen() -> None:
    store = MetricsStore()
    store.feed("inference", VLLM)
    store.feed("orchestrator", ORCH_1)
    store.feed("inference", "Engine 000: " + VLLM.replace("45.2%", "50.0%") + ".")
    assert store.series["inference/kv_cache"] == {0: 45.2, 4: 50.0}
    assert at(store, 4) | {} == {
        **{k: v for k, v in at(store, 4).items() if k.startswith("orchestrator/")},
        "inference/prompt_throughput": 412.3,
        "inference/generation_throughput": 1234.5,
        "inference/running": 64.0,
        "inference/waiting": 3.0,
        "inference/kv_cache": 50.0,
        "inference/prefix_cache_hit_rate": 12.0,
    }


def test_vllm_stats_line_placed_by_run_time() -> None:
    store = MetricsStore()
    store.feed("orchestrator", "Step 1 | Reward: 0.1", run_time=100)
    store.feed("orchestrator", "Step 2 | Reward: 0.2", run_time=200)
    store.feed("inference", "Avg prompt throughput: 1.0 tokens/s, Running: 1 reqs", run_time=50)
    store.feed("inference", "Avg prompt throughput: 2.0 tokens/s, Running: 2 reqs", run_time=150)
    store.feed("inference", "Avg prompt throughput: 3.0 tokens/s, Running: 3 reqs", run_time=250)
    assert store.series["inference/prompt_throughput"] == {0: 1.0, 1: 2.0, 2: 3.0}


# -- max_steps and summary


@pytest.mark.parametrize(
    "line",
    [
        "Loaded config: max_steps=100 seed=42",
        "  max_steps = 100",
        '{"max_steps": 100, "seed": 42}',
        "Step 3/100 | Reward: 0.5",
    ],
)
def test_max_steps_from_logs(line: str) -> None:
    store = MetricsStore()
    assert store.feed("orchestrator", line)
    assert store.max_steps == 100


def test_summary_rate_eta_and_trend() -> None:
    store = MetricsStore()
    store.feed("orchestrator", "max_steps=100")
    rewards = [0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.2, 0.2, 0.2, 0.2, 0.3]
    for step, reward in enumerate(rewards):
        store.feed("orchestrator", f"Step {step} | Reward: {reward}", run_time=1000 + 30 * step)
    summary = store.summary()
    assert summary == MetricsSummary(
        step=10,
        max_steps=100,
        steps_per_min=2.0,
        reward=0.3,
        reward_trend=summary.reward_trend,
        eta_s=2700.0,
    )
    assert summary.reward_trend == pytest.approx(0.22 - 0.12)
    assert summary.text() == "step 10/100 · 2 steps/min · reward 0.3000 ↑ · ETA 45m 0s"


def test_summary_rate_from_step_times_without_clock() -> None:
    store = MetricsStore()
    store.feed("trainer", "Step 1 | Time: 10.0s | Loss: 0.5")
    store.feed("trainer", "Step 2 | Time: 20.0s | Loss: 0.6")
    summary = store.summary()
    assert (summary.step, summary.steps_per_min, summary.reward, summary.eta_s) == (
        2,
        4.0,
        None,
        None,
    )
    assert summary.text() == "step 2 · 4 steps/min"
    assert MetricsStore().summary().text() == "no steps yet"


# -- metrics.jsonl


def test_jsonl_values_win_over_parsed_ones_in_either_order() -> None:
    store = MetricsStore()
    store.feed("orchestrator", "Step 1 | Reward: 0.5")
    store.feed_jsonl('{"step": 1, "reward/mean": 0.5123456, "custom/thing": 3}')
    store.feed_jsonl('{"step": 2, "reward/mean": 0.61, "optim": {"grad_norm": 0.25}}')
    store.feed("orchestrator", "Step 2 | Reward: 0.6100 | Throughput: 100 tokens/s")
    assert store.series == {
        "orchestrator/reward": {1: 0.5123456, 2: 0.61},
        "custom/thing": {1: 3.0},
        "trainer/grad_norm": {2: 0.25},
        "orchestrator/throughput": {2: 100.0},
    }
    store.feed("orchestrator", "Step 2 | Reward: 0.7")
    assert store.series["orchestrator/reward"][2] == 0.61


@pytest.mark.parametrize(
    "line",
    ["", "not json", "[1, 2]", '{"reward/mean": 0.5}', '{"step": "3", "x": 1}', '{"step": true}'],
)
def test_jsonl_lines_without_a_step_are_skipped(line: str) -> None:
    store = MetricsStore()
    assert not store.feed_jsonl(line)
    assert store.series == {}


def test_jsonl_skips_non_numeric_values() -> None:
    store = MetricsStore()
    store.feed_jsonl('{"step": 4.0, "ok": 1.5, "flag": true, "name": "x", "none": null, "_ts": 9}')
    assert store.series == {"ok": {4: 1.5}}


# -- export


def test_csv_and_json_export() -> None:
    store = MetricsStore()
    store.feed("orchestrator", "Step 1 | Reward: 0.5 | Async Level: 1")
    store.feed("trainer", "Step 2 | Loss: nan | Grad. Norm: 0.25")
    store.feed("orchestrator", "Step 2 | Reward: 0.625 | Async Level: 1")
    assert store.to_csv() == (
        "step,orchestrator/async_level,orchestrator/reward,trainer/grad_norm,trainer/loss\n"
        "1,1,0.5,,\n"
        "2,1,0.625,0.25,nan\n"
    )
    assert json.loads(store.to_json()) == {
        "max_steps": None,
        "steps": [1, 2],
        "series": {
            "orchestrator/async_level": [1, 1],
            "orchestrator/reward": [0.5, 0.625],
            "trainer/grad_norm": [None, 0.25],
            "trainer/loss": [None, None],
        },
    }


# -- a run on disk

FIXTURE_CSV = (
    "step,env/gsm8k/ratio,env/gsm8k/reward,inference/prompt_throughput,inference/running,"
    "orchestrator/async_level,orchestrator/reward,orchestrator/seq_length,"
    "orchestrator/step_time,orchestrator/throughput,trainer/entropy,trainer/grad_norm,"
    "trainer/loss,trainer/lr,trainer/mfu,trainer/peak_mem,trainer/step_time,"
    "trainer/throughput\n"
    "0,,,412.3,64,,,,,,,,,,,,,\n"
    "1,50,0.601,,,1,0.5123,412.5,13.87,1520.3,0.5121,0.221,0.0003,1e-06,31.2,21.3,8.03,2210.5\n"
    "2,50,0.612,,,1,0.553,418,12.1,1602.8,0.5098,0.2011,0.0002,1e-06,31.5,21.3,7.95,2231\n"
)


@pytest.mark.parametrize("layout", ["library", "latest"])
def test_csv_of_a_fixture_run(
    tmp_path: Path, layout: Layout, capsys: pytest.CaptureFixture[str]
) -> None:
    run = write_fixture_run(tmp_path / "run", layout)
    assert cli.main(["metrics", str(run.output_dir)]) == 0
    out, err = capsys.readouterr()
    assert out == FIXTURE_CSV
    assert err == ""
    assert cli.main(["metrics", str(run.output_dir), "--csv"]) == 0
    assert capsys.readouterr().out == FIXTURE_CSV


def test_json_of_a_fixture_run(library_run: FixtureRun, capsys: pytest.CaptureFixture[str]) -> None:
    (library_run.output_dir / "metrics.jsonl").write_text(
        '{"step": 2, "reward/mean": 0.5531, "time/step": 12.2}\nnot json\n', encoding="utf-8"
    )
    assert cli.main(["metrics", str(library_run.output_dir), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["steps"] == [0, 1, 2]
    assert data["series"]["orchestrator/reward"] == [None, 0.5123, 0.5531]
    assert data["series"]["time/step"] == [None, None, 12.2]
    assert data["series"]["trainer/loss"] == [None, 0.0003, 0.0002]


def test_scan_run_reads_torchrun_rank_prefixes_and_colours(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    lines = [
        loguru_line("23:59:00", "SUCCESS", "Step 1 | Loss: 0.9", prefix="[default1]:"),
        loguru_line("23:59:01", "SUCCESS", "Step 1 | Loss: 0.5", prefix="[default0]:"),
        loguru_line("23:59:59", "INFO", "Run config: max_steps=4", prefix="[default0]:"),
        loguru_line("00:00:30", "SUCCESS", "Step 2 | Loss: 0.4", prefix="[default0]:"),
        loguru_line("00:00:31", "SUCCESS", "Step 2 | Loss: 0.8", prefix="[default1]:"),
    ]
    (logs / "trainer.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    store = scan_run(tmp_path)
    assert store.series == {"trainer/loss": {1: 0.5, 2: 0.4}}
    assert store.max_steps == 4
    # step 1 first seen at 23:59:00, step 2 at 00:00:30: 1 step in 90 s across midnight
    assert store.summary().steps_per_min == pytest.approx(60 / 90)


def test_scan_run_of_a_run_without_logs_is_empty(tmp_path: Path) -> None:
    store = scan_run(tmp_path)
    assert store.series == {}
    assert store.to_csv() == "step\n"


def test_metrics_command_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["metrics", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err == f"prime-logs: error: {tmp_path / 'missing'} does not exist\n"
    assert cli.main(["metrics", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("prime-logs: error: ") and err.count("\n") == 1
    assert "no logs/ folder" in err


def test_metrics_to_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    text = "".join(
        loguru_line("10:00:00", "SUCCESS", f"Step {i} | Reward: 0.{i:04d}") + "\n"
        for i in range(5000)
    )
    (logs / "orchestrator.log").write_text(text, encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "prime_rl_logs", "metrics", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline() == b"step,orchestrator/reward\n"
    proc.stdout.close()
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait() == 0
    assert err == b""


def test_series_keeps_values_sorted_by_step_in_two_arrays() -> None:
    s = Series()
    for step, value in ((2, 0.2), (5, 0.5), (3, 0.3), (5, 0.55), (1, 0.1)):
        s[step] = value
    assert list(s) == [1, 2, 3, 5] and s.steps.tolist() == [1, 2, 3, 5]
    assert s == {1: 0.1, 2: 0.2, 3: 0.3, 5: 0.55}
    assert s[3] == 0.3 and s.get(4) is None and 4 not in s
    with pytest.raises(KeyError):
        s[4]
    assert s.steps.itemsize + s.numbers.itemsize == 16  # bytes a value
