"""The live dashboard of a prime-rl run: `PrimeLogsApp`.

The app owns one `core.run.Run`; a worker runs `core.watch.watch_run` and hands
each batch of changes to the panes (`tui.pane.LogPane.apply`). Its filter state is
one `core.view.Filter` (level, ranks, include, exclude), app-wide: each pane
narrows it to its own components or source (`tui.pane.PaneSpec.filter`). The
default shows every level, so the default pane's rows are a window of its file's
index. Building a view's history runs in small slices on the event loop, newest
rows first, so the end of a huge file shows at once (shown 4x a second); the
views panes showed last stay live (`tui.pane.HiddenViews`). Panes own their
chrome; the app writes only the header, the filter status line and the sidebar.
What the keys do to the selected record (jumps, copy, save) is
`tui.record_actions`; the regex prompt is `tui.prompt.Prompt`. The command
(options, non-terminal fallback) is `prime_rl_logs.commands.watch`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Input, OptionList

from prime_rl_logs.core.gate import Gate
from prime_rl_logs.core.run import Run, RunChanges
from prime_rl_logs.core.view import Filter, View
from prime_rl_logs.core.watch import watch_run
from prime_rl_logs.layout import (
    DEFAULT_PANE,
    ORCHESTRATOR,
    PANES,
    TRAINER,
    safe_name,
    too_deep_notice,
)
from prime_rl_logs.levels import DEBUG, ERROR, INFO, LEVELS, SUCCESS, WARNING
from prime_rl_logs.metrics import LiveMetrics
from prime_rl_logs.scanner import Scanner
from prime_rl_logs.tui import attempts, textual_fixes
from prime_rl_logs.tui.history import FIRST_SCREEN_S, INPUT_HOLD_S, History
from prime_rl_logs.tui.keys import KEYS, KeyFooter, keys_first_driver, run_app_key
from prime_rl_logs.tui.metrics_pane import MetricsPane
from prime_rl_logs.tui.pane import HiddenViews, LogPane, PaneSpec, TextLine, describe
from prime_rl_logs.tui.problems import Problems
from prime_rl_logs.tui.prompt import Prompt
from prime_rl_logs.tui.record_actions import (
    copy_record,
    delivery_notice,
    jump_to_match,
    jump_to_problem,
    save_record,
)
from prime_rl_logs.tui.sidebar import Sidebar

textual_fixes.apply()

if TYPE_CHECKING:
    # Imported when first used, not for the first screen (`tests/test_imports.py`).
    from textual.driver import Driver

    from prime_rl_logs.core.user_regex import UserRegex
    from prime_rl_logs.tui.metrics_view import MetricsView

__all__ = ["LEVEL_CYCLE", "LogPane", "PaneSpec", "PrimeLogsApp", "TextLine"]

TICK_S = 2.0
"""Seconds between looks at the sidebar's counts and ages, the panes' chrome and the
metrics.jsonl follower (rows and status lines do not wait for it)."""

LEVEL_CYCLE = (0, DEBUG, INFO, SUCCESS, WARNING, ERROR)
"""The minimum levels `l` cycles through; 0 shows every level (TRACE included)."""


class PrimeLogsApp(App[int]):
    """Watch every log of a prime-rl run.

    Args:
        output_dir: the run's output folder (it may not exist yet: the panes wait).
        pane: the first pane's key (`layout.PANES`).
        split: the key of a second pane shown under the first, or None.
        flt: the starting app-wide filter (level, ranks, include, exclude; its
            components and rels are ignored, each pane sets its own); every level
            if None.
        poll: poll files instead of waiting for events (None: decide by filesystem).
        logs: one attempt's logs folder to show instead of ``logs/`` (``--attempt N``).
        runs: the folder of runs this run was opened from: `r` shows its runs screen
            (`tui.attempts`, `tui.runs_screen`).
        runs_screen: open on the runs screen of ``runs``.
        notify: ring the bell and send a desktop notification on each alert
            (`tui.problems`, ``--notify``).
        on_alert: a command run with each alert as JSON on stdin (``--on-alert``).
    """

    TITLE = "prime-logs"
    CSS_PATH = "app.tcss"

    # The screen gets "-narrow" under 120 columns: app.tcss narrows the sidebar.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = list(KEYS)

    def __init__(
        self,
        output_dir: Path,
        *,
        pane: str = DEFAULT_PANE,
        split: str | None = None,
        flt: Filter | None = None,
        poll: bool | None = None,
        logs: Path | None = None,
        runs: Path | None = None,
        runs_screen: bool = False,
        notify: bool = False,
        on_alert: str | None = None,
    ) -> None:
        super().__init__()
        self.output_dir = output_dir
        self.shown_logs = logs
        self.runs_folder = runs
        """The folder of runs `r` shows (`tui.runs_screen`); None for a single run."""
        self.runs_screen = runs_screen and runs is not None
        self.compared: list[Path] = []
        """Runs marked in the runs screen, overlaid in the Metrics pane."""
        self.attempt_note = Text()
        self.attempt_count = 1
        self.run_model = Run(output_dir, logs)
        self.filter = flt or Filter()
        """The app-wide filter; each pane narrows it (`PaneSpec.filter`)."""
        self.poll = poll
        self.split_partner = split
        self._split = split is not None
        run = self.run_model
        self.panes = [
            LogPane(PaneSpec.of_pane(pane), run, id="pane-0"),
            LogPane(PaneSpec.of_pane(split or TRAINER), run, id="pane-1"),
        ]
        self.sidebar = Sidebar(id="sidebar")
        self.header = TextLine(id="header")
        self.prompt = Prompt(id="prompt")
        self.status = TextLine(id="status")
        self.gate = Gate()
        """Held while a key is on its way: history and index slices wait (`core.gate`)."""
        self.history = History(self.panes, self.gate)
        self.hidden_views = HiddenViews()  # what panes showed before, kept live
        self.scanner = Scanner()
        """The child process of the whole-run scans: the doctor, the metrics history."""
        self.metrics = LiveMetrics(output_dir, logs)
        self.metrics_pane = MetricsPane(self)
        self._sidebar_dirty = True
        self._notices: set[str] = set()
        self.problems = Problems(self, notify=notify, on_alert=on_alert)
        """The doctor, its alerts and the Problems pane (`tui.problems`)."""

    # -- layout -----------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield self.header
        with Horizontal(id="body"):
            # In a box of its own: Textual renders again every widget whose *clip*
            # meets a frame's changed area, and a direct child of #body is clipped to
            # all of #body: the sidebar's 45 rows were drawn again at each new line.
            with Container(id="side"):
                yield self.sidebar
            with Vertical(id="main"):
                yield from self.panes
                yield self.problems.view
        yield self.prompt
        yield self.status
        yield KeyFooter()

    def on_mount(self) -> None:
        self.panes[1].display = self._split
        self.prompt.display = False
        self.problems.view.display = False
        self.run_model.refresh()
        for pane in self.panes:
            self._rebuild(pane)
        self.active_pane.log_view.focus()
        self._update_sidebar()
        self._update_header()
        self._update_status()
        self.set_interval(TICK_S, self._tick)
        self._watch()
        # History and metrics wait for the first frame: the end of the file first.
        self.call_after_refresh(self.scanner.start)
        self.call_after_refresh(self._build_history)
        self.call_after_refresh(self.metrics_pane.load)
        self.call_after_refresh(self.problems.tick)
        attempts.on_mount(self)

    def on_unmount(self) -> None:
        # A scan in the scanner ends now: quitting never waits for it.
        self.scanner.close()

    @property
    def active_pane(self) -> LogPane:
        focused = self.focused
        for pane in self.panes:
            if pane.display and focused is not None and focused in pane.walk_children():
                return pane
        return self.panes[0]

    # -- views ------------------------------------------------------------

    def _rebuild(self, pane: LogPane) -> None:
        """Make a fresh view for the pane's source set and the current filter.

        A hidden pane (the second one when not split) gets no view. The view a pane
        stops showing is kept (`HiddenViews`): showing the same files with the same
        filter again takes it back as it is, history and all.
        """
        self.hidden_views.put(pane.release(), self.run_model)
        if not pane.display:
            pane.show(None)
            return
        flt = pane.spec.filter(self.filter)
        view = self.hidden_views.take(flt, self.run_model)
        if view is None:
            view = View(self.run_model, flt)
            if view.is_index_window:  # (others scan files: the history worker does)
                view.build(FIRST_SCREEN_S)
        pane.show(view)
        self.history.shown(view)

    def _rebuild_all(self) -> None:
        for pane in self.panes:
            self._rebuild(pane)
        self._update_status()

    def _set_filter(self, flt: Filter) -> None:
        self.filter = flt
        self._rebuild_all()

    def _update_status(self) -> None:
        self.status.show(" " + describe(self.filter))

    def _update_header(self) -> None:
        name = safe_name(self.output_dir.resolve().name or str(self.output_dir))
        header = Text.assemble(" prime-logs  ", (name, "bold"))
        if self.attempt_note:
            header.append("  │  ").append_text(self.attempt_note)
        if self.metrics.ready:
            header.append("  │  " + self.metrics.store.summary().text())
        else:
            header.append("  │  reading metrics…", style="dim")
        header.append_text(self.problems.header_text())
        self.header.show(header)

    @property
    def metrics_view(self) -> MetricsView:
        return self.metrics_pane.view

    @property
    def metrics_showing(self) -> bool:
        return self.metrics_pane.showing

    def _update_sidebar(self) -> None:
        self.sidebar.update_sources(self.run_model.files)
        self._sidebar_dirty = False
        notice = too_deep_notice(self.run_model.logs, self.run_model.too_deep)
        if notice is not None and notice not in self._notices:
            self._notices.add(notice)
            self.notify(
                notice,
                title="Not every folder is read",
                severity="warning",
                timeout=30,
                markup=False,
            )

    def _tick(self) -> None:
        """Every `TICK_S` (2 s): the sidebar's ages and counts, the panes' chrome
        (which also follows every change as it arrives) and metrics.jsonl."""
        self._update_sidebar()
        for pane in self.panes:
            pane.update_chrome()
        self.metrics.poll_jsonl()
        self.metrics_pane.refresh()
        self.problems.tick()

    # -- live updates -----------------------------------------------------

    @work(exclusive=True, group="watch")
    async def _watch(self) -> None:
        async for changes in watch_run(self.run_model, poll=self.poll, gate=self.gate):
            # A key on its way first: this batch's frame would hold up each of its hops.
            await self.gate.wait()
            self.apply_changes(changes)

    def apply_changes(self, changes: RunChanges) -> None:
        """Hand one batch of file changes to every pane's view."""
        if not changes:
            return
        for pane in self.panes:
            pane.apply(changes)
        self.hidden_views.update(changes)
        self.problems.grown = True
        self.metrics.feed_changes(changes)
        self.metrics_pane.refresh()
        if changes.new_files or changes.gone:
            self._update_sidebar()
        self.history.want()

    @work(exclusive=True, group="history")
    async def _build_history(self) -> None:
        await self.history.run()

    def get_driver_class(self) -> type[Driver]:
        return keys_first_driver(super().get_driver_class())

    def input_arriving(self) -> None:
        """A key or a click was just read (called from the driver's input thread):
        background work waits for it from its next step (`core.gate`)."""
        self.gate.hold(INPUT_HOLD_S)

    async def on_event(self, event: events.Event) -> None:
        # A key or a click holds background work until it has reached its action.
        if isinstance(event, events.InputEvent) and not isinstance(event, events.MouseMove):
            self.gate.hold(INPUT_HOLD_S)
            if isinstance(event, events.Key) and await run_app_key(self, event):
                return
        await super().on_event(event)

    # -- messages ---------------------------------------------------------

    @on(OptionList.OptionSelected, "#sidebar")
    def _open_source(self, event: OptionList.OptionSelected) -> None:
        rel = event.option.id
        if rel is None or rel == "legend" or rel.startswith("component:"):
            return
        pane = self.panes[0]
        pane.spec = PaneSpec.of_source(rel)
        self._rebuild(pane)
        pane.log_view.focus()

    def on_descendant_focus(self) -> None:
        active = self.active_pane
        for pane in self.panes:
            pane.set_class(pane is active and self._split, "-focused")

    # -- actions ----------------------------------------------------------

    async def action_metrics(self) -> None:
        """Show the Metrics pane in place of the log panes, or go back to them."""
        await self.metrics_pane.toggle()

    def _show_logs(self) -> None:
        if self.metrics_pane.hide():
            self.panes[0].display = True
            self.panes[1].display = self._split
            self.panes[0].log_view.focus()
        self.problems.hide()

    def action_problems(self) -> None:
        self.problems.toggle()

    def action_pane(self, key: str) -> None:
        self._show_logs()
        pane = self.active_pane
        pane.spec = PaneSpec.of_pane(key)
        self._rebuild(pane)
        pane.log_view.focus()

    def action_cycle_pane(self, step: int) -> None:
        spec = self.active_pane.spec
        keys = [p.key for p in PANES]
        index = keys.index(spec.key) if spec.rel is None else -1
        self.action_pane(keys[(index + step) % len(keys)])

    def action_toggle_rank0(self) -> None:
        ranks = frozenset({0}) if self.filter.ranks is None else None
        self._set_filter(replace(self.filter, ranks=ranks))

    def action_cycle_level(self) -> None:
        """The next level of `LEVEL_CYCLE` above the current one, from the last to all."""
        above = [n for n in LEVEL_CYCLE if n > self.filter.min_level]
        self._set_filter(replace(self.filter, min_level=above[0] if above else LEVEL_CYCLE[0]))

    def action_level(self, level: str) -> None:
        self._set_filter(replace(self.filter, min_level=LEVELS[level]))

    def action_prompt(self, mode: str) -> None:
        self.prompt.open(mode)

    @on(Input.Submitted, "#prompt")
    def _prompt_submitted(self, event: Input.Submitted) -> None:
        ok, pattern = self.prompt.pattern(event.value)
        if not ok:
            return
        mode = self.prompt.mode
        self._close_prompt()
        if mode == "search":
            self._set_search(pattern)
        elif mode == "include":
            self._set_filter(replace(self.filter, include=pattern))
        elif mode == "exclude":
            self._set_filter(replace(self.filter, exclude=pattern))

    def _close_prompt(self) -> None:
        self.prompt.close()
        self.metrics_pane.hide()
        self.active_pane.log_view.focus()

    def _set_search(self, pattern: UserRegex | None) -> None:
        for pane in self.panes:
            pane.log_view.set_search(pattern)
        if pattern is not None:
            jump_to_match(self.active_pane.log_view, -1, inclusive=True)

    def action_search_next(self, step: int) -> None:
        jump_to_match(self.active_pane.log_view, step)

    def action_clear(self) -> None:
        if self.prompt.display:
            self._close_prompt()
            return
        if self.problems.view.display:  # escape closes the Problems pane, as help's
            self.problems.toggle()
            return
        had_filters = self.filter.include is not None or self.filter.exclude is not None
        self._set_search(None)
        for pane in self.panes:
            pane.log_view.cursor = None
        if had_filters:
            self._set_filter(replace(self.filter, include=None, exclude=None))

    def action_problem(self, step: int) -> None:
        jump_to_problem(self.active_pane.log_view, step)

    def action_home(self) -> None:
        self.active_pane.log_view.go_home()

    def action_end(self) -> None:
        self.active_pane.log_view.go_end()

    def action_toggle_follow(self) -> None:
        self.active_pane.log_view.toggle_follow()

    def action_split(self) -> None:
        self._show_logs()
        self._split = not self._split
        second = self.panes[1]
        second.display = self._split
        if self._split:
            top = self.panes[0]
            if self.split_partner is None and top.spec.rel is None and top.key == ORCHESTRATOR:
                # Trainer over orchestrator, as the README says, whichever was showing;
                # the focus goes to the pane that was not on screen.
                top.spec = PaneSpec.of_pane(TRAINER)
                self._rebuild(top)
                second.spec = PaneSpec.of_pane(ORCHESTRATOR)
                self._rebuild(second)
                top.log_view.focus()
            else:
                partner = self.split_partner or (ORCHESTRATOR if top.key == TRAINER else TRAINER)
                second.spec = PaneSpec.of_pane(partner)
                self._rebuild(second)
                second.log_view.focus()
        else:
            self.hidden_views.put(second.release(), self.run_model)
            second.show(None)
            self.panes[0].log_view.focus()
        self.on_descendant_focus()

    def action_copy(self) -> None:
        copy_record(self, self.active_pane.log_view)

    def action_save(self) -> None:
        save_record(self, self.active_pane.log_view)

    @on(events.DeliveryComplete)
    @on(events.DeliveryFailed)
    def _record_delivered(self, event: events.DeliveryComplete | events.DeliveryFailed) -> None:
        delivery_notice(self, event)

    def action_sources(self) -> None:
        self.sidebar.display = True
        self.sidebar.focus()

    def action_toggle_sidebar(self) -> None:
        """Hide the sidebar (the log panes take its width), or show it again."""
        sidebar = self.sidebar
        sidebar.display = not sidebar.display
        if not sidebar.display and self.focused is sidebar:
            self.active_pane.log_view.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return attempts.check_action(self, action)

    def action_runs(self) -> None:
        attempts.open_runs_screen(self)

    def action_attempts(self) -> None:
        attempts.pick_attempt(self)

    def action_config(self) -> None:
        attempts.open_config(self)

    def action_live_attempt(self) -> None:
        attempts.switch_run(self, self.output_dir)

    def action_help(self) -> None:
        from prime_rl_logs.tui.help import HelpScreen

        self.push_screen(HelpScreen(self.BINDINGS))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.action not in ("quit", "help"):
                key = binding.key_display or binding.key
                yield SystemCommand(
                    binding.description,
                    f"key: {key}",
                    lambda action=binding.action: self.run_action(action),
                )
