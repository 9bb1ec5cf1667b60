"""The dates vLLM (``INFO 11-30 14:30:05``) and glog (``[E1130 14:30:05.412345 ...]``)
lines write are used: a record's day comes from its line, not from the file's mtime,
in the year that keeps it from being after the mtime."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from prime_rl_logs.core.parse import parse_line
from prime_rl_logs.diagnose import diagnose
from prime_rl_logs.diagnose.text import dated_epoch, line_date
from tests import diagnose_fixture as fx


def local(*ymdhms: int) -> float:
    return time.mktime((*ymdhms, 0, 0, -1))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("line", "date"),
    [
        ("[rank3]:[E1130 14:30:05.412345634 ProcessGroupNCCL.cpp:632] [Rank 3] timeout", (11, 30)),
        ("[W317 09:41:07.250000 ProcessGroupNCCL.cpp:1420] slow", (3, 17)),
        ("E0131 14:30:05.123456 4242 torch/distributed/elastic/api.py:874] failed", (1, 31)),
        ("(APIServer pid=7) ERROR 12-31 23:59:59 [engine.py:300] EngineDeadError", (12, 31)),
        ("WARNING 02-09 14:02:40 api_server.py:440] old shape", (2, 9)),
        ("14:30:05   ERROR loguru has no date", None),
        ("[E1399 14:30:05.000001 x.cc:1] month 13", None),
    ],
)
def test_line_date(line: str, date: tuple[int, int] | None) -> None:
    assert line_date(line, parse_line(line).fmt) == date


def test_the_year_keeps_the_time_not_after_the_mtime() -> None:
    mtime = local(2027, 1, 2, 12, 0, 0)
    assert dated_epoch(12, 31, 23 * 3600, mtime) == local(2026, 12, 31, 23, 0, 0)
    assert dated_epoch(1, 2, 11 * 3600, mtime) == local(2027, 1, 2, 11, 0, 0)
    # five minutes of slack, as FileClock's; later than that on the same day: a year back
    assert dated_epoch(1, 2, 12 * 3600 + 240, mtime) == local(2027, 1, 2, 12, 4, 0)
    assert dated_epoch(1, 2, 13 * 3600, mtime) == local(2026, 1, 2, 13, 0, 0)
    assert dated_epoch(2, 29, 0, mtime) == local(2024, 2, 29, 0, 0, 0)


def test_the_doctor_dates_glog_and_vllm_records_from_their_lines(tmp_path: Path) -> None:
    """A trainer rank's NCCL timeout two days before its file's last write (the file
    went on with loguru lines): the glog line's date, not the mtime's day."""
    now = time.time()
    run = tmp_path / "run"
    logs = fx._skeleton(run)
    nccl_at = now - 2 * 86_400 - 3600
    where = "ProcessGroupNCCL.cpp:632"
    text = fx.glog(nccl_at, "E", where, "[Rank 0] Watchdog caught collective operation timeout")
    text += fx.loguru(now - 60, "INFO", "still here")
    fx.write(fx.rank_dir(logs, 0) / "stderr.log", text, now - 60)
    vllm_at = now - 86_400 - 7200
    fx.write(
        logs / "inference.log",
        fx.vllm(vllm_at, "ERROR", "EngineDeadError: engine died") + fx.loguru(now, "INFO", "up"),
        now,
    )
    report = diagnose(run, now=now)
    by_sig = {g.signature: g for g in report.groups}
    assert by_sig["nccl-timeout"].first_seen == pytest.approx(nccl_at, abs=1)
    assert by_sig["vllm-died"].first_seen == pytest.approx(vllm_at, abs=1)
    first = report.first_failure
    assert first is not None and first.signature == "nccl-timeout"
    assert first.time == pytest.approx(nccl_at, abs=1) and not first.time_inferred
