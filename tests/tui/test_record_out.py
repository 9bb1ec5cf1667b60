"""A record leaves the dashboard: `c` copies it through OSC 52 (the terminal's
clipboard; the browser's under ``prime-logs serve``), `S` saves it to a file
(`App.deliver_text`: the downloads folder in a terminal, the current folder when
there is none; a download in the browser, tests/web)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from prime_rl_logs.tui.app import PrimeLogsApp
from tests.fixtures import FixtureRun, settle, wait_until

SIZE = (160, 40)


async def test_copy_writes_osc_52(library_run: FixtureRun) -> None:
    app = PrimeLogsApp(library_run.output_dir, pane="trainer")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        written: list[str] = []
        assert app._driver is not None
        app._driver.write = written.append  # type: ignore[method-assign]
        await pilot.press("c")
        (osc,) = [w for w in written if w.startswith("\x1b]52;c;")]
        assert base64.b64decode(osc[len("\x1b]52;c;") : -1]).decode() == app.clipboard


@pytest.mark.parametrize("downloads", [True, False])
async def test_save_writes_the_selected_record_to_a_file(
    library_run: FixtureRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, downloads: bool
) -> None:
    folder = tmp_path / "Downloads"
    if downloads:
        folder.mkdir()
    here = tmp_path / "cwd"
    here.mkdir()
    monkeypatch.chdir(here)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(folder))
    app = PrimeLogsApp(library_run.output_dir, pane="trainer")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("right_square_bracket", "left_square_bracket")  # the error
        await pilot.press("S")
        target = folder if downloads else here
        wait_until(lambda: list(target.glob("prime-logs-record-*.log")), what="the file")
        (saved,) = target.glob("prime-logs-record-*.log")
        text = saved.read_text()
        assert text.startswith("14:04:03   ERROR Failed to load checkpoint shard\n")
        assert "FileNotFoundError" in text
        await pilot.pause()
        await pilot.pause()
        assert any(f"record saved to {saved}" in str(n.message) for n in app._notifications)
