"""Line plots drawn with braille dots: 2x4 dots per terminal cell.

Small and dependency-free, enough for "is reward going up, did loss blow up":
x is the step, y is scaled between the series' min and max, and the axis labels
say what those are. The cost is one pass over the points plus the cells drawn,
so a plot of a 100k-step series is as quick to redraw as one of 100 steps:
points that land in the same dot column become one vertical run (their min to
max), and consecutive columns are joined by a straight run of dots.

NaN and infinite values cannot be placed on the y axis; they are left out of
the body, counted in the header, and a last value that is NaN shows as ``nan``,
because a loss that turned NaN is what the plot is there to show.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.text import Text

# Braille dot bits, indexed [dx][dy] within a cell (dx 0..1, dy 0..3 from the top).
_DOTS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))
_BRAILLE = 0x2800


def format_value(value: float) -> str:
    """A y value in at most 9 characters: ``0.5123``, ``18.20``, ``3120``, ``3.00e-06``."""
    if not math.isfinite(value):
        return str(value)  # nan, inf, -inf
    magnitude = abs(value)
    if magnitude != 0 and (magnitude >= 1e5 or magnitude < 1e-3):
        return f"{value:.2e}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.4f}"


def format_step(x: float) -> str:
    """An x value (a step): ``12``, or the number as `format_value` gives it."""
    if math.isfinite(x) and float(x).is_integer():
        return str(int(x))
    return format_value(x)


def braille_lines(xs: Sequence[float], ys: Sequence[float], width: int, height: int) -> list[str]:
    """`height` strings of `width` cells drawing y against x, points joined by lines.

    ``xs`` must be sorted and every value finite. A cell without dots is a space.
    A flat series is drawn across the middle; a single x in the middle column, and
    a single point as a full cell.
    """
    width, height = max(width, 1), max(height, 1)
    grid = [[0] * width for _ in range(height)]
    if xs:
        dots_w, dots_h = width * 2, height * 4
        x0, x1 = xs[0], xs[-1]
        y0, y1 = min(ys), max(ys)
        sx = (dots_w - 1) / (x1 - x0) if x1 > x0 else 0.0
        sy = (dots_h - 1) / (y1 - y0) if y1 > y0 else 0.0
        mid_x, mid_y = dots_w // 2, dots_h // 2

        # One entry per dot column: [first y, last y, lowest y, highest y] in dots.
        columns: dict[int, list[int]] = {}
        for x, y in zip(xs, ys, strict=True):
            px = round((x - x0) * sx) if sx else mid_x
            py = round((y1 - y) * sy) if sy else mid_y
            column = columns.get(px)
            if column is None:
                columns[px] = [py, py, py, py]
            else:
                column[1] = py
                if py < column[2]:
                    column[2] = py
                elif py > column[3]:
                    column[3] = py

        def set_dot(px: int, py: int) -> None:
            grid[py >> 2][px >> 1] |= _DOTS[px & 1][py & 3]

        prev: tuple[int, int] | None = None
        for px in sorted(columns):
            first, last, low, high = columns[px]
            if prev is not None:
                # Join the previous column's last point to this column's first.
                (ax, ay), (bx, by) = prev, (px, first)
                n = max(bx - ax, abs(by - ay), 1)
                for k in range(1, n):
                    set_dot(ax + round((bx - ax) * k / n), ay + round((by - ay) * k / n))
            for py in range(low, high + 1):
                set_dot(px, py)
            prev = (px, last)
        if len(columns) == 1 and columns[mid_x][2] == columns[mid_x][3]:
            # A single point: a whole cell, or one dot would be easy to miss.
            grid[mid_y >> 2][mid_x >> 1] = 0xFF
    return ["".join(chr(_BRAILLE + bits) if bits else " " for bits in row) for row in grid]


def plot_text(
    title: str,
    points: Sequence[tuple[float, float]],
    width: int,
    height: int,
    colour: str = "cyan",
) -> Text:
    """A titled plot of ``(step, value)`` points, ``height`` lines of ``width`` cells.

    Line 1: the title, the last value and its step. Then the braille body with the
    max and min value as labels on its left (one label in the middle when the
    series is flat), then the x axis: the first and the last step.
    """
    width, height = max(width, 1), max(height, 3)
    pts = sorted(points, key=lambda p: p[0])
    finite = [(x, y) for x, y in pts if math.isfinite(x) and math.isfinite(y)]
    xs = [p[0] for p in finite]
    ys = [p[1] for p in finite]

    out = Text(no_wrap=True, overflow="crop")
    out.append(title, style="bold")
    if pts:
        last_x, last_y = pts[-1]
        out.append(f"  {format_value(last_y)}", style=f"bold {colour}")
        out.append(f"  step {format_step(last_x)}", style="dim")
        if len(finite) < len(pts):
            out.append(f"  {len(pts) - len(finite)} not finite", style="bold red")
    else:
        out.append("  no values yet", style="dim")

    body_h = height - 2
    labels = [""] * body_h
    if ys:
        high, low = max(ys), min(ys)
        if high == low:
            labels[body_h // 2] = format_value(high)
        else:
            top, bottom = format_value(high), format_value(low)
            digits = 6
            while top == bottom and digits <= 17:
                # Values too close for 4 digits: a flat-looking label on a line that
                # spans the full height would lie about the scale.
                top, bottom = f"{high:.{digits}g}", f"{low:.{digits}g}"
                digits += 3
            labels[0], labels[-1] = top, bottom
    label_w = max(map(len, labels))
    body_w = max(width - label_w - 1, 1) if label_w else width
    lines = braille_lines(xs, ys, body_w, body_h)
    for label, line in zip(labels, lines, strict=True):
        out.append("\n")
        if label_w:
            out.append(f"{label:>{label_w}} ", style="dim")
        out.append(line, style=colour)

    out.append("\n")
    indent = width - body_w
    if xs:
        left, right = format_step(xs[0]), format_step(xs[-1])
        if left == right:
            # One step: its label under the single column of dots.
            axis = " " * (indent + max(body_w // 2 - len(left) // 2, 0)) + left
        else:
            gap = body_w - len(left) - len(right)
            axis = " " * indent + left + " " * gap + right if gap >= 1 else right.rjust(width)
        out.append(axis[:width], style="dim")
    return out
