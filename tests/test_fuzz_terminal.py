"""Fuzz: whatever is under ``logs/``, only text and colours reach the terminal (issue 15).

Hypothesis writes random file names (escape sequences, C0/C1 controls, bytes that are
not UTF-8) holding random lines (log records, control sequences, random bytes) under a
run's ``logs/``, then

* runs ``prime-logs tail`` (the module from this tree, as a subprocess) with its
  stdout and stderr on a pseudo-terminal, in colour or not, text or ``--json``;
* renders what the dashboard draws from the same run: each sidebar row, each log
  row with its source tag (`LogView.row_text`) and each source pane's title, through
  a Rich console that writes to a terminal.

Each output must be valid UTF-8 holding no byte sequence but SGR (``ESC [ ... m``):
no other ESC, no C0 control but TAB and LF, no DEL, no C1 control; and nothing may
raise. Bounded: a few dozen examples, no deadline (a subprocess per example).
"""

from __future__ import annotations

import errno
import io
import os
import pty
import re
import subprocess
import sys
import tempfile
import tty
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from prime_rl_logs.core.run import Run
from prime_rl_logs.core.view import Filter, View
from prime_rl_logs.tui.log_view import LogView, tag_style
from prime_rl_logs.tui.pane import PaneSpec, tag_width
from prime_rl_logs.tui.sidebar import source_row

REPO = Path(__file__).resolve().parents[1]
SGR = re.compile(rb"\x1b\[[0-9;:]*m")
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")

NASTY = [
    b"\x1b]2;PWNED\x07",  # window title
    b"\x1b]0;t\x1b\\",  # title, ST-terminated
    b"\x1b]52;c;cHduZWQ=\x07",  # clipboard write
    b"\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\",  # hyperlink
    b"\x1b[2J",  # clear screen
    b"\x1b[H",
    b"\x1b[?1049h",  # alternate screen
    b"\x1b[6n",  # cursor position report (an answer typed into the shell)
    b"\x1bP1$r\x1b\\",  # DCS
    b"\x1b_apc\x1b\\",  # APC
    b"\x1bc",  # reset
    b"\x1b7",
    b"\x1b(0",  # line-drawing charset
    b"\x1b[",  # cut short
    b"\x1b",
    b"\x9b2J",  # 8-bit CSI, as a raw byte
    "\x9b2J".encode(),  # ... and as the UTF-8 of U+009B
    "\x9d0;t\x07".encode(),  # 8-bit OSC
    b"\x07",
    b"\x08",
    b"\r",
    b"\x7f",
    b"\x00",
    b"\xff\xfe",  # not UTF-8
    "\u202e".encode(),  # bidi override
    b"\x1b[31m",  # SGR: allowed through
    b"\x1b[38;2;255;0;0m",
    b"\x1b[0m",
]
FOLDERS = ["", "trainer/", "env_workers/", "envs/eval/", "orchestrator/", "inference/"]
RECORD = b"23:00:0%d    INFO "

pieces = st.one_of(
    st.sampled_from(NASTY),
    st.binary(max_size=12),
    st.sampled_from([b"hello", b"Step 3 | Loss: 0.1", b"\t", b"[tag] ", b"ERROR"]),
)
name_bytes = st.lists(
    st.one_of(st.sampled_from(NASTY), st.binary(min_size=1, max_size=6)), min_size=1, max_size=4
).map(lambda parts: b"".join(parts).replace(b"/", b"_").replace(b"\x00", b"_")[:200])
lines = st.lists(
    st.tuples(st.booleans(), st.integers(0, 9), st.lists(pieces, max_size=6)).map(
        lambda t: (RECORD % t[1] if t[0] else b"") + b"".join(t[2])
    ),
    max_size=6,
)
files = st.lists(st.tuples(st.sampled_from(FOLDERS), name_bytes, lines), min_size=1, max_size=4)


def write_run(root: Path, spec: list[tuple[str, bytes, list[bytes]]]) -> Path:
    logs = os.fsencode(root / "logs")
    os.makedirs(logs, exist_ok=True)
    for folder, name, body in spec:
        directory = os.path.join(logs, folder.encode())
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, name + b".log"), "wb") as f:
            f.write(b"\n".join(body) + (b"\n" if body else b""))
    return root


def assert_only_sgr(data: bytes, what: str) -> None:
    text = data.decode("utf-8")  # strict: no stray 8-bit byte a terminal could take as C1
    rest = SGR.sub(b"", data).decode("utf-8")
    bad = UNSAFE.search(rest)
    assert bad is None, f"{what}: {bad.group()!r} in {text!r}"


def tail_on_a_pty(run: Path, *args: str, colour: bool) -> bytes:
    """``prime-logs tail RUN ARGS`` with stdout and stderr on a pseudo-terminal (raw
    mode, so the terminal adds no CR): every byte it wrote, and its exit code 0."""
    master, slave = pty.openpty()
    tty.setraw(slave)
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    env["PYTHONPATH"] = str(REPO)
    if not colour:
        env["NO_COLOR"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "prime_rl_logs", "tail", str(run), *args],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    chunks = []
    try:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError as exc:  # EIO: the child closed the terminal
                if exc.errno != errno.EIO:
                    raise
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
        code = proc.wait(timeout=60)
    out = b"".join(chunks)
    assert code == 0, out
    return out


def render(console: Console, renderable: object) -> bytes:
    buffer = console.file
    assert isinstance(buffer, io.StringIO)
    buffer.seek(0)
    buffer.truncate()
    console.print(renderable)
    return buffer.getvalue().encode("utf-8")


def dashboard_output(run: Path) -> list[tuple[str, bytes]]:
    """What the dashboard draws from the run: sidebar rows, tagged log rows, titles."""
    model = Run(run)
    model.refresh()
    console = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor", width=100)
    drawn: list[tuple[str, bytes]] = []
    for f in model.files:
        drawn.append(("sidebar", render(console, source_row(f, False, 0.0))))
        drawn.append(("sidebar error", render(console, source_row(f, True, 1e9))))
        drawn.append(("pane title", PaneSpec.of_source(f.source.rel).title.encode()))
        tag_style(f.source.tag)
    view = View(model, Filter())
    while not view.complete:
        view.build(1.0)
    lv = LogView()
    lv.view, lv.tag_width = view, tag_width(model.files)
    for i in range(len(view)):
        drawn.append(("log row", render(console, lv.row_text(i))))
    return drawn


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(spec=files, colour=st.booleans(), as_json=st.booleans())
def test_only_sgr_reaches_the_terminal(
    spec: list[tuple[str, bytes, list[bytes]]], colour: bool, as_json: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run = write_run(Path(tmp), spec)
        out = tail_on_a_pty(run, *(["--json"] if as_json else []), colour=colour)
        assert_only_sgr(out, "tail")
        for what, data in dashboard_output(run):
            assert_only_sgr(data, what)
