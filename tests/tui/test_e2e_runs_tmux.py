"""End to end: the installed `prime-logs watch OUTPUTS` in a real tmux, on a folder of
runs: it opens on the runs screen, and a run directory that appears under the folder
while it is open shows up in the table; enter opens it."""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runs_fixture import FINISHED, LIVE, write_live, write_outputs
from tests.tui.test_e2e_tmux import pytestmark, screen, start_watch, tmux, wait_until

__all__ = ["pytestmark"]

NEW = "countdown--qwen3-8b--7g8h"


@pytest.fixture
def outputs(tmp_path: Path) -> Iterator[Path]:
    write_outputs(tmp_path / "outputs")
    yield tmp_path / "outputs"
    tmux("kill-server")


def test_a_new_run_appears_in_the_runs_screen(outputs: Path, tmp_path: Path) -> None:
    env = f"HOME={shlex.quote(str(tmp_path / 'home'))}"  # no registry of this machine
    if "PYTHONPATH" in os.environ:
        env += f" PYTHONPATH={shlex.quote(os.environ['PYTHONPATH'])}"
    start_watch(outputs, height=40, env=env)
    text = wait_until(lambda s: LIVE in s and FINISHED in s and "3 runs" in s)
    assert "running" in text and "finished" in text
    assert NEW not in text

    write_live(outputs / NEW, time.time())  # a run starts while the screen is open
    text = wait_until(lambda s: NEW in s and "4 runs" in s)
    top = next(i for i, row in enumerate(text.splitlines()) if NEW in row)
    assert top < next(i for i, row in enumerate(text.splitlines()) if LIVE in row)  # newest

    # The highlight stayed on the run it was on; up, then enter opens the new run.
    tmux("send-keys", "-t", "e2e", "Up")
    tmux("send-keys", "-t", "e2e", "Enter")
    wait_until(lambda s: "runs in" not in s and NEW in s.splitlines()[0])
    tmux("send-keys", "-t", "e2e", "r")
    wait_until(lambda s: "runs in" in s and "4 runs" in s)
    tmux("send-keys", "-t", "e2e", "q")
    wait_until(lambda s: "[prime-logs exited 0]" in s, timeout=10)
    assert "Traceback" not in screen()
