"""A following pane's frames repaint only what moved (issue 12): the scrollbar only
when its thumb moves, the sidebar not at all.

Textual's `ScrollBar` repainted its whole height on every change of the scroll
position or the row count, that is on every batch of a followed pane: a quarter of
each frame's time at 64 files, for a thumb that moves an eighth of a cell every few
thousand rows of a long log.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import RenderableType
from textual.geometry import Region

from prime_rl_logs.tui.app import PrimeLogsApp
from prime_rl_logs.tui.log_view import ThumbScrollBar
from tests.fixtures import append, loguru_line, settle

LINES = 20_000


def _line(i: int) -> str:
    return loguru_line(f"10:{i // 3600 % 60:02d}:{i % 60:02d}", "INFO", f"message {i:06d}")


async def test_the_scrollbar_repaints_when_its_thumb_moves_not_on_every_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = tmp_path / "run" / "logs"
    logs.mkdir(parents=True)
    log = logs / "orchestrator.log"
    log.write_text("".join(_line(i) + "\n" for i in range(LINES)))
    painted: list[tuple[int, ...]] = []
    render = ThumbScrollBar.render

    def counting(self: ThumbScrollBar) -> RenderableType:
        painted.append(self.thumb())
        return render(self)

    monkeypatch.setattr(ThumbScrollBar, "render", counting)
    app = PrimeLogsApp(tmp_path / "run")
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, app)
        view = app.active_pane.log_view
        bar = view.vertical_scrollbar
        assert isinstance(bar, ThumbScrollBar) and bar.display
        before = len(painted)
        assert before and painted[-1] == bar.thumb()
        # A few rows at a time, as a followed pane gets them: the thumb stays put.
        for n in range(3):
            append(log, "".join(_line(LINES + 10 * n + i) + "\n" for i in range(10)).encode())
            await settle(pilot, app)
        assert len(view.view or ()) == LINES + 30 and view.following
        assert len(painted) == before, "repainted while its thumb did not move"
        bottom = _thumb_rows(bar)
        assert bottom and bottom[-1] == bar.size.height - 1
        # Going home moves the thumb to the top (painted), and `G` back to the bottom
        # (drawn as it was: `ThumbScrollBar` keeps the bars it drew).
        await pilot.press("g")
        await settle(pilot, app)
        assert bar.thumb()[1] == 0 and painted[-1] == bar.thumb()
        assert _thumb_rows(bar) == [0]
        await pilot.press("G")
        await settle(pilot, app)
        assert _thumb_rows(bar) == bottom


def _thumb_rows(bar: ThumbScrollBar) -> list[int]:
    """The rows of the bar drawn as its thumb (the cells a click grabs)."""
    lines = bar.render_lines(Region(0, 0, 1, bar.size.height))
    return [
        y
        for y, strip in enumerate(lines)
        if any(s.style and s.style.meta.get("@mouse.down") == "grab" for s in strip)
    ]


async def test_new_lines_do_not_draw_the_sidebar_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Textual draws again every widget whose clip meets a frame's changed area; the
    sidebar sits in a box of its own so the log pane's frames leave it alone."""
    from prime_rl_logs.tui import app as app_module
    from prime_rl_logs.tui.sidebar import Sidebar

    monkeypatch.setattr(app_module, "TICK_S", 600.0)  # (the tick updates the sidebar)
    logs = tmp_path / "run" / "logs"
    logs.mkdir(parents=True)
    log = logs / "orchestrator.log"
    log.write_text("".join(_line(i) + "\n" for i in range(50)))
    drawn: list[int] = []
    render_lines = Sidebar.render_lines

    def counting(self: Sidebar, crop: object) -> object:
        drawn.append(1)
        return render_lines(self, crop)  # type: ignore[arg-type]

    monkeypatch.setattr(Sidebar, "render_lines", counting)
    app = PrimeLogsApp(tmp_path / "run")
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot, app)
        lv = app.active_pane.log_view
        assert lv.view is not None
        drawn.clear()
        for i in range(50, 60):
            append(log, (_line(i) + "\n").encode())
            await pilot.wait_for_scheduled_animations()
            for _ in range(100):
                await pilot.pause(0.01)
                if len(lv.view) == i + 1:
                    break
            assert len(lv.view) == i + 1
        await pilot.pause(0.05)
        assert "message 000059" in lv.render_line(lv.scrollable_content_region.height - 1).text
        assert drawn == []


async def test_a_pane_switch_draws_the_scrollbar_from_the_bars_already_drawn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Switching between panes moves the thumb between a few places: each is drawn
    once (45 rows of Textual's rendering were a quarter of a switch's frame)."""
    logs = tmp_path / "run" / "logs"
    (logs / "trainer").mkdir(parents=True)
    (logs / "orchestrator.log").write_text("".join(_line(i) + "\n" for i in range(3000)))
    (logs / "trainer" / "rank_0.log").write_text("".join(_line(i) + "\n" for i in range(500)))
    painted: list[tuple[int, ...]] = []
    render = ThumbScrollBar.render

    def counting(self: ThumbScrollBar) -> RenderableType:
        painted.append(self.thumb())
        return render(self)

    monkeypatch.setattr(ThumbScrollBar, "render", counting)
    app = PrimeLogsApp(tmp_path / "run")
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, app)
        bar = app.active_pane.log_view.vertical_scrollbar
        assert isinstance(bar, ThumbScrollBar)
        await pilot.press("g")  # the top: a thumb of its own
        await settle(pilot, app)
        for key in "12":
            await pilot.press(key)
            await settle(pilot, app)
        drawn = len(painted)
        for key in "1212":
            await pilot.press(key)
            await settle(pilot, app)
            assert bar.display and bar.thumb()[1] > 0
        assert len(painted) == drawn, "a thumb seen before was drawn again"
        # The same cells as Textual's own drawing.
        crop = Region(0, 0, 1, bar.size.height)
        kept = bar.render_lines(crop)
        bar._bars.clear()
        bar._styles_cache.clear()
        assert [list(s) for s in bar.render_lines(crop)] == [list(s) for s in kept]
        assert len(painted) == drawn + 1
        # A hovered bar has colours of its own: drawn again.
        bar.mouse_over = True
        bar._styles_cache.clear()
        assert bar.render_lines(crop) != kept and len(painted) == drawn + 2
