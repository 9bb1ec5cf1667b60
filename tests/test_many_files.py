"""Issue 15 item 6: thousands of files under a low descriptor limit.

Each case runs in a subprocess that lowers ``RLIMIT_NOFILE`` to 256 first (the limit
is the process's), then reads a run of 5,000 trainer files: `tail` prints every
file's line, and the dashboard starts, answers keys, and ``q`` quits it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.fixtures import loguru_line

FILES = 5000
LIMIT = 256
ROOT = Path(__file__).resolve().parent.parent

PRELUDE = """
import resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, ({limit}, {limit}))
"""


@pytest.fixture(scope="module")
def many_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("many")
    trainer = out / "logs" / "trainer"
    trainer.mkdir(parents=True)
    for i in range(FILES):
        (trainer / f"rank_{i}.log").write_text(
            loguru_line("10:00:00", "INFO", f"hello from {i}") + "\n"
        )
    return out


def run_limited(body: str, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    code = PRELUDE.format(limit=LIMIT) + textwrap.dedent(body)
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


def test_tail_shows_every_file_under_a_low_descriptor_limit(many_files: Path) -> None:
    proc = run_limited(
        """
        from prime_rl_logs.cli import main
        sys.exit(main(["tail", sys.argv[1]]))
        """,
        str(many_files),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    shown = {line.rsplit(" ", 1)[-1] for line in proc.stdout.splitlines() if "hello from" in line}
    assert shown == {str(i) for i in range(FILES)}
    assert proc.stderr == ""


def test_dashboard_answers_keys_under_a_low_descriptor_limit(many_files: Path) -> None:
    proc = run_limited(
        """
        import asyncio
        from pathlib import Path
        from prime_rl_logs.tui.app import PrimeLogsApp

        async def main() -> None:
            app = PrimeLogsApp(Path(sys.argv[1]), pane="trainer")
            async with app.run_test(size=(160, 40)) as pilot:
                for _ in range(200):
                    await pilot.pause(0.05)
                    view = app.active_pane.log_view.view
                    if view is not None and len(view) >= 40:
                        break
                lv = app.active_pane.log_view
                print("rows", len(lv.view or []))
                print("screen", any("hello from" in lv.render_line(y).text for y in range(30)))
                await pilot.press("g")
                print("home", not lv.following)
                await pilot.press("q")
            print("quit", app.return_code)

        asyncio.run(main())
        """,
        str(many_files),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout.splitlines()
    assert "screen True" in out and "home True" in out and "quit 0" in out, proc.stdout
