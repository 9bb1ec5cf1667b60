"""Metrics on hostile input: steps beyond 64 bits are skipped and counted; a huge line
with no newline costs bounded memory and linear work (issue 15, items 2 and 10)."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from prime_rl_logs import cli
from prime_rl_logs.metrics import MetricsStore, scan_run
from prime_rl_logs.metrics import scan as scan_module
from tests.fixtures import loguru_line

HUGE = "99999999999999999999"  # 20 digits: beyond 2**63 - 1


def test_a_step_beyond_64_bits_in_a_log_line_is_skipped_and_counted() -> None:
    store = MetricsStore()
    store.feed("trainer", f"Step {HUGE} | Loss: 0.1")
    store.feed("trainer", f"Step 3/{HUGE} | Loss: 0.3")  # a max_steps that does not fit
    store.feed("orchestrator", f"Evaluated gsm8k (Step {HUGE}) | Reward 0.5")
    store.feed("trainer", "Step " + "9" * 5000 + " | Loss: 0.2")  # int() refuses 4301+ digits
    store.feed("trainer", "Step 4 | Loss: 0.4")
    assert store.series == {"trainer/loss": {3: 0.3, 4: 0.4}}
    assert store.skipped == 4
    assert store.max_steps is None
    assert store.summary().text().endswith("· 4 skipped: step beyond 64 bits")


def test_the_largest_64_bit_step_is_kept() -> None:
    store = MetricsStore()
    store.feed("trainer", f"Step {2**63 - 1} | Loss: 0.1")
    assert store.series == {"trainer/loss": {2**63 - 1: 0.1}}


@pytest.mark.parametrize("step", [HUGE, "-" + HUGE, "1e30"])
def test_a_step_beyond_64_bits_in_metrics_jsonl_is_skipped_and_counted(step: str) -> None:
    store = MetricsStore()
    assert not store.feed_jsonl(f'{{"step": {step}, "loss/mean": 0.1}}')
    assert store.feed_jsonl('{"step": 2, "loss/mean": 0.2}')
    assert store.series == {"trainer/loss": {2: 0.2}}
    assert store.skipped == 1


def test_metrics_command_warns_once_about_skipped_steps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "trainer.log").write_text(
        loguru_line("12:00:00", "SUCCESS", f"Step {HUGE} | Loss: 0.1")
        + "\n"
        + loguru_line("12:00:01", "SUCCESS", "Step 3 | Loss: 0.3")
        + "\n",
        encoding="utf-8",
    )
    (tmp_path / "metrics.jsonl").write_text(
        json.dumps({"step": int(HUGE), "loss/mean": 1.0}) + "\n", encoding="utf-8"
    )
    assert cli.main(["metrics", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert out == "step,trainer/loss\n3,0.3\n"
    assert err == "prime-logs: warning: 2 value(s) skipped: step beyond 64 bits\n"


# -- item 10: a long line with no newline


def _nul_run(tmp_path: Path, nul_bytes: int) -> Path:
    """A trainer log: a step line, ``nul_bytes`` NULs with no newline, a step line."""
    logs = tmp_path / "logs"
    logs.mkdir()
    path = logs / "trainer.log"
    with open(path, "wb") as fh:
        fh.write((loguru_line("12:00:00", "SUCCESS", "Step 1 | Loss: 0.1") + "\n").encode())
        fh.write(b"\0" * nul_bytes)
        fh.write(b"\n" + (loguru_line("12:00:01", "SUCCESS", "Step 2 | Loss: 0.2") + "\n").encode())
    return tmp_path


def test_a_long_line_without_newline_costs_bounded_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """8 MB of NULs read in 64 KiB blocks: the carried line never exceeds the limit
    (the old code carried, and copied per block, the whole 8 MB)."""
    monkeypatch.setattr(scan_module, "CHUNK", 64 * 1024)
    monkeypatch.setattr(scan_module, "LINE_LIMIT", 256 * 1024, raising=False)
    run = _nul_run(tmp_path, 8 * 1024 * 1024)
    tracemalloc.start()
    try:
        store = scan_run(run)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert store.series == {"trainer/loss": {1: 0.1, 2: 0.2}}
    assert peak < 2 * 1024 * 1024, peak


def test_a_line_longer_than_the_limit_is_skipped_and_the_next_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step line padded past the limit is no step line; lines around it still count,
    whether the long line spans blocks or ends inside one."""
    monkeypatch.setattr(scan_module, "CHUNK", 1024)
    monkeypatch.setattr(scan_module, "LINE_LIMIT", 4096, raising=False)
    logs = tmp_path / "logs"
    logs.mkdir()
    long_step = loguru_line("12:00:01", "SUCCESS", "Step 7 | Loss: 0.7 |" + " x" * 5000)
    short = "Step 5 | Loss: 0.5 |" + " y" * 1500  # 3 KB: spans blocks, under the limit
    lines = [
        loguru_line("12:00:00", "SUCCESS", "Step 1 | Loss: 0.1"),
        long_step,
        loguru_line("12:00:02", "SUCCESS", "Step 2 | Loss: 0.2"),
        loguru_line("12:00:03", "SUCCESS", short),
        long_step,
    ]
    (logs / "trainer.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    store = scan_run(tmp_path)
    assert store.series["trainer/loss"] == {1: 0.1, 2: 0.2, 5: 0.5}
