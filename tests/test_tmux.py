"""The tmux fallback in a real tmux server on a private socket.

`scripts/tmux.sh` and `prime-logs tmux` must make one session with the four titled
panes, each showing its component's lines, in both layouts; re-running must not make
a second session; a missing tmux is one line on stderr and exit code 2.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from prime_rl_logs import tmux as tmux_cmd
from prime_rl_logs.cli import main
from tests.fixtures import STALE_MESSAGE, FixtureRun, write_fixture_run

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "tmux.sh"
BASH = shutil.which("bash") or "/bin/bash"
TITLES = ["Trainer", "Orchestrator", "Inference", "Env workers"]

needs_tmux = pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)"
)
_sockets = itertools.count()


class Server:
    """A private tmux server (``tmux -L``) the script is pointed at through the env."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.name, *args], capture_output=True, text=True)
        return done.stdout

    def sessions(self) -> list[str]:
        return self("list-sessions", "-F", "#{session_name}").split()

    def panes(self, session: str) -> list[str]:
        """Titles of the logs window's panes, in pane order."""
        out = self("list-panes", "-t", f"={session}:logs", "-F", "#{pane_title}")
        return out.splitlines()

    def screen(self, session: str, index: int) -> str:
        return self("capture-pane", "-p", "-J", "-S", "-", "-t", f"={session}:logs.{index}")

    def wait_for_screen(self, session: str, index: int, check: Callable[[str], bool]) -> str:
        """Poll until the pane shows what `check` wants (its tail -F needs a moment)."""
        deadline = time.monotonic() + 15
        text = ""
        while time.monotonic() < deadline:
            text = self.screen(session, index)
            if check(text):
                return text
            time.sleep(0.05)
        raise AssertionError(f"pane {index} never matched; it shows:\n{text}")


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    name = f"test-{os.getpid()}-{next(_sockets)}"
    monkeypatch.setenv("PRIME_LOGS_TMUX_SOCKET", name)
    monkeypatch.setenv("PRIME_LOGS_TMUX_RESCAN", "0.2")
    monkeypatch.delenv("TMUX", raising=False)
    srv = Server(name)
    yield srv
    socket = srv("display-message", "-p", "#{socket_path}").strip()
    srv("kill-server")
    if socket:
        Path(socket).unlink(missing_ok=True)  # tmux leaves the file behind


def run_script(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BASH, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=env,
        timeout=60,
    )


def contains_all(*needles: str) -> Callable[[str], bool]:
    return lambda text: all(n in text for n in needles)


def test_script_is_the_shipped_one() -> None:
    """One copy: scripts/tmux.sh is a relative symlink into the package."""
    assert SCRIPT.is_symlink()
    assert os.readlink(SCRIPT) == "../prime_rl_logs/tmux.sh"
    assert SCRIPT.resolve() == tmux_cmd.SCRIPT.resolve()


# What each pane (Trainer, Orchestrator, Inference, Env workers) must show.
EXPECTED = {
    0: ("Starting trainer on rank 0", "Step 1 |    8.1s | Loss 0.0004", "FileNotFoundError"),
    1: ("Step 2 | Time: 12.10s | Reward: 0.5530", "╰─ gsm8k | Ratio 50.0% | Reward 0.6120"),
    2: ("Avg prompt throughput: 412.3 tokens/s", '"POST /v1/chat/completions HTTP/1.1" 200'),
    3: ("Loaded 7473 examples", "Sample 12 exceeded max tokens"),
}


@needs_tmux
def test_script_makes_titled_panes_following_each_component(
    server: Server, fixture_run: FixtureRun
) -> None:
    done = run_script("-s", "run", "-o", str(fixture_run.output_dir))
    assert done.returncode == 0, done.stderr
    assert "attach with:" in done.stdout
    assert server.sessions() == ["run"]
    assert server.panes("run") == TITLES
    for index, needles in EXPECTED.items():
        text = server.wait_for_screen("run", index, contains_all(*needles))
        # Colour codes are rendered by tmux, not shown as text.
        assert "[0m" not in text
    trainer = server.screen("run", 0)
    if fixture_run.layout == "library":
        assert "r1     14:04:03   ERROR Failed to load checkpoint shard" in trainer
    else:
        assert "n0     [default1]:14:04:03   ERROR Failed to load checkpoint shard" in trainer
        envs = server.screen("run", 3)
        assert "reverse_text:eval 14:04:05 WARNING Sample 12" in envs
        # Only the current attempt, read through logs/latest.
        assert STALE_MESSAGE not in server.screen("run", 1)


@needs_tmux
def test_pane_titles_are_shown_in_the_border(server: Server, library_run: FixtureRun) -> None:
    run_script("-s", "run", "-o", str(library_run.output_dir))
    assert server("show-options", "-w", "-v", "-t", "=run:logs", "pane-border-status") == "top\n"


@needs_tmux
def test_rerunning_finds_the_session_instead_of_making_another(
    server: Server, library_run: FixtureRun
) -> None:
    first = run_script("-s", "run", "-o", str(library_run.output_dir))
    again = run_script("-s", "run", "-o", str(library_run.output_dir))
    assert first.returncode == again.returncode == 0
    assert "already exists" in again.stdout
    assert server.sessions() == ["run"]
    assert server.panes("run") == TITLES


@needs_tmux
def test_rerunning_on_another_run_warns(server: Server, tmp_path: Path) -> None:
    a = write_fixture_run(tmp_path / "a")
    b = write_fixture_run(tmp_path / "b")
    run_script("-s", "run", "-o", str(a.output_dir))
    again = run_script("-s", "run", "-o", str(b.output_dir))
    assert again.returncode == 0
    assert f"follows {a.output_dir}" in again.stderr
    assert server.sessions() == ["run"]


@needs_tmux
def test_panes_wait_for_a_run_and_pick_up_files_created_later(
    server: Server, tmp_path: Path
) -> None:
    out = tmp_path / "not-yet"
    done = run_script("-s", "run", "-o", str(out))
    assert done.returncode == 0, done.stderr
    server.wait_for_screen("run", 0, contains_all("waiting for trainer files"))
    run = write_fixture_run(out)
    server.wait_for_screen(
        "run", 0, contains_all("Starting trainer on rank 0", "FileNotFoundError")
    )
    server.wait_for_screen("run", 3, contains_all("Loaded 7473 examples"))
    # A rank that starts later still gets followed, from its first line.
    (run.logs / "trainer" / "rank_7.log").write_text("rank seven says hello\n")
    server.wait_for_screen("run", 0, contains_all("r7     rank seven says hello"))


@needs_tmux
def test_latest_swap_follows_the_new_attempt(server: Server, latest_run: FixtureRun) -> None:
    run_script("-s", "run", "-o", str(latest_run.output_dir))
    server.wait_for_screen("run", 1, contains_all("Step 2 | Time: 12.10s"))
    attempt = latest_run.logs / "attempt_2"
    attempt.mkdir()
    (attempt / "orchestrator.log").write_text("resumed in attempt 2\n")
    tmp_link = latest_run.logs / "latest.new"
    tmp_link.symlink_to("attempt_2")
    tmp_link.replace(latest_run.logs / "latest")
    server.wait_for_screen(
        "run", 1, contains_all("==> logs/latest -> attempt_2 <==", "resumed in attempt 2")
    )


def test_script_without_tmux_says_so_in_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    done = run_script("-o", str(tmp_path), env={"PATH": str(empty), "HOME": str(tmp_path)})
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1
    assert "tmux is not installed" in lines[0]


def test_script_rejects_unknown_arguments(tmp_path: Path) -> None:
    done = run_script("--bogus")
    assert done.returncode == 2
    assert "unknown argument" in done.stderr
    assert run_script("-h").returncode == 0


# ---------------------------------------------------------------------------
# prime-logs tmux


def test_command_without_tmux_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert main(["tmux", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert "tmux is not installed" in captured.err


@needs_tmux
def test_command_adds_a_watch_window_once(
    server: Server, library_run: FixtureRun, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(library_run.output_dir)
    assert main(["tmux", out, "-s", "run"]) == 0
    assert "attach with: tmux -L" in capsys.readouterr().out
    assert main(["tmux", out, "-s", "run"]) == 0
    assert server.sessions() == ["run"]
    windows = server("list-windows", "-t", "=run", "-F", "#{window_name}").split()
    assert windows == ["logs", "watch"]
    started = server("list-panes", "-t", "=run:watch", "-F", "#{pane_start_command}")
    assert f"-m prime_rl_logs watch {out}" in started
    assert sys.executable in started
    assert server.panes("run") == TITLES
    server.wait_for_screen("run", 1, contains_all("Step 2 | Time: 12.10s"))


@needs_tmux
def test_command_default_session_name(server: Server, library_run: FixtureRun) -> None:
    assert main(["tmux", str(library_run.output_dir)]) == 0
    assert server.sessions() == [tmux_cmd.DEFAULT_SESSION]


@needs_tmux
def test_command_on_a_session_that_follows_another_run_says_so_and_fails(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = write_fixture_run(tmp_path / "a")
    b = write_fixture_run(tmp_path / "b")
    assert main(["tmux", str(a.output_dir), "-s", "run"]) == 0
    capsys.readouterr()
    assert main(["tmux", str(b.output_dir), "-s", "run"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert f"already follows {a.output_dir}, not {b.output_dir}" in err
    assert server.sessions() == ["run"]
    following = server("show-options", "-qv", "-t", "=run:", "@prime_logs_output_dir")
    assert following.strip() == str(a.output_dir)
    # The same run again is fine.
    assert main(["tmux", str(a.output_dir), "-s", "run"]) == 0
