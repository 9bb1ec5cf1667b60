"""Fault injection on the library's file sink (issue 15, item 8): ENOSPC, EBADF and EPIPE.

The process keeps running, stderr gets a bounded number of reports (one at the first
failure, then at most one per interval), and the first record written after the fault
clears starts whole on a line of its own, even when the fault tore a record in half.
"""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from prime_rl_logs import logger as logger_module
from prime_rl_logs import reset_logger, setup_logger

RECORD = re.compile(r"^\d\d:\d\d:\d\d +[A-Z]+ ")


@pytest.fixture(autouse=True)
def fresh_logger() -> Iterator[None]:
    reset_logger()
    yield
    reset_logger()


class FaultySink:
    """Wraps ``os.write``: while ``fault`` is set, writes to ``fd`` fail with ``fault``;
    the first failing write first lets half its bytes through (a torn record)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.fault: int | None = None
        self.tear = True
        self.real = os.write

    def write(self, fd: int, data: bytes) -> int:
        if fd != self.fd or self.fault is None:
            return self.real(fd, data)
        if self.tear:
            self.tear = False
            return self.real(fd, bytes(data)[: len(data) // 2])
        raise OSError(self.fault, os.strerror(self.fault))


def file_sink(monkeypatch: pytest.MonkeyPatch) -> list[logger_module.AppendFileSink]:
    """The `AppendFileSink` objects `setup_logger` makes from now on."""
    made: list[logger_module.AppendFileSink] = []
    init = logger_module.AppendFileSink.__init__

    def record(self: logger_module.AppendFileSink, path: str | os.PathLike[str]) -> None:
        init(self, path)
        made.append(self)

    monkeypatch.setattr(logger_module.AppendFileSink, "__init__", record)
    return made


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.mark.parametrize("fault", [errno.ENOSPC, errno.EBADF, errno.EPIPE])
def test_a_failing_sink_reports_once_per_interval_and_the_next_record_is_whole(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fault: int,
) -> None:
    log_file = tmp_path / "orchestrator.log"
    made = file_sink(monkeypatch)
    log = setup_logger("info", log_file, colorize=False, console=False)
    log.info("before the fault")
    (sink,) = made
    assert sink.fd is not None
    faulty = FaultySink(sink.fd)
    clock = Clock()
    monkeypatch.setattr(logger_module.os, "write", faulty.write)
    monkeypatch.setattr(
        logger_module, "time", SimpleNamespace(monotonic=clock.monotonic), raising=False
    )

    faulty.fault = fault
    for i in range(2400):  # 2,400 records over 60 s of a full disk
        log.error(f"dropped record {i} " + "x" * 200)
        clock.now += 0.025
    faulty.fault = None
    log.error("after the fault")
    clock.now += 10
    log.info("and the one after")
    reset_logger()

    err = capsys.readouterr().err
    reports = err.splitlines()
    # The first failure, then one line per 10 s of the 60 s, then the recovery.
    assert 2 <= len(reports) <= 8, err
    assert all(line.startswith("prime-logs: ") for line in reports), err
    assert os.strerror(fault) in reports[0]
    assert str(log_file) in reports[0]
    assert "Traceback" not in err and "Logging error" not in err
    dropped = [int(n) for n in re.findall(r"(\d+) records (?:were )?dropped", err)]
    assert sum(dropped) == 2400 - 1  # every dropped record counted once (the first named)

    lines = log_file.read_text().splitlines()
    assert lines[0].endswith("before the fault")
    assert "dropped record 0" in lines[1] and not lines[1].endswith("x" * 200)  # torn
    assert RECORD.match(lines[2]) and lines[2].endswith("after the fault"), lines
    assert RECORD.match(lines[3]) and lines[3].endswith("and the one after")
    assert len(lines) == 4


def test_a_fault_that_tears_nothing_adds_no_blank_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log_file = tmp_path / "a.log"
    made = file_sink(monkeypatch)
    log = setup_logger("info", log_file, colorize=False, console=False)
    (sink,) = made
    assert sink.fd is not None
    faulty = FaultySink(sink.fd)
    faulty.tear = False
    monkeypatch.setattr(logger_module.os, "write", faulty.write)
    log.info("one")
    faulty.fault = errno.ENOSPC
    log.info("lost")
    faulty.fault = None
    log.info("two")
    reset_logger()
    lines = log_file.read_text().splitlines()
    assert [line.split(" ", 2)[-1].strip() for line in lines] == ["INFO one", "INFO two"]
    assert len(capsys.readouterr().err.splitlines()) == 1


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_disk_in_a_real_process(tmp_path: Path) -> None:
    """/dev/full fails every write with ENOSPC: 2,400 records, the process goes on."""
    link = tmp_path / "logs" / "orchestrator.log"
    link.parent.mkdir()
    link.symlink_to("/dev/full")
    code = (
        "import sys\n"
        "from prime_rl_logs import setup_logger, reset_logger\n"
        f"log = setup_logger('info', {str(link)!r}, append=True, console=False)\n"
        "for i in range(2400):\n"
        "    log.error(f'record {i}')\n"
        "reset_logger()\n"
        "print('still running')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "still running\n"
    reports = proc.stderr.splitlines()
    assert 1 <= len(reports) <= 3, proc.stderr
    assert "No space left on device" in reports[0]
