"""`prime-logs serve` in a real browser: Playwright driving the system's Chromium.

The page draws the dashboard with xterm.js on a canvas, so "visible in the page" is
read from the terminal the page holds: an init script catches the page's xterm
`Terminal` when the page creates it, and `screen_text` reads its visible rows, the
cells the canvas draws. The test starts ``prime-logs serve`` on a live fixture run,
opens the page (which starts the app), waits for the orchestrator's lines, presses
``1`` for the trainer, appends a line to a file and finds it, copies that record
with ``c`` to the browser's clipboard and saves it with ``S`` as a download, opens a
second tab that works too, takes the README's screenshot, then stops the server with
SIGINT and finds no app process left.

Skipped only when Chromium or Playwright is missing (``.ci/run`` installs both).
Set ``PRIME_LOGS_SCREENSHOTS=1`` to write the screenshot to ``screenshots/serve.png``.
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures import (
    FixtureRun,
    append,
    log_line,
    processes_naming,
    start_serve,
    wait_until,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without network, Chromium otherwise waits on refused background connections.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
APP = "prime_rl_logs watch"

# Catch the page's xterm Terminal when textual-serve's script assigns it to
# `this.terminal`, and read the rows on screen.
CATCH_TERMINAL = """
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "terminal", {
      value, writable: true, configurable: true, enumerable: true,
    });
    if (value && value.buffer && typeof value.open === "function") {
      window.__prime_logs_terminal = value;
    }
  },
});
window.__prime_logs_screen = () => {
  const term = window.__prime_logs_terminal;
  if (!term) return "";
  const buffer = term.buffer.active;
  const rows = [];
  for (let y = 0; y < term.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    rows.push(line ? line.translateToString(true) : "");
  }
  return rows.join("\\n");
};
"""

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed (pip install -e '.[test]')"
)
if not CHROMIUM.exists():
    pytest.skip(
        f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)",
        allow_module_level=True,
    )


def screen_text(page: Any) -> str:
    text: str = page.evaluate("window.__prime_logs_screen()")
    return text


def wait_for_text(page: Any, text: str) -> None:
    try:
        wait_until(lambda: text in screen_text(page), what=repr(text))
    except AssertionError:
        raise AssertionError(f"{text!r} not on the page; it shows:\n{screen_text(page)}") from None


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """A fresh Chromium profile with the terminal catcher, clipboard allowed."""
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_FLAGS,
            headless=True,
            viewport={"width": 1400, "height": 800},
            permissions=["clipboard-read", "clipboard-write"],
        )
        context.add_init_script(CATCH_TERMINAL)
        try:
            yield context
        finally:
            context.close()


def open_tab(browser: Any, url: str) -> Any:
    """A new tab on the dashboard: loading the page starts its app; the click gives
    the terminal the keyboard."""
    page = browser.new_page()
    page.goto(url)
    wait_until(lambda: page.evaluate("!!window.__prime_logs_terminal"), what="the terminal")
    page.click(".xterm-screen")
    return page


def test_the_dashboard_in_a_browser(library_run: FixtureRun, browser: Any, tmp_path: Path) -> None:
    run = str(library_run.output_dir)
    served = start_serve(library_run.output_dir)
    try:
        page = open_tab(browser, served.url)
        # The default pane is the orchestrator's.
        for message in library_run.messages(component="orchestrator"):
            wait_for_text(page, message[:60])
        page.keyboard.press("1")
        wait_for_text(page, "Starting trainer on rank 0")

        # A step line written while the page is open (14:04:10, after the last record).
        fresh = "Step 3 | Time: 7.91s | Loss: 0.0001 | Entropy: 0.5011 | Grad. Norm: 0.1990"
        append(library_run.logs / "trainer" / "rank_0.log", log_line(50650, "SUCCESS", fresh))
        wait_for_text(page, fresh)

        # `c` copies the record under the cursor (the newest) to the browser's clipboard.
        page.keyboard.press("c")
        wait_until(
            lambda: fresh in page.evaluate("navigator.clipboard.readText()"), what="the clipboard"
        )

        # `S` saves it: textual-serve opens the file's download URL in a new tab, and
        # Playwright reports the download on the page that opened it.
        downloads: list[Any] = []
        page.on("download", lambda download: downloads.append(download))
        page.keyboard.press("S")

        def downloaded() -> bool:
            page.wait_for_timeout(50)  # Playwright hands events over during its calls
            return bool(downloads)

        wait_until(downloaded, what="the download")
        saved = Path(downloads[0].path()).read_text(encoding="utf-8")
        assert saved.endswith(fresh + "\n")
        assert downloads[0].suggested_filename.startswith("prime-logs-record-")

        second = open_tab(browser, served.url)
        wait_for_text(second, "Inference server slow to respond")
        second.keyboard.press("1")
        wait_for_text(second, fresh)
        page.keyboard.press("2")  # the first tab still answers, on its own
        wait_for_text(page, "Inference server slow to respond")
        assert "Inference server slow" not in screen_text(second)
        assert len(processes_naming(APP, run)) == 2  # one app per tab

        shot = tmp_path / "serve.png"
        page.keyboard.press("1")
        wait_for_text(page, fresh)
        page.screenshot(path=str(shot))
        if os.environ.get("PRIME_LOGS_SCREENSHOTS"):
            shutil.copy(shot, REPO / "screenshots" / "serve.png")
    finally:
        served.process.send_signal(signal.SIGINT)  # Ctrl+C, to the server alone
        code = served.process.wait(timeout=30)
    assert code == 0
    assert processes_naming(APP, run) == []
