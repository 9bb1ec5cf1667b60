"""`prime_rl_logs.first_paint`: the first pane's last lines drawn before Textual loads,
exactly where the dashboard's first frame draws them."""

from __future__ import annotations

import argparse
import io
import re
from pathlib import Path

import pytest

from prime_rl_logs import first_paint
from prime_rl_logs.commands import watch
from prime_rl_logs.core.ansi import strip_sgr
from prime_rl_logs.errors import UsageError
from prime_rl_logs.tui.app import PrimeLogsApp
from tests.fixtures import FixtureRun, append, log_line, settle

_MOVE = re.compile(r"\x1b\[(\d+);(\d+)H")
_OURS = re.compile(r"\x1b\[\d+;\d+H|\x1b\[\?1049[hl]|\x1b\[\?25[hl]|\x1b\[H|\x1b\[2J")


def drawn(text: str) -> dict[int, tuple[int, str]]:
    """Row -> (column, plain text) of each cursor move and what follows it."""
    out = {}
    parts = _MOVE.split(text)
    for i in range(1, len(parts), 3):
        row, col, body = int(parts[i]) - 1, int(parts[i + 1]) - 1, parts[i + 2]
        out[row] = (col, strip_sgr(body))
    return out


@pytest.mark.parametrize(
    ("size", "count", "bar"), [((200, 50), 400, 0), ((130, 30), 400, 1), ((200, 50), 5, 0)]
)
async def test_the_lines_are_where_the_first_frame_draws_them(
    tmp_path: Path, size: tuple[int, int], count: int, bar: int
) -> None:
    lines = [
        log_line(i, "WARNING" if i % 7 == 0 else "INFO", f"step {i}\twith a tab " + "x" * (i % 150))
        for i in range(count)
    ]
    append(tmp_path / "logs" / "orchestrator.log", b"".join(lines))
    append(tmp_path / "logs" / "trainer" / "rank_0.log", log_line(1, "INFO", "trainer"))
    text = first_paint.screen(tmp_path, "orchestrator", *size)
    assert text is not None
    rows = drawn(text)
    app = PrimeLogsApp(tmp_path)
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        lv = app.active_pane.log_view
        region = lv.scrollable_content_region
        shown = [lv.render_line(y).text for y in range(region.height)]
        assert region.x == first_paint.LOG_X
        assert region.y == first_paint.HEADER_ROWS
        # (a row wider than the pane brings a horizontal scrollbar: one row less)
        assert lv.show_horizontal_scrollbar == bool(bar)
        assert region.height == size[1] - first_paint.HEADER_ROWS - first_paint.FOOTER_ROWS - bar
        painted = {row: body for row, (col, body) in rows.items() if col == first_paint.LOG_X}
        assert len(painted) == min(count, region.height)  # every row the pane fills
        for y, line in enumerate(shown[:count]):
            assert painted[region.y + y].rstrip() == line.rstrip(), y
        assert f"step {count - 1}" in painted[max(painted)]


def test_only_colour_reaches_the_terminal(tmp_path: Path) -> None:
    hostile = (
        b"\x1b[31mred\x1b[0m \x1b]0;title\x07 \x1b]52;c;aGk=\x07 \x1b[2J\x1b[H moved \x1b[?1049l"
        b" \x9b31m \x07 bell \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ \xff\xfe\n"
    )
    append(tmp_path / "logs" / "orchestrator.log", hostile * 3)
    text = first_paint.screen(tmp_path, "orchestrator", 200, 50)
    assert text is not None
    rest = _OURS.sub("", text)
    assert re.sub(r"\x1b\[[0-9;:]*m", "", rest).isprintable()
    assert "\x1b[31mred" in rest and "moved" in rest and "link" in rest


def test_a_wide_character_line_is_cut_to_the_pane(tmp_path: Path) -> None:
    append(tmp_path / "logs" / "orchestrator.log", ("\x1b[1m" + "字" * 200 + "\n").encode())
    text = first_paint.screen(tmp_path, "orchestrator", 130, 20)
    assert text is not None
    (body,) = [body for col, body in drawn(text).values() if col == first_paint.LOG_X]
    assert body == "字" * ((130 - first_paint.LOG_X - 1) // 2)


@pytest.mark.parametrize("case", ["two files", "narrow", "short", "no file", "unreadable"])
def test_nothing_is_drawn_unless_the_first_frame_shows_the_same(tmp_path: Path, case: str) -> None:
    logs = tmp_path / "logs"
    append(logs / "orchestrator.log", log_line(1, "INFO", "hello"))
    width, height, pane = 200, 50, "orchestrator"
    if case == "two files":
        append(logs / "trainer" / "rank_0.log", log_line(1, "INFO", "r0"))
        append(logs / "trainer" / "rank_1.log", log_line(1, "INFO", "r1"))
        pane = "trainer"
    elif case == "narrow":
        width = first_paint.MIN_WIDTH - 1
    elif case == "short":
        height = first_paint.MIN_HEIGHT - 1
    elif case == "no file":
        pane = "inference"
    else:
        (logs / "orchestrator.log").chmod(0)
        if (logs / "orchestrator.log").open("rb").readable():  # root reads anyway
            pytest.skip("running as root: the file stays readable")
    assert first_paint.screen(tmp_path, pane, width, height) is None


def options(output_dir: Path, **values: object) -> argparse.Namespace:
    base: dict[str, object] = {"output_dir": output_dir, "pane": None, "split": None}
    base.update({"level": None, "rank": None, "poll": False})
    base.update(values)
    return argparse.Namespace(**base)


def test_watch_paints_first_and_gives_the_screen_back_if_the_dashboard_fails(
    library_run: FixtureRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = io.StringIO()
    painted: list[str] = []
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    monkeypatch.setattr(
        first_paint, "paint", lambda d, pane, logs=None: painted.append(pane) or True
    )
    monkeypatch.setattr(first_paint, "leave", lambda: out.write("LEFT"))

    def fails(*args: object, **kwargs: object) -> int:
        raise RuntimeError("no driver")

    monkeypatch.setattr(watch, "open_dashboard", fails)
    with pytest.raises(RuntimeError):
        watch.main(options(library_run.output_dir))
    assert painted == ["orchestrator"] and out.getvalue() == "LEFT"
    # Options are checked after the paint: a bad one gives the screen back too.
    with pytest.raises(UsageError):
        watch.main(options(library_run.output_dir, on_alert='"unclosed'))
    assert out.getvalue() == "LEFTLEFT"
    # A filter or a split changes what the first frame shows: nothing is painted.
    painted.clear()
    for changed in ({"split": "trainer"}, {"level": "error"}, {"rank": "0"}):
        with pytest.raises(RuntimeError):
            watch.main(options(library_run.output_dir, **changed))
    assert painted == []
