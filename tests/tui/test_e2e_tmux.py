"""End to end: the installed `prime-logs watch` in a real tmux, on a run being written.

Lines appended to the live run must show up in `capture-pane`; pane keys and the
rank-0 toggle must change what is on screen.
"""

from __future__ import annotations

import itertools
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

PRIME_LOGS = Path(sys.executable).with_name("prime-logs")

# Every start gets its own tmux server. Reusing one socket name raced: `kill-server` at
# the end of one test returns before the server has gone, and a `new-session` on the
# same socket right after could join the dying server and vanish with it (CI, stop 17).
_starts = itertools.count()
_socket = f"prime-logs-e2e-{os.getpid()}-start"


def tmux(*args: str) -> str:
    out = subprocess.run(["tmux", "-L", _socket, *args], capture_output=True, text=True)
    return out.stdout


def screen() -> str:
    return tmux("capture-pane", "-p", "-t", "e2e")


def wait_until(check: Callable[[str], bool], timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = screen()
        if check(text):
            return text
        time.sleep(0.05)
    alive = subprocess.run(["tmux", "-L", _socket, "has-session", "-t", "e2e"], capture_output=True)
    state = "session alive" if alive.returncode == 0 else "session gone"
    raise AssertionError(f"screen never matched ({state}); last screen:\n{text}")


def start_watch(target: Path, *, height: int, env: str = "") -> None:
    """`prime-logs watch TARGET` in a detached 200-column tmux session named e2e.

    COLUMNS/LINES as tuibench sets them: the app may start before tmux sizes the pane.
    The shell stays after the app exits and prints its exit status, so a crash leaves
    its traceback on the screen that a failing wait reports.
    """
    global _socket
    assert PRIME_LOGS.exists(), "prime-logs is not installed in this environment"
    _socket = f"prime-logs-e2e-{os.getpid()}-{next(_starts)}"
    size = f"COLUMNS=200 LINES={height}"
    watch = f"env TERM=xterm-256color {size} {env} {PRIME_LOGS} watch {shlex.quote(str(target))}"
    command = f'{watch}; echo "[prime-logs exited $?]"; sleep 600'
    tmux("new-session", "-d", "-s", "e2e", "-x", "200", "-y", str(height), command)


def line(level: str, message: str) -> str:
    colour = {"INFO": "", "SUCCESS": "\x1b[32m\x1b[1m", "WARNING": "\x1b[33m\x1b[1m"}[level]
    stamp = time.strftime("%H:%M:%S")
    return f"\x1b[2m{stamp}\x1b[0m {colour}{level:>7}\x1b[0m {colour}{message}\x1b[0m\n"


def append(path: Path, text: str) -> None:
    with open(path, "a") as fh:
        fh.write(text)


@pytest.fixture
def live_run(tmp_path: Path) -> Iterator[Path]:
    logs = tmp_path / "logs"
    (logs / "trainer").mkdir(parents=True)
    append(logs / "orchestrator.log", line("INFO", "orchestrator starting"))
    for rank in range(2):
        append(logs / "trainer" / f"rank_{rank}.log", line("INFO", f"trainer rank {rank} up"))
    yield tmp_path
    tmux("kill-server")


def test_watch_shows_appended_lines_and_switches_panes(live_run: Path) -> None:
    logs = live_run / "logs"
    start_watch(live_run, height=50)
    wait_until(lambda s: "orchestrator starting" in s)

    # Live append to the file on screen.
    append(logs / "orchestrator.log", line("SUCCESS", "Step 1 | Time: 2.00s | Reward: 0.4100"))
    wait_until(lambda s: "Reward: 0.4100" in s)

    # A file created after start appears in the sidebar and in its pane.
    append(logs / "trainer" / "rank_2.log", line("INFO", "late rank joins"))
    tmux("send-keys", "-t", "e2e", "1")
    text = wait_until(lambda s: "late rank joins" in s and "trainer rank 1 up" in s)
    assert "rank 2" in text  # sidebar row

    # Rank-0 toggle: only rank 0's lines remain.
    tmux("send-keys", "-t", "e2e", "0")
    text = wait_until(lambda s: "trainer rank 1 up" not in s)
    assert "trainer rank 0 up" in text
    assert "late rank joins" not in text
    tmux("send-keys", "-t", "e2e", "0")
    wait_until(lambda s: "trainer rank 1 up" in s)

    # Back to the orchestrator pane, which keeps following.
    tmux("send-keys", "-t", "e2e", "2")
    wait_until(lambda s: "Reward: 0.4100" in s)
    append(logs / "orchestrator.log", line("WARNING", "rollout buffer is full"))
    wait_until(lambda s: "rollout buffer is full" in s)

    tmux("send-keys", "-t", "e2e", "q")
    wait_until(lambda s: "[prime-logs exited 0]" in s, timeout=10)


def test_128_files_switching_panes_while_written_loses_no_marker(tmp_path: Path) -> None:
    """Issue 12: 128 rank files with history, written to all the time while the panes
    are switched; every marker line written meanwhile is on screen at the end (the
    Trainer pane at level WARNING shows them alone)."""
    import threading

    logs = tmp_path / "logs"
    (logs / "trainer").mkdir(parents=True)
    append(logs / "orchestrator.log", line("INFO", "orchestrator starting"))
    ranks = [logs / "trainer" / f"rank_{r}.log" for r in range(128)]
    history = "".join(line("INFO", f"history line {i}") for i in range(200))
    for path in ranks:
        append(path, history)
    markers = [f"E2E-MARK-{i:03d}" for i in range(30)]
    stop = threading.Event()

    def write() -> None:
        """Filler at INFO into every file, a marker at WARNING into one file in turn."""
        n = 0
        for i, marker in enumerate(markers):
            for _ in range(5):
                for path in ranks[n % 8 :: 8]:  # 16 files a round
                    append(path, line("INFO", f"filler {n}"))
                n += 1
                time.sleep(0.01)
            append(ranks[(i * 37) % len(ranks)], line("WARNING", marker))
            if stop.is_set():
                return

    start_watch(tmp_path, height=50)
    try:
        wait_until(lambda s: "orchestrator starting" in s and "Trainer  128" in s, timeout=60)
        writer = threading.Thread(target=write)
        writer.start()
        keys = itertools.cycle(["2", "1", "6", "1", "3", "1"])
        while writer.is_alive():
            tmux("send-keys", "-t", "e2e", next(keys))
            time.sleep(0.15)
        writer.join()
        tmux("send-keys", "-t", "e2e", "1")
        tmux("send-keys", "-t", "e2e", "w")
        text = wait_until(lambda s: all(m in s for m in markers), timeout=60)
        assert "filler" not in text and "history line" not in text
        tmux("send-keys", "-t", "e2e", "q")
        wait_until(lambda s: "[prime-logs exited 0]" in s, timeout=10)
    finally:
        stop.set()
        tmux("kill-server")
