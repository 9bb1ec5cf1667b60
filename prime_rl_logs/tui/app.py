"""`prime-logs watch OUTPUT_DIR`: the live dashboard of a prime-rl run.

The app owns one `core.run.Run`; a worker runs `core.watch.watch_run` and hands
each batch of changes to the panes' views. Filters (level, ranks, include,
exclude) are app-wide and apply to every pane; each pane picks the components
(or the single source) it shows. Building a view's history runs in small slices
on the event loop, newest rows first, so the end of a huge file shows at once.
"""

from __future__ import annotations

import argparse
import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, OptionList, Static

from prime_rl_logs.core.parse import LEVELS
from prime_rl_logs.core.run import LogFile, Run, RunChanges
from prime_rl_logs.core.view import Filter, View, ViewDelta
from prime_rl_logs.core.watch import watch_run
from prime_rl_logs.layout import (
    DEFAULT_PANE,
    ORCHESTRATOR,
    PANE_BY_KEY,
    PANES,
    TRAINER,
    pane_key,
)
from prime_rl_logs.metrics import LiveMetrics
from prime_rl_logs.tui.help import HelpScreen
from prime_rl_logs.tui.log_view import LogView
from prime_rl_logs.tui.metrics_view import MetricsView
from prime_rl_logs.tui.sidebar import Sidebar

# Building a pane's history runs in slices of this many seconds, with a pause
# between them for painting and keys.
FIRST_SCREEN_S = 0.005  # the first slice: enough for the last screen
HISTORY_SLICE_S = 0.015
HISTORY_PAUSE_S = 0.005
# How often the sidebar's counts and ages and the metrics.jsonl follower are looked at.
TICK_S = 2.0

# The levels `l` cycles through and `d` `i` `w` `e` set.
LEVEL_CYCLE = ("DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR")


@dataclass(frozen=True)
class Filters:
    """The app-wide filters; each pane adds its own components or source."""

    level: str = "DEBUG"
    ranks: frozenset[int] | None = None
    include: re.Pattern[str] | None = None
    exclude: re.Pattern[str] | None = None

    def describe(self) -> str:
        parts = [f"level ≥ {self.level}"]
        ranks = "all" if self.ranks is None else ",".join(map(str, sorted(self.ranks)))
        parts.append(f"ranks {ranks}")
        if self.include is not None:
            parts.append(f"only /{self.include.pattern}/")
        if self.exclude is not None:
            parts.append(f"hide /{self.exclude.pattern}/")
        return " │ ".join(parts)


class TextLine(Static):
    """A one-row label updated often: repaints only when its text changes, and never
    asks for a layout pass (its size is fixed by CSS)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._text: str | Text = ""

    def show(self, content: str | Text) -> None:
        if content != self._text:
            self._text = content
            self.update(content, layout=False)


class LogPane(Vertical):
    """A title bar, a `LogView` and a status line for one pane."""

    DEFAULT_CSS = """
    LogPane { height: 1fr; }
    LogPane > .pane-title { height: 1; background: $panel; color: $text; text-style: bold; }
    LogPane > .pane-status { height: 1; color: $text-muted; }
    LogPane.-focused > .pane-title { background: $primary-darken-1; }
    """

    def __init__(self, key: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.key = key
        self.title = TextLine(classes="pane-title")
        self.log_view = LogView()
        self.status = TextLine(classes="pane-status")
        self.view: View | None = None

    def compose(self) -> ComposeResult:
        yield self.title
        yield self.log_view
        yield self.status


PANE_KEYS = Binding.Group("Panes", compact=True)


class PrimeLogsApp(App[int]):
    """Watch every log of a prime-rl run."""

    TITLE = "prime-logs"
    CSS_PATH = "app.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "pane('trainer')", "Trainer", group=PANE_KEYS),
        Binding("2", "pane('orchestrator')", "Orchestrator", group=PANE_KEYS),
        Binding("3", "pane('inference')", "Inference", group=PANE_KEYS),
        Binding("4", "pane('env')", "Env workers", group=PANE_KEYS),
        Binding("5", "pane('launcher')", "Launcher", group=PANE_KEYS),
        Binding("6", "pane('all')", "All (merged)", group=PANE_KEYS),
        Binding("tab", "cycle_pane(1)", "Next pane", show=False, priority=True),
        Binding("shift+tab", "cycle_pane(-1)", "Previous pane", show=False, priority=True),
        Binding("0", "toggle_rank0", "Rank 0"),
        Binding("l", "cycle_level", "Level"),
        Binding("d", "level('DEBUG')", "Level DEBUG", show=False),
        Binding("i", "level('INFO')", "Level INFO", show=False),
        Binding("w", "level('WARNING')", "Level WARNING", show=False),
        Binding("e", "level('ERROR')", "Level ERROR", show=False),
        Binding("slash", "prompt('search')", "Search", key_display="/"),
        Binding("n", "search_next(1)", "Next match", show=False),
        Binding("N", "search_next(-1)", "Previous match", show=False),
        Binding("f", "prompt('include')", "Filter"),
        Binding("F", "prompt('exclude')", "Exclude", show=False),
        Binding("escape", "clear", "Clear filters", show=False),
        Binding("right_square_bracket", "problem(1)", "Next warn/error", key_display="]"),
        Binding(
            "left_square_bracket", "problem(-1)", "Prev warn/error", key_display="[", show=False
        ),
        Binding("g", "home", "Top", show=False),
        Binding("G", "end", "Bottom", show=False),
        Binding("space", "toggle_follow", "Pause", key_display="space"),
        Binding("s", "split", "Split"),
        Binding("m", "metrics", "Metrics"),
        Binding("c", "copy", "Copy", show=False),
        Binding("o", "sources", "Sources", show=False),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        output_dir: Path,
        *,
        pane: str = DEFAULT_PANE,
        split: str | None = None,
        filters: Filters | None = None,
        poll: bool | None = None,
    ) -> None:
        super().__init__()
        self.output_dir = output_dir
        self.run_model = Run(output_dir)
        self.filters = filters or Filters()
        self.poll = poll
        self.split_partner = split
        self._split = split is not None
        self.panes = [LogPane(pane, id="pane-0"), LogPane(split or TRAINER, id="pane-1")]
        self.sidebar = Sidebar(id="sidebar")
        self.header = TextLine(id="header")
        self.prompt = Input(id="prompt")
        self.prompt_mode = ""
        self.status = TextLine(id="status")
        self._build_wanted = asyncio.Event()
        self.metrics = LiveMetrics(output_dir)
        self.metrics_view = MetricsView(id="metrics")
        self._metrics_version = -1
        self._sidebar_dirty = True

    # -- layout -----------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield self.header
        with Horizontal(id="body"):
            yield self.sidebar
            with Vertical(id="main"):
                yield from self.panes
                yield self.metrics_view
        yield self.prompt
        yield self.status
        yield Footer()

    def on_mount(self) -> None:
        self.panes[1].display = self._split
        self.prompt.display = False
        self.metrics_view.display = False
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
        self.call_after_refresh(self._build_history)
        self.call_after_refresh(self._load_metrics)

    @property
    def active_pane(self) -> LogPane:
        focused = self.focused
        for pane in self.panes:
            if pane.display and focused is not None and focused in pane.walk_children():
                return pane
        return self.panes[0]

    # -- views ------------------------------------------------------------

    def _pane_filter(self, key: str) -> Filter:
        f = self.filters
        base = Filter(
            min_level=LEVELS[f.level],
            ranks=f.ranks,
            include=f.include,
            exclude=f.exclude,
        )
        if key.startswith("source:"):
            return replace(base, rels=frozenset({key.removeprefix("source:")}))
        return replace(base, components=PANE_BY_KEY[key].components)

    def _pane_files(self, key: str) -> list[LogFile]:
        if key.startswith("source:"):
            rel = key.removeprefix("source:")
            return [f for f in self.run_model.files if f.source.rel == rel]
        components = PANE_BY_KEY[key].components
        return [
            f
            for f in self.run_model.files
            if components is None or f.source.component in components
        ]

    def _tag_width(self, key: str) -> int:
        """Width of the source-tag column: the longest tag, or 0 for a single file."""
        files = self._pane_files(key)
        return max(len(f.source.tag) for f in files) if len(files) > 1 else 0

    def _pane_title(self, key: str) -> str:
        if key.startswith("source:"):
            return key.removeprefix("source:")
        return PANE_BY_KEY[key].title

    def _rebuild(self, pane: LogPane) -> None:
        """Make a fresh view for the pane's source set and the current filters.

        A hidden pane (the second one when not split) gets no view: it is built
        when shown, so it costs nothing meanwhile.
        """
        if not pane.display:
            pane.view = None
            return
        view = View(self.run_model, self._pane_filter(pane.key))
        view.build(FIRST_SCREEN_S)
        pane.view = view
        pane.log_view.set_view(view, tag_width=self._tag_width(pane.key))
        self._update_pane_chrome(pane)
        self._build_wanted.set()

    def _rebuild_all(self) -> None:
        for pane in self.panes:
            self._rebuild(pane)
        self._update_status()

    def _update_pane_chrome(self, pane: LogPane) -> None:
        files = self._pane_files(pane.key)
        number = next((i + 1 for i, p in enumerate(PANES) if p.key == pane.key), None)
        label = f" {number} " if number else " · "
        count = f"{len(files)} file" + ("" if len(files) == 1 else "s")
        pane.title.show(f"{label}{self._pane_title(pane.key)}  ({count})")
        view, lv = pane.view, pane.log_view
        bits = []
        if not self.run_model.exists:
            bits.append(f"waiting for {self.run_model.logs} to appear…")
        elif not files:
            bits.append("no files for this pane yet")
        if view is not None and not view.complete:
            bits.append("reading history…")
        if lv.following:
            bits.append("following")
        else:
            bits.append(f"paused — {lv.unseen:,} new lines" if lv.unseen else "paused")
        pane.status.show(" " + " · ".join(bits))

    def _update_status(self) -> None:
        self.status.show(" " + self.filters.describe())

    def _update_header(self) -> None:
        name = self.output_dir.resolve().name or str(self.output_dir)
        header = Text.assemble(" prime-logs  ", (name, "bold"))
        if self.metrics.ready:
            header.append("  │  " + self.metrics.store.summary().text())
        else:
            header.append("  │  reading metrics…", style="dim")
        self.header.show(header)

    def _refresh_metrics(self) -> None:
        """Redraw the header and the Metrics pane when a value changed."""
        store = self.metrics.store
        if store.version == self._metrics_version or not self.metrics_view.is_attached:
            return  # nothing new, or the app is closing (no plots may be mounted now)
        self._metrics_version = store.version
        self._update_header()
        self.metrics_view.update_store(store)

    @work(exclusive=True, group="metrics")
    async def _load_metrics(self) -> None:
        history = await asyncio.to_thread(self.metrics.load_history)
        self.metrics.adopt_history(history)
        self._refresh_metrics()

    def _update_sidebar(self) -> None:
        self.sidebar.update_sources(self.run_model.files)
        self._sidebar_dirty = False

    def _tick(self) -> None:
        """Once a second: the sidebar's ages and counts, the panes' status lines."""
        self._update_sidebar()
        for pane in self.panes:
            self._update_pane_chrome(pane)
        self.metrics.poll_jsonl()
        self._refresh_metrics()

    # -- live updates -----------------------------------------------------

    @work(exclusive=True, group="watch")
    async def _watch(self) -> None:
        async for changes in watch_run(self.run_model, poll=self.poll):
            self.apply_changes(changes)

    def apply_changes(self, changes: RunChanges) -> None:
        """Hand one batch of file changes to every pane's view."""
        if not changes:
            return
        for pane in self.panes:
            if pane.view is None:
                continue
            delta = pane.view.update(changes)
            if changes.new_files:
                pane.log_view.set_tag_width(self._tag_width(pane.key))
            pane.log_view.on_delta(delta)
            if delta.appended or delta.reset:
                self._update_pane_chrome(pane)
        self.metrics.feed_changes(changes)
        self._refresh_metrics()
        if changes.new_files or changes.gone:
            self._update_sidebar()
            for pane in self.panes:
                self._update_pane_chrome(pane)
        self._build_wanted.set()

    @work(exclusive=True, group="history")
    async def _build_history(self) -> None:
        """Fill in the panes' history, newest first, in slices that keep keys snappy."""
        while True:
            await self._build_wanted.wait()
            self._build_wanted.clear()
            while True:
                pending = [p for p in self.panes if p.view is not None and not p.view.complete]
                if not pending:
                    break
                for pane in pending:
                    assert pane.view is not None
                    view = pane.view
                    added = view.build(HISTORY_SLICE_S)
                    if pane.view is view and added:
                        pane.log_view.on_delta(ViewDelta(prepended=added, appended=0, reset=False))
                    if view.complete:
                        self._update_pane_chrome(pane)
                # Leave the loop room to paint and answer keys between slices.
                await asyncio.sleep(HISTORY_PAUSE_S)

    # -- messages ---------------------------------------------------------

    @on(LogView.StatusChanged)
    def _log_status(self, event: LogView.StatusChanged) -> None:
        for pane in self.panes:
            if pane.log_view is event.control:
                self._update_pane_chrome(pane)

    @on(OptionList.OptionSelected, "#sidebar")
    def _open_source(self, event: OptionList.OptionSelected) -> None:
        rel = event.option.id
        if rel is None or rel == "legend" or rel.startswith("component:"):
            return
        pane = self.panes[0]
        pane.key = f"source:{rel}"
        self._rebuild(pane)
        pane.log_view.focus()

    def on_descendant_focus(self) -> None:
        active = self.active_pane
        for pane in self.panes:
            pane.set_class(pane is active and self._split, "-focused")

    # -- actions ----------------------------------------------------------

    def action_metrics(self) -> None:
        """Show the Metrics pane in place of the log panes, or go back to them."""
        showing = not self.metrics_view.display
        self.metrics_view.display = showing
        self.panes[0].display = not showing
        self.panes[1].display = not showing and self._split
        if showing:
            self._refresh_metrics()
            self.metrics_view.picker.focus()
        else:
            self.panes[0].log_view.focus()

    def _show_logs(self) -> None:
        if self.metrics_view.display:
            self.action_metrics()

    def action_pane(self, key: str) -> None:
        self._show_logs()
        pane = self.active_pane
        pane.key = key
        self._rebuild(pane)
        pane.log_view.focus()

    def action_cycle_pane(self, step: int) -> None:
        pane = self.active_pane
        keys = [p.key for p in PANES]
        index = keys.index(pane.key) if pane.key in keys else -1
        self.action_pane(keys[(index + step) % len(keys)])

    def action_toggle_rank0(self) -> None:
        ranks = frozenset({0}) if self.filters.ranks is None else None
        self.filters = replace(self.filters, ranks=ranks)
        self._rebuild_all()

    def action_cycle_level(self) -> None:
        index = LEVEL_CYCLE.index(self.filters.level) if self.filters.level in LEVEL_CYCLE else 0
        self.action_level(LEVEL_CYCLE[(index + 1) % len(LEVEL_CYCLE)])

    def action_level(self, level: str) -> None:
        self.filters = replace(self.filters, level=level)
        self._rebuild_all()

    def action_prompt(self, mode: str) -> None:
        self.prompt_mode = mode
        titles = {
            "search": "search (regex)",
            "include": "show only lines matching (regex)",
            "exclude": "hide lines matching (regex)",
        }
        self.prompt.border_title = titles[mode]
        self.prompt.value = ""
        self.prompt.remove_class("-error")
        self.prompt.display = True
        self.prompt.focus()

    @on(Input.Submitted, "#prompt")
    def _prompt_submitted(self, event: Input.Submitted) -> None:
        text = event.value
        try:
            pattern = re.compile(text) if text else None
        except re.error as exc:
            self.prompt.border_title = f"invalid regex: {exc}"
            self.prompt.add_class("-error")
            return
        mode = self.prompt_mode
        self._close_prompt()
        if mode == "search":
            self._set_search(pattern)
        elif mode == "include":
            self.filters = replace(self.filters, include=pattern)
            self._rebuild_all()
        elif mode == "exclude":
            self.filters = replace(self.filters, exclude=pattern)
            self._rebuild_all()

    def _close_prompt(self) -> None:
        self.prompt.display = False
        self.metrics_view.display = False
        self.prompt_mode = ""
        self.active_pane.log_view.focus()

    def _set_search(self, pattern: re.Pattern[str] | None) -> None:
        for pane in self.panes:
            pane.log_view.set_search(pattern)
        if pattern is not None:
            self._jump_to_match(-1, inclusive=True)

    def _jump_to_match(self, step: int, *, inclusive: bool = False) -> None:
        lv = self.active_pane.log_view
        if lv.view is None or lv.search is None or not len(lv.view):
            return
        anchor = lv.anchor_row()
        start = anchor if inclusive else anchor + step
        if not 0 <= start < len(lv.view):
            self.notify("no more matches", severity="warning", timeout=2)
            return
        row = lv.view.find(lv.search, start, backwards=step < 0)
        if row is None:
            self.notify(f"no match for /{lv.search.pattern}/", severity="warning", timeout=2)
            return
        lv.show_row(row)

    def action_search_next(self, step: int) -> None:
        self._jump_to_match(step)

    def action_clear(self) -> None:
        if self.prompt.display:
            self._close_prompt()
            return
        had_filters = self.filters.include is not None or self.filters.exclude is not None
        self._set_search(None)
        for pane in self.panes:
            pane.log_view.cursor = None
        if had_filters:
            self.filters = replace(self.filters, include=None, exclude=None)
            self._rebuild_all()

    def action_problem(self, step: int) -> None:
        lv = self.active_pane.log_view
        if lv.view is None or not len(lv.view):
            return
        start = lv.anchor_row() + step
        if not 0 <= start < len(lv.view):
            return
        row = lv.view.next_problem(start, backwards=step < 0)
        if row is None:
            self.notify("no more warnings or errors", timeout=2)
            return
        lv.show_row(row)

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
            first = self.panes[0].key
            partner = self.split_partner or (ORCHESTRATOR if first == TRAINER else TRAINER)
            second.key = partner
            self._rebuild(second)
            second.log_view.focus()
        else:
            second.view = None
            self.panes[0].log_view.focus()
        self.on_descendant_focus()

    def action_copy(self) -> None:
        lv = self.active_pane.log_view
        if lv.view is None or not len(lv.view):
            return
        text = record_text(lv, lv.anchor_row())
        self.copy_to_clipboard(text)
        self.notify(f"copied {len(text.splitlines())} line(s)", timeout=2)

    def action_sources(self) -> None:
        self.sidebar.focus()

    def action_help(self) -> None:
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


def record_text(lv: LogView, row: int) -> str:
    """The plain text of the record holding `row`: its first line and continuations."""
    view = lv.view
    assert view is not None
    start = row
    while start > 0 and not view.row(start).info.header:
        prev = view.row(start - 1)
        if prev.file is not view.row(start).file:
            break
        start -= 1
    end = row + 1
    first = view.row(start)
    while end < len(view):
        nxt = view.row(end)
        if nxt.info.header or nxt.file is not first.file:
            break
        end += 1
    return "\n".join(Text.from_ansi(view.row(i).text).plain for i in range(start, end))


def run(args: argparse.Namespace) -> int:
    """Entry point of `prime-logs watch` (options already checked by the CLI).

    ``--split A,B`` shows panes A over B; ``--split B`` shows the ``--pane`` (or the
    default pane) over B.
    """
    start_pane = pane_key(args.pane) if args.pane else DEFAULT_PANE
    split = None
    if args.split:
        names = args.split.split(",")
        if len(names) == 2:
            start_pane = pane_key(names[0])
        split = pane_key(names[-1])
    flt = Filter.from_options(level=args.level, rank=args.rank)
    # The level's name (`--level warn` is WARNING, `--level 27` SUCCESS: the highest
    # named level at or below the number); DEBUG when none is given.
    named = [(n, name) for name, n in LEVELS.items() if n <= flt.min_level]
    level = max(named)[1] if args.level and named else "DEBUG"
    app = PrimeLogsApp(
        Path(args.output_dir),
        pane=start_pane,
        split=split,
        filters=Filters(level=level, ranks=flt.ranks),
        poll=True if args.poll else None,
    )
    app.run()
    return app.return_code or 0
