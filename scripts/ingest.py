"""Sustained ingest: does the dashboard keep up with a busy multi-node run?

``python scripts/ingest.py [--rate 50000] [--files 128] [--seconds 60]``

Writes ``--rate`` lines a second, spread over ``--files`` trainer rank files, for
``--seconds``, while ``prime-logs watch --split trainer,orchestrator`` runs in a
detached tmux pane of 200x50. Ten times a second a numbered marker line goes to
``logs/orchestrator.log`` (the bottom pane); once a second the screen is captured and
the newest marker on it is looked for. What it reports (one JSON object on the last
line, and a table on stderr):

* ``rate_achieved``: lines written per second (the writer runs in its own process,
  in batches of one ``write`` per file every 10 ms);
* ``lag_s``: per sample, the age of the newest marker on screen (how far the screen
  is behind the writer), and its p50 / max: bounded means it does not grow;
* ``end_s``: from the writer's last write until its last line (``INGEST-END`` in the
  orchestrator file and in the last rank file) is on screen;
* ``rss_mb``: the dashboard's resident memory each second (``/proc``), and its max.

``--cmd`` replaces the viewer (``{dir}`` is the run's folder); the default runs
``python -m prime_rl_logs watch`` with this checkout first on ``PYTHONPATH``.
Figures go in ``docs/benchmarks.md``. Linux only (``/proc``), needs tmux.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 200, 50
MARKS_PER_S = 10
MARK_RE = re.compile(r"INGEST-MARK-(\d{7})")


def tmux(socket: str, *args: str) -> str:
    out = subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True)
    return out.stdout


def line(n: int, rank: int) -> bytes:
    clock = time.strftime("%H:%M:%S")
    return (
        f"{clock}    INFO [step {n // 1000}] rank {rank} rollout batch {n} "
        f"reward=0.{n % 997:03d} seq_len={n % 4000}\n"
    ).encode()


def writer(paths: list[str], rate: int, seconds: float, marks: str, out: mp.Queue) -> None:
    """Write ``rate`` lines/s over ``paths`` (one write per file per 10 ms tick) and a
    numbered marker to ``marks`` ten times a second; report counts and times."""
    fds = [os.open(p, os.O_WRONLY | os.O_APPEND) for p in paths]
    mark_fd = os.open(marks, os.O_WRONLY | os.O_APPEND)
    tick = 0.01
    t0 = time.monotonic()
    written = 0
    mark_times: list[float] = []
    n_files = len(fds)
    next_mark = t0
    while True:
        now = time.monotonic()
        if now - t0 >= seconds:
            break
        if now >= next_mark:
            clock = time.strftime("%H:%M:%S")
            os.write(mark_fd, f"{clock}    INFO INGEST-MARK-{len(mark_times):07d}\n".encode())
            mark_times.append(time.time())
            next_mark += 1 / MARKS_PER_S
        count = int(rate * (now - t0 + tick)) - written  # due by the end of this tick
        # `count` lines spread over the files, each file's share in one write.
        base, extra = divmod(count, n_files)
        for i, fd in enumerate(fds):
            k = base + (1 if i < extra else 0)
            if k:
                os.write(fd, b"".join(line(written + j, i) for j in range(k)))
                written += k
        delay = now + tick - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    elapsed = time.monotonic() - t0
    clock = time.strftime("%H:%M:%S")
    os.write(fds[-1], f"{clock}    INFO INGEST-END-RANK\n".encode())
    os.write(mark_fd, f"{clock}    INFO INGEST-END-MARKS\n".encode())
    stopped = time.time()
    for fd in [*fds, mark_fd]:
        os.close(fd)
    out.put({"written": written, "elapsed": elapsed, "marks": mark_times, "stopped": stopped})


def dashboard_pid(socket: str, session: str = "ingest") -> int | None:
    """The viewer's process: the deepest descendant of the shell of ``session``'s pane
    that is not the dashboard's scanner process (also `bench_memory`'s)."""
    try:
        pid = int(tmux(socket, "display-message", "-p", "-t", session, "#{pane_pid}").strip())
    except ValueError:
        return None
    while True:
        try:
            kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            kids = [k for k in kids if b"prime_rl_logs.scanner" not in _cmdline(int(k))]
        except OSError:
            return pid
        if not kids:
            return pid
        pid = int(kids[0])


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        for row in Path(f"/proc/{pid}/status").read_text().splitlines():
            if row.startswith("VmRSS:"):
                return int(row.split()[1]) / 1024
    except OSError:
        return None
    return None


def make_run(root: Path, files: int) -> list[Path]:
    trainer = root / "logs" / "trainer"
    trainer.mkdir(parents=True)
    (root / "logs" / "orchestrator.log").write_text("")
    paths = [trainer / f"rank_{r}.log" for r in range(files)]
    for p in paths:
        p.write_text("")
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=50_000, help="lines per second, all files")
    parser.add_argument("--files", type=int, default=128)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds for the viewer to start")
    parser.add_argument("--timeout", type=float, default=60.0, help="wait for the end this long")
    parser.add_argument("--cmd", default=None, help="the viewer; {dir} is the run's folder")
    args = parser.parse_args(argv)
    if shutil.which("tmux") is None:
        print("ingest.py: tmux is needed", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="prime-logs-ingest-"))
    socket = f"ingest-{os.getpid()}"
    cmd = args.cmd or (
        f"env PYTHONPATH={shlex.quote(str(REPO))} {shlex.quote(sys.executable)}"
        " -m prime_rl_logs watch --split trainer,orchestrator {dir}"
    )
    try:
        paths = make_run(root, args.files)
        marks = root / "logs" / "orchestrator.log"
        viewer = cmd.replace("{dir}", shlex.quote(str(root)))
        tmux(
            socket,
            "new-session",
            "-d",
            "-s",
            "ingest",
            "-c",  # the run's folder: ``python -m`` puts the current folder first on sys.path
            str(root),
            "-x",
            str(WIDTH),
            "-y",
            str(HEIGHT),
            f"env TERM=xterm-256color COLUMNS={WIDTH} LINES={HEIGHT} {viewer}",
        )
        time.sleep(args.settle)
        pid = dashboard_pid(socket)
        queue: mp.Queue = mp.Queue()
        proc = mp.Process(
            target=writer,
            args=([str(p) for p in paths], args.rate, args.seconds, str(marks), queue),
        )
        t_start = time.time()
        proc.start()
        samples: list[dict[str, float | int | None]] = []
        next_sample = t_start + 1.0
        while True:
            # Wake when the writer ends, not at the next sample: the end is timed
            # from its last write (sleeping to the sample timed it from there, so
            # an end already on screen read as just under 1 s).
            proc.join(timeout=max(0.0, next_sample - time.time()))
            if not proc.is_alive():
                break
            next_sample += 1.0
            now = time.time()
            shown = [
                int(m) for m in MARK_RE.findall(tmux(socket, "capture-pane", "-p", "-t", "ingest"))
            ]
            samples.append(
                {
                    "t": round(now - t_start, 1),
                    "mark": max(shown) if shown else None,
                    "rss_mb": rss_mb(pid),
                }
            )
        result = queue.get(timeout=30)
        proc.join()
        stopped = result["stopped"]
        end_s = None
        while time.time() - stopped < args.timeout:
            screen = tmux(socket, "capture-pane", "-p", "-t", "ingest")
            if "INGEST-END-RANK" in screen and "INGEST-END-MARKS" in screen:
                end_s = time.time() - stopped
                break
            time.sleep(0.01)
        rss_end = rss_mb(pid)
        mark_times: list[float] = result["marks"]
        t0_wall = t_start
        lags: list[float | None] = []
        for s in samples:
            m = s["mark"]
            t = t0_wall + float(s["t"] or 0)
            lags.append(
                None if m is None or m >= len(mark_times) else round(t - mark_times[int(m)], 3)
            )
            s["lag_s"] = lags[-1]
        seen = [x for x in lags if x is not None]
        rss = [float(s["rss_mb"]) for s in samples if s["rss_mb"] is not None]
        out = {
            "scenario": "ingest",
            "cmd": cmd,
            "files": args.files,
            "rate": args.rate,
            "seconds": args.seconds,
            "rate_achieved": round(result["written"] / result["elapsed"]),
            "lines": result["written"],
            "lag_p50_s": round(statistics.median(seen), 3) if seen else None,
            "lag_max_s": round(max(seen), 3) if seen else None,
            "lag_missing": len(lags) - len(seen),
            "end_s": None if end_s is None else round(end_s, 3),
            "rss_first_mb": round(rss[0], 1) if rss else None,
            "rss_max_mb": round(max(rss), 1) if rss else None,
            "rss_end_mb": None if rss_end is None else round(rss_end, 1),
            "samples": samples,
        }
        for s in samples:
            print(
                f"t={s['t']:>5}s  newest marker on screen {s['mark']}  lag {s['lag_s']} s"
                f"  rss {s['rss_mb'] and round(float(s['rss_mb']), 1)} MB",
                file=sys.stderr,
            )
        print(json.dumps(out))
        return 0
    finally:
        tmux(socket, "kill-server")
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
