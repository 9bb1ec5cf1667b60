"""The end of the first pane's log on screen before the dashboard has loaded.

Textual and the dashboard's modules take about 0.35 s to import, and the first
frame 0.2 s more: a bare Textual app takes 0.39 s to draw one line here, twice
lnav's whole start (`docs/benchmarks.md`, "Start-up"). So `watch`, on a terminal,
first draws what that first frame will show in its log pane, with plain escape
codes and the standard library: the last lines of the first pane's file, where the
pane will show them, under a header that says the dashboard is loading. Textual
takes the same alternate screen and draws its first frame over it (keys typed
meanwhile wait in the terminal for it).

It draws only when it can draw the same rows the pane will: one file in the first
pane (a merged pane's order needs the reader), no filter, no split, no runs screen,
a terminal at least `MIN_WIDTH` wide (the sidebar's wide layout) and `MIN_HEIGHT`
tall. Lines are read from the file's last `TAIL_BYTES`, cleaned by
`core.ansi.sanitize` like every line the dashboard shows (only SGR colour reaches the
terminal), tabs expanded, and cut to the pane's width. Nothing is written to the
file; an unreadable one draws nothing. `tests/tui/test_first_paint.py` holds the
geometry to the app's own first frame.
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata
from pathlib import Path
from typing import Final, TextIO

from prime_rl_logs.core.ansi import SGR_RE, sanitize
from prime_rl_logs.layout import PANE_BY_KEY, classify, discover, logs_dir, safe_name

__all__ = ["HEADER_ROWS", "LOG_X", "MIN_HEIGHT", "MIN_WIDTH", "leave", "paint", "screen"]

LOG_X: Final = 44
"""The log pane's first column in the wide layout (the sidebar and its border)."""
HEADER_ROWS: Final = 2
"""Rows above the log: the app's header and the pane's title."""
FOOTER_ROWS: Final = 3
"""Rows below it: the pane's status, the filter's status line and the footer."""
MIN_WIDTH: Final = 120
MIN_HEIGHT: Final = 10
TAIL_BYTES: Final = 256 * 1024

_ENTER: Final = "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J"
_LEAVE: Final = "\x1b[0m\x1b[?25h\x1b[?1049l"
_TOKEN: Final = re.compile(r"\x1b\[[0-9;:]*m|.", re.S)


def _cells(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1


def fit(line: str, width: int) -> str:
    """``line`` (sanitized: text and SGR codes) with its tabs expanded to stops of 8
    cells, as the pane expands them, and cut to ``width`` cells."""
    if line.isascii() and "\x1b" not in line:
        return line.expandtabs(8)[:width]
    out, used = [], 0
    for token in _TOKEN.findall(line):
        if SGR_RE.fullmatch(token):
            out.append(token)
            continue
        if token == "\t":
            cells = 8 - used % 8
            token = " " * cells
        else:
            cells = _cells(token)
        if used + cells > width:
            break
        out.append(token)
        used += cells
    return "".join(out)


def _width(line: str) -> int:
    plain = SGR_RE.sub("", line)
    return len(plain) if plain.isascii() else sum(map(_cells, plain))


def last_lines(path: Path, count: int) -> list[str] | None:
    """The last ``count`` lines of ``path`` as the pane shows them; None if unreadable."""
    try:
        with path.open("rb") as f:
            size = f.seek(0, os.SEEK_END)
            start = max(0, size - TAIL_BYTES)
            f.seek(start)
            data = f.read(size - start)
    except OSError:
        return None
    lines = data.split(b"\n")
    if start > 0:
        lines = lines[1:]  # the first is cut
    if lines and lines[-1] == b"":
        lines.pop()
    return [sanitize(line.decode("utf-8", "replace").rstrip("\r")) for line in lines[-count:]]


def screen(
    output_dir: Path, pane: str, width: int, height: int, logs: Path | None = None
) -> str | None:
    """What `paint` writes for a terminal of ``width`` x ``height`` (``logs``: the
    attempt's folder shown instead of ``logs/``), or None when the first frame would
    not show the same rows."""
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        return None
    components = PANE_BY_KEY[pane].components
    logs = logs_dir(output_dir) if logs is None else logs
    files = [
        p for p in discover(logs) if components is None or classify(p, logs).component in components
    ]
    if len(files) != 1:
        return None
    rows = height - HEADER_ROWS - FOOTER_ROWS
    lines = last_lines(files[0], rows)
    if lines is None:
        return None
    cut = width - LOG_X - 1  # (the pane's vertical scrollbar)
    shown = [fit(line, cut + 1) for line in lines]
    if any(_width(line) > cut for line in shown) and len(shown) == rows:
        shown = shown[1:]  # a line wider than the pane: its scrollbar takes the last row
    name = safe_name(output_dir.resolve().name or str(output_dir))
    out = [
        _ENTER,
        f"\x1b[1;1H prime-logs  \x1b[1m{fit(name, width - 40)}\x1b[0m  │  \x1b[2mloading…\x1b[0m",
    ]
    for y, line in enumerate(shown, start=HEADER_ROWS):
        out.append(f"\x1b[{y + 1};{LOG_X + 1}H{fit(line, cut)}\x1b[0m")
    return "".join(out)


def paint(output_dir: Path, pane: str, logs: Path | None = None, out: TextIO | None = None) -> bool:
    """Draw the first pane's last lines now; True if something was drawn (then the
    caller owes the terminal a `leave` if the dashboard never starts)."""
    out = sys.stdout if out is None else out
    try:
        width, height = os.get_terminal_size(out.fileno())
        text = screen(output_dir, pane, width, height, logs)
        if text is None:
            return False
        out.write(text)
        out.flush()
    except (OSError, ValueError):
        return False
    return True


def leave(out: TextIO | None = None) -> None:
    """Give the terminal back as it was (the dashboard did not start)."""
    out = sys.stdout if out is None else out
    out.write(_LEAVE)
    out.flush()
