"""`prime-logs tail` on fixture runs: every flag, both layouts, a live follow and `| head`.

Most tests run `main([...])` in-process with capsys (stdout is then not a terminal, so
no colour unless asked). The follow tests that need real time and a real pipe run the
installed command in a subprocess and wait for lines with a deadline.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from prime_rl_logs import tail as tail_cmd
from prime_rl_logs.cli import main
from tests.fixtures import STALE_MESSAGE, FixtureRun, loguru_line, write_fixture_run

PRIME_LOGS = Path(sys.executable).with_name("prime-logs")
WIDTH = len("reverse_text")  # the longest tag of the fixture runs


@pytest.fixture(autouse=True)
def _plain_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)


def tail(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    """Output lines of `prime-logs tail ARGS` (asserting it succeeds)."""
    code = main(["tail", *args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out.splitlines()


def index_of(lines: list[str], needle: str) -> int:
    hits = [i for i, line in enumerate(lines) if needle in line]
    assert hits, f"{needle!r} not in output:\n" + "\n".join(lines)
    return hits[0]


def header_lines(run: FixtureRun, lines: list[str]) -> list[str]:
    return [line for line in lines if any(r.message in line for r in run.records)]


# ---------------------------------------------------------------------------
# Plain output


def test_prints_every_record_merged_by_time_with_its_tag(
    capsys: pytest.CaptureFixture[str], fixture_run: FixtureRun
) -> None:
    lines = tail(capsys, str(fixture_run.output_dir))
    positions = [index_of(lines, r.message) for r in fixture_run.records]
    # Records with a clock come in time order; an access line (no clock of its own)
    # comes somewhere after the line written before it.
    clocked = [p for p, r in zip(positions, fixture_run.records, strict=True) if r.fmt != "uvicorn"]
    assert clocked == sorted(clocked), "records are not in time order"
    for i, record in enumerate(fixture_run.records):
        if record.fmt == "uvicorn":
            assert positions[i] > positions[i - 1]
    width = min(tail_cmd.TAG_WIDTH_MAX, max(5, *(len(r.tag) for r in fixture_run.records)))
    for record, position in zip(fixture_run.records, positions, strict=True):
        assert lines[position].startswith(f"{record.tag:<{width}} "), lines[position]
        # The record's continuation lines follow it, under the same tag.
        for offset, continuation in enumerate(record.continuation, start=1):
            follower = lines[position + offset]
            assert follower.startswith(f"{record.tag:<{width}} ")
            assert continuation.strip() in follower
    assert not any("\x1b" in line for line in lines), "colour in a pipe"


def test_library_layout_lines_look_like_the_files(
    capsys: pytest.CaptureFixture[str], library_run: FixtureRun
) -> None:
    lines = tail(capsys, str(library_run.output_dir))
    pad = " " * (WIDTH - 2)
    assert f"r1{pad} 14:04:03   ERROR Failed to load checkpoint shard" in lines
    assert f"r1{pad} FileNotFoundError: [Errno 2] No such file or directory: " in "\n".join(lines)
    assert f"orch{pad[2:]} 14:04:02 WARNING Inference server slow to respond (3.2s); pausing" in (
        lines
    )
    assert len(lines) == sum(1 + len(r.continuation) for r in library_run.records)


def test_latest_layout_reads_the_current_attempt_only(
    capsys: pytest.CaptureFixture[str], latest_run: FixtureRun
) -> None:
    lines = tail(capsys, str(latest_run.output_dir))
    text = "\n".join(lines)
    assert STALE_MESSAGE not in text
    assert "Step 2 | Time: 12.10s" in text
    # node_0.log interleaves ranks: each line's torchrun prefix becomes its rank's
    # tag and is not printed as text (issue 10).
    assert any(line.startswith("r1 ") for line in lines)
    assert not any("[default" in line for line in lines)
    assert any(line.startswith("reverse_text:eval ") for line in lines)


def test_colour_only_when_asked_in_a_pipe(
    capsys: pytest.CaptureFixture[str], library_run: FixtureRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = str(library_run.output_dir)
    assert not any("\x1b" in line for line in tail(capsys, out))
    monkeypatch.setenv("FORCE_COLOR", "1")
    coloured = tail(capsys, out)
    assert any("\x1b[32m\x1b[1mSUCCESS" in line for line in coloured)
    # Every line that opens a colour closes it, so nothing spills into the next source.
    for line in coloured:
        tag, body = line.split("\x1b[0m ", 1)
        assert tag.startswith("\x1b[")  # tags are coloured by component
        assert "\x1b" not in body or body.endswith("\x1b[0m")
    assert not any("\x1b" in line for line in tail(capsys, out, "--no-color"))
    monkeypatch.setenv("NO_COLOR", "1")
    assert not any("\x1b" in line for line in tail(capsys, out))


# ---------------------------------------------------------------------------
# Filters


def test_level_hides_lower_levels_but_keeps_tracebacks(
    capsys: pytest.CaptureFixture[str], fixture_run: FixtureRun
) -> None:
    lines = tail(capsys, str(fixture_run.output_dir), "--level", "warning")
    text = "\n".join(lines)
    assert "Failed to load checkpoint shard" in text
    assert "FileNotFoundError" in text  # the ERROR record's traceback
    assert "Inference server slow to respond" in text
    assert "Sample 12 exceeded max tokens" in text
    for record in fixture_run.records:
        if record.level in ("DEBUG", "INFO", "SUCCESS"):
            assert record.message not in text


def test_rank_shows_that_trainer_rank(
    capsys: pytest.CaptureFixture[str], fixture_run: FixtureRun
) -> None:
    text = "\n".join(tail(capsys, str(fixture_run.output_dir), "--rank", "1"))
    for message in fixture_run.messages(component="trainer", rank=1):
        assert message in text
    for message in fixture_run.messages(component="trainer", rank=0):
        assert message not in text


def test_component_shows_those_components(
    capsys: pytest.CaptureFixture[str], fixture_run: FixtureRun
) -> None:
    lines = tail(capsys, str(fixture_run.output_dir), "--component", "orchestrator")
    assert lines
    assert all(line.startswith("orch ") for line in lines)
    assert len(header_lines(fixture_run, lines)) == len(
        fixture_run.messages(component="orchestrator")
    )
    both = tail(capsys, str(fixture_run.output_dir), "--component", "trainer,env")
    tags = {r.tag for r in fixture_run.records if r.component in ("trainer", "env")}
    assert {line.split(" ", 1)[0] for line in both} == tags


def test_grep_and_exclude(capsys: pytest.CaptureFixture[str], library_run: FixtureRun) -> None:
    out = str(library_run.output_dir)
    steps = header_lines(library_run, tail(capsys, out, "--grep", r"Step \d+ \|"))
    assert len(steps) == len([r for r in library_run.records if r.message.startswith("Step ")])
    assert all("Step " in line for line in steps)
    rest = "\n".join(tail(capsys, out, "--exclude", r"Step \d+"))
    assert "Step 1 |" not in rest
    assert "Starting trainer on rank 0" in rest
    both = tail(capsys, out, "--grep", "Step", "--exclude", "Reward", "--component", "trainer")
    assert {line.split(" ", 1)[0] for line in both} == {"r0", "r1"}


@pytest.mark.parametrize(
    "args",
    [["--level", "loud"], ["--grep", "(unclosed"], ["--exclude", "[bad"], ["--rank", "x"]],
)
def test_bad_filter_values_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], library_run: FixtureRun, args: list[str]
) -> None:
    assert main(["tail", str(library_run.output_dir), *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("prime-logs: error: ")
    assert captured.err.count("\n") == 1


# ---------------------------------------------------------------------------
# --lines, --json


def test_lines_prints_the_last_n(
    capsys: pytest.CaptureFixture[str], fixture_run: FixtureRun
) -> None:
    out = str(fixture_run.output_dir)
    everything = tail(capsys, out)
    # From the header of the record the third line from the end is in (in the library
    # layout that line continues a step record, so its header comes too).
    last = tail(capsys, out, "-n", "3")
    assert last == everything[-len(last) :] and 3 <= len(last) <= 4
    assert re.search(r"\d\d:\d\d:\d\d", last[0])
    assert tail(capsys, out, "--lines", "1000") == everything
    assert tail(capsys, out, "-n", "0") == []
    assert main(["tail", out, "-n", "-1"]) == 2
    assert "--lines" in capsys.readouterr().err


def test_json_is_one_object_per_record(
    capsys: pytest.CaptureFixture[str], fixture_run: FixtureRun
) -> None:
    objects = [json.loads(line) for line in tail(capsys, str(fixture_run.output_dir), "--json")]
    assert len(objects) == len(fixture_run.records)
    by_first_line = {o["message"].split("\n", 1)[0]: o for o in objects}
    for record in fixture_run.records:
        obj = by_first_line[re.sub(r"^\[\w+\] ", "", record.message)]
        assert {"time", "level", "source", "component", "rank", "tag", "message"} <= set(obj)
        assert obj["source"] == record.tag
        assert obj["component"] == record.component
        assert obj["level"] == record.level
        assert obj["rank"] == record.rank
        if record.fmt != "uvicorn":  # an access line carries no clock
            assert obj["time"] == record.time
        assert "\x1b" not in obj["message"]
    error = by_first_line["Failed to load checkpoint shard"]
    assert error["message"].splitlines()[-1].endswith("'checkpoints/step_0/rank_1.pt'")
    assert len(error["message"].splitlines()) == 5
    setup = next(o for o in objects if "Connected to inference server" in o["message"])
    assert setup["tag"] == "setup"
    assert setup["message"] == "Connected to inference server at localhost:8000"


def test_json_lines_counts_records(
    capsys: pytest.CaptureFixture[str], library_run: FixtureRun
) -> None:
    out = str(library_run.output_dir)
    everything = tail(capsys, out, "--json")
    last = tail(capsys, out, "--json", "-n", "8")
    assert last == everything[-8:]
    assert any("FileNotFoundError" in json.loads(line)["message"] for line in last)
    filtered = tail(capsys, out, "--json", "--level", "error")
    assert [json.loads(line)["level"] for line in filtered] == ["ERROR"]


# ---------------------------------------------------------------------------
# Missing folders


def test_missing_output_dir_is_an_error_without_follow(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["tail", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and err.count("\n") == 1
    assert main(["tail", str(tmp_path)]) == 2  # exists, but no logs/
    assert "no logs/" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# --follow in-process: watch_run replaced by a script of file changes


def scripted_watch(*steps: Callable[[], object]) -> Callable[..., AsyncIterator[Any]]:
    """A stand-in for core.watch.watch_run: runs each step, then yields what changed."""

    async def watch(run: Any, *, poll: bool | None = None, stop_event: Any = None) -> Any:
        for step in steps:
            step()
            changes = run.refresh()
            if changes:
                yield changes

    return watch


def append(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)


def writes(path: Path, time: str, level: str, message: str) -> Callable[[], None]:
    """A step that appends one loguru record to ``path``."""
    return lambda: append(path, loguru_line(time, level, message) + "\n")


def test_follow_prints_the_last_lines_then_new_ones(
    capsys: pytest.CaptureFixture[str], library_run: FixtureRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    everything = tail(capsys, str(library_run.output_dir))
    logs = library_run.logs
    monkeypatch.setattr(
        tail_cmd,
        "watch_run",
        scripted_watch(
            writes(logs / "orchestrator.log", "14:05:00", "INFO", "later"),
            writes(logs / "trainer" / "rank_9.log", "14:05:01", "INFO", "new rank"),
        ),
    )
    lines = tail(capsys, str(library_run.output_dir), "--follow")
    # The last 10 lines start inside a traceback: they are printed from its header.
    assert lines[:11] == everything[-11:]
    assert lines[11].startswith("orch ") and lines[11].endswith("14:05:00    INFO later")
    assert lines[12].startswith("r9 ") and lines[12].endswith("new rank")
    assert len(lines) == 13


def test_follow_with_filters_and_json(
    capsys: pytest.CaptureFixture[str], library_run: FixtureRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = library_run.logs
    crash = "rank 0 crashed\nTraceback (most recent call last):"
    monkeypatch.setattr(
        tail_cmd,
        "watch_run",
        scripted_watch(
            writes(logs / "orchestrator.log", "14:05:00", "ERROR", "orch"),
            writes(logs / "trainer" / "rank_0.log", "14:05:02", "ERROR", crash),
        ),
    )
    lines = tail(
        capsys, str(logs.parent), "-f", "-n", "0", "--json", "--rank", "0", "--component", "trainer"
    )
    assert [json.loads(line)["message"] for line in lines] == [crash]


def test_follow_waits_for_a_missing_output_dir(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "later"
    monkeypatch.setattr(tail_cmd, "watch_run", scripted_watch(lambda: write_fixture_run(out)))
    assert main(["tail", str(out), "--follow", "--component", "env"]) == 0
    captured = capsys.readouterr()
    assert "waiting for" in captured.err and str(out) in captured.err
    assert "Loaded 7473 examples" in captured.out


@pytest.mark.parametrize(
    ("watch_args", "expected_tags"),
    [
        ([], {"rl", "orch", "inf", "r0", "r1", "gsm8k", "reverse_text"}),
        (["--pane", "trainer"], {"r0", "r1"}),
        (["--pane", "all", "--rank", "0"], None),
        (["--pane", "orch", "--split", "envs"], {"orch", "gsm8k", "reverse_text"}),
    ],
)
def test_watch_without_a_terminal_follows_like_tail(
    capsys: pytest.CaptureFixture[str],
    library_run: FixtureRun,
    monkeypatch: pytest.MonkeyPatch,
    watch_args: list[str],
    expected_tags: set[str] | None,
) -> None:
    monkeypatch.setattr(tail_cmd, "watch_run", scripted_watch())
    code = main(["watch", str(library_run.output_dir), "--level", "info", *watch_args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "not a terminal" in captured.err
    lines = captured.out.splitlines()
    assert 0 < len(lines) <= 10 + 4  # from the header of the record line 10 is in
    tags = {line.split(" ", 1)[0] for line in lines}
    if expected_tags is None:
        assert "r1" not in tags
    else:
        assert tags <= expected_tags
    assert not any("DEBUG" in line for line in lines)


def test_watch_with_an_unknown_pane_is_an_error(
    capsys: pytest.CaptureFixture[str], library_run: FixtureRun
) -> None:
    assert main(["watch", str(library_run.output_dir), "--pane", "gpu"]) == 2
    assert "unknown pane" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# Real processes: a live follow and a closed pipe


class Lines:
    """Lines of a child's stdout, read by a thread, waited for with a deadline."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.queue: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        assert proc.stdout is not None
        stream = proc.stdout

        def pump() -> None:
            for line in stream:
                self.queue.put(line.rstrip("\n"))
            self.queue.put(None)

        threading.Thread(target=pump, daemon=True).start()

    def wait_for(self, needle: str, timeout: float = 20) -> str:
        for seen in self.seen:
            if needle in seen:
                return seen
        while True:
            try:
                line = self.queue.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"{needle!r} never printed; got {self.seen}") from None
            if line is None:
                raise AssertionError(f"output ended before {needle!r}; got {self.seen}")
            self.seen.append(line)
            if needle in line:
                return line


@pytest.fixture
def prime_logs() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
        proc = subprocess.Popen(
            [str(PRIME_LOGS), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)


def test_follow_picks_up_lines_and_files_written_after_start(
    prime_logs: Callable[..., subprocess.Popen[str]], library_run: FixtureRun
) -> None:
    proc = prime_logs("tail", str(library_run.output_dir), "--follow")
    out = Lines(proc)
    out.wait_for("All components running")  # the last line of the run so far
    append(
        library_run.logs / "orchestrator.log", loguru_line("14:05:00", "INFO", "appended") + "\n"
    )
    assert out.wait_for("appended").startswith("orch ")
    new_file = library_run.logs / "env_workers" / "wordle.log"
    append(new_file, loguru_line("14:05:01", "WARNING", "a new environment") + "\n")
    assert out.wait_for("a new environment").startswith("wordle ")
    append(new_file, "a line without a clock\n")
    assert out.wait_for("a line without a clock").startswith("wordle ")
    assert proc.poll() is None
    proc.terminate()
    proc.wait(timeout=10)
    assert proc.stderr is not None
    assert "Traceback" not in proc.stderr.read()


def test_follow_waits_for_the_run_to_start(
    prime_logs: Callable[..., subprocess.Popen[str]], tmp_path: Path
) -> None:
    out_dir = tmp_path / "starting"
    proc = prime_logs("tail", str(out_dir), "--follow", "--component", "trainer")
    assert proc.stderr is not None
    assert "waiting for" in proc.stderr.readline()
    write_fixture_run(out_dir)
    out = Lines(proc)
    assert out.wait_for("FileNotFoundError").startswith("r1 ")


BASH = shutil.which("bash")


def assert_quiet_through_head(args: str) -> None:
    """``args | head -n 3`` under ``pipefail``: three lines, exit 0, nothing on stderr
    (the tail stopped quietly when head went away)."""
    done = subprocess.run(
        [str(BASH), "-c", f"set -o pipefail; {args} | head -n 3"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 3
    assert done.stderr == ""


@pytest.mark.skipif(BASH is None, reason="needs bash for the pipeline")
@pytest.mark.parametrize("follow", [True, False])
def test_a_closed_pipe_ends_quietly(tmp_path: Path, follow: bool) -> None:
    run = write_fixture_run(tmp_path / "run")
    # Enough lines that the writer is still writing when head has gone.
    lines = [loguru_line("15:00:00", "INFO", f"filler line {i}") for i in range(20_000)]
    (run.logs / "trainer" / "rank_2.log").write_text("\n".join(lines) + "\n")
    args = f"{PRIME_LOGS} tail {run.output_dir} -n 30000" + (" --follow" if follow else "")
    assert_quiet_through_head(args)


@pytest.mark.skipif(BASH is None, reason="needs bash for the pipeline")
def test_a_follower_with_nothing_to_write_notices_head_has_gone(library_run: FixtureRun) -> None:
    # head exits after 3 of the 10 lines; no line is written after that, so only
    # watching the pipe tells the follower to stop.
    args = f"{PRIME_LOGS} tail {library_run.output_dir} --follow -n 3"
    assert_quiet_through_head(args)


def test_follow_reads_a_truncated_file_from_its_start(
    capsys: pytest.CaptureFixture[str], library_run: FixtureRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    rank0 = library_run.logs / "trainer" / "rank_0.log"
    monkeypatch.setattr(
        tail_cmd,
        "watch_run",
        scripted_watch(
            lambda: rank0.write_text(loguru_line("14:06:00", "INFO", "rank 0 restarted") + "\n")
        ),
    )
    assert main(["tail", str(library_run.output_dir), "-f", "-n", "0"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [f"r0{' ' * (WIDTH - 2)} 14:06:00    INFO rank 0 restarted"]
    assert "trainer/rank_0.log was truncated or replaced" in captured.err


def test_lines_starts_at_the_header_of_a_record(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Issue 15 item 14: ``-n N`` landing inside a traceback starts at its header: it
    prints N lines and, before them, the rest of that record."""
    logs = tmp_path / "logs"
    logs.mkdir()
    record = loguru_line("10:00:01", "ERROR", "boom\nTraceback (most recent call last):")
    record += "\n" + "\n".join(f'  File "x.py", line {i}, in f' for i in range(6))
    lines = [loguru_line("10:00:00", "INFO", "before"), record]
    (logs / "orchestrator.log").write_text("\n".join(lines) + "\n")
    out = tail(capsys, str(tmp_path), "-n", "3")
    assert "boom" in out[0]
    assert len(out) == 8
    assert out[-1].endswith("line 5, in f")


def test_a_record_glued_to_a_half_written_one_keeps_its_level(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Issue 15 item 8 (the reader): a record cut short without its newline (a full
    disk) has the next record glued onto its line; that line is judged by every
    header it holds, so an ERROR glued after an INFO is not hidden by --level error,
    and an ERROR whose line an INFO was glued onto is not hidden either."""
    logs = tmp_path / "logs"
    logs.mkdir()
    cut = loguru_line("10:00:01", "INFO", "half-writ")[:-8]  # no resets, no newline
    lines = [
        loguru_line("10:00:00", "INFO", "before"),
        cut + loguru_line("10:00:02", "ERROR", "glued error"),
        "Traceback (most recent call last):",
        loguru_line("10:00:03", "INFO", "after"),
        loguru_line("10:00:04", "ERROR", "cut error")[:-8] + loguru_line("10:00:05", "INFO", "x"),
    ]
    (logs / "orchestrator.log").write_text("\n".join(lines) + "\n")
    out = tail(capsys, str(tmp_path), "--level", "error")
    assert any("glued error" in line for line in out), out
    assert any("Traceback" in line for line in out), out
    assert any("cut error" in line for line in out), out
    assert not any("before" in line or "after" in line for line in out), out
    counted = tail(capsys, str(tmp_path), "--level", "warning")
    assert counted == out


def test_a_huge_line_is_cut_for_display_and_never_held_whole(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15 item 7: a line of 64 MiB (standing for the 2 GiB of the issue, with
    the backward scan's whole-line limit patched down from 16 MiB to 1 MiB) is shown
    cut with its size, the lines around it stay, and the reader's memory stays far
    below the line's size. The 2 GiB case (sparse file) was checked by hand: 4 of 4
    lines, 53 MB peak RSS."""
    import tracemalloc

    from prime_rl_logs.core import index

    monkeypatch.setattr(index, "LONG_LINE", 1 << 20, raising=False)
    logs = tmp_path / "logs"
    logs.mkdir()
    with (logs / "orchestrator.log").open("wb") as f:
        f.write((loguru_line("10:00:00", "INFO", "before") + "\n").encode())
        f.write(loguru_line("10:00:01", "ERROR", "huge ").encode())
        f.seek(64 << 20, os.SEEK_CUR)  # 64 MiB of NULs (a sparse hole)
        f.write(b"tail\n" + (loguru_line("10:00:02", "INFO", "after") + "\n").encode())
    tracemalloc.start()
    try:
        out = tail(capsys, str(tmp_path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(out) == 3, out
    assert out[0].endswith("before") and out[2].endswith("after")
    assert "huge" in out[1] and "[cut: 67.1 MB line]" in out[1]
    assert peak < 16 << 20
    assert tail(capsys, str(tmp_path), "--level", "error") == [out[1]]
