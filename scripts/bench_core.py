"""Reading-engine benchmark: ``python scripts/bench.py core [--size-mb 1024]``.

On one generated loguru log (coloured, as prime-rl writes it; cached under /tmp),
each case runs in a fresh subprocess so its peak RSS is its own:

* last screen: open the run, first `View.build` (the newest 200+ rows on screen);
* full index: `LogFile.build_index` until complete (line offsets + warning/error
  counts), MB/s;
* level filter (>= WARNING, and >= INFO which hides DEBUG): first screen time and
  MB/s until the whole history is scanned;
* regex filter: a regex with a literal (``Reward: 0\\.99``), and one without a
  single required literal (``(?i)timeout|nan``, the slower fallback);
* each filter twice: on a file just opened (nothing indexed: the filter finds line
  starts itself) and with the file's line index complete (``*_indexed``: the
  dashboard's state a few seconds after opening, when a filter is changed);
* merged: a view of two files merged by time (the log and one an eighth its size,
  as a trainer rank's), every line and level >= INFO, MB/s over both;
* dashboard state: peak RSS once the index, the default pane's view (every line)
  and the metrics of the run are read, as the dashboard holds them (no UI);
* live: lines appended by another process at 2,000 lines/s over 16 files, time
  from each write to its row in a merged `View` (through `watch_run`), and the
  idle CPU of `watch_run` over 64 files;
* naive: read all lines into a list (``readlines``), then filter line by line with
  `decode_line` + `parse_line` (continuation lines take their record's level) or the
  regex on `strip_sgr(decode_line(line))`: what a simple viewer does.

Prints a table with the ratios; the file is read once first so every case runs from
the page cache.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

CACHE = Path("/tmp/prime-logs-bench")
GEN_VERSION = 1

LEVEL_COLORS = {
    "DEBUG": "\x1b[34m\x1b[1m",
    "INFO": "\x1b[1m",
    "SUCCESS": "\x1b[32m\x1b[1m",
    "WARNING": "\x1b[33m\x1b[1m",
    "ERROR": "\x1b[31m\x1b[1m",
}
REGEX_LITERAL = r"Reward: 0\.99"
REGEX_NO_LITERAL = r"(?i)timeout|nan"
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/app/prime_rl/orchestrator/orchestrator.py", line 412, in run\n'
    "    rollouts = await self.generate(batch)\n"
    "TimeoutError: inference server did not answer in 600 s\n"
)


def _line(clock: int, level: str, message: str) -> str:
    c = LEVEL_COLORS[level]
    hms = f"{clock // 3600 % 24:02d}:{clock // 60 % 60:02d}:{clock % 60:02d}"
    return f"\x1b[2m{hms}\x1b[0m {c}{level:>7}\x1b[0m {c}\x1b[22m{message}\x1b[0m\x1b[0m\n"


def generate(path: Path, size_mb: int) -> None:
    """A realistic orchestrator log: 15% DEBUG, 70% INFO, 10% SUCCESS step lines with
    ``╰─`` per-env lines, 0.2% WARNING, 0.05% ERROR with a traceback."""
    rnd = random.Random(1234)
    target = size_mb << 20
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    written = 0
    clock = 9 * 3600
    i = 0
    with tmp.open("w", encoding="utf-8", newline="\n") as f:
        while written < target:
            out = []
            for _ in range(20_000):
                i += 1
                if i % 7 == 0:
                    clock += 1
                r = rnd.random()
                if r < 0.15:
                    msg = f"Sending batch {i} to worker {i % 16} [orchestrator.py::{i % 900}]"
                    out.append(_line(clock, "DEBUG", msg))
                elif r < 0.85:
                    msg = (
                        f"Processed rollout {i} | reward {rnd.random():.4f} | "
                        f"tokens {rnd.randint(100, 9999)}"
                    )
                    out.append(_line(clock, "INFO", msg))
                elif r < 0.9975:
                    msg = (
                        f"Step {i} | Time: {rnd.uniform(5, 20):.2f}s | Reward: {rnd.random():.4f}"
                        f" | Loss: {rnd.random() / 100:.4f} | Entropy: {rnd.random():.4f}"
                    )
                    out.append(_line(clock, "SUCCESS", msg))
                    if rnd.random() < 0.5:
                        out.append(f"\t\t ╰─ gsm8k | Ratio 50.0% | Reward {rnd.random():.4f}\n")
                elif r < 0.9995:
                    msg = f"Slow rollout {i}: {rnd.uniform(30, 90):.1f}s"
                    out.append(_line(clock, "WARNING", msg))
                else:
                    out.append(_line(clock, "ERROR", f"Rollout {i} failed"))
                    out.append(TRACEBACK)
            text = "".join(out)
            f.write(text)
            written += len(text.encode())
    tmp.rename(path)


def _rss_mb() -> float:
    """Peak RSS of this process. ``VmHWM`` rather than ``ru_maxrss``, which Linux
    carries over from the parent through fork and exec."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------------
# Cases (each runs in its own process)


def _is_index_window(view: object) -> bool:
    """`View.is_index_window`, also on older code without it (for side-by-side runs)."""
    flag = getattr(view, "is_index_window", None)
    if flag is None:
        return type(getattr(view, "_rows", None)).__name__ == "_IndexRows"
    return bool(flag)


def case_last_screen(run_dir: Path) -> dict[str, float]:
    from prime_rl_logs.core.run import Run
    from prime_rl_logs.core.view import Filter, View

    t0 = time.perf_counter()
    run = Run(run_dir)
    run.refresh()
    # `Filter()` mirrors the dashboard's default pane (every level): a window on the
    # file's line index (`View.is_index_window`).
    view = View(run, Filter())
    view.build(0.0)
    dt = time.perf_counter() - t0
    return {"seconds": dt, "rows": len(view), "index_window": float(_is_index_window(view))}


def case_index(run_dir: Path) -> dict[str, float]:
    from prime_rl_logs.core.run import Run

    run = Run(run_dir)
    run.refresh()
    [f] = run.files
    t0 = time.perf_counter()
    while not f.build_index(10.0):
        pass
    dt = time.perf_counter() - t0
    return {
        "seconds": dt,
        "lines": f.lines,
        "warnings": f.warnings,
        "errors": f.errors,
        "index_mb": f.index.nbytes / 1e6,
    }


def _filter_case(run_dir: Path, flt: object, indexed: bool = False) -> dict[str, float]:
    """A view with the filter built over the whole file. ``indexed``: the file's line
    index is complete first (untimed), as in the dashboard a few seconds after
    opening, when a filter is changed; else the file was just opened."""
    from prime_rl_logs.core.run import Run
    from prime_rl_logs.core.view import View

    run = Run(run_dir)
    run.refresh()
    if indexed:
        while not run.build_index(10.0):
            pass
    t0 = time.perf_counter()
    view = View(run, flt)  # type: ignore[arg-type]
    view.build(0.0)
    first = time.perf_counter() - t0
    first_rows = len(view)
    while not view.complete:
        view.build(1.0)
    dt = time.perf_counter() - t0
    return {"seconds": dt, "first": first, "first_rows": first_rows, "rows": len(view)}


def case_level_warning(run_dir: Path) -> dict[str, float]:
    from prime_rl_logs.core.view import Filter

    return _filter_case(run_dir, Filter(min_level=30))


def case_level_info(run_dir: Path) -> dict[str, float]:
    from prime_rl_logs.core.view import Filter

    return _filter_case(run_dir, Filter(min_level=20))


def case_regex(run_dir: Path) -> dict[str, float]:
    from prime_rl_logs.core.view import Filter

    return _filter_case(run_dir, Filter(include=re.compile(REGEX_LITERAL)))


def case_regex_no_literal(run_dir: Path) -> dict[str, float]:
    from prime_rl_logs.core.view import Filter

    return _filter_case(run_dir, Filter(include=re.compile(REGEX_NO_LITERAL)))


def case_level_warning_indexed(run_dir: Path) -> dict[str, float]:
    from prime_rl_logs.core.view import Filter

    return _filter_case(run_dir, Filter(min_level=30), indexed=True)


def case_level_info_indexed(run_dir: Path) -> dict[str, float]:
    from prime_rl_logs.core.view import Filter

    return _filter_case(run_dir, Filter(min_level=20), indexed=True)


def case_regex_indexed(run_dir: Path) -> dict[str, float]:
    from prime_rl_logs.core.view import Filter

    return _filter_case(run_dir, Filter(include=re.compile(REGEX_LITERAL)), indexed=True)


def case_regex_no_literal_indexed(run_dir: Path) -> dict[str, float]:
    from prime_rl_logs.core.view import Filter

    return _filter_case(run_dir, Filter(include=re.compile(REGEX_NO_LITERAL)), indexed=True)


def _merged_dir(run_dir: Path) -> Path:
    return run_dir.parent / f"{run_dir.name}-merged"


def prepare_merged(run_dir: Path, size_mb: int) -> None:
    """A run of two files for the merged cases: the generated log as the
    orchestrator's (a symlink) and one an eighth of its size as a trainer rank's."""
    logs = _merged_dir(run_dir) / "logs"
    rank = logs / "trainer" / "rank_0.log"
    if not rank.exists():
        generate(rank, max(1, size_mb // 8))
    link = logs / "orchestrator.log"
    if not link.is_symlink():
        link.symlink_to(_log_path(run_dir))


def _merged_case(run_dir: Path, flt: object) -> dict[str, float]:
    from prime_rl_logs.core.run import Run
    from prime_rl_logs.core.view import View

    run = Run(_merged_dir(run_dir))
    run.refresh()
    t0 = time.perf_counter()
    view = View(run, flt)  # type: ignore[arg-type]
    view.build(0.0)
    first = time.perf_counter() - t0
    while not view.complete:
        view.build(1.0)
    dt = time.perf_counter() - t0
    size = sum(f.end for f in run.files)
    return {"seconds": dt, "first": first, "rows": len(view), "mb": size / 1e6}


def case_merged_all(run_dir: Path) -> dict[str, float]:
    from prime_rl_logs.core.view import Filter

    return _merged_case(run_dir, Filter())


def case_merged_info(run_dir: Path) -> dict[str, float]:
    from prime_rl_logs.core.view import Filter

    return _merged_case(run_dir, Filter(min_level=20))


def case_merged_first_update(run_dir: Path) -> dict[str, float]:
    """The first live update of a merged view just built (its first screen), then
    the next: a line appended to the rank file each time (cut off again after)."""
    from prime_rl_logs.core.run import Run
    from prime_rl_logs.core.view import Filter, View

    rank = _merged_dir(run_dir) / "logs" / "trainer" / "rank_0.log"
    size = rank.stat().st_size
    try:
        run = Run(_merged_dir(run_dir))
        run.refresh()
        view = View(run, Filter(min_level=20))
        view.build(0.0)
        times = []
        for i in range(2):
            with rank.open("ab") as f:
                f.write(f"23:59:5{i}    INFO live line {i}\n".encode())
            changes = run.refresh()
            t0 = time.perf_counter()
            view.update(changes)
            times.append(time.perf_counter() - t0)
    finally:
        os.truncate(rank, size)
    return {"seconds": times[0], "next_s": times[1]}


def case_dashboard_state(run_dir: Path) -> dict[str, float]:
    """What the dashboard holds once a file is read: the line index, the default
    pane's view (every line of the file), the metrics; no UI. RSS in MB."""
    from prime_rl_logs import metrics
    from prime_rl_logs.core.run import Run
    from prime_rl_logs.core.view import Filter, View

    t0 = time.perf_counter()
    run = Run(run_dir)
    run.refresh()
    # `Filter()` mirrors the dashboard's default pane (every level): a window on the
    # file's line index (`View.is_index_window`).
    view = View(run, Filter())
    while not view.complete or not run.indexed:
        run.build_index(0.015)
        view.build(0.015)
    store = metrics.scan_run(run_dir)
    steps = len(store.series.get("orchestrator/reward", ()))
    return {"seconds": time.perf_counter() - t0, "rows": len(view), "steps": steps}


def _log_path(run_dir: Path) -> Path:
    return run_dir / "logs" / "orchestrator.log"


def case_naive_read(run_dir: Path) -> dict[str, float]:
    t0 = time.perf_counter()
    with _log_path(run_dir).open("rb") as f:
        lines = f.readlines()
    return {"seconds": time.perf_counter() - t0, "rows": len(lines)}


def _naive_level(run_dir: Path, min_level: int) -> dict[str, float]:
    from prime_rl_logs.core.parse import decode_line, parse_line

    t0 = time.perf_counter()
    with _log_path(run_dir).open("rb") as f:
        lines = f.readlines()
    kept = []
    level = 20
    for i, raw in enumerate(lines):
        info = parse_line(decode_line(raw))
        if info.header:
            level = info.level
        if level >= min_level:
            kept.append(i)
    dt = time.perf_counter() - t0
    return {"seconds": dt, "first": dt, "rows": len(kept)}


def case_naive_level_warning(run_dir: Path) -> dict[str, float]:
    return _naive_level(run_dir, 30)


def case_naive_level_info(run_dir: Path) -> dict[str, float]:
    return _naive_level(run_dir, 20)


def _naive_regex(run_dir: Path, pattern: str) -> dict[str, float]:
    from prime_rl_logs.core.ansi import strip_sgr
    from prime_rl_logs.core.parse import decode_line

    pat = re.compile(pattern)
    t0 = time.perf_counter()
    with _log_path(run_dir).open("rb") as f:
        lines = f.readlines()
    kept = [i for i, raw in enumerate(lines) if pat.search(strip_sgr(decode_line(raw)))]
    dt = time.perf_counter() - t0
    return {"seconds": dt, "first": dt, "rows": len(kept)}


def case_naive_regex(run_dir: Path) -> dict[str, float]:
    return _naive_regex(run_dir, REGEX_LITERAL)


def case_naive_regex_no_literal(run_dir: Path) -> dict[str, float]:
    return _naive_regex(run_dir, REGEX_NO_LITERAL)


# ---------------------------------------------------------------------------
# Live cases: latency of an appended line to the view, and idle CPU

WRITER = r"""
import os, sys, time
paths, rate, seconds = sys.argv[1].split(","), int(sys.argv[2]), float(sys.argv[3])
fds = [os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644) for p in paths]
burst = max(1, rate // 200)  # lines every 5 ms
start = time.time()
n = 0
while time.time() - start < seconds:
    for _ in range(burst):
        now = time.time()
        hms = time.strftime("%H:%M:%S", time.localtime(now))
        line = f"{hms}    INFO sent={now:.6f} n={n}\n".encode()
        os.write(fds[n % len(fds)], line)
        n += 1
    time.sleep(max(0.0, start + n / rate - time.time()))
"""


def _live_run(tmp: Path, files: int) -> list[Path]:
    logs = tmp / "logs" / "trainer"
    logs.mkdir(parents=True, exist_ok=True)
    paths = [logs / f"rank_{i}.log" for i in range(files)]
    for p in paths:
        p.write_bytes(_line(9 * 3600, "INFO", "started").encode())
    return paths


def case_watch_latency(run_dir: Path) -> dict[str, float]:
    """16 files, 2,000 lines/s from another process for 8 s: seconds from each
    line's write to its row being in a merged `View` (via `watch_run`)."""
    import asyncio
    import shutil
    import tempfile

    from prime_rl_logs.core.run import Run
    from prime_rl_logs.core.view import Filter, View
    from prime_rl_logs.core.watch import watch_run

    tmp = Path(tempfile.mkdtemp(prefix="prime-logs-bench-"))
    paths = _live_run(tmp, 16)
    run = Run(tmp)
    run.refresh()
    view = View(run, Filter())
    while not view.complete:
        view.build(1.0)
    delays: list[float] = []
    sent_re = re.compile(r"sent=(\d+\.\d+)")

    async def follow() -> None:
        stop = asyncio.Event()
        writer = await asyncio.create_subprocess_exec(
            sys.executable, "-c", WRITER, ",".join(map(str, paths)), "2000", "8"
        )
        seen = len(view)

        async def watch() -> None:
            nonlocal seen
            async for changes in watch_run(run, stop_event=stop):
                view.update(changes)
                now = time.time()
                for i in range(seen, len(view)):
                    m = sent_re.search(view.row(i).text)
                    if m:
                        delays.append(now - float(m.group(1)))
                seen = len(view)

        task = asyncio.ensure_future(watch())
        await writer.wait()
        await asyncio.sleep(0.5)
        stop.set()
        await task

    t0 = time.process_time()
    asyncio.run(follow())
    cpu = time.process_time() - t0
    shutil.rmtree(tmp, ignore_errors=True)
    delays.sort()
    return {
        "lines": len(delays),
        "p50_ms": delays[len(delays) // 2] * 1000,
        "p95_ms": delays[int(len(delays) * 0.95)] * 1000,
        "max_ms": delays[-1] * 1000,
        "cpu_s": cpu,
        "seconds": 8.5,
    }


def case_watch_idle(run_dir: Path) -> dict[str, float]:
    """64 files, nothing written: CPU of `watch_run` over 10 s (after 2 s to settle)."""
    import asyncio
    import shutil
    import tempfile

    from prime_rl_logs.core.run import Run
    from prime_rl_logs.core.view import Filter, View
    from prime_rl_logs.core.watch import watch_run

    tmp = Path(tempfile.mkdtemp(prefix="prime-logs-bench-"))
    _live_run(tmp, 64)
    run = Run(tmp)
    run.refresh()
    view = View(run, Filter())
    while not view.complete:
        view.build(1.0)
    result: dict[str, float] = {}

    async def idle() -> None:
        stop = asyncio.Event()

        async def watch() -> None:
            async for changes in watch_run(run, stop_event=stop):
                view.update(changes)

        task = asyncio.ensure_future(watch())
        await asyncio.sleep(2.0)
        c0, w0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(10.0)
        result["cpu_pct"] = 100 * (time.process_time() - c0) / (time.perf_counter() - w0)
        stop.set()
        await task

    asyncio.run(idle())
    shutil.rmtree(tmp, ignore_errors=True)
    result["seconds"] = 12.0
    return result


# ---------------------------------------------------------------------------
# Many files: the same lines in 2,000 trainer files and in 8 (issue 15 item 11)

MANY_FILES_LINES = 400_000


def _files_run(files: int) -> Path:
    """A run of ``files`` trainer rank files holding `MANY_FILES_LINES` lines in all
    (a third INFO, the rest DEBUG), every file over the same minutes (cached)."""
    out = CACHE / f"files-v{GEN_VERSION}-{files}"
    trainer = out / "logs" / "trainer"
    done = out / ".done"
    if done.exists():
        return out
    trainer.mkdir(parents=True, exist_ok=True)
    per = MANY_FILES_LINES // files
    for r in range(files):
        lines = [
            _line(9 * 3600 + i * 200 // per, "DEBUG" if i % 3 else "INFO", f"rank {r} step {i}")
            for i in range(per)
        ]
        (trainer / f"rank_{r}.log").write_text("".join(lines))
    done.touch()
    return out


def _files_case(files: int) -> dict[str, float]:
    from prime_rl_logs.core.run import Run
    from prime_rl_logs.core.view import Filter, View

    run = Run(_files_run(files))
    run.refresh()
    t0 = time.perf_counter()
    view = View(run, Filter(components=frozenset({"trainer"})))
    view.build(0.0)
    first = time.perf_counter() - t0
    while not view.complete:
        view.build(1.0)
    dt = time.perf_counter() - t0
    size = sum(f.end for f in run.files)
    return {"seconds": dt, "first": first, "rows": len(view), "mb": size / 1e6}


def case_many_files(run_dir: Path) -> dict[str, float]:
    """The Trainer pane's whole history over 2,000 files."""
    return _files_case(2000)


def case_few_files(run_dir: Path) -> dict[str, float]:
    """The same lines in 8 files."""
    return _files_case(8)


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def run_child(case: str, run_dir: Path) -> dict[str, float]:
    """Run one case in a fresh interpreter; its timings and peak RSS."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", case, "--run-dir", str(run_dir)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# ---------------------------------------------------------------------------
# Report


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.py core", description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="generated file size")
    parser.add_argument("--skip-naive", action="store_true", help="engine cases only")
    parser.add_argument("--only", help="comma-separated case names (see CASES)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--run-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        result = CASES[args.child](args.run_dir)
        result["rss_mb"] = _rss_mb()
        print(json.dumps(result))
        return 0

    run_dir = CACHE / f"core-v{GEN_VERSION}-{args.size_mb}mb"
    log = _log_path(run_dir)
    if not log.exists():
        t0 = time.perf_counter()
        generate(log, args.size_mb)
        print(f"generated {log} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    if any(c.startswith("merged") for c in (args.only or "merged").split(",")):
        prepare_merged(run_dir, args.size_mb)
    size = log.stat().st_size
    with log.open("rb") as f:  # into the page cache
        while f.read(1 << 20):
            pass
    mb = size / 1e6

    results: dict[str, dict[str, float]] = {}
    names = [c for c in CASES if not (args.skip_naive and c.startswith("naive"))]
    if args.only:
        names = [c for c in names if c in args.only.split(",")]
    for name in names:
        print(f"  {name} ...", file=sys.stderr, flush=True)
        results[name] = run_child(name, run_dir)

    def cell(name: str, key: str, fmt: str) -> str:
        r = results.get(name)
        if r is None or key not in r:
            return "-"
        return format(r[key], fmt)

    def mbps(name: str) -> float | None:
        r = results.get(name)
        return r.get("mb", mb) / r["seconds"] if r else None

    def ratio(a: float | None, b: float | None) -> str:
        if not a or not b:
            return "-"
        r = a / b
        return f"{r:,.0f}x" if r >= 10 else f"{r:.1f}x"

    lines_total = int(results["index"]["lines"]) if "index" in results else 0
    print(f"\n{size / 2**20:,.0f} MiB ({mb:,.0f} MB), {lines_total:,} lines, page cache warm")
    rows: list[tuple[str, str, str, str]] = []
    ls, nr = results.get("last_screen"), results.get("naive_read")
    rows.append(
        (
            "time to last screen",
            f"{ls['seconds'] * 1000:.1f} ms ({int(ls['rows'])} rows)" if ls else "-",
            f"{nr['seconds']:.2f} s (readlines)" if nr else "-",
            ratio(nr["seconds"], ls["seconds"]) if ls and nr else "-",
        )
    )
    ix = results.get("index")
    rows.append(
        (
            "full index (offsets + counts)",
            f"{mbps('index'):,.0f} MB/s" if ix else "-",
            f"{mbps('naive_read'):,.0f} MB/s (readlines)" if nr else "-",
            ratio(mbps("index"), mbps("naive_read")),
        )
    )
    for label, eng, naive in (
        ("level >= WARNING", "level_warning", "naive_level_warning"),
        ("level >= INFO (hides DEBUG)", "level_info", "naive_level_info"),
        (f"regex {REGEX_LITERAL}", "regex", "naive_regex"),
        (f"regex {REGEX_NO_LITERAL}", "regex_no_literal", "naive_regex_no_literal"),
    ):
        e, n = results.get(eng), results.get(naive)
        rows.append(
            (
                f"{label}: first screen",
                f"{e['first'] * 1000:.0f} ms ({int(e['first_rows'])} rows)" if e else "-",
                f"{n['first']:.1f} s" if n else "-",
                ratio(n["first"], e["first"]) if e and n else "-",
            )
        )
        rows.append(
            (
                f"{label}: whole file, just opened",
                f"{mbps(eng):,.0f} MB/s ({int(e['rows']):,} rows)" if e else "-",
                f"{mbps(naive):,.1f} MB/s ({int(n['rows']):,} rows)" if n else "-",
                ratio(mbps(eng), mbps(naive)),
            )
        )
        ei = results.get(eng + "_indexed")
        rows.append(
            (
                f"{label}: whole file, index built",
                f"{mbps(eng + '_indexed'):,.0f} MB/s" if ei else "-",
                f"{mbps(naive):,.1f} MB/s" if n else "-",
                ratio(mbps(eng + "_indexed"), mbps(naive)),
            )
        )
    for label, name in (
        ("merged view of 2 files (+1/8 size), every line", "merged_all"),
        ("merged view of 2 files (+1/8 size), level >= INFO", "merged_info"),
    ):
        merged = results.get(name)
        rows.append(
            (
                label,
                f"{mbps(name):,.0f} MB/s ({int(merged['rows']):,} rows, first screen"
                f" {merged['first'] * 1000:.0f} ms)"
                if merged
                else "-",
                "-",
                "-",
            )
        )
    state = results.get("dashboard_state")
    if state:
        rows.append(
            (
                "index + default view + metrics (RSS)",
                f"{state['rss_mb']:,.0f} MB ({int(state['steps']):,} steps)",
                "-",
                "-",
            )
        )
    engine = [r for k, r in results.items() if not k.startswith(("naive", "watch", "dashboard"))]
    rss_e = max((r["rss_mb"] for r in engine), default=0)
    rss_n = max((r["rss_mb"] for k, r in results.items() if k.startswith("naive")), default=0)
    rows.append(
        (
            "peak RSS (worst case)",
            f"{rss_e:,.0f} MB" + (f" (index {ix['index_mb']:,.0f} MB)" if ix else ""),
            f"{rss_n:,.0f} MB" if rss_n else "-",
            f"{rss_n / rss_e:,.1f}x" if rss_n and rss_e else "-",
        )
    )
    widths = [max(len(r[i]) for r in [*rows, ("", "engine", "naive", "ratio")]) for i in range(4)]
    header = ("", "engine", "naive", "ratio")
    for r in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    lat, idle = results.get("watch_latency"), results.get("watch_idle")
    if lat or idle:
        print("\nlive (watch_run + View.update, merged view):")
    if lat:
        print(
            f"  append-to-view latency, 2,000 lines/s over 16 files: p50 {lat['p50_ms']:.0f} ms,"
            f" p95 {lat['p95_ms']:.0f} ms, max {lat['max_ms']:.0f} ms"
            f" ({int(lat['lines']):,} lines; {100 * lat['cpu_s'] / lat['seconds']:.0f}% of a core)"
        )
    if idle:
        print(f"  idle CPU, 64 files: {idle['cpu_pct']:.2f}% of a core")
    upd = results.get("merged_first_update")
    if upd:
        print(
            f"  first update of a merged view just built: {upd['seconds'] * 1000:.2f} ms"
            f" (the next: {upd['next_s'] * 1000:.2f} ms)"
        )
    many, few = results.get("many_files"), results.get("few_files")
    if many and few:
        print(
            f"\nTrainer history, {MANY_FILES_LINES:,} lines: 2,000 files {many['seconds']:.1f} s,"
            f" 8 files {few['seconds']:.1f} s (first screen {many['first'] * 1000:.0f} ms"
            f" / {few['first'] * 1000:.0f} ms)"
        )
    print("\nper case:", file=sys.stderr)
    for name, res in results.items():
        print(f"  {name}: " + ", ".join(f"{k}={v:.4g}" for k, v in res.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
