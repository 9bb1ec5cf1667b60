"""The `?` help screen: every key, read from the app's own bindings.

`keys_table` lists each `Binding` (its display key and description) plus the keys
that are not bindings of the app (enter in the sidebar, the command palette), so
the help cannot drift from what the keys do. `HelpScreen` shows it as a modal.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def key_label(binding: Binding) -> str:
    return binding.key_display or binding.key


def keys_table(bindings: Iterable[BindingType]) -> Table:
    table = Table(box=None, show_header=False, padding=(0, 2))
    table.add_column(style="bold cyan", justify="right")
    table.add_column()
    for binding in bindings:
        if isinstance(binding, Binding):
            table.add_row(key_label(binding), binding.description)
    table.add_row("enter", "open the highlighted sidebar source as its own pane")
    table.add_row("ctrl+p", "command palette")
    return table


class HelpScreen(ModalScreen[None]):
    """Lists the keys; any of escape, q or ? closes it."""

    BINDINGS = [  # noqa: RUF012
        Binding("escape,q,question_mark", "dismiss", "Close"),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 64; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, bindings: Iterable[BindingType]) -> None:
        super().__init__()
        self.table = keys_table(bindings)

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "prime-logs keys"
            yield Static(self.table)
