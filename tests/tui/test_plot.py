"""Braille line plots: where the dots land, the labels, and odd series."""

from __future__ import annotations

import math

from prime_rl_logs.tui.plot import braille_lines, format_value, plot_text

BLANK = " "


def dots(cell: str) -> int:
    """The dot bits of one braille cell (0 for a blank)."""
    return 0 if cell == BLANK else ord(cell) - 0x2800


def body(text: str) -> list[str]:
    """The braille rows of a plot, without the title line, labels and x axis."""
    lines = text.split("\n")[1:-1]
    return [
        "".join(ch for ch in line if ch == BLANK or 0x2800 <= ord(ch) <= 0x28FF) for line in lines
    ]


def test_rising_series_goes_from_bottom_left_to_top_right() -> None:
    lines = braille_lines(list(range(10)), [float(i) for i in range(10)], width=10, height=4)
    assert len(lines) == 4 and all(len(line) == 10 for line in lines)
    # The first point is the bottom-left dot, the last the top-right dot.
    assert dots(lines[-1][0]) & 0x40
    assert dots(lines[0][-1]) & 0x08
    # Nothing in the other two corners.
    assert lines[0][0] == BLANK
    assert lines[-1][-1] == BLANK


def test_falling_series_goes_from_top_left_to_bottom_right() -> None:
    lines = braille_lines([1, 2, 3], [3.0, 2.0, 1.0], width=6, height=3)
    assert dots(lines[0][0]) & 0x01
    assert dots(lines[-1][-1]) & 0x80
    assert lines[-1][0] == BLANK and lines[0][-1] == BLANK


def test_line_is_joined_without_gaps() -> None:
    # Two points far apart: every column between them gets a dot.
    lines = braille_lines([0, 1], [0.0, 1.0], width=20, height=5)
    for col in range(20):
        assert any(line[col] != BLANK for line in lines), col


def test_flat_series_is_a_line_across_the_middle_with_one_label() -> None:
    text = plot_text("trainer/mfu", [(s, 4.1) for s in range(1, 30)], width=40, height=8).plain
    lines = text.split("\n")
    assert len(lines) == 8
    rows = body(text)
    drawn = [i for i, row in enumerate(rows) if row.strip()]
    assert len(drawn) == 1 and drawn[0] == len(rows) // 2
    assert lines[1 + drawn[0]].startswith("4.10 ")
    assert text.count("4.10") == 2  # the header's last value and the one label


def test_one_point_is_drawn_with_its_value_and_step() -> None:
    text = plot_text("orchestrator/reward", [(7, 0.5)], width=30, height=6).plain
    lines = text.split("\n")
    assert lines[0] == "orchestrator/reward  0.5000  step 7"
    drawn = [ch for row in body(text) for ch in row if ch != BLANK]
    assert drawn == ["⣿"]  # a whole cell, not one dot that is easy to miss
    assert lines[-1].strip() == "7"


def test_labels_show_max_top_min_bottom_and_the_step_range() -> None:
    points = [(10, 0.25), (11, 0.75), (12, 0.5), (13, 0.125)]
    lines = plot_text("loss", points, width=40, height=7).plain.split("\n")
    assert lines[0].startswith("loss  0.1250  step 13")
    assert lines[1].split()[0] == "0.7500"
    assert lines[-2].split()[0] == "0.1250"
    assert all(not line[:6].strip() for line in lines[2:-2])
    axis = lines[-1]
    assert axis.split() == ["10", "13"]
    assert axis.endswith("13") and len(axis) == 40


def test_every_line_fits_the_size_asked_for() -> None:
    points = [(s, math.sin(s / 7) * 1000) for s in range(500)]
    for width, height in [(60, 12), (25, 5), (80, 3)]:
        lines = plot_text("x", points, width, height).plain.split("\n")
        assert len(lines) == height
        assert all(len(line) <= width for line in lines)
        assert all(len(line) == width for line in lines[1:])


def test_values_too_close_for_four_digits_get_more() -> None:
    lines = plot_text("kl", [(1, 0.50001), (2, 0.50002)], width=40, height=6).plain.split("\n")
    assert lines[1].split()[0] == "0.50002"
    assert lines[-2].split()[0] == "0.50001"


def test_nan_is_left_out_of_the_body_but_shown_as_the_last_value() -> None:
    text = plot_text("trainer/loss", [(1, 0.5), (2, 0.25), (3, math.nan)], 40, 6).plain
    header = text.split("\n")[0]
    assert "nan" in header and "step 3" in header and "1 not finite" in header
    assert any(row.strip() for row in body(text))


def test_no_points_says_so() -> None:
    text = plot_text("eval/gsm8k/reward", [], 30, 5).plain
    assert text.split("\n")[0] == "eval/gsm8k/reward  no values yet"
    assert len(text.split("\n")) == 5


def test_a_long_series_is_drawn_at_full_width() -> None:
    # Many points per dot column: each column is a vertical run, nothing is lost.
    n = 100_000
    lines = braille_lines(list(range(n)), [float(i % 2) for i in range(n)], width=30, height=4)
    assert all(line == "⣿" * 30 for line in lines)


def test_format_value() -> None:
    assert format_value(0.51234) == "0.5123"
    assert format_value(18.2) == "18.20"
    assert format_value(3120) == "3120"
    assert format_value(3e-6) == "3.00e-06"
    assert format_value(0) == "0.0000"
    assert format_value(math.nan) == "nan"


def test_overlay_draws_every_series_on_one_scale_with_a_legend() -> None:
    from prime_rl_logs.tui.plot import plot_overlay

    up = [(float(x), float(x)) for x in range(11)]
    flat = [(float(x), 20.0) for x in range(11)]
    text = plot_overlay("reward", [("this run", up, "green"), ("other", flat, "magenta")], 30, 9)
    lines = text.plain.split("\n")
    assert lines[0] == "reward"
    assert "━ this run 10.00" in lines[1] and "━ other 20.00" in lines[1]
    body = lines[2:-1]
    assert body[0].lstrip().startswith("20.00") and body[-1].lstrip().startswith("0.0000")
    # the flat series at 20 is the top row, drawn across the whole width in its colour
    top_styles = {str(s.style) for s in text.spans if "magenta" in str(s.style)}
    assert top_styles and body[0].count(" ") < 10
    assert lines[-1].split() == ["0", "10"]
