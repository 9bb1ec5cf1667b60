"""One served browser tab beside `prime-logs watch` in a terminal: CPU on the server.

    python scripts/bench.py serve [--seconds 20] [--rounds 2] [--rate 500]

A 64-file run (launcher, orchestrator, inference, 59 trainer ranks, 2 env workers)
with a writer appending ``--rate`` lines/s spread over all its files (0: idle). Each
round measures, one after the other, the CPU seconds burnt over ``--seconds``:

- **terminal**: ``prime-logs watch RUN`` in a detached tmux pane (its own tmux
  server), the size the browser's terminal gets;
- **served**: ``prime-logs serve RUN`` with one Chromium tab open on it (Playwright,
  /usr/bin/chromium): the tab's app process plus the server that relays its output.
  The browser's own CPU is printed apart: it runs on the laptop, not the cluster.

CPU is read from /proc (utime + stime) after a settling time, so start-up is not
counted. Rounds alternate so the load of a shared machine hits both alike.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fixtures import log_line, processes_naming  # noqa: E402
from tests.web.test_serve_browser import CATCH_TERMINAL, CHROMIUM, CHROMIUM_FLAGS  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
SETTLE_S = 6.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def make_run(root: Path) -> list[Path]:
    logs = root / "logs"
    files = [logs / "rl.log", logs / "orchestrator.log", logs / "inference.stdout"]
    files += [logs / "trainer" / f"rank_{r}.log" for r in range(59)]
    files += [logs / "env_workers" / f"{env}.log" for env in ("gsm8k", "reverse_text")]
    for n, path in enumerate(files):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(
            b"".join(log_line(36000 + i, "INFO", f"line {i} of {n}") for i in range(200))
        )
    return files


def writer(files: list[Path], rate: int, stop: threading.Event) -> None:
    if rate <= 0:
        return
    n = 0
    start = time.monotonic()
    while not stop.is_set():
        path = files[n % len(files)]
        with path.open("ab") as f:
            f.write(log_line(40000 + n // 10, "INFO", f"Step {n} | Loss: 0.{n % 997:04d}"))
        n += 1
        ahead = n / rate - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)


def terminal(run: Path, size: tuple[int, int], seconds: float) -> float:
    sock = f"bench-serve-{os.getpid()}"
    cmd = f"exec {sys.executable} -m prime_rl_logs watch {run}"
    cols, rows = size
    subprocess.run(
        ["tmux", "-L", sock, "new-session", "-d", "-x", str(cols), "-y", str(rows), cmd],
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        pid = int(
            subprocess.run(
                ["tmux", "-L", sock, "display", "-p", "#{pane_pid}"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        time.sleep(SETTLE_S)
        before = cpu_seconds(pid)
        time.sleep(seconds)
        return cpu_seconds(pid) - before
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], check=False)


def served(run: Path, seconds: float) -> tuple[float, float, tuple[int, int]]:
    from playwright.sync_api import sync_playwright

    server = subprocess.Popen(
        [sys.executable, "-m", "prime_rl_logs", "serve", str(run), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert server.stdout is not None
    url = ""
    for line in server.stdout:
        match = re.search(r" at (http://\S+)$", line.strip())
        if match:
            url = match.group(1)
            break
    try:
        with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
            context = playwright.chromium.launch_persistent_context(
                profile,
                executable_path=str(CHROMIUM),
                args=CHROMIUM_FLAGS,
                headless=True,
                viewport={"width": 1920, "height": 1000},
            )
            context.add_init_script(CATCH_TERMINAL)
            page = context.new_page()
            page.goto(url)
            page.wait_for_timeout(SETTLE_S * 1000)
            size = page.evaluate(
                "[window.__prime_logs_terminal.cols, window.__prime_logs_terminal.rows]"
            )
            (app,) = processes_naming("prime_rl_logs watch", str(run))
            pids = [app, server.pid]
            before = [cpu_seconds(p) for p in pids]
            page.wait_for_timeout(seconds * 1000)
            after = [cpu_seconds(p) for p in pids]
            context.close()
        return after[0] - before[0], after[1] - before[1], (size[0], size[1])
    finally:
        server.send_signal(2)
        server.wait(timeout=30)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rate", type=int, default=500, help="lines/s over all files (0: idle)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        files = make_run(run)
        stop = threading.Event()
        threading.Thread(target=writer, args=(files, args.rate, stop), daemon=True).start()
        size = (200, 50)
        rows = []
        try:
            for round_ in range(args.rounds):
                app, server, size = served(run, args.seconds)
                term = terminal(run, size, args.seconds)
                rows.append((term, app, server))
                print(
                    f"round {round_ + 1}: terminal {term:.2f} s; served tab {app + server:.2f} s "
                    f"(app {app:.2f} + server {server:.2f}) per {args.seconds:.0f} s, "
                    f"{size[0]}x{size[1]} cells",
                    flush=True,
                )
        finally:
            stop.set()
    term = sorted(r[0] for r in rows)[len(rows) // 2]
    tab = sorted(r[1] + r[2] for r in rows)[len(rows) // 2]
    load = f"{len(files)} files, {args.rate} lines/s"
    print(f"{load}: median terminal {term:.2f} s, served {tab:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
