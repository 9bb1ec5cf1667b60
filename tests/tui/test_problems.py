"""Pilot tests of the Problems pane (`tui.problems`): ``p`` shows the first failure on
top with its traceback, ``enter`` opens the file at the record, the header's count
turns red on a new group, the sidebar marks the files, and an alert with
``--notify`` reaches the terminal through the app's driver (bell, OSC 9, OSC 777).

The doctor is a stand-in handing out hand-made `Report`s that point at real records
of a real run on disk, so the pane, the header and ``enter`` are the real thing.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import pty
import signal
import struct
import sys
import termios
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from textual.pilot import Pilot

from prime_rl_logs import levels
from prime_rl_logs.core.filter import Filter
from prime_rl_logs.diagnose.model import Finding, Group, Report, Stall
from prime_rl_logs.tui import problems as problems_module
from prime_rl_logs.tui.app import PrimeLogsApp
from tests.fixtures import append, log_line, traceback_lines
from tests.fixtures import pilot_wait_for as wait_for

SIZE = (160, 40)
HOSTILE = "\x1b]0;pwned\x07\x1b[2J"


class StandIn:
    """The doctor: `update` does nothing, `report` hands out ``self.current``."""

    def __init__(self, report: Report) -> None:
        self.current = report
        self.updates = 0

    def update(self) -> bool:
        self.updates += 1
        return True

    def report(self, now: float | None = None) -> Report:
        return self.current


async def grow(pilot: Pilot[int], app: PrimeLogsApp, path: Path) -> None:
    """A line written to ``path``: the doctor looks at the next tick (it waits
    `problems.IDLE_LOOK_S` between looks while nothing grows)."""
    app.problems.grown = False
    append(path, log_line(3999, "INFO", "one more line"))
    await wait_for(pilot, lambda: app.problems.grown)


def write_run(tmp_path: Path, after: int = 200) -> tuple[Path, Path, int]:
    """A run whose rank 1 fails after 200 lines, then writes ``after`` more: (run,
    rank 1's file, the error's offset)."""
    run = tmp_path / "run"
    rank0 = run / "logs" / "trainer" / "rank_0.log"
    rank1 = run / "logs" / "trainer" / "rank_1.log"
    append(run / "logs" / "orchestrator.log", log_line(3600, "INFO", "Starting orchestrator"))
    for i in range(200):
        append(rank0, log_line(3600 + i, "INFO", f"rank 0 line {i}"))
        append(rank1, log_line(3600 + i, "INFO", f"rank 1 line {i}"))
    offset = rank1.stat().st_size
    append(rank1, log_line(3900, "ERROR", "Training step 7 failed" + HOSTILE))
    append(rank1, traceback_lines())
    append(rank1, b"".join(log_line(3901 + i // 100, "INFO", f"after {i}") for i in range(after)))
    return run, rank1, offset


def finding(file: Path, offset: int, message: str = "Training step 7 failed") -> Finding:
    return Finding(
        time=1_700_000_000.0,
        component="trainer",
        rank=1,
        node=None,
        file=file,
        line=201,
        offset=offset,
        message=message + HOSTILE,
        signature="CUDA out of memory",
        hint="lower the micro batch size",
        traceback=("Traceback (most recent call last):", "ValueError: loss is nan" + HOSTILE),
    )


def group(key: str, first: Finding, **kw: object) -> Group:
    values: dict[str, object] = {
        "key": key,
        "level": "ERROR",
        "signature": None,
        "template": f"{key} happened <n> times",
        "count": 3,
        "ranks": (1,),
        "components": ("trainer",),
        "first_seen": first.time,
        "last_seen": first.time,
        "first": first,
    }
    values.update(kw)
    return Group(**values)  # type: ignore[arg-type]


def report(first: Finding, *groups: Group, stalls: tuple[Stall, ...] = ()) -> Report:
    return Report("run", "crashed", 1, first, groups=groups, stalls=stalls)


def app_of(run: Path, doctor: StandIn, **kw: object) -> PrimeLogsApp:
    app = PrimeLogsApp(run, **kw)  # type: ignore[arg-type]
    app.problems.doctor_factory = lambda out, logs: doctor
    return app


def option_texts(app: PrimeLogsApp) -> list[str]:
    view = app.problems.view
    return [str(view.get_option_at_index(i).prompt) for i in range(view.option_count)]


async def test_p_shows_the_first_failure_on_top_then_groups_and_stalls(tmp_path: Path) -> None:
    run, rank1, offset = write_run(tmp_path)
    first = finding(rank1, offset)
    oom = group("oom", first, signature="CUDA out of memory")
    nccl = group("nccl", first, caused_by="oom", note="NCCL timeout on rank 0, 600 s after OOM")
    later = replace(first, attempt=2, message="a later attempt's error")
    other = group("later", later)  # the doctor folds nothing across attempts
    stall = Stall("trainer", 0, 7, 90.0, "silent", "rank 0 silent for 90 s" + HOSTILE, rank1)
    doctor = StandIn(report(first, oom, other, nccl, stalls=(stall,)))
    app = app_of(run, doctor)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.problems.report is not None)
        await pilot.press("p")
        await wait_for(pilot, lambda: app.problems.view.option_count > 3)
        assert app.problems.view.display and not app.panes[0].display
        texts = option_texts(app)
        titles = [t for t in texts if t.split(" (")[0] in ("First failure", "Groups", "Stalls")]
        assert titles == ["First failure", "Groups (3)", "Stalls (1)"]
        failure = texts[texts.index("First failure") + 1].splitlines()
        assert failure[0].endswith("trainer r1  CUDA out of memory")
        assert failure[1:4] == [
            "    Training step 7 failed",
            "    rank_1.log:201",
            "    hint: lower the micro batch size",
        ]
        assert failure[-1] == "      ValueError: loss is nan"  # the traceback, sanitised
        groups = texts[texts.index("Groups (3)") + 1 : texts.index("Stalls (1)")]
        assert groups[0].startswith("    3× CUDA out of memory\n       trainer r1 · ")
        # The consequence is folded under its cause, with its note; a group the doctor
        # did not fold (of another attempt: tests/diagnose) is a group of its own.
        assert groups[1].startswith("    ↳     3× nccl happened") and "600 s after OOM" in groups[1]
        assert groups[2].startswith("    3× later happened") and "29 min" not in groups[2]
        assert texts[-1].startswith("  ⏸ trainer r0 silent at step 7\n")
        assert all("\x1b" not in t and "\x07" not in t for t in texts)
        # The sidebar marks rank 1's file (the first failure's) and the stall's.
        assert app.sidebar.marked == {"trainer/rank_1.log"}
        await pilot.press("p")
        assert app.panes[0].display and not app.problems.view.display


@pytest.mark.parametrize("after", [200, 40_000])
async def test_enter_opens_the_file_at_the_record_with_its_traceback(
    tmp_path: Path, after: int
) -> None:
    """With 40,000 lines after it, under a level filter (a scanned view, not the
    index), the record is older than the view's first read: `enter` reads history
    until it is there."""
    run, rank1, offset = write_run(tmp_path, after)
    doctor = StandIn(report(finding(rank1, offset)))
    app = app_of(run, doctor, flt=Filter(min_level=levels.INFO) if after > 200 else None)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.problems.report is not None)
        await pilot.press("p")
        await wait_for(pilot, lambda: app.problems.view.highlighted is not None)
        await pilot.press("enter")
        pane = app.panes[0]
        lv = pane.log_view
        await wait_for(pilot, lambda: pane.spec.rel == "trainer/rank_1.log" and bool(lv.cursor))
        assert pane.display and not app.problems.view.display
        assert lv.view is not None and lv.cursor is not None
        assert lv.view.row(lv.cursor).offset == offset
        assert app.focused is lv
        await pilot.pause()
        top = round(lv.scroll_y)
        shown = [lv.row_text(top + y).plain for y in range(lv.scrollable_content_region.height)]
        at = next(i for i, t in enumerate(shown) if "Training step 7 failed" in t)
        assert "Traceback (most recent call last):" in shown[at + 1]
        assert "ValueError: loss is nan" in shown[at + 4]


async def test_the_header_count_turns_red_on_a_new_group(tmp_path: Path) -> None:
    run, rank1, offset = write_run(tmp_path)
    first = finding(rank1, offset)
    doctor = StandIn(report(first, group("oom", first)))
    app = app_of(run, doctor)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.problems.report is not None)
        header = app.problems.header_text()
        assert "1 problem " in header.plain
        assert not any("red" in str(span.style) for span in header.spans)  # the baseline
        # Log text in the toast is not markup: "[/nope]" would stop the app.
        nccl = group("nccl", first, caused_by="oom", note="[/nope] [b]not bold[/b]")
        doctor.current = report(first, group("oom", first), nccl)
        await grow(pilot, app, rank1)
        app.problems.tick()
        await wait_for(pilot, lambda: "2 problems" in app.problems.header_text().plain)
        toasts = [n for n in app._notifications if "[/nope] [b]not bold[/b]" in n.message]
        assert toasts and not any(n.markup for n in toasts)
        header = app.problems.header_text()
        assert any("on red" in str(span.style) for span in header.spans)
        assert "2 problems" in str(app.header.render())
        assert [a.key for a in app.problems.sent] == ["nccl"]
        await pilot.press("p")  # looked at: no longer new
        header = app.problems.header_text()
        assert not any("red" in str(span.style) for span in header.spans)


@pytest.mark.parametrize("tmux", [False, True])
async def test_notify_writes_bell_and_osc_through_the_driver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tmux: bool
) -> None:
    if tmux:
        monkeypatch.setenv("TMUX", "/tmp/tmux-1000/default,1,0")
    else:
        monkeypatch.delenv("TMUX", raising=False)
    run, rank1, offset = write_run(tmp_path)
    first = finding(rank1, offset)
    doctor = StandIn(report(first))
    app = app_of(run, doctor, notify=True)
    async with app.run_test(size=SIZE) as pilot:
        written: list[str] = []
        driver = app._driver
        assert driver is not None
        monkeypatch.setattr(driver, "write", written.append)
        await wait_for(pilot, lambda: app.problems.report is not None)
        doctor.current = report(first, group("nccl", first, signature="NCCL timeout" + HOSTILE))
        await grow(pilot, app, rank1)
        app.problems.tick()
        await wait_for(pilot, lambda: any("777;notify" in w for w in written))
    [seq] = [w for w in written if "777;notify" in w]
    assert seq.startswith("\a")
    if tmux:
        assert seq.startswith("\a\x1bPtmux;\x1b\x1b]9;prime-logs: new error: NCCL timeout")
        assert seq.endswith("\x1b\x1b\\\x1b\\")
    else:
        assert seq.startswith("\a\x1b]9;prime-logs: new error: NCCL timeout")
        assert "\x1b]777;notify;prime-logs: new error: NCCL timeout" in seq
        assert seq.count("\x1b") == 4  # two OSCs, two STs: nothing from the log
    assert "\x07" not in seq[1:] and "]0;" not in seq  # the log's own OSC is gone


# -- the real thing: `prime-logs watch --notify` on a pty, the real doctor --------------

WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel")


def _read_all(fd: int, into: bytearray, done: threading.Event) -> None:
    while not done.is_set():
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return
        if not chunk:
            return
        into.extend(chunk)


@pytest.mark.parametrize("tmux", [False, True])
def test_watch_notify_writes_the_bell_and_oscs_to_its_terminal(tmp_path: Path, tmux: bool) -> None:
    """A new error group while ``watch --notify`` runs on a terminal (a pty): the bytes
    the app writes hold the bell, OSC 9 and OSC 777, through tmux's passthrough when
    ``$TMUX`` is set. Until the doctor's first look (the baseline) an error is not
    news, so errors of new templates are written until one alerts."""
    run, rank1, _ = write_run(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "TMUX"}
    env.update(TERM="xterm-256color", PYTHONPATH=str(Path(__file__).parents[2]))
    if tmux:
        env["TMUX"] = "/tmp/tmux-0/fake,1,0"
    argv = [sys.executable, "-m", "prime_rl_logs", "watch", str(run), "--notify"]
    pid, fd = pty.fork()
    if pid == 0:  # the child: the dashboard on the pty
        os.execve(sys.executable, argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 140, 0, 0))
    out = bytearray()
    done = threading.Event()
    reader = threading.Thread(target=_read_all, args=(fd, out, done), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120  # a guard against a hang, not a measure
        for word in itertools.cycle(WORDS):
            if b"777;notify;" in out or time.monotonic() > deadline:
                break
            append(rank1, log_line(4000, "ERROR", f"failure {word} in the {word} collective"))
            time.sleep(0.5)
        os.write(fd, b"q")
        os.waitpid(pid, 0)
        reader.join(timeout=30)  # drains the pty to its end (EIO once the child is gone)
    finally:
        done.set()
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    data = out.decode("utf-8", "replace")
    at = data.find("777;notify;")
    assert at >= 0, "no notification reached the terminal"
    if tmux:
        start = data.rfind("\x1bPtmux;", 0, at)
        assert start >= 0 and data[start - 1] == "\a"
        assert data[start:].startswith("\x1bPtmux;\x1b\x1b]9;prime-logs: new error: ")
        assert data[at - 3 : at] == "\x1b\x1b]"
    else:
        start = data.rfind("\a\x1b]9;prime-logs: new error: ", 0, at)
        assert start >= 0
        assert data[at - 2 : at] == "\x1b]"
    title = data[at:].split(";")[2]
    assert title.startswith("prime-logs: new error: failure ")


async def test_escape_closes_the_problems_pane_back_to_the_log_panes(tmp_path: Path) -> None:
    run, rank1, offset = write_run(tmp_path)
    first = finding(rank1, offset)
    doctor = StandIn(report(first, group("oom", first, signature="CUDA out of memory")))
    app = app_of(run, doctor)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.problems.report is not None)
        await pilot.press("s")  # two log panes shown
        assert app.panes[1].display
        await pilot.press("p")
        assert app.problems.view.display and not app.panes[0].display
        assert app.focused is app.problems.view
        await pilot.press("escape")
        assert not app.problems.view.display
        assert app.panes[0].display and app.panes[1].display
        assert app.focused is app.panes[0].log_view


async def test_the_doctor_looks_at_each_tick_while_files_grow_else_every_idle_look(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 256 idle files each look was half the dashboard's idle CPU: the doctor waits
    for a file to grow, or for `IDLE_LOOK_S` (its stalls' clocks go on)."""
    run, rank1, offset = write_run(tmp_path)
    doctor = StandIn(report(finding(rank1, offset)))
    app = app_of(run, doctor)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.problems.report is not None)
        await wait_for(pilot, lambda: not app.problems._busy)
        looks = doctor.updates
        app.problems.tick()  # nothing grew: no look
        await pilot.pause()
        assert doctor.updates == looks
        await grow(pilot, app, rank1)
        app.problems.tick()  # a file grew: a look
        await wait_for(pilot, lambda: doctor.updates == looks + 1)
        await wait_for(pilot, lambda: not app.problems._busy)
        monkeypatch.setattr(problems_module, "IDLE_LOOK_S", 0.0)
        app.problems.tick()  # the idle look is due
        await wait_for(pilot, lambda: doctor.updates == looks + 2)
