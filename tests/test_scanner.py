"""The scanner process: the dashboard's whole-run scans off its process (issue 12).

A doctor's first look at 64 files of history is seconds of pure Python; in a thread
of the dashboard it held the GIL the event loop needs (keys took 0.3-1 s) and made
quitting wait for it (9.6 s). These tests pin what the child process gives: calls
answered in another process with the state kept between them, errors raised in the
caller, a dead child replaced, a waiting caller released by `close`, and the same
report as the doctor in this process.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from prime_rl_logs import scanner as scanner_module
from prime_rl_logs.diagnose.alerts import doctor_for
from prime_rl_logs.metrics.scan import scan_run
from prime_rl_logs.scanner import (
    ProcessDoctor,
    Scanner,
    ScannerClosed,
    doctor_step,
    metrics_history,
)
from tests import diagnose_fixture as fx
from tests import scanner_calls


@pytest.fixture
def scanner() -> object:
    s = Scanner()
    yield s
    s.close()


def test_a_call_runs_in_another_process_and_keeps_its_child(scanner: Scanner) -> None:
    first = scanner.call(os.getpid)
    assert first != os.getpid() and first == scanner.pid
    assert scanner.call(os.getpid) == first  # one child for every call
    assert scanner.started == 1 and not scanner.local


def test_start_starts_the_child_before_any_call(scanner: Scanner) -> None:
    assert scanner.pid is None
    scanner.start()
    child = scanner.pid
    assert child is not None and scanner.call(os.getpid) == child and scanner.started == 1


def test_what_the_call_raises_is_raised_in_the_caller(scanner: Scanner) -> None:
    with pytest.raises(FileNotFoundError):
        scanner.call(os.stat, "/no/such/file/here")
    assert scanner.call(os.getpid) == scanner.pid  # and the child goes on


def test_a_child_that_died_is_started_again(scanner: Scanner) -> None:
    pid = scanner.call(os.getpid)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while scanner.pid is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    again = scanner.call(os.getpid)
    assert again != pid and scanner.started == 2


def test_close_releases_a_caller_waiting_for_a_long_call(scanner: Scanner) -> None:
    """Quitting the app while the doctor's first scan runs: the worker thread waiting
    for the child ends at once instead of when the scan does."""
    scanner.call(os.getpid)  # started
    outcome: list[object] = []

    def wait() -> None:
        try:
            scanner.call(time.sleep, 60)
        except ScannerClosed as exc:
            outcome.append(exc)

    thread = threading.Thread(target=wait)
    thread.start()
    time.sleep(0.2)  # the call is in the child
    scanner.close()
    thread.join(timeout=30)  # (liveness only: the call itself would take 60 s)
    assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], ScannerClosed)
    with pytest.raises(ScannerClosed):
        scanner.call(os.getpid)


def test_local_runs_calls_here() -> None:
    local = Scanner(local=True)
    assert local.call(os.getpid) == os.getpid() and local.pid is None


def test_a_child_that_cannot_start_runs_calls_here(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("no fork here")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    s = Scanner()
    assert s.call(os.getpid) == os.getpid() and s.local


def test_the_process_doctor_reports_what_the_doctor_here_does(
    tmp_path: Path, scanner: Scanner
) -> None:
    now = time.time()
    case = fx.write_oom_cascade(tmp_path / "run", now)
    here = doctor_for(case.run, None, every_attempt=True)
    here.update()
    expected = here.report()
    remote = ProcessDoctor(scanner, case.run, None)
    assert remote.update() is True
    got = remote.report()
    assert got.first_failure == expected.first_failure
    assert [g.key for g in got.groups] == [g.key for g in expected.groups]
    assert got.status == expected.status == "crashed"
    # The child kept the doctor: a second look reads nothing new.
    assert remote.update() is False
    assert remote.report(now + 5).first_failure == expected.first_failure


def test_doctor_step_keeps_one_doctor_per_run(tmp_path: Path) -> None:
    """The state `doctor_step` keeps where it runs (here: a local scanner's process)."""
    now = time.time()
    a = fx.write_clean(tmp_path / "a", now)
    b = fx.write_nan(tmp_path / "b", now)
    scanner_module._DOCTORS.clear()
    assert doctor_step(a.run, None)[0] is True
    assert doctor_step(a.run, None)[0] is False  # the same doctor: nothing new
    assert doctor_step(b.run, None)[0] is True
    assert list(scanner_module._DOCTORS) == [(b.run, None)]  # one run at a time
    scanner_module._DOCTORS.clear()


def test_metrics_history_is_the_runs_scan(tmp_path: Path, scanner: Scanner) -> None:
    case = fx.write_nan(tmp_path / "run", time.time())
    got = scanner.call(metrics_history, case.run, None)
    expected = scan_run(case.run)
    assert got.names() == expected.names() and got.names()
    for name in got.names():
        mine, theirs = got.series[name], expected.series[name]
        # (repr: the NaN run holds NaN, which equals nothing)
        assert [(s, repr(mine[s])) for s in mine] == [(s, repr(theirs[s])) for s in theirs]


def test_the_child_ends_with_its_parent_even_mid_call(tmp_path: Path) -> None:
    """A dashboard killed during a scan (its terminal closed) leaves no scanner behind."""
    import subprocess
    import sys

    code = (
        "import os, sys, threading, time\n"
        "from prime_rl_logs.scanner import Scanner\n"
        "s = Scanner()\n"
        "print(s.call(os.getpid), flush=True)\n"
        "threading.Thread(target=s.call, args=(time.sleep, 600), daemon=True).start()\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 20  # (liveness only: its call would take 600 s)
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        if Path(f"/proc/{child}/stat").read_text().split()[2] == "Z":
            break  # ended, not yet reaped
        time.sleep(0.05)
    else:
        os.kill(child, signal.SIGKILL)
        raise AssertionError("the scanner outlived its dashboard")


def test_a_child_left_with_freed_memory_starts_over_keeping_its_doctors(
    scanner: Scanner, tmp_path: Path
) -> None:
    """A first look at a large run leaves the child 30-40 MB of heap it no longer
    uses; it becomes a fresh process (same id, same socket) with its doctors."""
    case = fx.write_nan(tmp_path / "run", time.time())
    changed, report = scanner.call(doctor_step, case.run, None)
    assert changed
    pid = scanner.pid
    before = scanner.call(scanner_module._rss_mb)
    assert before is not None
    scanner.call(scanner_calls.leave_freed_heap, 4 * scanner_module.SHED_MB)
    after = scanner.call(scanner_module._rss_mb)
    assert after is not None and after < before + scanner_module.SHED_MB / 2
    assert scanner.pid == pid and scanner.started == 1  # the same process, not a new one
    again, kept = scanner.call(doctor_step, case.run, None)
    assert not again  # its doctor kept: nothing new (a new doctor would find the NaNs)
    assert replace(kept, reason="") == replace(report, reason="")  # ("last write N s ago")
    # The freed heap would have stayed: the same call in this process keeps it.
    mine = scanner_module._rss_mb()
    scanner_calls.leave_freed_heap(4 * scanner_module.SHED_MB)
    assert mine is not None and (scanner_module._rss_mb() or 0) > mine + scanner_module.SHED_MB
