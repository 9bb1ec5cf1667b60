"""A following pane's scrollbar repaints only when its thumb moves (issue 12).

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
