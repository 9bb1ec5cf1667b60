"""The Metrics pane: a series picker beside a scrollable grid of braille plots.

The app owns the `MetricsStore` and calls `MetricsView.update_store` whenever it
may have changed; the view compares ``store.version`` and does nothing when it
has not, so calling it on every batch of log changes is fine. A plot redraws
only when its own series changed, and Textual only paints plots on screen.

The picker lists every series, the ones people watch first (reward, train then
eval and per environment; loss, entropy, grad norm, throughput, MFU, peak memory,
step time, KV-cache use), then the rest. Those watched ones start selected; a
series that appears later is added in its place without touching what the user
picked or unpicked. `MetricsView.set_compare` overlays other runs' series (the runs
marked in the runs screen) on each plot, in distinct colours with a legend.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import ClassVar, Final

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.events import Resize
from textual.widget import Widget
from textual.widgets import SelectionList, Static
from textual.widgets.selection_list import Selection

from prime_rl_logs.layout import safe_name
from prime_rl_logs.metrics import KEY_SERIES, MetricsStore
from prime_rl_logs.tui.plot import plot_overlay, plot_text

__all__ = [
    "EMPTY_MESSAGE",
    "MetricsView",
    "PlotGrid",
    "SeriesPlot",
    "default_selected",
    "series_order",
]

EMPTY_MESSAGE: Final = (
    "No step lines yet.\n\n"
    "Plots appear here once the trainer or orchestrator logs its first "
    "`Step N | ...` line (or metrics.jsonl gets a row)."
)
NONE_SELECTED_MESSAGE: Final = (
    "No series selected.\n\nPick some in the list on the left (space toggles)."
)

# Groups in picker order: (test on the last part of the name, plot colour).
_GROUPS: Final[tuple[tuple[re.Pattern[str], str], ...]] = tuple(
    (re.compile(pattern), colour)
    for pattern, colour in (
        (r"reward", "green"),
        (r"loss", "red"),
        (r"entropy", "medium_purple1"),
        (r"grad_norm", "yellow"),
        (r".*throughput", "cyan"),
        (r"mfu", "dark_orange"),
        (r"peak_mem", "dodger_blue1"),
        (r"(step_)?time", "plum2"),
        (r".*kv_cache.*", "steel_blue1"),
    )
)
_OTHER_COLOUR: Final = "grey62"
COMPARE_COLOURS: Final = ("magenta", "bright_cyan", "orange1", "bright_white", "chartreuse1")
"""The colours of compared runs, in the order they were marked."""
# Within a group: trainer, orchestrator, per-env train, eval, inference, the rest.
_COMPONENT_ORDER: Final = {"trainer": 0, "orchestrator": 1, "env": 2, "eval": 3, "inference": 4}
_PER_ENV_REWARD: Final = re.compile(r"(env|eval)/[^/]+/reward")


def _group(name: str) -> int:
    leaf = name.rsplit("/", 1)[-1]
    for i, (pattern, _colour) in enumerate(_GROUPS):
        if pattern.fullmatch(leaf):
            return i
    return len(_GROUPS)


def series_order(name: str) -> tuple[int, int, str]:
    """Sort key of a series in the picker and the grid: its group, component, name.

    ``orchestrator/reward``, ``env/*/reward``, ``eval/*/reward``, then loss, entropy,
    grad norm, throughput, MFU, peak memory, step time, KV cache, then the rest.
    """
    component = name.split("/", 1)[0]
    return _group(name), _COMPONENT_ORDER.get(component, len(_COMPONENT_ORDER)), name


def series_colour(name: str) -> str:
    """The plot colour of a series: one per group, so reward is always green."""
    group = _group(name)
    return _GROUPS[group][1] if group < len(_GROUPS) else _OTHER_COLOUR


def default_selected(name: str) -> bool:
    """Whether a series starts selected: `metrics.KEY_SERIES` and every reward per env."""
    return name in KEY_SERIES or _PER_ENV_REWARD.fullmatch(name) is not None


class SeriesPlot(Widget):
    """One series against step, drawn to fit the widget whatever its size."""

    DEFAULT_CSS = """
    SeriesPlot {
        height: 1fr;
        padding: 0 1;
        background: $boost;
        text-wrap: nowrap;
        text-overflow: clip;
    }
    """

    def __init__(self, series: str) -> None:
        super().__init__()
        self.series = series
        self.colour = series_colour(series)
        self.steps: list[int] = []
        self.values: list[float] = []
        self.others: list[tuple[str, list[tuple[float, float]], str]] = []
        """Compared runs' points of this series: (run name, points, colour)."""

    def set_data(self, steps: list[int], values: list[float]) -> bool:
        """Replace the points; repaint (only) if they changed. True if they did."""
        if steps == self.steps and values == self.values:
            return False
        self.steps, self.values = steps, values
        self.refresh()
        return True

    def set_others(self, others: list[tuple[str, list[tuple[float, float]], str]]) -> None:
        """The compared runs' points of this series; repaint if they changed."""
        if others != self.others:
            self.others = others
            self.refresh()

    @property
    def last_value(self) -> float | None:
        return self.values[-1] if self.values else None

    def render(self) -> Text:
        size = self.content_size
        points = list(zip(self.steps, self.values, strict=True))
        title = safe_name(self.series)
        if self.others:
            mine = ("this run", points, self.colour)
            return plot_overlay(title, [mine, *self.others], size.width, size.height)
        return plot_text(title, points, size.width, size.height, self.colour)


class PlotGrid(VerticalScroll):
    """The scrollable grid of plots: two columns when there is room, else one.

    Focusable (tab to it) so the arrow keys and page keys scroll it.
    """

    DEFAULT_CSS = """
    PlotGrid {
        layout: grid;
        grid-size: 2;
        grid-gutter: 1 2;
        grid-rows: 12;
        padding: 0 1;
    }
    PlotGrid.-narrow {
        grid-size: 1;
    }
    """

    # Below this many columns (the grid's outer width), one plot per row.
    TWO_COLUMNS_FROM: ClassVar[int] = 90

    def on_resize(self, _event: Resize) -> None:
        # The outer width does not change when a scrollbar comes or goes, so the
        # column count cannot flip back and forth.
        self.set_class(self.outer_size.width < self.TWO_COLUMNS_FROM, "-narrow")


class MetricsView(Widget):
    """Series picker (left) and plots of the picked series against step (right).

    Feed it with `update_store`; everything else (picking, resizing) it handles
    itself. ``picker`` is the `SelectionList` to focus when the pane is shown.
    """

    DEFAULT_CSS = """
    MetricsView {
        layout: horizontal;
        height: 1fr;
    }
    MetricsView > #metrics-picker {
        width: 36;
        height: 1fr;
        border: round $panel-lighten-2;
        border-title-color: $text-muted;
        border-subtitle-color: $text-muted;
        padding: 0;
    }
    MetricsView > #metrics-picker:focus {
        border: round $primary;
    }
    MetricsView > #metrics-plots {
        width: 1fr;
        height: 1fr;
    }
    MetricsView > #metrics-empty {
        width: 1fr;
        height: 1fr;
        content-align: center middle;
        text-align: center;
        color: $text-muted;
    }
    """

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._store: MetricsStore | None = None
        self._version = -1
        self._order: list[str] = []  # every series name, in picker order
        self._known: set[str] = set()
        self._plots: dict[str, SeriesPlot] = {}
        self._ready = False
        self._compare: list[tuple[str, MetricsStore]] = []

    def set_compare(self, runs: list[tuple[str, MetricsStore]]) -> None:
        """Overlay these runs' series (name, store) on each plot, each in a colour of
        `COMPARE_COLOURS` (never the series' own); [] shows this run alone."""
        self._compare = runs
        if self._ready and self._store is not None:
            self._sync_plots()

    def _others(self, plot: SeriesPlot) -> list[tuple[str, list[tuple[float, float]], str]]:
        colours = [c for c in COMPARE_COLOURS if c != plot.colour]
        out: list[tuple[str, list[tuple[float, float]], str]] = []
        for i, (name, store) in enumerate(self._compare):
            if plot.series in store.series:
                steps, values = store.values(plot.series)
                points = [(float(x), y) for x, y in zip(steps, values, strict=True)]
                out.append((safe_name(name), points, colours[i % len(colours)]))
        return out

    def compose(self) -> ComposeResult:
        picker: SelectionList[str] = SelectionList(id="metrics-picker")
        picker.border_title = "Series"
        picker.border_subtitle = "space: show/hide"
        yield picker
        yield Static(EMPTY_MESSAGE, id="metrics-empty", markup=False)
        yield PlotGrid(id="metrics-plots")

    @property
    def picker(self) -> SelectionList[str]:
        return self.query_one("#metrics-picker", SelectionList)

    @property
    def plots(self) -> PlotGrid:
        return self.query_one("#metrics-plots", PlotGrid)

    def plot(self, series: str) -> SeriesPlot | None:
        """The plot of one series, if it is shown."""
        return self._plots.get(series)

    @property
    def shown(self) -> list[str]:
        """The series plotted, in grid order."""
        return [p.series for p in self.plots.query_children(SeriesPlot)]

    def on_mount(self) -> None:
        self._ready = True
        self._version = -1
        self._apply()

    def update_store(self, store: MetricsStore) -> None:
        """Show ``store``; a no-op unless it is a new store or its version moved."""
        if store is self._store and store.version == self._version:
            return
        self._store = store
        if self._ready:
            self._apply()

    # -- drawing

    def _apply(self) -> None:
        store = self._store
        if store is None:
            self._show_message(EMPTY_MESSAGE, picker=False)
            return
        self._version = store.version
        names = store.series.keys()
        if len(names) != len(self._known) or not self._known.issuperset(names):
            self._rebuild_picker(names)
        self._sync_plots()

    def _rebuild_picker(self, names: Iterable[str]) -> None:
        """Every series in order; keep the user's picks, pick new watched series."""
        picker = self.picker
        selected = set(picker.selected)
        known = self._known
        order = sorted(names, key=series_order)
        highlighted = picker.highlighted_option
        keep_value = highlighted.value if isinstance(highlighted, Selection) else None
        scroll_y = picker.scroll_y
        with picker.prevent(SelectionList.SelectedChanged):
            picker.clear_options()
            picker.add_options(
                Selection(
                    Content(safe_name(name)),  # not markup: an env name may hold "["
                    name,
                    name in selected if name in known else default_selected(name),
                )
                for name in order
            )
        if order:
            picker.highlighted = order.index(keep_value) if keep_value in order else 0
            picker.scroll_y = scroll_y
        self._order = order
        self._known = set(order)

    def _sync_plots(self) -> None:
        """Mount plots for picked series, remove unpicked ones, refresh their data."""
        store = self._store
        if store is None or not self._order:
            self._show_message(EMPTY_MESSAGE, picker=False)
            return
        picked = set(self.picker.selected)
        wanted = [name for name in self._order if name in picked]
        grid = self.plots
        for series in [s for s in self._plots if s not in picked or s not in self._known]:
            self._plots.pop(series).remove()
        # Plots already mounted are in order (the order of a name never changes), so
        # each new one goes just before the next mounted plot that follows it.
        new: list[tuple[SeriesPlot, SeriesPlot | None]] = []
        following: SeriesPlot | None = None
        for series in reversed(wanted):
            plot = self._plots.get(series)
            if plot is None:
                plot = self._plots[series] = SeriesPlot(series)
                new.append((plot, following))
            else:
                following = plot
        for plot, before in reversed(new):
            if before is None:
                grid.mount(plot)
            else:
                grid.mount(plot, before=before)
        for series, plot in self._plots.items():
            plot.set_data(*store.values(series))
            plot.set_others(self._others(plot))
        if wanted:
            self._show_plots()
        else:
            self._show_message(NONE_SELECTED_MESSAGE, picker=True)

    def _show_message(self, message: str, *, picker: bool) -> None:
        empty = self.query_one("#metrics-empty", Static)
        empty.update(message)
        empty.display = True
        self.plots.display = False
        self.picker.display = picker

    def _show_plots(self) -> None:
        self.query_one("#metrics-empty", Static).display = False
        self.plots.display = True
        self.picker.display = True

    # -- events

    def on_selection_list_selected_changed(self, event: SelectionList.SelectedChanged[str]) -> None:
        event.stop()
        if self._store is not None:
            self._sync_plots()
