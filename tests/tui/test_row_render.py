"""A row with no colour, tab, match or selection is drawn without a rich Text
(`LogView._plain_segments`, issue 12): the cells must be those of `row_text`."""

from __future__ import annotations

from pathlib import Path

from rich.segment import Segment
from textual.strip import Strip

from prime_rl_logs.tui.app import PrimeLogsApp
from prime_rl_logs.tui.log_view import LogView
from tests.fixtures import append, log_line, settle

MESSAGES = [
    "plain words reward=0.5",
    "",
    "wide 漢字テスト and emoji 🚀 cells",
    "tab\tinside",
    "x" * 300,
    "   leading spaces",
    "[bracket] markup [bold]not markup[/bold]",
]


def _cells(lv: LogView, segments: list[Segment]) -> list[tuple[str, object]]:
    """(character, style) per cell: the same cells whatever the segments' cuts."""
    out: list[tuple[str, object]] = []
    for seg in Segment.simplify(Segment.apply_style(segments, lv.rich_style)):
        out.extend((ch, seg.style) for ch in seg.text)
    return out


def _strip_cells(strip: Strip) -> list[tuple[str, object]]:
    return [(ch, seg.style) for seg in strip for ch in seg.text]


async def test_plain_rows_are_drawn_as_their_rich_text_would_be(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    for i, message in enumerate(MESSAGES):
        append(logs / "orchestrator.log", log_line(i, "INFO", message, color=False))
        append(logs / "orchestrator.log", log_line(i, "INFO", message))  # with colours
        for rank in (0, 1):
            append(logs / "trainer" / f"rank_{rank}.log", log_line(i, "INFO", message, rank=rank))
            append(
                logs / "trainer" / f"rank_{rank}.log",
                log_line(i, "INFO", message, color=False, rank=rank),
            )
    app = PrimeLogsApp(tmp_path)
    async with app.run_test(size=(160, 40)) as pilot:
        for key in ("2", "1"):  # one file, no tags; then two ranks, tagged
            await pilot.press(key)
            await settle(pilot, app)
            lv = app.active_pane.log_view
            assert lv.view is not None and len(lv.view) == 2 * len(MESSAGES) * (
                1 if key == "2" else 2
            )
            lv.cursor = None
            plain = 0
            for row in range(len(lv.view)):
                fast = lv._plain_segments(row)
                rich = [s for s in lv.row_text(row).render(app.console) if s.text != "\n"]
                if fast is None:
                    continue
                plain += 1
                assert _cells(lv, fast) == _cells(lv, rich), lv.view.row(row).shown
            # Coloured lines and the tab take rich's way; the rest (half of them) this one.
            assert plain == len(lv.view) // 2 - (1 if key == "2" else 2)


async def test_a_frame_of_the_log_view_is_what_textuals_styles_cache_would_draw(
    tmp_path: Path,
) -> None:
    """`LogView.render_lines` skips Textual's `StylesCache` for its bare box: the same
    cells, focused or not, selected, searched, scrolled sideways, cropped."""
    from textual.geometry import Region
    from textual.widget import Widget

    logs = tmp_path / "logs"
    for i in range(120):
        message = f"line {i} " + ("wide " * (i % 50)) + MESSAGES[i % len(MESSAGES)]
        append(logs / "trainer" / f"rank_{i % 2}.log", log_line(i, "INFO", message, rank=i % 2))
    app = PrimeLogsApp(tmp_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("1")
        await settle(pilot, app)
        lv = app.active_pane.log_view
        assert lv._bare()

        def same(crop: Region | None = None) -> None:
            crop = crop or Region(0, 0, lv.size.width, lv.size.height)
            ours = [_strip_cells(strip) for strip in lv.render_lines(crop)]
            lv._styles_cache.clear()
            textual = [_strip_cells(strip) for strip in Widget.render_lines(lv, crop)]
            assert ours == textual

        same()
        same(Region(3, 2, 40, 5))
        lv.cursor = len(lv.view or ()) - 3
        same()
        await pilot.press("slash", *"wide", "enter")
        await settle(pilot, app)
        same()
        lv.scroll_to(x=12, animate=False)
        await pilot.pause()
        same()
        app.sidebar.focus()  # the pane without its focus tint
        await pilot.pause()
        same()
