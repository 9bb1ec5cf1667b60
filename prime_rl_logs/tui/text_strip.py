"""`text_strip`: one line of a rich Text drawn to a Textual strip in one step.

Textual draws a widget's content through its visual pipeline (parse, wrap, style,
a new strip each time): 0.5-1.3 ms a sidebar row, 0.5-5 ms of a frame for the title
and status lines (issue 12). A one-line label or row needs only rich's render under
the widget's style, cut or padded to its width; its owner keeps the strip.
"""

from __future__ import annotations

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

__all__ = ["text_strip"]


def text_strip(text: Text, console: Console, style: Style, width: int) -> Strip:
    """``text`` (one line, its own styles over ``style``) cut or padded to ``width``."""
    segments = [s for s in text.render(console) if s.text != "\n"]
    return Strip(Segment.apply_style(segments, style)).crop_extend(0, width, style)
