"""The Problems pane (``p``): what went wrong, where, and first; and the alerts.

`Problems` is the app's side: it owns the doctor (`diagnose.doctor.Doctor`, made by
`doctor_factory`) and runs ``update()`` and ``report()`` in a thread worker every
tick of the app (2 s), never on the event loop, one run at a time. The default
doctor lives in the app's scanner process (`scanner.ProcessDoctor`): its first look
reads the whole run, which in a thread would hold the GIL the event loop needs. Each report goes
to an `AlertTracker` (the header's count turns red on a new error group or stall
until the pane is opened; alerts go to a toast, and with ``--notify`` / ``--on-alert``
to the terminal through the driver and to the command), to the sidebar (the files
involved get a marker) and to the pane (`tui.problems_view.ProblemsView`: the first
failure at the top with its traceback, then the groups, consequences folded under
their cause, then the stalls; hidden, it costs nothing). ``enter`` on an entry opens
its file as the first pane with that record selected and its traceback below it
(`Problems.open`; another attempt's file switches to that attempt first).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final

from rich.text import Text

from prime_rl_logs.diagnose.alerts import (
    Alert,
    AlertTracker,
    DoctorLike,
    OnAlert,
    clean,
    terminal_notification,
)
from prime_rl_logs.diagnose.model import Report
from prime_rl_logs.layout import safe_name
from prime_rl_logs.scanner import ProcessDoctor, ScannerClosed
from prime_rl_logs.tui.pane import PaneSpec
from prime_rl_logs.tui.problems_view import ProblemsView, Target

if TYPE_CHECKING:
    from prime_rl_logs.core.log_file import LogFile
    from prime_rl_logs.core.view import View
    from prime_rl_logs.tui.app import PrimeLogsApp

__all__ = ["Problems", "ProblemsView", "Target", "row_at"]

OPEN_SLICE_S: Final = 0.02
IDLE_LOOK_S: Final = 10.0
"""While no file of the run grows, the doctor looks this often (not every tick): its
stalls are minutes long, and each look stats every file of every attempt (at 256
idle files, half the dashboard's idle CPU)."""


def row_at(view: View, offset: int) -> int | None:
    """The row of a one-file view at ``offset`` (or the first after it: the record's
    header hidden by a filter), None when the view holds no such row yet."""
    lo, hi = 0, len(view)
    while lo < hi:
        mid = (lo + hi) // 2
        if view.row(mid).offset < offset:
            lo = mid + 1
        else:
            hi = mid
    return lo if lo < len(view) else None


class Problems:
    """The doctor of the app's run, its alerts, and what the header and sidebar say.

    Args:
        app: the dashboard.
        notify: ring the bell and send a desktop notification on each alert.
        on_alert: a command run with each alert as JSON on stdin, or None.
        doctor_factory: makes the doctor of a run (output dir, attempt's logs); None:
            every attempt of the run, in the app's scanner process.
    """

    def __init__(
        self,
        app: PrimeLogsApp,
        *,
        notify: bool = False,
        on_alert: str | None = None,
        doctor_factory: Callable[[Path, Path | None], DoctorLike] | None = None,
    ) -> None:
        self.app = app
        self.notify = notify
        self.doctor_factory = doctor_factory
        self.hook = OnAlert(on_alert, self._hook_failed) if on_alert else None
        self.view = ProblemsView(id="problems")
        self.view.on_open = self.open
        self.tracker = AlertTracker()
        self.report: Report | None = None
        self.marked: frozenset[str] = frozenset()
        self.sent: list[Alert] = []
        self._doctor: DoctorLike | None = None
        self._doctor_of: tuple[Path, Path | None] | None = None
        self._busy = False
        self._said: set[str] = set()
        self.grown = True
        """A file of the run grew since the doctor last looked (`PrimeLogsApp.apply_changes`)."""
        self._looked = -IDLE_LOOK_S  # (monotonic) when the doctor last looked

    @property
    def ready(self) -> bool:
        """A first report has arrived (or the doctor could not start)."""
        return self.report is not None or bool(self._said)

    # -- the doctor, in a thread ----------------------------------------------

    def tick(self) -> None:
        """Look again (the app's 2-second tick): update the doctor in a thread. While
        no file grows, every `IDLE_LOOK_S` only (the stalls' clocks go on)."""
        now = time.monotonic()
        if self._busy or (not self.grown and now - self._looked < IDLE_LOOK_S):
            return
        self._busy, self.grown, self._looked = True, False, now
        app = self.app
        run = (app.output_dir, app.shown_logs)
        files = list(app.run_model.files)

        def look() -> None:
            try:
                if self._doctor is None or self._doctor_of != run:
                    make = self.doctor_factory or self._process_doctor
                    self._doctor, self._doctor_of = make(*run), run
                    self.tracker = AlertTracker()
                self._doctor.update()
                report = self._doctor.report()
                marked = _marked(report, files)
            except ScannerClosed:  # the app is quitting
                return
            except Exception as exc:  # never into the dashboard: say it once
                message = f"problems: {clean(f'{type(exc).__name__}: {exc}', 160)}"
                self._later(self._failed, message)
                return
            self._later(self._apply, report, marked)

        self.app.run_worker(look, thread=True, group="doctor", exit_on_error=False)

    def _process_doctor(self, output_dir: Path, logs: Path | None) -> DoctorLike:
        return ProcessDoctor(self.app.scanner, output_dir, logs)

    def _later(self, fn: Callable[..., None], *args: object) -> None:
        try:
            self.app.call_from_thread(fn, *args)
        except RuntimeError:  # the app closed meanwhile
            self._busy = False

    def _failed(self, message: str) -> None:
        self._busy = False
        if message not in self._said:
            self._said.add(message)
            self.view.note = message
            self.view.show_report(self.report)
            self.app.notify(message, severity="error", timeout=10, markup=False)

    def _apply(self, report: Report, marked: frozenset[str]) -> None:
        self._busy = False
        self.report = report
        for alert in self.tracker.update(report):
            self.alert(alert)
        if self.view.display:
            self.tracker.acknowledge()
        if marked != self.marked:
            self.marked = marked
            self.app.sidebar.marked = marked
            self.app._update_sidebar()
        self.view.show_report(report)
        self.app._update_header()

    # -- alerts ----------------------------------------------------------------

    def alert(self, alert: Alert) -> None:
        """Tell ``alert``: a toast; the bell and OSC through the driver (``--notify``);
        the ``--on-alert`` command."""
        self.sent.append(alert)
        body, title = clean(alert.body, 200), clean(alert.title, 80)
        self.app.notify(body, title=title, severity="warning", markup=False)
        if self.notify:
            driver = self.app._driver
            if driver is not None:
                driver.write(terminal_notification(alert))
                driver.flush()
        if self.hook is not None:
            self.hook.send(alert)

    def _hook_failed(self, message: str) -> None:
        with contextlib.suppress(RuntimeError):  # the app closed meanwhile
            self.app.call_from_thread(
                self.app.notify, message, severity="error", timeout=10, markup=False
            )

    # -- the header ------------------------------------------------------------

    def header_text(self) -> Text:
        """``│ N problems`` for the header: red while something new is unseen."""
        report = self.report
        if report is None:
            return Text()
        count = report.problem_count
        if self.tracker.new_keys:
            style = "bold white on red"
        elif count:
            style = "bold yellow"
        else:
            style = "dim"
        words = f" {count} problem{'' if count == 1 else 's'} " if count else " no problems "
        return Text.assemble("  │ ", (words, style), ("(p)", "dim") if count else "")

    # -- showing the pane and opening an entry ----------------------------------

    def toggle(self) -> None:
        """``p``: the Problems pane in place of the log panes, or back to them."""
        app = self.app
        if self.view.display:
            self.hide()
            app.panes[0].log_view.focus()
            return
        app.metrics_pane.hide()
        for pane in app.panes:
            pane.display = False
        self.view.display = True
        self.view.rebuild()
        self.view.focus()
        self.tracker.acknowledge()
        app._update_header()

    def hide(self) -> None:
        app = self.app
        if not self.view.display:
            return
        self.view.display = False
        app.panes[0].display = True
        app.panes[1].display = app._split
        for pane in app.panes:
            if pane.display and pane.view is None:
                app._rebuild(pane)

    def open(self, target: Target) -> None:
        """Show ``target``'s file in the first pane with its record selected."""
        self.app.run_worker(self._open(target), group="problem-open", exclusive=True)

    async def _open(self, target: Target) -> None:
        from prime_rl_logs.tui import attempts

        app = self.app
        rel = _rel_in(app, target.file)
        if rel is None:
            logs = _attempt_logs(app.output_dir, target.file)
            if logs is not None:
                attempts.switch_run(app, app.output_dir, logs)
                rel = _rel_in(app, target.file)
        if rel is None:
            app.notify(f"{safe_name(str(target.file))} is not a file of this run", markup=False)
            return
        self.hide()
        pane = app.panes[0]
        pane.spec = PaneSpec.of_source(rel)
        app._rebuild(pane)
        pane.log_view.focus()
        view = pane.view
        if view is None or target.offset < 0:
            return  # a stall: the file from its end
        # A new view may show no row yet (its first screen comes from the history
        # worker); read history until the record's row is shown or there is no more.
        while not view.complete and (not len(view) or view.row(0).offset > target.offset):
            await pane.build_history(OPEN_SLICE_S)
            await asyncio.sleep(0)
            if pane.view is not view:
                return  # the user went elsewhere meanwhile
        row = row_at(view, target.offset)
        if row is None:
            app.notify(f"line {target.line} is no longer in the file", timeout=5)
            return
        lv = pane.log_view
        lv.following = False
        lv.cursor = row
        lv.scroll_to(None, max(0, row - 2), animate=False, immediate=True)


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path


def _rel_in(app: PrimeLogsApp, file: Path) -> str | None:
    """The rel of the app's file at ``file`` (compared resolved), None if none."""
    want = _resolved(file)
    for f in app.run_model.files:
        if f.source.path == file or _resolved(f.source.path) == want:
            return f.source.rel
    return None


def _attempt_logs(run: Path, file: Path) -> Path | None:
    """The logs folder of the attempt holding ``file``."""
    from prime_rl_logs.runs.find import attempts_of  # the runs model: not on the first screen

    want = _resolved(file)
    for attempt in attempts_of(run):
        if want.is_relative_to(_resolved(attempt.logs)):
            return attempt.logs
    return None


def _marked(report: Report, files: list[LogFile]) -> frozenset[str]:
    """The rels of the shown files a problem points at: the first failure's, each
    error group's first file (and, for a trainer group found in the shown attempt,
    the files of its ranks), each stall's file."""
    shown = {_resolved(lf.source.path): lf.source for lf in files}
    marked: set[str] = set()
    ranks: set[int] = set()

    def mark(path: Path) -> bool:
        source = shown.get(_resolved(path))
        if source is not None:
            marked.add(source.rel)
        return source is not None

    if report.first_failure is not None:
        mark(report.first_failure.file)
    for g in report.groups:
        if g.level != "WARNING" and mark(g.first.file) and "trainer" in g.components:
            ranks.update(g.ranks)
    for s in report.stalls:
        if s.file is not None:
            mark(s.file)
    for source in shown.values():
        if source.component == "trainer" and source.rank in ranks:
            marked.add(source.rel)
    return frozenset(marked)
