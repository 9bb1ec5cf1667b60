"""torch.distributed's Python log lines (torchrun's elastic agent in older PyTorch):
``[2025-01-31 14:30:05,123] torch.distributed.elastic.multiprocessing.api: [WARNING]
Sending process 1234 closing signal SIGTERM`` is a header with its level and clock
(`core.formats.TORCH_LOG`), so ``tail --level warning`` shows it and the doctor
counts it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from prime_rl_logs.cli import main
from prime_rl_logs.core.parse import parse_line
from prime_rl_logs.core.scan.records import header_level, problem_lines
from prime_rl_logs.diagnose import diagnose
from tests import diagnose_fixture as fx

API = "torch.distributed.elastic.multiprocessing.api"


def agent_line(t: float, level: str, message: str) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))
    return f"[{stamp},123] {API}: [{level}] {message}\n"


@pytest.mark.parametrize(("level", "number"), [("WARNING", 30), ("ERROR", 40), ("INFO", 20)])
def test_the_level_and_clock_are_read(level: str, number: int) -> None:
    line = f"[2025-01-31 14:30:05,123] {API}: [{level}] Sending process 1234 closing signal"
    info = parse_line(line)
    assert info.header and (info.level, info.level_name) == (number, level)
    assert info.clock == 14 * 3600 + 30 * 60 + 5
    assert (info.tag, info.fmt) == (API, "pylog")
    assert info.message == "Sending process 1234 closing signal"
    raw = (line + "\n").encode()
    assert header_level(raw, 0, len(raw)) == number
    assert dict(problem_lines(raw)) == ({0: number} if number >= 30 else {})


def _run(tmp_path: Path, now: float) -> Path:
    run = tmp_path / "run"
    logs = fx._skeleton(run)
    text = (
        fx.loguru(now - 90, "INFO", "Starting trainer with torchrun")
        + agent_line(now - 60, "WARNING", "Sending process 1234 closing signal SIGTERM")
        + agent_line(now - 59, "WARNING", "Sending process 1235 closing signal SIGTERM")
        + agent_line(now - 58, "ERROR", "failed (exitcode: -9) local_rank: 1 (pid: 1236)")
        + fx.loguru(now - 57, "INFO", "Trainer exited")
    )
    fx.write(logs / "trainer.log", text, now - 57)
    return run


def test_tail_level_warning_shows_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    now = time.time()
    run = _run(tmp_path, now)
    assert main(["tail", str(run), "--level", "warning", "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["level"], r["message"][:24]) for r in records] == [
        ("WARNING", "Sending process 1234 clo"),
        ("WARNING", "Sending process 1235 clo"),
        ("ERROR", "failed (exitcode: -9) lo"),
    ]
    assert time.strftime("%H:%M:%S", time.localtime(now - 60)) in records[0]["time"]


def test_the_doctor_groups_them(tmp_path: Path) -> None:
    now = time.time()
    run = _run(tmp_path, now)
    report = diagnose(run, now=now)
    [killed] = [g for g in report.groups if g.signature == "killed"]
    assert killed.count == 3 and killed.level == "ERROR"
    assert killed.first_seen == pytest.approx(now - 60, abs=1.5)
    assert killed.first.line == 2 and killed.components == ("trainer",)
    first = report.first_failure
    assert first is not None and first.line == 4 and not first.time_inferred
    assert first.time == pytest.approx(now - 58, abs=1.5)
