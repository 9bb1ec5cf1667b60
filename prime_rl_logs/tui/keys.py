"""The dashboard's keys: one table of what each key does, in the order the footer and
the help screen (`tui.help`, which reads the app's bindings) show them.

Pane keys share the group `PANE_KEYS` so the footer shows them as one entry
(``123456 Panes``); the rest are shown unless ``show=False``. The actions they name
are methods of `tui.app.PrimeLogsApp` (``action_<name>``).
"""

from __future__ import annotations

from typing import Final

from textual.binding import Binding, BindingType

__all__ = ["KEYS", "PANE_KEYS"]

PANE_KEYS: Final = Binding.Group("Panes", compact=True)
"""The pane keys 1-6, shown in the footer as one entry."""

KEYS: Final[tuple[BindingType, ...]] = (
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
    Binding("left_square_bracket", "problem(-1)", "Prev warn/error", key_display="[", show=False),
    Binding("g", "home", "Top", show=False),
    Binding("G", "end", "Bottom", show=False),
    Binding("space", "toggle_follow", "Pause", key_display="space"),
    Binding("s", "split", "Split"),
    Binding("m", "metrics", "Metrics"),
    Binding("p", "problems", "Problems"),
    Binding("c", "copy", "Copy", show=False),
    Binding("S", "save", "Save record", show=False),
    Binding("o", "sources", "Sources", show=False),
    Binding("b", "toggle_sidebar", "Hide/show sidebar", show=False),
    Binding("r,backspace", "runs", "Runs", key_display="r"),
    Binding("a", "attempts", "Attempts"),
    Binding("L", "live_attempt", "Live attempt", show=False),
    Binding("C", "config", "Config", show=False),
    Binding("question_mark", "help", "Help", key_display="?"),
    Binding("q", "quit", "Quit"),
)
