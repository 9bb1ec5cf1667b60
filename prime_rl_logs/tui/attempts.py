"""Which run and which attempt the dashboard shows, and the attempt picker.

`switch_run(app, output_dir, logs)` points a `PrimeLogsApp` at another run or another
attempt of its run: a fresh `core.run.Run` and `metrics.LiveMetrics` (the old run's
files are closed), every pane rebuilt, the watch and metrics workers restarted. With
``logs`` None the run is read through ``logs/`` (the live attempt, following
``logs/latest``); otherwise that attempt's folder. `header_note` words the attempt in
one phrase for the header: "attempt 1 of 2, crashed" while an older attempt is shown,
"resumed after crash at step 12" on the live one when an earlier attempt crashed.
`AttemptPicker` is the ``a`` modal: one line per attempt with its status, the steps
it covers and its first error (escaped), dismissed with the chosen attempt's number.
`open_config` shows the shown attempt's config (`tui.config_view`);
`open_runs_screen` pushes the runs screen and opens the run it is dismissed with;
the runs marked there (``space``) are read in a thread (`load_compared`) and
overlaid on the Metrics pane's plots.
Nothing here is drawn unescaped: names, reasons and errors go through
`layout.safe_name`.
"""

from __future__ import annotations

import sys
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from prime_rl_logs.core.run import Run
from prime_rl_logs.layout import LOGS_DIR, safe_name

if TYPE_CHECKING:
    # Imported where used: the runs model, the runs screen, the config view and the
    # metrics scan are no part of the dashboard's first screen.
    from prime_rl_logs.metrics import MetricsStore
    from prime_rl_logs.runs import AttemptInfo, RunInfo
    from prime_rl_logs.tui.app import PrimeLogsApp

__all__ = [
    "AttemptPicker",
    "attempt_line",
    "header_note",
    "open_runs_screen",
    "shown_attempt",
    "switch_run",
]


def info_of(output_dir: Path) -> RunInfo | None:
    """`runs.run_info` of the run, None when it is not (yet) a run."""
    from prime_rl_logs.runs import is_run_dir, run_info

    try:
        return run_info(output_dir) if is_run_dir(output_dir) else None
    except OSError:
        return None


def shown_attempt(info: RunInfo, logs: Path | None) -> AttemptInfo:
    """The attempt whose folder is ``logs`` (None: the current one)."""
    if logs is not None:
        for a in info.attempts:
            if a.logs == logs:
                return a
    return info.current


def header_note(info: RunInfo | None, logs: Path | None) -> Text:
    """The header's phrase on the shown attempt ("" for a run of one attempt)."""
    if info is None or (len(info.attempts) < 2 and logs is None):
        return Text()
    from prime_rl_logs.tui.runs_screen import STATUS_STYLE

    shown = shown_attempt(info, logs)
    if not shown.attempt.current:
        style = STATUS_STYLE.get(shown.status, "")
        return Text.assemble(
            (f"attempt {shown.number} of {len(info.attempts)}, ", "bold reverse"),
            (shown.status, f"{style} reverse"),
            ("  (L: live attempt)", "dim"),
        )
    crashed = [a for a in info.attempts if a.status == "crashed" and a is not shown]
    if not crashed:
        return Text(f"attempt {shown.number} of {len(info.attempts)}")
    last = crashed[-1]
    at = f" at step {last.last_step}" if last.last_step is not None else ""
    return Text.assemble(
        f"attempt {shown.number} of {len(info.attempts)}, ",
        (f"resumed after crash{at}", "bold white on dark_red"),
    )


def attempt_line(a: AttemptInfo, *, shown: bool) -> Text:
    """One row of the attempt picker: number, status, steps covered, first error."""
    from prime_rl_logs.tui.runs_screen import STATUS_STYLE

    steps = "no steps"
    if a.first_step is not None and a.last_step is not None:
        steps = f"steps {a.first_step}-{a.last_step}"
    line = Text.assemble(
        ("▶ " if shown else "  "),
        (f"attempt {a.number}", "bold"),
        "  ",
        (f"{a.status:<8}", STATUS_STYLE.get(a.status, "")),
        f"  {steps}",
    )
    if a.attempt.current:
        line.append("  (live)", style="green")
    if a.error:
        line.append("\n    " + safe_name(a.error.splitlines()[0])[:200], style="red")
    return line


class AttemptPicker(ModalScreen[int | None]):
    """The run's attempts; enter shows one, escape closes."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,a", "dismiss", "Close")]
    DEFAULT_CSS = """
    AttemptPicker { align: center middle; }
    AttemptPicker > OptionList {
        width: 90; height: auto; max-height: 80%;
        border: round $primary; background: $surface;
    }
    """

    def __init__(self, info: RunInfo, logs: Path | None) -> None:
        super().__init__()
        self.info = info
        shown = shown_attempt(info, logs)
        self.options = OptionList(
            *(Option(attempt_line(a, shown=a is shown), id=str(a.number)) for a in info.attempts)
        )
        self.options.border_title = Text(f"attempts of {safe_name(info.name)}")
        self.shown_index = list(info.attempts).index(shown)

    def compose(self) -> ComposeResult:
        yield self.options

    def on_mount(self) -> None:
        self.options.highlighted = self.shown_index
        self.options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(int(event.option.id or 0))


def switch_run(app: PrimeLogsApp, output_dir: Path, logs: Path | None = None) -> None:
    """Show ``output_dir`` (``logs``: one attempt's folder, None: the live one)."""
    if logs is not None and logs == output_dir / LOGS_DIR:
        logs = None
    app.run_model.close()
    app.output_dir = output_dir
    app.shown_logs = logs
    from prime_rl_logs.metrics import LiveMetrics

    app.run_model = Run(output_dir, logs)
    app.metrics = LiveMetrics(output_dir, logs)
    for pane in app.panes:
        pane.run = app.run_model
    app.run_model.refresh()
    app._rebuild_all()
    app._update_sidebar()
    _note(app)
    app._watch()
    app.metrics_pane.load()
    load_compared(app)


def load_compared(app: PrimeLogsApp) -> None:
    """Read the runs marked in the runs screen (other than the shown one) in a thread
    and overlay them in the Metrics pane (`MetricsView.set_compare`)."""
    from prime_rl_logs.metrics import scan_run

    runs = [p for p in app.compared if p != app.output_dir]

    def read() -> None:
        stores: list[tuple[str, MetricsStore]] = [(p.name, scan_run(p)) for p in runs]
        with suppress(RuntimeError):  # the app closed meanwhile
            app.call_from_thread(lambda: app.metrics_view.set_compare(stores))

    app.run_worker(read, thread=True, exclusive=True, group="compare")


def pick_attempt(app: PrimeLogsApp) -> None:
    """``a``: the attempt picker of the shown run; choosing one shows it."""
    info = info_of(app.output_dir)
    if info is None:
        app.notify("no attempts here yet", timeout=3)
        return

    def chosen(number: int | None) -> None:
        if number is None:
            return
        attempt = info.attempt(number)
        switch_run(app, app.output_dir, None if attempt.attempt.current else attempt.logs)

    app.push_screen(AttemptPicker(info, app.shown_logs), chosen)


def open_config(app: PrimeLogsApp) -> None:
    """``C``: the config view of the shown attempt (its configs and command.txt)."""
    info = info_of(app.output_dir)
    if info is None:
        app.notify("no config here yet", timeout=3)
        return
    shown = shown_attempt(info, app.shown_logs)
    title = f"config of {safe_name(info.name)}, attempt {shown.number}"
    from prime_rl_logs.tui.config_view import ConfigView

    app.push_screen(ConfigView(title, shown.attempt.config_files(), info.path))


def open_runs_screen(app: PrimeLogsApp, *, can_go_back: bool = True) -> None:
    """Push the runs screen of ``app.runs_folder``; enter there opens that run."""
    folder = app.runs_folder
    if folder is None:
        app.notify("one run was given: no runs screen", timeout=3)
        return

    def chosen(run: Path | None) -> None:
        app.compared = list(screen.marked)
        if run is not None:
            switch_run(app, run)
        else:
            load_compared(app)

    from prime_rl_logs.tui.runs_screen import RunsScreen

    screen = RunsScreen(folder, marked=app.compared, can_go_back=can_go_back)
    app.push_screen(screen, chosen)


def on_mount(app: PrimeLogsApp) -> None:
    """The app's start: the attempt's header phrase (after the first frame: it reads
    the ends of the run's files), the runs screen over a folder."""
    app.call_after_refresh(_note, app)
    if app.runs_screen:
        open_runs_screen(app, can_go_back=False)
    app.set_interval(COMPARE_S, lambda: _reload_compared(app))


COMPARE_S = 10.0
"""Seconds between rereads of the compared runs while the Metrics pane shows."""


def _reload_compared(app: PrimeLogsApp) -> None:
    if app.compared and app.metrics_showing:
        load_compared(app)


def _note(app: PrimeLogsApp) -> None:
    info = info_of(app.output_dir)
    app.attempt_note = header_note(info, app.shown_logs)
    app.attempt_count = len(info.attempts) if info is not None else 1
    app._update_header()
    app.refresh_bindings()


OWN_SCREENS: tuple[tuple[str, str], ...] = (
    ("prime_rl_logs.tui.runs_screen", "RunsScreen"),
    ("prime_rl_logs.tui.config_view", "ConfigView"),
)
"""Screens with keys of their own (with `AttemptPicker`): the app's pane keys are off
over them. Named, not imported: a screen whose module was never imported is not shown."""


def _own_screen(screen: object) -> bool:
    if isinstance(screen, AttemptPicker):
        return True
    for module, name in OWN_SCREENS:
        loaded = sys.modules.get(module)
        if loaded is not None and isinstance(screen, getattr(loaded, name)):
            return True
    return False


def check_action(app: PrimeLogsApp, action: str) -> bool:
    """The app's keys for runs and attempts exist (and show in the footer) only where
    they mean something: `r` with a folder of runs, `a` and `L` with several attempts;
    over another screen (runs, picker, config) only ``q`` and ``?`` stay the app's."""
    if _own_screen(app.screen) and action not in ("quit", "help"):
        return False  # the runs screen, the picker or the config view has its own keys
    if action == "runs":
        return app.runs_folder is not None
    if action in ("attempts", "live_attempt"):
        return app.attempt_count > 1
    return True
