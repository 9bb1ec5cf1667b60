"""The first frame of a followed pane already shows the end of its file (issue 12,
start-up): no frame draws the top of the file before jumping to its end."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.geometry import Region
from textual.strip import Strip

from prime_rl_logs.tui.app import PrimeLogsApp
from prime_rl_logs.tui.log_view import LogView
from tests.fixtures import loguru_line, settle

LINES = 2000


def _write_run(root: Path) -> list[str]:
    logs = root / "logs"
    logs.mkdir(parents=True)
    messages = [f"message {i:05d}" for i in range(LINES)]
    lines = [loguru_line(f"10:00:{i % 60:02d}", "INFO", m) for i, m in enumerate(messages)]
    (logs / "orchestrator.log").write_text("".join(line + "\n" for line in lines))
    return messages


async def test_the_first_frame_of_a_followed_pane_shows_the_last_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    messages = _write_run(tmp_path / "run")
    frames: list[list[str]] = []  # the text of each frame a log view with rows drew
    render_lines = LogView.render_lines

    def recording(self: LogView, crop: Region) -> list[Strip]:
        strips = render_lines(self, crop)
        if self.view is not None and len(self.view):
            frames.append([s.text for s in strips])
        return strips

    monkeypatch.setattr(LogView, "render_lines", recording)
    app = PrimeLogsApp(tmp_path / "run")
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, app)
        assert app.active_pane.log_view.following
    assert frames, "no frame drew the pane's rows"
    first = "\n".join(frames[0])
    assert messages[-1] in first
    assert messages[0] not in first
    # ...and so does every frame after it.
    assert all(messages[-1] in "\n".join(frame) for frame in frames)
