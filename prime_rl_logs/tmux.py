"""The tmux fallback behind ``prime-logs tmux OUTPUT_DIR``, with the dashboard one window away.

Runs the ``tmux.sh`` shipped beside this module (the same file as the repository's
``scripts/tmux.sh``) detached, which makes the session with the Trainer, Orchestrator,
Inference and Env workers panes or finds the existing one; adds a ``watch`` window
running ``prime-logs watch OUTPUT_DIR`` unless the session has one; then attaches when
stdin and stdout are a terminal, and otherwise says how to attach. A session of that
name that already follows another folder is left alone and named: the command says
which folder it follows and exits 2, rather than claim to follow OUTPUT_DIR.

``PRIME_LOGS_TMUX_SOCKET`` selects a separate tmux server, as for the script.
`open_session` does all of it and raises `prime_rl_logs.errors.UsageError` when tmux
or bash is missing; the command line is `prime_rl_logs.commands.tmux`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from prime_rl_logs.errors import UsageError

SCRIPT = Path(__file__).with_name("tmux.sh")
DEFAULT_SESSION = "prime-rl"
WATCH_WINDOW = "watch"
SOCKET_ENV = "PRIME_LOGS_TMUX_SOCKET"


def tmux_command() -> list[str]:
    """``tmux`` with the server ``PRIME_LOGS_TMUX_SOCKET`` names (-L name, -S path)."""
    socket = os.environ.get(SOCKET_ENV, "")
    if not socket:
        return ["tmux"]
    return ["tmux", "-S" if "/" in socket else "-L", socket]


def session_name(name: str | None) -> str:
    """The name tmux will use: it turns '.' and ':' into '_'."""
    name = name or DEFAULT_SESSION
    return name.replace(".", "_").replace(":", "_")


def _tmux(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*tmux_command(), *args], capture_output=True, text=True, stdin=subprocess.DEVNULL
    )


def _in_terminal() -> bool:
    try:
        return os.isatty(sys.stdin.fileno()) and os.isatty(sys.stdout.fileno())
    except (OSError, ValueError):  # replaced streams (pytest's capture) have no fd
        return False


def _following(session: str) -> str | None:
    """The folder an existing session made by tmux.sh follows (None: no such session)."""
    shown = _tmux("show-options", "-qv", "-t", f"={session}:", "@prime_logs_output_dir")
    if shown.returncode != 0:
        return None
    return shown.stdout.strip() or None


def _same_folder(a: str | Path, b: str | Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return Path(a) == Path(b)


def open_session(output_dir: Path, session: str | None = None) -> int:
    """Make or find the tmux session following ``output_dir``, then attach or say how.

    Args:
        output_dir: the run's output folder.
        session: the tmux session name (None: ``prime-rl``).

    Returns:
        The exit code: tmux.sh's when it fails, then attach's (0 when not attaching).

    Raises:
        UsageError: tmux or bash is not installed, the session already follows
            another folder, or the watch window cannot be added.
    """
    if shutil.which("tmux") is None:
        raise UsageError("tmux is not installed (install it, or use `prime-logs watch`)")
    bash = shutil.which("bash")
    if bash is None:
        raise UsageError("bash is not installed; tmux.sh needs it")
    session = session_name(session)
    output_dir = Path(output_dir).absolute()
    following = _following(session)
    if following is not None and not _same_folder(following, output_dir):
        raise UsageError(
            f"tmux session '{session}' already follows {following}, not {output_dir} "
            "(use -s NAME for another session, or close that one first)"
        )

    made = subprocess.run(
        [bash, str(SCRIPT), "-d", "-s", session, "-o", str(output_dir)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,  # its "attach with" line; ours follows
    )
    if made.returncode != 0:
        return made.returncode  # the script said why on stderr

    target = f"={session}:"
    windows = _tmux("list-windows", "-t", target, "-F", "#{window_name}").stdout.split()
    if WATCH_WINDOW not in windows:
        added = _tmux(
            "new-window", "-d", "-t", target, "-n", WATCH_WINDOW, "-P", "-F", "#{pane_id}",
            sys.executable, "-m", "prime_rl_logs", "watch", str(output_dir),
        )  # fmt: skip
        if added.returncode != 0:
            raise UsageError(f"could not add the watch window: {added.stderr.strip()}")
        # A dashboard that crashes stays on screen with its message; `q` closes it.
        _tmux("set-option", "-p", "-t", added.stdout.strip(), "remain-on-exit", "failed")

    attach_hint = " ".join([*tmux_command(), "attach", "-t", session])
    if not _in_terminal():
        print(
            f"prime-logs: tmux session '{session}' follows {output_dir}; attach with: {attach_hint}"
        )
        return 0
    if os.environ.get("TMUX") and not os.environ.get(SOCKET_ENV):
        return subprocess.run(["tmux", "switch-client", "-t", f"={session}"]).returncode
    env = {**os.environ, "TMUX": ""}  # attaching from inside another server nests
    return subprocess.run(
        [*tmux_command(), "attach-session", "-t", f"={session}"], env=env
    ).returncode
