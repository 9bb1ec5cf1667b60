"""The sidebar: every source of the run, grouped by component, with live counts.

Each row shows the line count, warnings and errors, and how long ago the file last
grew. A source silent much longer than its peers in the same component (the rank
that hung) is highlighted, as is a file that could not be read. When the sidebar is
narrower than `COMPACT_BELOW` columns (the app narrows it on small terminals) the
rows are compact: a shorter name, no line count.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from statistics import median
from typing import TYPE_CHECKING, NamedTuple

from rich.style import Style
from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from prime_rl_logs.layout import COMPONENT_TITLES, COMPONENTS, safe_name
from prime_rl_logs.tui.text_strip import text_strip

if TYPE_CHECKING:
    from prime_rl_logs.core.log_file import LogFile

# A source is "silent" when it has not written for this many times its peers'
# median silence, and for at least SILENT_MIN_S seconds.
SILENT_FACTOR = 5.0
SILENT_MIN_S = 15.0

# Below this width the rows are compact (the app makes the sidebar 30 wide under
# 120 terminal columns, see app.tcss).
COMPACT_BELOW = 40
NAME_WIDTH = 18
COMPACT_NAME_WIDTH = 12


# Ages shown in the sidebar: the largest step not above the true age. Coarse on
# purpose, and coarser the older a file is: the sidebar repaints only when a label
# changes, so a run where nothing is written repaints ever more rarely.
AGE_STEPS = (
    (10, "10s"),
    (30, "30s"),
    (60, "1m"),
    (120, "2m"),
    (300, "5m"),
    (600, "10m"),
    (1800, "30m"),
    (3600, "1h"),
    (7200, "2h"),
    (21600, "6h"),
    (43200, "12h"),
    (86400, "1d"),
)


def human_age(seconds: float) -> str:
    """Time since a file last grew: "now" under 10 s, then "10s", "30s", "1m", ..."""
    label = "now"
    for step, name in AGE_STEPS:
        if seconds < step:
            break
        label = name
    return label


def human_count(n: int) -> str:
    if n < 10_000:
        return str(n)
    if n < 10_000_000:
        return f"{n / 1000:.0f}k"
    return f"{n / 1_000_000:.0f}M"


def silent_sources(files: Sequence[LogFile], now: float) -> set[str]:
    """Rels of the sources silent much longer than their component's peers."""
    silent: set[str] = set()
    by_component: dict[str, list[LogFile]] = {}
    for f in files:
        if f.status == "live" and f.last_write:
            by_component.setdefault(f.source.component, []).append(f)
    for peers in by_component.values():
        if len(peers) < 2:
            continue
        ages = [now - f.last_write for f in peers]
        typical = median(ages)
        for f, age in zip(peers, ages, strict=True):
            if age >= SILENT_MIN_S and age > SILENT_FACTOR * max(typical, 1.0):
                silent.add(f.source.rel)
    return silent


def shown_sources(files: Sequence[LogFile]) -> list[LogFile]:
    """The files that get a row: a rank's torchrun ``stderr.log`` only once it holds
    something (that row is the mark that the rank wrote to stderr); empty ones would
    be a row per rank saying nothing."""
    return [f for f in files if f.source.stream != "stderr" or f.size > 0]


def source_row(
    f: LogFile, silent: bool, now: float, *, compact: bool = False, marked: bool = False
) -> Text:
    """One sidebar row: name, lines, warnings, errors, age (``compact``: no lines);
    ``marked``: a problem of the Problems pane points at the file (a red ``●``)."""
    title = f.source.title  # safe to draw: `Source` escapes names once, when it is made
    row = Text(no_wrap=True, overflow="ellipsis")
    width = COMPACT_NAME_WIDTH if compact else NAME_WIDTH
    row.append(f"{title[:width]:<{width}}", style="bold red" if silent else "")
    row.append("●" if marked else " ", style="bold red")
    if f.status == "error":
        row.append(f"! {safe_name(f.error or 'unreadable')}", style="bold red")
        return row
    if not compact:
        row.append(f"{human_count(f.lines):>6}", style="dim")
    row.append(f" {human_count(f.warnings):>4}" if f.warnings else "     ", style="yellow")
    row.append(f" {human_count(f.errors):>4}" if f.errors else "     ", style="bold red")
    if f.status == "gone":
        row.append("  gone", style="dim italic")
    elif f.last_write:
        age = human_age(max(0.0, now - f.last_write))
        row.append(f" {age:>4}", style="bold red reverse" if silent else "dim")
    return row


class _Frame(NamedTuple):
    """What the rows of one frame share (`Sidebar.render_lines`)."""

    lines: Sequence[tuple[int, int]]
    scroll_y: int
    width: int
    padded: bool
    base: Style


ROW_STRIPS = 2048
"""Drawn rows kept (a row's text, style and width; cleared when full)."""


class Sidebar(OptionList):
    """Sources grouped by component; `enter` opens one as its own pane."""

    DEFAULT_CSS = """
    Sidebar {
        width: 44;
        height: 1fr;
        border: none;
        border-right: vkey $foreground 20%;
        padding: 0;
        & > .option-list--option-disabled {
            color: $text;
        }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._ids: list[tuple[str, str]] = []
        self._rows: dict[str, tuple[object, ...]] = {}
        self._files: Sequence[LogFile] = ()
        self._row_strips: dict[tuple[object, ...], tuple[Text, Strip]] = {}
        self._frame: _Frame | None = None
        self.compact = False
        self.marked: frozenset[str] = frozenset()
        """Rels the Problems pane points at (`tui.problems`), marked with a ``●``."""

    def on_resize(self) -> None:
        compact = 0 < self.outer_size.width < COMPACT_BELOW
        if compact != self.compact:
            self.compact = compact
            self._ids = []  # every row changes: rebuild the list
            self.update_sources(self._files)

    def update_sources(self, files: Sequence[LogFile]) -> None:
        """Show the run's files, keeping the highlighted row.

        Called every couple of seconds: a row is rebuilt only when what it says
        (counts, coarse age, state) changed, and changed rows are replaced in place;
        the whole list is rebuilt (a layout pass) only when files come or go. An
        idle dashboard therefore neither builds rows nor repaints.
        """
        self._files = files
        files = shown_sources(files)
        compact = self.compact
        now = time.time()
        silent = silent_sources(files, now)
        # What a row says, not the counts behind it: above 10,000 lines a busy rank's
        # count reads the same for seconds, and its row is not drawn again meanwhile.
        rows: dict[str, tuple[object, ...]] = {
            f.source.rel: (
                "" if compact else human_count(f.lines),
                human_count(f.warnings),
                human_count(f.errors),
                f.status,
                f.error,
                human_age(max(0.0, now - f.last_write)) if f.last_write else "",
                f.source.rel in silent,
                f.source.rel in self.marked,
            )
            for f in files
        }
        ids = [(f.source.component, f.source.rel) for f in files]
        if ids == self._ids:
            marked = self.marked
            self._replace_rows(
                {
                    rel: source_row(f, rel in silent, now, compact=compact, marked=rel in marked)
                    for f in files
                    if rows[rel := f.source.rel] != self._rows.get(rel)
                }
            )
            self._rows = rows
            return
        self._ids, self._rows = ids, rows
        lines = "" if compact else f"{'lines':>6}"
        name = COMPACT_NAME_WIDTH if compact else NAME_WIDTH
        legend = Text(
            f"{'source':<{name + 1}}{lines} {'warn':>4} {'err':>4} {'age':>4}", style="dim"
        )
        options: list[Option] = [Option(legend, id="legend", disabled=True)]
        for component in COMPONENTS:
            members = [f for f in files if f.source.component == component]
            if not members:
                continue
            header = Text(COMPONENT_TITLES[component], style="bold")
            header.append(f"  {len(members)}" if len(members) > 1 else "", style="dim")
            options.append(Option(header, id=f"component:{component}", disabled=True))
            for f in members:
                rel = f.source.rel
                row = source_row(f, rel in silent, now, compact=compact, marked=rel in self.marked)
                options.append(Option(row, id=f.source.rel))
        highlighted = self.highlighted_option.id if self.highlighted_option else None
        self.set_options(options)
        if highlighted is not None:
            for index, option in enumerate(options):
                if option.id == highlighted:
                    self.highlighted = index
                    break

    def render_lines(self, crop: Region) -> list[Strip]:
        # What every row of this frame shares, looked up once, not once a row: the
        # list's lines, its scroll offset and width, and the option style walk the
        # DOM (0.3 ms a row, 20-30 ms of a tick that changed 64 rows; issue 12).
        self._frame = self._frame_now()
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def _frame_now(self) -> _Frame:
        return _Frame(
            self._lines,
            self.scroll_offset.y,
            self.scrollable_content_region.width,
            bool(self.get_component_styles("option-list--option").padding),
            self.get_visual_style("option-list--option").rich_style,
        )

    def render_line(self, y: int) -> Strip:
        """A source row drawn from its Text in one step (`ROW_STRIPS` kept); the
        legend, component titles and anything unusual the list's own way.

        `OptionList` draws an option through Textual's visual pipeline: 0.5-1.3 ms a
        row here, so a tick that changed every row (a run being written) took a
        30-170 ms frame, and keys waited behind it. Rendering the row's Text with the
        console and the option style under it takes about 50 µs and draws the same
        cells (`tests/tui/test_snapshots.py`).
        """
        frame = self._frame or self._frame_now()
        try:
            index, offset = frame.lines[frame.scroll_y + y]
            option = self.options[index]
        except IndexError:
            return super().render_line(y)
        prompt = option.prompt
        if offset or option.disabled or frame.padded or not isinstance(prompt, Text):
            return super().render_line(y)
        base = frame.base
        if self.highlighted == index:
            base = self._option_style("option-list--option-highlighted")
        elif self._mouse_hovering_over == index:
            base = self._option_style("option-list--option-hover")
        width = frame.width
        key = (id(prompt), base, width, index)
        kept = self._row_strips.get(key)
        if kept is not None and kept[0] is prompt:
            return kept[1]
        strip = self._draw_row(prompt, base, width, index)
        if len(self._row_strips) >= ROW_STRIPS:
            self._row_strips.clear()
        self._row_strips[key] = (prompt, strip)
        return strip

    def _option_style(self, state: str) -> Style:
        return self.get_visual_style("option-list--option", state).rich_style

    def _draw_row(self, prompt: Text, base: Style, width: int, index: int) -> Strip:
        return text_strip(prompt, self.app.console, base, width).apply_meta({"option": index})

    def _replace_rows(self, changed: dict[str, Text]) -> None:
        """Put new text in the rows of ``changed`` (rel: row), in place.

        `OptionList.replace_option_prompt` drops every cache of the list, so the
        next frame measures all its options again: 60-80 ms at 256 files, every
        tick while they are written. A row here is one line whatever it says
        (`source_row` never wraps), so the line map stays true, and only the changed
        options' rendered strips are dropped (from the list's own render cache:
        OptionList has no public way to do this; on a Textual without it, the
        public call is used).
        """
        if not changed:
            return
        cache = getattr(self, "_option_render_cache", None)
        options = [self.get_option(rel) for rel in changed]
        if cache is None or not all(hasattr(o, "_set_prompt") for o in options):
            for rel, row in changed.items():
                self.replace_option_prompt(rel, row)
            return
        for option, row in zip(options, changed.values(), strict=True):
            option._set_prompt(row)
        stale = set(options)
        for key in [key for key in cache.keys() if key[0] in stale]:  # noqa: SIM118 (no __iter__)
            cache.discard(key)
        self.refresh()
