"""Line plots drawn with braille dots: 2x4 dots per terminal cell.

Small and dependency-free, enough for "is reward going up, did loss blow up":
x is the step, y is scaled between the series' min and max, and the axis labels
say what those are. The cost is one pass over the points plus the cells drawn,
so a plot of a 100k-step series is as quick to redraw as one of 100 steps:
points that land in the same dot column become one vertical run (their min to
max), and consecutive columns are joined by a straight run of dots.

`plot_overlay` draws several series (runs compared) on one scale, each in its colour,
with a legend.

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
    grid = braille_grid(xs, ys, width, height)
    return ["".join(chr(_BRAILLE + bits) if bits else " " for bits in row) for row in grid]


def braille_grid(
    xs: Sequence[float],
    ys: Sequence[float],
    width: int,
    height: int,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
) -> list[list[int]]:
    """The dot bits of each cell (`braille_lines` before it becomes text); the axes
    span ``x_range`` and ``y_range`` when given (several series on one scale),
    else the series' own first and last x and min and max y."""
    width, height = max(width, 1), max(height, 1)
    grid = [[0] * width for _ in range(height)]
    if xs:
        dots_w, dots_h = width * 2, height * 4
        x0, x1 = x_range if x_range is not None else (xs[0], xs[-1])
        y0, y1 = y_range if y_range is not None else (min(ys), max(ys))
        sx = (dots_w - 1) / (x1 - x0) if x1 > x0 else 0.0
        sy = (dots_h - 1) / (y1 - y0) if y1 > y0 else 0.0
        mid_x, mid_y = dots_w // 2, dots_h // 2

        # One entry per dot column: [first y, last y, lowest y, highest y] in dots.
        columns: dict[int, list[int]] = {}
        for x, y in zip(xs, ys, strict=True):
            px = min(max(round((x - x0) * sx), 0), dots_w - 1) if sx else mid_x
            py = min(max(round((y1 - y) * sy), 0), dots_h - 1) if sy else mid_y
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
        if len(columns) == 1:
            [(px, column)] = columns.items()
            if column[2] == column[3]:
                # A single point: a whole cell, or one dot would be easy to miss.
                grid[column[2] >> 2][px >> 1] = 0xFF
    return grid


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


def plot_overlay(
    title: str,
    series: Sequence[tuple[str, Sequence[tuple[float, float]], str]],
    width: int,
    height: int,
) -> Text:
    """Several ``(label, points, colour)`` series on one scale, the first on top.

    Line 1: the title; line 2: the legend, each label in its colour with its last
    value. Then the braille body (a cell takes the colour of the first series with
    a dot in it; the dots of all are merged) with the shared max and min on its
    left, then the x axis: the first and the last step over every series.
    """
    width, height = max(width, 1), max(height, 4)
    cleaned = []
    for label, points, colour in series:
        pts = sorted(points, key=lambda p: p[0])
        cleaned.append((label, pts, [p for p in pts if all(map(math.isfinite, p))], colour))
    out = Text(no_wrap=True, overflow="crop")
    out.append(title, style="bold")
    out.append("\n")
    for i, (label, pts, _, colour) in enumerate(cleaned):
        if i:
            out.append("  ")
        out.append("━ ", style=f"bold {colour}")
        out.append(label, style=colour)
        last = f" {format_value(pts[-1][1])}" if pts else " -"
        out.append(last, style=f"bold {colour}")
    every = [p for _, _, finite, _ in cleaned for p in finite]
    body_h = height - 3
    labels = [""] * body_h
    x_range = y_range = None
    if every:
        xs = [p[0] for p in every]
        ys = [p[1] for p in every]
        x_range, y_range = (min(xs), max(xs)), (min(ys), max(ys))
        if y_range[0] == y_range[1]:
            labels[body_h // 2] = format_value(y_range[0])
        else:
            labels[0], labels[-1] = format_value(y_range[1]), format_value(y_range[0])
    label_w = max(map(len, labels))
    body_w = max(width - label_w - 1, 1) if label_w else width
    cells: list[list[tuple[int, str]]] = [[(0, "")] * body_w for _ in range(body_h)]
    for _, _, finite, colour in reversed(cleaned):  # the first series drawn last, on top
        grid = braille_grid(
            [p[0] for p in finite], [p[1] for p in finite], body_w, body_h, x_range, y_range
        )
        for row, bits_row in zip(cells, grid, strict=True):
            for x, bits in enumerate(bits_row):
                if bits:
                    row[x] = (row[x][0] | bits, colour)
    for label, row in zip(labels, cells, strict=True):
        out.append("\n")
        if label_w:
            out.append(f"{label:>{label_w}} ", style="dim")
        for bits, colour in row:
            out.append(chr(_BRAILLE + bits) if bits else " ", style=colour)
    out.append("\n")
    if x_range is not None:
        left, right = format_step(x_range[0]), format_step(x_range[1])
        gap = body_w - len(left) - len(right)
        indent = width - body_w
        axis = " " * indent + left + " " * gap + right if gap >= 1 else right.rjust(width)
        out.append(axis[:width], style="dim")
    return out
