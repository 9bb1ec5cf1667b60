"""One pane of the dashboard: what it shows (`PaneSpec`) and the widget (`LogPane`).

A `PaneSpec` names a pane by value: one of the layout's panes (Trainer, All, …,
with the components it shows) or a single source file opened from the sidebar.
It turns the app-wide `core.view.Filter` into the pane's own (`PaneSpec.filter`);
nothing else in the UI tells the two kinds apart. A `LogPane` is the title bar, the
`LogView` and the status line of one pane. It owns that chrome: the title counts
the files its view shows (`View.files`, so a rank filter is counted once, by the
core), and the status line is rewritten when the log view posts
`LogView.StatusChanged` (following, paused, unseen rows) or a batch of changes
reaches the view. The app hands the pane a view (`show`) and the run's changes
(`apply`); it never writes the chrome itself. `describe` words the app-wide filter
for the app's own status line.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.strip import Strip
from textual.widget import Widget

from prime_rl_logs.core.fdpool import POOL
from prime_rl_logs.core.view import Filter, View, ViewDelta
from prime_rl_logs.layout import PANE_BY_KEY, PANES, safe_name
from prime_rl_logs.levels import LEVELS, TRACE, name_at_or_below
from prime_rl_logs.tui.log_view import LogView
from prime_rl_logs.tui.text_strip import text_strip

if TYPE_CHECKING:
    from prime_rl_logs.core.log_file import LogFile
    from prime_rl_logs.core.run import Run, RunChanges

__all__ = [
    "HIDDEN_VIEWS",
    "HiddenViews",
    "LogPane",
    "PaneSpec",
    "TextLine",
    "describe",
    "tag_width",
]

HISTORY_PUBLISH_S = 0.25
"""History found is shown at most this often while it is being read (`LogPane.build_history`)."""

HIDDEN_VIEWS = 3
"""Views kept (and followed live) after their pane showed something else."""

HIDDEN_VIEWS_BYTES = 64 << 20
"""Row addresses the kept views may hold together; the oldest views go beyond it."""


@dataclass(frozen=True, slots=True)
class PaneSpec:
    """What a pane shows: a layout pane (``rel`` None) or one source file.

    ``key`` is the layout pane's key (``"trainer"``) or the source's path relative
    to ``logs/``; ``components`` the components a layout pane shows (None: all);
    ``rel`` the one file of a source pane.
    """

    key: str
    components: frozenset[str] | None = None
    rel: str | None = None

    @classmethod
    def of_pane(cls, key: str) -> PaneSpec:
        """A pane of the layout by its key (`layout.PANES`); KeyError if unknown."""
        return cls(key, components=PANE_BY_KEY[key].components)

    @classmethod
    def of_source(cls, rel: str) -> PaneSpec:
        """A pane of one source file, by its path relative to ``logs/``."""
        return cls(rel, rel=rel)

    @property
    def title(self) -> str:
        return safe_name(self.rel) if self.rel is not None else PANE_BY_KEY[self.key].title

    @property
    def number(self) -> int | None:
        """The key that opens the pane (1 for Trainer, …), None for a source pane."""
        if self.rel is not None:
            return None
        return next((i + 1 for i, p in enumerate(PANES) if p.key == self.key), None)

    def filter(self, base: Filter) -> Filter:
        """The app-wide filter narrowed to this pane's files."""
        if self.rel is not None:
            return replace(base, components=None, rels=frozenset({self.rel}))
        return replace(base, components=self.components, rels=None)


def describe(flt: Filter) -> str:
    """The app-wide filter in words, for the status line."""
    if flt.min_level <= TRACE:
        parts = ["all levels"]
    else:
        name = name_at_or_below(flt.min_level)
        shown = name if LEVELS[name] == flt.min_level else str(flt.min_level)
        parts = [f"level ≥ {shown}"]
    ranks = "all" if flt.ranks is None else ",".join(map(str, sorted(flt.ranks)))
    parts.append(f"ranks {ranks}")
    if flt.include is not None:
        parts.append(f"only /{flt.include.pattern}/")
    if flt.exclude is not None:
        parts.append(f"hide /{flt.exclude.pattern}/")
    return " │ ".join(parts)


def tag_width(files: list[LogFile]) -> int:
    """Width of the source-tag column: the longest tag, or 0 for a single file."""
    return max(len(f.source.tag) for f in files) if len(files) > 1 else 0


class HiddenViews:
    """The views panes showed last, kept so that showing one again costs nothing:
    its history stays built, and `update` keeps it live while hidden (a key press
    that brings a pane back never waits for history). At most `HIDDEN_VIEWS`
    views, `HIDDEN_VIEWS_BYTES` of rows; a view is in one pane or here, never both,
    so each is updated once per batch. A view of another `Run` (another attempt)
    or one stopped by its regex is not kept, and a view of a regex filter whose
    history is still being read is cancelled (`View.cancel`): a new filter, or
    ``esc``, stops the scan of the old one (issue 15 item 5).
    """

    def __init__(self) -> None:
        self._views: list[View] = []  # oldest first

    def __len__(self) -> int:
        return len(self._views)

    def put(self, view: View | None, run: Run) -> None:
        """Keep ``view`` (the one a pane stops showing)."""
        self._views = [v for v in self._views if v.run is run]
        if view is None or view.run is not run or view.stopped is not None:
            return
        regex = view.filter.include is not None or view.filter.exclude is not None
        if regex and not view.complete:
            view.cancel()
            return
        self._views.append(view)
        while len(self._views) > HIDDEN_VIEWS or (
            len(self._views) > 1 and sum(v.nbytes for v in self._views) > HIDDEN_VIEWS_BYTES
        ):
            self._views.pop(0)

    def take(self, flt: Filter, run: Run) -> View | None:
        """The kept view of ``run`` with the filter ``flt``, no longer kept; None."""
        for i, v in enumerate(self._views):
            if v.run is run and v.filter == flt and v.stopped is None:
                return self._views.pop(i)
        return None

    def update(self, changes: RunChanges) -> None:
        """Follow the run while hidden (what `LogPane.apply` does for a shown view)."""
        for v in self._views:
            v.update(changes)
        self._views = [v for v in self._views if v.stopped is None]

    def clear(self) -> None:
        self._views = []


class TextLine(Widget):
    """A one-row label updated often: repaints only when its text changes, and never
    asks for a layout pass (its size is fixed by CSS).

    Its text is drawn to a strip in one step (rich's render in the widget's style,
    cut or padded to its width) and kept until the text, width or style change: a
    `Static` went through Textual's visual pipeline each time, 0.5-5 ms of a pane
    switch's frame for the title and status lines. A ``str`` is plain text, never
    markup (a regex or a file name in it is shown as it is).
    """

    DEFAULT_CSS = "TextLine { height: 1; }"

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._text: str | Text = ""
        self._strip: tuple[tuple[int, Style], Strip] | None = None

    def render(self) -> Text:
        """The text shown (drawn by `render_line`)."""
        return Text(self._text) if isinstance(self._text, str) else self._text.copy()

    def show(self, content: str | Text) -> None:
        if content != self._text:
            self._text = content.copy() if isinstance(content, Text) else content
            self._strip = None
            self.refresh()

    def render_line(self, y: int) -> Strip:
        width, style = self.size.width, self.rich_style
        if y:
            return Strip.blank(width, style)
        key = (width, style)
        if self._strip is None or self._strip[0] != key:
            text = self._text
            if isinstance(text, str):
                text = Text(text, end="", no_wrap=True)
            self._strip = (key, text_strip(text, self.app.console, style, width))
        return self._strip[1]


class LogPane(Vertical):
    """A title bar, a `LogView` and a status line for one pane of a `Run`."""

    DEFAULT_CSS = """
    LogPane { height: 1fr; }
    LogPane > .pane-title { height: 1; background: $panel; color: $text; text-style: bold; }
    LogPane > .pane-status { height: 1; color: $text-muted; }
    LogPane.-focused > .pane-title { background: $primary-darken-1; }
    """

    def __init__(self, spec: PaneSpec, run: Run, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.spec = spec
        self.run = run
        self.title = TextLine(classes="pane-title")
        self.log_view = LogView()
        self.status = TextLine(classes="pane-status")
        self._published = 0.0  # when history rows were last shown
        self._building: View | None = None  # the view a thread builds now
        self._waiting: list[RunChanges] = []  # changes for it, applied after

    def compose(self) -> ComposeResult:
        yield self.title
        yield self.log_view
        yield self.status

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def view(self) -> View | None:
        """The view shown, None while the pane is hidden."""
        return self.log_view.view

    def show(self, view: View | None) -> None:
        """Show ``view`` from its end (None: drop the view of a hidden pane)."""
        if view is None:
            self.log_view.drop_view()
        else:
            self.log_view.set_view(view, tag_width=tag_width(view.files))
        self.update_chrome()

    def release(self) -> View | None:
        """The view shown, to keep while the pane shows another (`HiddenViews`); None
        when there is none, or a thread is building it (it is cancelled then)."""
        view = self.view
        if view is not None and view is self._building:
            view.cancel()
            return None
        return view

    def apply(self, changes: RunChanges) -> None:
        """Hand one batch of the run's changes to the view and show the new rows
        (after its thread's slice, while one builds its history)."""
        view = self.view
        if view is None:
            return
        if view is self._building:
            self._waiting.append(changes)
            return
        delta = view.update(changes)
        if changes.new_files:
            self.log_view.set_tag_width(tag_width(view.files))
        self.log_view.on_delta(delta)
        if delta.appended or delta.reset or changes.new_files or changes.gone:
            self.update_chrome()

    async def build_history(self, budget_s: float) -> None:
        """Scan about ``budget_s`` more of the view's history (older rows on top).

        A view with a user regex (``f``, ``F``) is built on a thread (`View.build`
        with ``held`` changes no row shown, and the view takes no update until the
        slice ends; up to `core.fdpool.POOL`'s limit of files, past it on the
        loop): the ``regex`` module releases the GIL, so a slow pattern never holds
        the event loop, and `View.cancel` (a new filter, ``esc``, quitting) stops
        it after the chunk at hand. The rows found are held by the view and
        shown (`View.publish`) every `HISTORY_PUBLISH_S` and when the history is
        complete: each showing moves the scrollbar (and, scrolled up, the rows on
        screen), which repaints the pane, and slices come every few milliseconds.
        """
        view = self.view
        if view is None or (view.complete and not view.held):
            return
        regex = view.filter.include is not None or view.filter.exclude is not None
        # (On a thread only while the run's files fit the descriptor pool, which
        # then never closes one under a read: `core.fdpool` is not thread-safe.)
        if not regex or len(self.run.files) > POOL.limit:
            view.build(budget_s, held=True)
        else:
            self._building = view
            try:
                await asyncio.to_thread(view.build, budget_s, True)
            except asyncio.CancelledError:
                view.cancel()  # the app is closing: the thread ends after this chunk
                raise
            finally:
                self._building = None
                waiting, self._waiting = self._waiting, []
            if view is not self.view:
                return
            for changes in waiting:
                self.apply(changes)
        now = time.monotonic()
        if view.held and (
            view.complete or not len(view) or now - self._published >= HISTORY_PUBLISH_S
        ):
            self._published = now
            added = view.publish()
            self.log_view.on_delta(ViewDelta(prepended=added, appended=0, reset=False))
        if view.complete:
            self.update_chrome()

    @property
    def history_pending(self) -> bool:
        """The view has history to scan or to show."""
        view = self.view
        return view is not None and (not view.complete or view.held > 0)

    @on(LogView.StatusChanged)
    def _status_changed(self, event: LogView.StatusChanged) -> None:
        event.stop()
        self.update_chrome()

    def update_chrome(self) -> None:
        """Title (pane, file count) and status (waiting, history, following/paused)."""
        view, lv = self.view, self.log_view
        files = view.files if view is not None else []
        number = self.spec.number
        label = f" {number} " if number else " · "
        count = f"{len(files)} file" + ("" if len(files) == 1 else "s")
        self.title.show(f"{label}{self.spec.title}  ({count})")
        bits = []
        if not self.run.exists:
            bits.append(f"waiting for {safe_name(str(self.run.logs))} to appear…")
        elif not files:
            bits.append("no files for this pane yet")
        if view is not None and view.stopped is not None:
            bits.append(f"filter stopped (esc clears): {view.stopped}")
        elif view is not None and not view.complete:
            bits.append("reading history…")
        if lv.following:
            bits.append("following")
        else:
            bits.append(f"paused — {lv.unseen:,} new lines" if lv.unseen else "paused")
        self.status.show(" " + " · ".join(bits))
