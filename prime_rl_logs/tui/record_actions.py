"""What the dashboard's keys do to the record under the cursor of one `LogView`.

`jump_to_match` (``n``/``N``, and the first match after ``/``), `jump_to_problem`
(``]``/``[``: the next warning or error), `copy_record` (``c``: OSC 52, the
terminal's or the browser's clipboard) and `save_record` (``S``: `App.deliver_text`,
a download in the browser, else a file in the downloads folder or the current one),
with `delivery_notice` for the app's delivery events. Functions of a log view and
the app, holding no state: the app's actions call them on its active pane. When
there is nothing to do they say so in a short notification and change nothing.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from platformdirs import user_downloads_path
from textual import events

from prime_rl_logs.core.user_regex import RegexTooSlow
from prime_rl_logs.layout import safe_name

if TYPE_CHECKING:
    from textual.app import App

    from prime_rl_logs.tui.log_view import LogView

__all__ = [
    "RECORD_DELIVERY",
    "copy_record",
    "delivery_notice",
    "jump_to_match",
    "jump_to_problem",
    "save_record",
    "selected_record",
]

RECORD_DELIVERY = "record"
"""The name `save_record` gives its delivery (`events.DeliveryComplete.name`)."""


def jump_to_match(lv: LogView, step: int, *, inclusive: bool = False) -> None:
    """Show the next row (``step`` 1) or the previous one (-1) that matches the search,
    from the anchor row (itself included if ``inclusive``)."""
    if lv.view is None or lv.search is None or not len(lv.view):
        return
    anchor = lv.anchor_row()
    start = anchor if inclusive else anchor + step
    if not 0 <= start < len(lv.view):
        lv.notify("no more matches", severity="warning", timeout=2)
        return
    try:
        row = lv.view.find(lv.search, start, backwards=step < 0)
    except RegexTooSlow as exc:
        lv.notify(f"search stopped: {exc}", severity="error", timeout=10, markup=False)
        return
    if row is None:
        lv.notify(
            f"no match for /{lv.search.pattern}/", severity="warning", timeout=2, markup=False
        )
        return
    lv.show_row(row)


def jump_to_problem(lv: LogView, step: int) -> None:
    """Show the next (``step`` 1) or previous (-1) warning or error from the anchor row."""
    if lv.view is None or not len(lv.view):
        return
    start = lv.anchor_row() + step
    row = None
    if 0 <= start < len(lv.view):
        row = lv.view.next_problem(start, backwards=step < 0)
    if row is None:
        which = "newer" if step > 0 else "older"
        lv.notify(f"no {which} warning or error", timeout=2)
        return
    lv.show_row(row)


def selected_record(lv: LogView) -> str | None:
    """The text of the record at the anchor row; None for an empty pane."""
    if lv.view is None or not len(lv.view):
        return None
    return lv.record_text(lv.anchor_row())


def copy_record(app: App[Any], lv: LogView) -> None:
    """Copy the selected record to the clipboard (OSC 52)."""
    text = selected_record(lv)
    if text is not None:
        app.copy_to_clipboard(text)
        app.notify(f"copied {len(text.splitlines())} line(s)", timeout=2)


def save_record(app: App[Any], lv: LogView) -> None:
    """Save the selected record to a file named by the time: a download in the
    browser; in a terminal, the downloads folder or, without one, the current one."""
    text = selected_record(lv)
    if text is not None:
        name = time.strftime("prime-logs-record-%Y%m%d-%H%M%S.log")
        folder = user_downloads_path()
        folder = folder if app.is_web or folder.is_dir() else Path.cwd()
        app.deliver_text(
            io.StringIO(text + "\n"),
            save_directory=folder,
            save_filename=name,
            name=RECORD_DELIVERY,
        )


def delivery_notice(app: App[Any], event: events.DeliveryComplete | events.DeliveryFailed) -> None:
    """Say where `save_record`'s file went, or why it did not (other deliveries: nothing)."""
    if event.name != RECORD_DELIVERY:
        return
    if isinstance(event, events.DeliveryFailed):
        app.notify(
            f"record not saved: {event.exception}", severity="error", timeout=6, markup=False
        )
        return
    where = f"to {safe_name(str(event.path))}" if event.path else "as a download"
    app.notify(f"record saved {where}", timeout=4, markup=False)
