"""The dashboard's memory with many large files open: ``python scripts/bench.py memory``.

Makes a run of ``--files`` log files (orchestrator, inference, launcher, env and
trainer ranks) of ``--size-mb`` each (kept in ``--dir`` for the next run), starts
``prime-logs watch`` on it in a detached 200x50 tmux pane, and reads the viewer's
``VmRSS`` (resident now) and ``VmHWM`` (peak) from ``/proc``, its scanner process's
added, once a second until the
resident size has not moved by more than 1 MB, nor its CPU time by more than 5%,
for ``--quiet`` seconds (every file
indexed, the history built: the viewer idle) or ``--timeout``. Prints one JSON object on the last
line: RSS at the first sample, the settled RSS, the peak, and the seconds to settle.
``--key K`` presses keys once settled (``1`` shows the Trainer pane: 124 files merged)
and measures again. Linux only (``/proc``), needs tmux.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import dashboard_pid, tmux  # noqa: E402  (scripts/ is not a package)


def make_run(root: Path, files: int, size_mb: int) -> list[Path]:
    """``files`` log files of ``size_mb`` each (made once: reused when present)."""
    logs = root / "logs"
    paths = [logs / "orchestrator.log", logs / "inference.stdout", logs / "rl.log"]
    paths += [logs / "env_workers" / "gsm8k.log"]
    paths += [logs / "trainer" / f"rank_{r}.log" for r in range(max(0, files - len(paths)))]
    paths = paths[:files]
    size = size_mb << 20
    if all(p.is_file() and p.stat().st_size >= size for p in paths):
        return paths
    levels = ["DEBUG", "INFO", "INFO", "INFO", "INFO", "WARNING", "SUCCESS"]
    block = "".join(
        f"12:{i // 6000 % 60:02d}:{i // 100 % 60:02d} {levels[i % 7]:>7} [step {i // 50}] "
        f"Generated rollout batch {i} reward=0.{i % 997:03d} seq_len={i % 4000}\n"
        for i in range(20_000)
    ).encode()
    for p in paths:
        p.parent.mkdir(parents=True, exist_ok=True)
        with open(p, "wb") as fh:
            written = 0
            while written < size:
                fh.write(block)
                written += len(block)
    return paths


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the dashboard and its scanner process), the
    children of every thread (Linux lists a child under the thread that started it)."""
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo += [int(c) for c in (task / "children").read_text().split()]
    return pids


def memory_of(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB of the process ``pid`` alone; (0, 0) when it is gone."""
    rss = hwm = 0.0
    with contextlib.suppress(OSError):
        for row in Path(f"/proc/{pid}/status").read_text().splitlines():
            if row.startswith("VmRSS:"):
                rss = int(row.split()[1]) / 1024
            elif row.startswith("VmHWM:"):
                hwm = int(row.split()[1]) / 1024
    return rss, hwm


def memory(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB of ``pid`` and its children, summed (the peak: the sum of
    each one's peak, an upper bound); (0, 0) when the process is gone."""
    both = [memory_of(p) for p in tree(pid)]
    return sum(r for r, _ in both), sum(h for _, h in both)


def cpu_s(pid: int) -> float:
    """CPU seconds of ``pid`` and its children."""
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def settle(pid: int, quiet: float, timeout: float) -> dict[str, float]:
    """Sample once a second until the viewer is idle (under 5% of a core) and its
    resident size has moved less than 1 MB, for ``quiet`` seconds."""
    t0 = time.monotonic()
    first = memory(pid)[0]
    last, cpu, still_since = first, cpu_s(pid), time.monotonic()
    while time.monotonic() - t0 < timeout:
        time.sleep(1.0)
        rss, _ = memory(pid)
        now_cpu = cpu_s(pid)
        busy = now_cpu - cpu > 0.05
        cpu = now_cpu
        if abs(rss - last) > 1.0 or busy:
            last, still_since = rss, time.monotonic()
        elif time.monotonic() - still_since >= quiet:
            break
    rss, hwm = memory(pid)
    each = [round(memory_of(p)[0], 1) for p in tree(pid)]
    return {
        "processes": len(each),
        "rss_each_mb": each,
        "rss_first_mb": round(first, 1),
        "rss_mb": round(rss, 1),
        "peak_mb": round(hwm, 1),
        "settle_s": round(time.monotonic() - t0, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=128)
    parser.add_argument("--size-mb", type=int, default=20)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "prime-logs-mem")
    parser.add_argument("--quiet", type=float, default=5.0, help="seconds of stable RSS")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--key", action="append", default=[], help="keys to press once settled")
    parser.add_argument("--cmd", default=None, help="the viewer; {dir} is the run's folder")
    args = parser.parse_args(argv)
    if shutil.which("tmux") is None:
        print("bench memory: tmux is needed", file=sys.stderr)
        return 2
    root = args.dir / f"{args.files}x{args.size_mb}mb"
    t = time.monotonic()
    paths = make_run(root, args.files, args.size_mb)
    made = round(time.monotonic() - t, 1)
    subprocess.run(["cat", *map(str, paths)], stdout=subprocess.DEVNULL)  # warm the cache
    cmd = args.cmd or (
        f"env PYTHONPATH={shlex.quote(str(REPO))} {shlex.quote(sys.executable)}"
        " -m prime_rl_logs watch {dir}"
    )
    socket = f"bench-mem-{os.getpid()}"
    try:
        tmux(
            socket,
            "new-session",
            "-d",
            "-s",
            "mem",
            "-c",  # the run's folder: ``python -m`` puts the current folder first on sys.path
            str(root),
            "-x",
            "200",
            "-y",
            "50",
            "env TERM=xterm-256color COLUMNS=200 LINES=50 "
            + cmd.replace("{dir}", shlex.quote(str(root))),
        )
        time.sleep(1.0)
        pid = dashboard_pid(socket, "mem")
        if pid is None:
            print("bench memory: the viewer did not start", file=sys.stderr)
            return 1
        result: dict[str, object] = {
            "scenario": "memory",
            "cmd": cmd,
            "files": len(paths),
            "size_mb": args.size_mb,
            "bytes_gb": round(sum(p.stat().st_size for p in paths) / 2**30, 2),
            "made_s": made,
            **settle(pid, args.quiet, args.timeout),
        }
        for key in args.key:
            tmux(socket, "send-keys", "-t", "mem", key)
            after = settle(pid, args.quiet, args.timeout)
            result[f"after_{key}"] = after
        print(json.dumps(result))
        return 0
    finally:
        tmux(socket, "kill-server")


if __name__ == "__main__":
    raise SystemExit(main())
