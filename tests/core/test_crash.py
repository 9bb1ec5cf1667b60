"""Crashes (issue 16): bare Python tracebacks as ERROR records of their own, chained
tracebacks kept whole, torchrun's ChildFailedError box parsed, and what
``prime-logs tail --level error --json`` prints for a rank's crash. The log text is
made up for these tests, following what Python, PyTorch and torchrun write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prime_rl_logs.cli import main
from prime_rl_logs.core.crash import child_failure_box, exception_line
from prime_rl_logs.core.parse import parse_line
from prime_rl_logs.core.run import Run
from prime_rl_logs.core.scan.records import count_problems, header_level
from prime_rl_logs.core.view import Filter, View
from tests.fixtures import append, log_line

T0 = 9 * 3600

FRAMES = b'  File "/job/loop.py", line 7, in step\n    total += batch.size\n'
CRASH = b"Traceback (most recent call last):\n" + FRAMES + b"TypeError: bad operand\n"


def starts(data: bytes) -> list[int]:
    return [0, *(i + 1 for i, c in enumerate(data[:-1]) if c == 10)]


def levels_of(data: bytes) -> list[int | None]:
    """`header_level` of each line, judged inside the whole buffer."""
    out = []
    for s in starts(data):
        e = data.find(b"\n", s) + 1
        out.append(header_level(data, s, e))
    return out


def test_a_traceback_opening_a_file_is_an_error_record() -> None:
    assert levels_of(CRASH) == [40, None, None, None]
    assert count_problems(CRASH) == (0, 1)


def test_a_traceback_after_an_info_line_is_its_own_error_record() -> None:
    data = log_line(T0, "INFO", "epoch 3", color=False) + CRASH
    assert levels_of(data)[:2] == [20, 40]


def test_a_traceback_right_after_an_error_or_warning_header_belongs_to_it() -> None:
    for level in ("WARNING", "ERROR"):
        data = log_line(T0, level, "step failed") + CRASH
        assert levels_of(data)[1] is None
    py = b"2025-01-31 09:00:00,001 - loop - ERROR - step failed\n" + CRASH
    assert levels_of(py)[1] is None


def test_a_traceback_after_a_glog_error_is_its_own_record() -> None:
    data = b"[rank1]:[E131 09:00:01.000000001 Sync.cpp:9] [Rank 1] timed out\n" + b"".join(
        b"[rank1]: " + ln + b"\n" for ln in CRASH.splitlines()
    )
    assert levels_of(data)[:2] == [40, 40]


def test_a_traceback_after_another_ranks_error_is_its_own_record() -> None:
    data = b"[rank0]: 09:00:00   ERROR boom\n[rank1]: Traceback (most recent call last):\n"
    assert levels_of(data) == [40, 40]


def test_a_chained_traceback_stays_one_record() -> None:
    data = (
        CRASH + b"\nDuring handling of the above exception, another exception occurred:\n\n" + CRASH
    )
    lv = levels_of(data)
    assert lv[0] == 40
    assert lv[1:] == [None] * (len(lv) - 1)


def test_an_indented_traceback_is_never_a_header() -> None:
    assert levels_of(b"  Traceback (most recent call last):\n") == [None]
    assert not parse_line("Traceback (most recent call last): and more").header


def test_level_filter_reads_traceback_records_the_same_across_chunk_cuts(
    tmp_path: Path,
) -> None:
    # The WARNING's traceback is hidden with it; the crash after an INFO line is
    # shown whole, whichever chunk the backward scan starts at the traceback.
    head = log_line(T0, "WARNING", "retrying", color=False)
    data = head + CRASH + log_line(T0 + 1, "INFO", "resumed", color=False) + CRASH
    append(tmp_path / "logs" / "orchestrator.log", data)
    run = Run(tmp_path)
    run.refresh()
    crash_at = len(data) - len(CRASH)
    for size in (len(data) - len(head), len(CRASH), 40, 4096):
        view = View(run, Filter(min_level=40))
        for m in view._members.values():
            m.first_chunk = m.chunk = size
        while not view.complete:
            view.build(0.01)
        got = [view.row(i).offset for i in range(len(view))]
        assert got == [s for s in starts(data) if s >= crash_at], size


BOX = """\
Traceback (most recent call last):
  File "/venv/bin/torchrun", line 8, in <module>
    sys.exit(main())
torch.distributed.elastic.multiprocessing.errors.ChildFailedError:
============================================================
rl_train.py FAILED
------------------------------------------------------------
Failures:
[1]:
  time      : 2025-01-31_09:14:02
  host      : gpu-node-7
  rank      : 3 (local_rank: 1)
  exitcode  : -9 (pid: 51234)
  error_file: <N/A>
  traceback : Signal 9 (SIGKILL) received by PID 51234
------------------------------------------------------------
Root Cause (first observed failure):
[0]:
  time      : 2025-01-31_09:14:01
  host      : gpu-node-7
  rank      : 2 (local_rank: 0)
  exitcode  : 1 (pid: 51233)
  error_file: <N/A>
  traceback : To enable traceback see: https://pytorch.org/docs/stable/elastic/errors.html
============================================================
"""


def test_child_failed_box_is_one_error_record_with_its_fields() -> None:
    data = b"W0131 09:14:00.100000 400 torch/elastic/api.py:9] closing workers\n" + BOX.encode()
    lv = levels_of(data)
    assert lv[:2] == [30, 40] and lv[2:] == [None] * (len(lv) - 2)
    lines = BOX.splitlines()
    assert exception_line(lines) == (
        "torch.distributed.elastic.multiprocessing.errors.ChildFailedError: rl_train.py FAILED"
    )
    box = child_failure_box(lines[4:])
    assert box is not None and box.title == "rl_train.py FAILED"
    root = box.root_cause
    assert root is not None
    assert (root.time, root.host, root.rank, root.local_rank, root.exitcode, root.pid) == (
        "2025-01-31_09:14:01",
        "gpu-node-7",
        2,
        0,
        1,
        51233,
    )
    [other] = box.failures
    assert (other.rank, other.local_rank, other.exitcode, other.pid) == (3, 1, -9, 51234)


def test_exception_line_strips_rank_prefixes() -> None:
    lines = ["[rank4]: Traceback (most recent call last):", "[rank4]: KeyError: 'step'"]
    assert exception_line(lines) == "KeyError: 'step'"
    assert child_failure_box(["no box here"]) is None


def test_tail_json_prints_a_ranks_crash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A rank's stderr: a NCCL watchdog timeout (glog, rank in the prefix) and the
    Python traceback that ended the process, every line behind ``[rank3]:``."""
    stderr = tmp_path / "logs" / "trainer" / "torchrun" / "r1" / "attempt_0" / "3" / "stderr.log"
    append(
        stderr,
        b"[rank3]:[I131 09:13:00.000001 Sync.cpp:20] [Rank 3] group ready\n"
        b"[rank3]:[E131 09:14:01.250000500 ProcessGroupNCCL.cpp:632] [Rank 3] Watchdog "
        b"caught collective operation timeout: ran for 600000 ms\n"
        + b"".join(b"[rank3]: " + ln + b"\n" for ln in CRASH.splitlines()),
    )
    code = main(["tail", str(tmp_path), "--level", "error", "--json"])
    out = capsys.readouterr().out
    assert code == 0
    watchdog, crash = (json.loads(line) for line in out.splitlines())
    assert (watchdog["level"], watchdog["time"], watchdog["rank"]) == ("ERROR", "09:14:01", 3)
    assert watchdog["message"].startswith("[Rank 3] Watchdog caught collective operation")
    assert (crash["level"], crash["time"], crash["rank"]) == ("ERROR", "09:14:01", 3)
    assert crash["time_inferred"] is True
    assert crash["message"] == "TypeError: bad operand"
    assert crash["traceback"] == CRASH.decode().rstrip("\n")


def test_next_problem_skips_a_traceback_that_belongs_to_its_error(tmp_path: Path) -> None:
    # Rows: 0 ERROR header, 1-4 its traceback, 5 INFO, 6-9 a crash of its own.
    data = log_line(T0, "ERROR", "step failed") + CRASH
    data += log_line(T0 + 1, "INFO", "resumed") + CRASH
    append(tmp_path / "logs" / "orchestrator.log", data)
    run = Run(tmp_path)
    run.refresh()
    for flt, crash_row in ((Filter(), 6), (Filter(min_level=40), 5)):
        view = View(run, flt)
        while not view.complete:
            view.build(0.01)
        assert view.next_problem(1) == crash_row  # from the traceback below the header
        assert view.next_problem(crash_row - 1, backwards=True) == 0


BOX_ALONE = BOX[BOX.index("====") :].encode()


def test_a_child_failed_box_without_its_traceback_is_one_error_record() -> None:
    """torchrun's box with no launcher traceback in front (its own ERROR record, the
    bottom rule and every field line inside it); one error counted."""
    data = log_line(T0, "INFO", "launching", color=False) + BOX_ALONE
    lv = levels_of(data)
    assert lv[:2] == [20, 40] and lv[2:] == [None] * (len(lv) - 2)
    assert count_problems(data) == (0, 1)
    # After the launcher's traceback, the same box stays part of that record.
    assert count_problems(BOX.encode()) == (0, 1)


def test_tail_json_prints_the_box_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    append(tmp_path / "logs" / "rl.log", log_line(T0, "INFO", "launching") + BOX_ALONE)
    append(tmp_path / "logs" / "orchestrator.log", log_line(T0, "INFO", "x") + BOX.encode())
    code = main(["tail", str(tmp_path), "--level", "error", "--json"])
    assert code == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(records) == 2
    root = {
        "time": "2025-01-31_09:14:01",
        "host": "gpu-node-7",
        "rank": 2,
        "local_rank": 0,
        "exitcode": 1,
        "pid": 51233,
    }
    for record in records:
        assert record["level"] == "ERROR" and record["failed"] == "rl_train.py FAILED"
        assert record["failure"] == root
        [other] = record["other_failures"]
        assert (other["rank"], other["exitcode"], other["pid"]) == (3, -9, 51234)
    by_file = {r["file"]: r for r in records}
    assert by_file["rl.log"]["message"] == "ChildFailedError: rl_train.py FAILED"
    assert by_file["rl.log"]["time"] == "09:00:00" and by_file["rl.log"]["time_inferred"]
    assert by_file["orchestrator.log"]["message"].endswith("ChildFailedError: rl_train.py FAILED")


def test_tail_json_gives_the_node_of_a_multi_node_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = tmp_path / "logs"
    append(logs / "trainer" / "node_1.log", log_line(T0, "ERROR", "node one fails", rank=8))
    append(logs / "inference" / "node_2.log", log_line(T0 + 1, "ERROR", "node two fails"))
    append(logs / "orchestrator.log", log_line(T0 + 2, "ERROR", "orchestrator fails"))
    assert main(["tail", str(tmp_path), "--level", "error", "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["message"], r.get("node")) for r in records] == [
        ("node one fails", 1),
        ("node two fails", 2),
        ("orchestrator fails", None),
    ]
    assert records[0]["rank"] == 8 and "node" not in records[2]
