"""Hostile names (issue 15, items 1, 3 and 4): a file name, metric key or folder tree
under ``logs/`` is written by whoever can write there, and must neither reach the
terminal as a control sequence, nor crash a reader, nor be dropped in silence.

Escape sequences and bytes that are not UTF-8 in names are shown escaped
(`layout.safe_name`), by ``tail`` (text and ``--json``), ``metrics`` and the tmux
fallback's pane headers; folders too deep to read are reported on stderr.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from prime_rl_logs import layout
from prime_rl_logs.cli import main
from prime_rl_logs.layout import classify, discover, safe_name, too_deep_notice
from tests.fixtures import loguru_line
from tests.test_tail import Lines

REPO = Path(__file__).resolve().parents[1]
OSC_TITLE = "\x1b]2;PWNED\x07"
OSC_CLIPBOARD = "\x1b]52;c;cHduZWQ=\x07"
CLEAR = "\x1b[2J"
EVIL = f"{OSC_TITLE}{CLEAR}{OSC_CLIPBOARD}\x9b2J\u202e"
NOT_UTF8 = os.fsdecode(b"\xff\xfebad")  # a name that is not valid UTF-8
SGR = re.compile(rb"\x1b\[[0-9;:]*m")


def only_sgr(data: bytes) -> bool:
    """No byte sequence but SGR colour codes: no other ESC, no C0 but TAB/LF, no C1."""
    rest = SGR.sub(b"", data)
    if re.search(rb"[\x00-\x08\x0b-\x1f\x7f]", rest):
        return False
    return not re.search("[\x80-\x9f\u2028\u2029\u202a-\u202e]", rest.decode("utf-8", "replace"))


@pytest.fixture(autouse=True)
def _plain_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)


def hostile_run(root: Path) -> Path:
    """The issue's repro, plus a name that is not UTF-8 and an evil trainer folder."""
    logs = root / "logs"
    (logs / "env_workers").mkdir(parents=True)
    (logs / "orchestrator.log").write_text(loguru_line("23:00:01", "INFO", "orch") + "\n")
    (logs / "env_workers" / f"{EVIL}.log").write_text("23:00:02    INFO env\n")
    (logs / "env_workers" / f"{NOT_UTF8}.log").write_text("23:00:03    INFO not utf-8\n")
    (logs / f"{CLEAR}other.log").write_text("23:00:04    INFO other\n")
    return root


def run_module(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    base = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    base["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "prime_rl_logs", *args],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        env={**base, **(env or {})},
        timeout=60,
    )


# ---------------------------------------------------------------------------
# The one mechanism: safe_name and the display strings of a Source


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("gsm8k", "gsm8k"),
        ("日本語 name", "日本語 name"),
        ("\x1b]2;PWNED\x07", "\\x1b]2;PWNED\\x07"),
        ("\x1b[31mred", "\\x1b[31mred"),  # not even a colour in a name
        ("a\x9bb", "a\\x9bb"),
        ("tab\there", "tab\\x09here"),
        (NOT_UTF8, "\\xff\\xfebad"),
        ("rtl\u202eexe.log", "rtl\\u202eexe.log"),
    ],
)
def test_safe_name_escapes_what_is_not_printable(raw: str, shown: str) -> None:
    assert safe_name(raw) == shown
    assert safe_name(raw).isprintable()
    safe_name(raw).encode("utf-8")  # never a lone surrogate


def test_source_display_strings_are_safe_and_rel_stays_raw() -> None:
    logs = Path("/run/logs")
    for rel in (f"env_workers/{EVIL}.log", f"envs/eval/{EVIL}.log", f"{EVIL}.log"):
        source = classify(logs / rel, logs)
        assert source.rel == rel  # identity: filters and sidebar ids use it
        for text in (source.tag, source.title, source.label):
            assert text.isprintable() and "\x1b" not in text, text
    source = classify(logs / f"env_workers/{NOT_UTF8}.log", logs)
    assert (source.tag, source.title) == ("\\xff\\xfebad", "\\xff\\xfebad")
    assert source.label == "env_workers/\\xff\\xfebad.log"


# ---------------------------------------------------------------------------
# tail


@pytest.mark.parametrize("colour", ["0", "1"])
def test_tail_prints_no_escape_from_a_file_name(tmp_path: Path, colour: str) -> None:
    run = hostile_run(tmp_path)
    env = {"FORCE_COLOR": "1"} if colour == "1" else {"NO_COLOR": "1"}
    done = run_module("tail", str(run), env=env)
    assert done.returncode == 0, done.stderr
    assert only_sgr(done.stdout), done.stdout
    assert only_sgr(done.stderr), done.stderr
    text = done.stdout.decode()
    assert "\\x1b]2;PWNED\\x07" in text  # shown escaped, so it can be found
    assert "\\xff\\xfebad" in text and "not utf-8" in text  # read like any other file
    assert "other" in text


def test_tail_json_escapes_names(tmp_path: Path) -> None:
    run = hostile_run(tmp_path)
    done = run_module("tail", str(run), "--json")
    assert done.returncode == 0, done.stderr
    assert only_sgr(done.stdout) and b"\x1b" not in done.stdout
    records = [json.loads(line) for line in done.stdout.decode().splitlines()]
    files = {r["file"] for r in records}
    assert "env_workers/\\xff\\xfebad.log" in files
    for record in records:
        for key in ("file", "source"):
            assert record[key].isprintable(), record


def test_tail_follow_reads_a_file_whose_name_is_not_utf8(tmp_path: Path) -> None:
    run = hostile_run(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.Popen(
        [sys.executable, "-m", "prime_rl_logs", "tail", str(run), "--follow"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        out = Lines(proc)
        out.wait_for("not utf-8")
        with open(run / "logs" / "env_workers" / f"{NOT_UTF8}.log", "a") as f:
            f.write("23:00:05    INFO appended later\n")
        line = out.wait_for("appended later")  # the watcher used to die here
        assert line.startswith("\\xff\\xfebad")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_tail_follow_notices_name_files_escaped(tmp_path: Path) -> None:
    run = hostile_run(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.Popen(
        [sys.executable, "-m", "prime_rl_logs", "tail", str(run), "--follow"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # the notices go to stderr
        stdin=subprocess.DEVNULL,
        text=True,
        errors="surrogateescape",
        env=env,
    )
    try:
        out = Lines(proc)
        out.wait_for("INFO env")
        fresh = run / "logs" / "fresh"
        fresh.write_text("23:00:09    INFO new\n")
        fresh.replace(run / "logs" / "env_workers" / f"{EVIL}.log")  # a new inode
        notice = out.wait_for("was truncated or replaced")
        assert notice.startswith("prime-logs: env_workers/\\x1b]2;PWNED\\x07"), notice
        assert notice.isprintable()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ---------------------------------------------------------------------------
# metrics


def test_metrics_names_from_files_are_escaped(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    evil_key = f"{OSC_TITLE}{CLEAR}loss"
    (tmp_path / "metrics.jsonl").write_text(json.dumps({"step": 1, evil_key: 0.5}) + "\n")
    csv = run_module("metrics", str(tmp_path))
    assert csv.returncode == 0, csv.stderr
    assert b"\x1b" not in csv.stdout and b"\x07" not in csv.stdout
    assert "\\x1b]2;PWNED\\x07\\x1b[2Jloss" in csv.stdout.decode().splitlines()[0]
    js = run_module("metrics", str(tmp_path), "--json")
    assert js.returncode == 0 and b"\x1b" not in js.stdout  # JSON escapes it
    assert evil_key in json.loads(js.stdout)["series"]


# ---------------------------------------------------------------------------
# Deep folders (item 4)


def make_deep(root: Path, depth: int) -> Path:
    """``logs/d/d/.../d/x.log`` ``depth`` folders deep, and one file at the top."""
    logs = root / "logs"
    logs.mkdir(parents=True)
    (logs / "orchestrator.log").write_text("23:00:00    INFO top\n")
    fd = os.open(logs, os.O_RDONLY)
    try:
        for _ in range(depth):  # by descriptor: the path gets too long for one call
            os.mkdir("d", dir_fd=fd)
            inner = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        wfd = os.open("x.log", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(wfd, b"23:00:01    INFO deep\n")
        os.close(wfd)
    finally:
        os.close(fd)
    return root


def remove_tree(root: Path) -> None:
    """`shutil.rmtree` without recursion (Python 3.11's recurses, and so would pytest's
    clean-up of its temporary folders): deepest entries first, from a stack."""
    stack = [os.fspath(root)]
    while stack:
        folder = stack[-1]
        subfolders = []
        with os.scandir(folder) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    subfolders.append(entry.path)
                else:
                    os.unlink(entry.path)
        if subfolders:
            stack.extend(subfolders)
        else:
            os.rmdir(folder)
            stack.pop()


@pytest.fixture
def deep_run(tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    """Makes a run with folders nested that deep; removes it after the test."""
    made: list[Path] = []

    def make(depth: int) -> Path:
        root = tmp_path / f"run{len(made)}"
        made.append(root)
        return make_deep(root, depth)

    yield make
    for root in made:
        remove_tree(root)


def test_discover_is_iterative_and_reports_what_it_cut(
    deep_run: Callable[[int], Path],
) -> None:
    logs = deep_run(1000) / "logs"
    cut: list[Path] = []
    assert discover(logs, cut=cut) == [logs / "orchestrator.log"]  # no RecursionError
    assert len(cut) == 1 and len(cut[0].relative_to(logs).parts) == layout.MAX_DEPTH + 1
    notice = too_deep_notice(logs, cut)
    assert notice is not None and f"more than {layout.MAX_DEPTH} deep" in notice


def test_discover_finds_files_down_to_the_limit(deep_run: Callable[[int], Path]) -> None:
    logs = deep_run(layout.MAX_DEPTH) / "logs"
    cut: list[Path] = []
    assert len(discover(logs, cut=cut)) == 2
    assert cut == [] and too_deep_notice(logs, cut) is None


@pytest.mark.parametrize("command", ["tail", "metrics"])
def test_deep_folders_are_reported_on_stderr_not_raised(
    deep_run: Callable[[int], Path], command: str
) -> None:
    run = deep_run(1000)
    done = run_module(command, str(run))
    assert done.returncode == 0, done.stderr[-2000:]
    warnings = done.stderr.decode().splitlines()
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("prime-logs: warning: folders more than 32 deep")
    if command == "tail":
        assert b"top" in done.stdout


def test_tail_in_process_reports_depth_once(
    deep_run: Callable[[int], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    run = deep_run(40)
    assert main(["tail", str(run)]) == 0
    captured = capsys.readouterr()
    assert "top" in captured.out
    assert captured.err.count("not read") == 1


# ---------------------------------------------------------------------------
# The tmux fallback's pane headers


@pytest.fixture
def pane_script() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)


def test_tmux_pane_header_escapes_file_names(
    tmp_path: Path, pane_script: list[subprocess.Popen[bytes]]
) -> None:
    logs = tmp_path / "logs" / "orchestrator"
    logs.mkdir(parents=True)
    (logs / f"{EVIL}.log").write_text("23:00:02    INFO hello\n")
    proc = subprocess.Popen(
        ["bash", str(REPO / "scripts" / "tmux.sh"), "--pane", "orchestrator", "-o", str(tmp_path)],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    pane_script.append(proc)
    assert proc.stdout is not None
    header = proc.stdout.readline()
    assert header.startswith(b"==> orchestrator/"), header
    assert b"PWNED" in header and only_sgr(header), header
