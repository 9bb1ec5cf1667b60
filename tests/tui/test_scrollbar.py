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
        # Going home moves the thumb to the top, and `G` back to the bottom: painted.
        await pilot.press("g")
        await settle(pilot, app)
        assert bar.thumb()[1] == 0 and painted[-1] == bar.thumb()
        top = len(painted)
        await pilot.press("G")
        await settle(pilot, app)
        assert bar.thumb() == painted[-1] != painted[top - 1]


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
