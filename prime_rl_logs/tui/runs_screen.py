"""The runs screen: a folder of runs as a live table (`RunsScreen`).

`RunsScreen(folder)` shows one row per run of ``folder`` (`runs.find_runs`, which also
adds prime-rl's registry): name, status (coloured) with its reason, step / max_steps,
last reward with a sparkline of the last rewards, attempts, age of the last write,
model and environments; newest first (`runs.scan_runs`). It rescans every
`REFRESH_S` in a thread worker, never on the event loop, so runs that start while it
is open appear and statuses follow the files. ``enter`` dismisses the screen with the
highlighted run's path (the app then shows that run); ``space`` marks runs to compare,
kept in `RunsScreen.marked` (paths) and handed to the app's `compare` hook. Every
name and config value is drawn through `layout.safe_name`. `sparkline` and
`row_cells` are pure and tested on their own.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Static

from prime_rl_logs.errors import UsageError
from prime_rl_logs.layout import safe_name
from prime_rl_logs.runs import RunInfo, find_runs, format_duration, scan_runs
from prime_rl_logs.tui.keys import KeyFooter

__all__ = ["REFRESH_S", "STATUS_STYLE", "RunsScreen", "row_cells", "sparkline"]

REFRESH_S = 2.0
"""Seconds between rescans of the folder (in a thread)."""

STATUS_STYLE = {
    "running": "bold green",
    "finished": "bold blue",
    "crashed": "bold red",
    "stalled": "bold yellow",
    "stopped": "dim",
}

_BARS = "▁▂▃▄▅▆▇█"
COLUMNS = ("", "run", "status", "step", "reward", "att", "last write", "model", "envs", "reason")


def sparkline(values: Sequence[float], width: int = 8) -> str:
    """The last ``width`` values as block characters, low to high ("" for none)."""
    values = list(values)[-width:]
    if not values:
        return ""
    low, high = min(values), max(values)
    span = high - low
    if span <= 0:
        return _BARS[len(_BARS) // 2] * len(values)
    top = len(_BARS) - 1
    return "".join(_BARS[round((v - low) / span * top)] for v in values)


def row_cells(info: RunInfo, now: float, *, marked: bool = False) -> tuple[Text, ...]:
    """One table row of ``info`` (every name and value escaped)."""
    step = "-" if info.step is None else str(info.step)
    if info.max_steps is not None:
        step += f"/{info.max_steps}"
    reward = Text()
    if info.last_reward is not None:
        reward.append(f"{info.last_reward:.4g} ")
        reward.append(sparkline(info.rewards), style="cyan")
    else:
        reward.append("-", style="dim")
    age = "-"
    if info.last_write is not None:
        age = format_duration(max(0.0, now - info.last_write.timestamp())) + " ago"
    status = Text(info.status, style=STATUS_STYLE.get(info.status, ""))
    attempts = str(len(info.attempts))
    return (
        Text("●" if marked else " ", style="bold magenta"),
        Text(safe_name(info.name), style="bold"),
        status,
        Text(step, justify="right"),
        reward,
        Text(attempts, justify="right"),
        Text(age),
        Text(safe_name(info.model or "-")),
        Text(safe_name(", ".join(info.envs) or "-")),
        Text(safe_name(info.reason), style="dim"),
    )


class RunsScreen(Screen[Path | None]):
    """A live table of the runs in ``folder``; dismissed with the run to open."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open run", priority=True),
        Binding("space", "mark", "Mark to compare", key_display="space"),
        Binding("escape,r", "back", "Back to the run", show=False),
        Binding("q", "app.quit", "Quit"),
    ]

    DEFAULT_CSS = """
    RunsScreen > #runs-title { height: 1; background: $primary-darken-2; color: $text; }
    RunsScreen > DataTable { height: 1fr; }
    RunsScreen > #runs-note { height: 1; background: $panel; color: $text; }
    """

    def __init__(self, folder: Path, *, marked: Sequence[Path] = (), can_go_back: bool = False):
        super().__init__()
        self.folder = folder
        self.infos: list[RunInfo] = []
        self.marked: list[Path] = list(marked)
        self.can_go_back = can_go_back
        self.error: str | None = None
        self.table: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=True)
        self.title_line = Static(id="runs-title")
        self.note = Static(id="runs-note")

    def compose(self) -> ComposeResult:
        yield self.title_line
        yield self.table
        yield self.note
        yield KeyFooter()

    def on_mount(self) -> None:
        for label in COLUMNS:
            self.table.add_column(label, key=label or "mark")
        where = safe_name(str(self.folder))
        self.title_line.update(Text.assemble(" prime-logs  runs in ", (where, "bold")))
        self.note.update(" reading the runs…")
        self.table.focus()
        self.rescan()
        self.set_interval(REFRESH_S, self.rescan)

    @work(thread=True, exclusive=True, group="runs")
    def rescan(self) -> None:
        """Scan the folder in a thread; the table is redrawn on the event loop."""
        try:
            infos = scan_runs(find_runs(self.folder).runs)
            error = None
        except UsageError as exc:
            infos, error = [], str(exc)
        except OSError as exc:
            infos, error = [], f"cannot read {safe_name(str(self.folder))}: {exc.strerror}"
        if self.is_attached:  # not dismissed meanwhile
            with suppress(RuntimeError):  # the app closed meanwhile
                self.app.call_from_thread(self.show_infos, infos, error)

    def show_infos(self, infos: list[RunInfo], error: str | None = None) -> None:
        """Redraw the table from ``infos``, keeping the highlighted run."""
        if not self.is_attached:
            return
        self.infos, self.error = infos, error
        table = self.table
        keep = self.highlighted
        table.clear()
        now = time.time()
        marked = set(self.marked)
        for info in infos:
            table.add_row(*row_cells(info, now, marked=info.path in marked), key=str(info.path))
        if keep is not None:
            for row, info in enumerate(infos):
                if info.path == keep.path:
                    table.move_cursor(row=row, animate=False)
        self._update_note()

    def _update_note(self) -> None:
        if self.error is not None:
            self.note.update(Text(" " + safe_name(self.error), style="bold red"))
            return
        counts: dict[str, int] = {}
        for info in self.infos:
            counts[info.status] = counts.get(info.status, 0) + 1
        bits = [f"{len(self.infos)} runs"] + [f"{n} {s}" for s, n in counts.items()]
        if self.marked:
            bits.append(f"{len(self.marked)} marked to compare (m in a run shows Metrics)")
        self.note.update(" " + " · ".join(bits))

    @property
    def highlighted(self) -> RunInfo | None:
        row = self.table.cursor_row
        if not self.infos or not 0 <= row < len(self.infos):
            return None
        return self.infos[row]

    def action_open(self) -> None:
        info = self.highlighted
        if info is not None:
            self.dismiss(info.path)

    def action_mark(self) -> None:
        info = self.highlighted
        if info is None:
            return
        if info.path in self.marked:
            self.marked.remove(info.path)
        else:
            self.marked.append(info.path)
        self.show_infos(self.infos, self.error)

    def action_back(self) -> None:
        if self.can_go_back:
            self.dismiss(None)
