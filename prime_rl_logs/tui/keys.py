"""The dashboard's keys: one table of what each key does, in the order the footer and
the help screen (`tui.help`, which reads the app's bindings) show them.

Pane keys share the group `PANE_KEYS` so the footer shows them as one entry
(``123456 Panes``); the rest are shown unless ``show=False``. The actions they name
are methods of `tui.app.PrimeLogsApp` (``action_<name>``).

`run_app_key` runs an app key's action as soon as the app gets the key. Textual
delivers a key first to the focused widget, which passes it to its parent, and so on
up to the app, which then looks up the bindings: about five message hops, and each
waits behind whatever else is ready on the event loop (a frame of a busy pane, a
slice of history). When nothing between the focused widget and the app binds the
key, and the focused widget is not a text field that would type it, the result is
the same without the hops.

`KeyFooter` is Textual's footer, composed again only when the keys it shows change:
Textual's composes all of its keys again (some 25 widgets, then a layout pass) each
time any binding might have changed, which is every focus change: every pane switch.

`keys_first_driver` makes the app hear of a key before any of that: the driver's
input thread calls ``app.input_arriving()`` as it reads the key or click, so the
background work ready on the loop (an index step, a history slice, a batch of live
lines) steps aside (`core.gate`) instead of running ahead of the key's first hop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from textual import events
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Input

if TYPE_CHECKING:
    from textual.app import App
    from textual.driver import Driver
    from textual.message import Message
    from textual.screen import Screen

__all__ = ["KEYS", "PANE_KEYS", "KeyFooter", "keys_first_driver", "run_app_key"]

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


async def run_app_key(app: App[Any], event: events.Key) -> bool:
    """Run the app's binding of ``event``'s key now, if the route Textual would take
    ends there; True when an action ran (the key is then used up)."""
    if event.is_forwarded or not app.app_focus or isinstance(app.focused, Input):
        return False
    screen = app.screen
    if screen.maximized is not None:  # (escape minimizes it first)
        return False
    for node, bindings in screen._modal_binding_chain:
        chosen = [b for b in bindings.key_to_bindings.get(event.key, ()) if not b.priority]
        if not chosen:
            continue
        if node is not app:  # the focused widget or a parent binds the key: its route
            return False
        for binding in chosen:
            if await app.run_action(binding.action, app):
                return True
        return False
    return False


def keys_first_driver(base: type[Driver]) -> type[Driver]:
    """``base`` (the driver Textual picked: Linux, Windows, web) telling its app of
    each key and click from its input thread, by ``app.input_arriving()`` (which must
    be safe to call from another thread), before the event is sent on."""

    class KeysFirst(base):  # type: ignore[valid-type,misc]
        def process_message(self, message: Message) -> None:
            if isinstance(message, events.InputEvent) and not isinstance(message, events.MouseMove):
                arriving = getattr(self._app, "input_arriving", None)
                if arriving is not None:
                    arriving()
            super().process_message(message)

    KeysFirst.__name__ = KeysFirst.__qualname__ = f"KeysFirst{base.__name__}"
    return KeysFirst


class KeyFooter(Footer):
    """`Footer`, composed again only when what it shows changes (a key enabled or
    disabled, a screen with other keys), not at every focus change: a pane switch
    composed its 25 keys again (15-20 ms of the switch's frame, plus a layout pass),
    and the widgets dropped were cyclic garbage for the collector."""

    def __init__(self) -> None:
        super().__init__()
        self._shown: tuple[object, ...] | None = None

    def bindings_changed(self, screen: Screen[Any]) -> None:
        shown = tuple(
            (binding.key, binding.action, binding.description, enabled, tooltip)
            for (_, binding, enabled, tooltip) in screen.active_bindings.values()
            if binding.show
        )
        if self._shown is not None and shown == self._shown and screen is self.screen:
            return
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self._shown = shown  # composed again below
        super().bindings_changed(screen)
