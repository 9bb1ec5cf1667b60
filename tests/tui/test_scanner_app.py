"""The dashboard's doctor and metrics history run in its scanner process (issue 12)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from prime_rl_logs.diagnose.model import Report
from prime_rl_logs.scanner import ScannerClosed
from prime_rl_logs.tui.app import PrimeLogsApp
from tests import diagnose_fixture as fx
from tests.fixtures import pilot_wait_for as wait_for

SIZE = (160, 40)


async def test_the_doctor_and_the_metrics_history_come_from_the_scanner(tmp_path: Path) -> None:
    case = fx.write_oom_cascade(tmp_path / "run", time.time())
    app = PrimeLogsApp(case.run)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.problems.report is not None and app.metrics.ready)
        child = app.scanner.pid
        assert child is not None and child != os.getpid()
        # A child of the event loop's thread, where tools look for a process's children.
        me = os.getpid()
        assert str(child) in Path(f"/proc/{me}/task/{me}/children").read_text().split()
        report = app.problems.report
        assert report is not None and report.first_failure is not None
        assert (report.first_failure.rank, report.first_failure.signature) == (5, "cuda-oom")
        assert app.metrics.store.names()  # the step lines' metrics, read in the child
    assert app.scanner.pid is None  # quitting ended it


class SlowDoctor:
    """A doctor whose first look is a minute in the scanner."""

    def __init__(self, app: PrimeLogsApp) -> None:
        self.app = app
        self.waiting = threading.Event()
        self.released = threading.Event()

    def update(self) -> bool:
        self.waiting.set()
        try:
            self.app.scanner.call(time.sleep, 60)
        except ScannerClosed:
            self.released.set()
            raise
        return True

    def report(self, now: float | None = None) -> Report:
        raise AssertionError("never reached")


async def test_quitting_during_a_scan_does_not_wait_for_it(tmp_path: Path) -> None:
    """Before the scanner, `q` during the doctor's first look at 64 files waited for
    the look to end (9.6 s): the thread running it could not be stopped."""
    case = fx.write_clean(tmp_path / "run", time.time())
    app = PrimeLogsApp(case.run)
    doctor = SlowDoctor(app)
    app.problems.doctor_factory = lambda out, logs: doctor
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, doctor.waiting.is_set)
        await pilot.press("q")
    # (liveness only: the call itself would take 60 s)
    assert doctor.released.wait(timeout=20)
