"""`Doctor.update` reads only what was appended: new groups appear, counts grow, nothing
is read again from the start (bytes counted: what was appended plus the one line before
it), a truncated file is read anew."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from prime_rl_logs.diagnose import Doctor, diagnose, filescan
from prime_rl_logs.diagnose.filescan import CHUNK, FileScan
from prime_rl_logs.layout import classify
from tests import diagnose_fixture as fx


def _append(path: Path, text: str) -> int:
    """Append ``text``; the bytes the doctor reads for it: the text and, again, the
    line before it (the line above that judges a traceback's first line)."""
    old = path.read_bytes()
    above = len(old.splitlines(keepends=True)[-1]) if old else 0
    data = text.encode()
    with path.open("ab") as fh:
        fh.write(data)
    return len(data) + above


def _run_files(run: Path) -> int:
    return sum(p.stat().st_size for p in (run / "logs" / "attempt_1").rglob("*.log"))


def test_update_reads_only_what_was_appended(tmp_path: Path) -> None:
    now = time.time() - 120
    case = fx.write_nan(tmp_path / "run", now, from_step=100)  # no NaN: a healthy run
    doctor = Doctor(case.run)
    assert doctor.update() is True
    assert doctor.bytes_read == _run_files(case.run)
    report = doctor.report(now)
    assert report.groups == () and report.first_failure is None
    read = doctor.bytes_read
    assert doctor.update() is False  # nothing changed: only stat
    assert doctor.bytes_read == read

    orch = case.run / "logs" / "attempt_1" / "orchestrator.log"
    added = _append(orch, fx.loguru(now + 1, "WARNING", "Slow rollout 17: 31.2s"))
    assert doctor.update() is True
    assert doctor.bytes_read == read + added
    [slow] = doctor.report(now + 2).groups
    assert slow.count == 1 and slow.template == "Slow rollout <n>: <n>s"

    stderr = fx.rank_dir(case.run / "logs" / "attempt_1", 1) / "stderr.log"
    more = _append(orch, fx.loguru(now + 3, "WARNING", "Slow rollout 18: 44.0s"))
    more += _append(  # (an empty stderr: nothing above)
        stderr, fx.traceback("/app/train.py", last="torch.OutOfMemoryError: CUDA out of memory.")
    )
    read = doctor.bytes_read
    assert doctor.update() is True
    assert doctor.bytes_read == read + more
    report = doctor.report(now + 4)
    groups = {g.key: g for g in report.groups}
    assert groups["WARNING: Slow rollout <n>: <n>s"].count == 2  # the old group grew
    assert groups["cuda-oom"].count == 1 and groups["cuda-oom"].ranks == (1,)  # a new one
    ff = report.first_failure
    assert ff is not None and ff.rank == 1 and ff.line == 1


def test_partial_line_waits_for_its_newline(tmp_path: Path) -> None:
    now = time.time()
    path = tmp_path / "logs" / "orchestrator.log"
    fx.write(path, fx.loguru(now - 5, "INFO", "hello"), now - 5)
    scan = FileScan(path, classify(path, tmp_path / "logs"), 1)
    assert scan.poll() == []
    line = fx.loguru(now - 1, "ERROR", "Rollout 3 failed")
    _append(path, line[:20])
    assert scan.poll() == []
    assert scan.offset == len(fx.loguru(now - 5, "INFO", "hello").encode())
    _append(path, line[20:])
    [hit] = scan.poll() or []
    assert hit.message == "Rollout 3 failed" and hit.line == 2


def test_truncated_file_is_read_from_its_start(tmp_path: Path) -> None:
    now = time.time()
    path = tmp_path / "logs" / "orchestrator.log"
    old = fx.loguru(now - 50, "INFO", "x" * 200) * 5 + fx.loguru(now - 40, "ERROR", "old failure")
    fx.write(path, old, now - 40)
    scan = FileScan(path, classify(path, tmp_path / "logs"), 1)
    [first] = scan.poll() or []
    assert first.line == 6
    fx.write(path, fx.loguru(now - 2, "ERROR", "new failure"), now - 2)  # shorter: truncated
    [again] = scan.poll() or []
    assert (again.message, again.line, again.offset, scan.resets) == ("new failure", 1, 0, 1)


def test_error_record_across_a_chunk_edge_keeps_its_traceback(tmp_path: Path) -> None:
    now = time.time()
    path = tmp_path / "logs" / "orchestrator.log"
    filler = fx.loguru(now - 60, "INFO", "y" * 1000)
    record = fx.loguru(now - 30, "ERROR", "Rollout failed") + fx.traceback(
        "/app/a.py", "/app/b.py", last="TimeoutError: no answer in 600 s"
    )
    # The record's header sits just before the first CHUNK boundary.
    n = (CHUNK - 200) // len(filler.encode())
    head = filler * n
    pad = CHUNK - 100 - len(head.encode())
    text = head + fx.loguru(now - 50, "INFO", "z" * max(0, pad - 40)) + record
    fx.write(path, text, now - 30)
    scan = FileScan(path, classify(path, tmp_path / "logs"), 1)
    [hit] = scan.poll() or []
    assert hit.message == "Rollout failed"
    assert hit.traceback[-1] == "TimeoutError: no answer in 600 s"
    assert hit.line == n + 2


def test_a_new_attempt_starts_afresh(tmp_path: Path) -> None:
    now = time.time()
    case = fx.write_oom_cascade(tmp_path / "run", now - 3600)
    doctor = Doctor(case.run)
    doctor.update()
    assert doctor.report(now).first_failure is not None
    # The launcher resumes: attempt 2, logs/latest -> attempt_2, a healthy start.
    logs2 = case.run / "logs" / "attempt_2"
    fx.write(logs2 / "orchestrator.log", fx.loguru(now - 5, "INFO", "Resuming"), now - 5)
    latest = case.run / "logs" / "latest"
    tmp = case.run / "logs" / "latest.tmp"
    tmp.symlink_to("attempt_2", target_is_directory=True)
    tmp.replace(latest)
    assert doctor.update() is True
    report = doctor.report(now)
    assert report.attempt == 2 and report.first_failure is None and report.groups == ()


def test_small_chunks_find_what_one_read_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cut into 1 KiB reads (records across every edge), the report is the same."""
    now = time.time()
    runs = [
        fx.write_oom_cascade(tmp_path / "oom", now).run,
        fx.write_env_death(tmp_path / "env", now).run,
        fx.write_nan(tmp_path / "nan", now).run,
    ]
    whole = [diagnose(run, now=now).to_json() for run in runs]
    monkeypatch.setattr(filescan, "CHUNK", 1024)
    cut = [diagnose(run, now=now).to_json() for run in runs]
    assert cut == whole
    assert whole[0]["first_failure"]["rank"] == 5  # type: ignore[index]


def test_appending_a_line_at_a_time_finds_what_one_read_finds(tmp_path: Path) -> None:
    now = time.time()
    case = fx.write_oom_cascade(tmp_path / "run", now)
    whole = diagnose(case.run, now=now).to_json()
    # The same run, its files grown a line at a time between updates.
    grown = tmp_path / "ran"  # (as long a name: the same sorting)
    shutil.copytree(case.run, grown, symlinks=True)
    files = sorted(p for p in (grown / "logs" / "attempt_1").rglob("*.log"))
    contents = {p: p.read_bytes().splitlines(keepends=True) for p in files}
    mtimes = {p: p.stat().st_mtime for p in files}
    for p in files:
        p.write_bytes(b"")
    doctor = Doctor(grown)
    doctor.update()
    step = 0
    while any(contents.values()):
        # The ranks' stderr (the OOM's traceback, NCCL lines) grow after the other files,
        # as a crash writes them: a bare traceback borrows its rank's stdout's last time.
        others_done = not any(c for q, c in contents.items() if q.name != "stderr.log")
        for p in files:
            if contents[p] and (p.name != "stderr.log" or others_done):
                with p.open("ab") as fh:
                    fh.write(contents[p].pop(0))
        step += 1
        if step % 7 == 0:
            doctor.update()
    for p in files:  # written now; the run's times are the files' last writes
        os.utime(p, (mtimes[p], mtimes[p]))
    doctor.update()
    got = doctor.report(now).to_json()
    assert got.pop("run") == "ran" and whole.pop("run") == "run"
    expected = json.dumps(whole, sort_keys=True).replace(str(case.run), str(grown))
    assert json.dumps(got, sort_keys=True) == expected


def test_a_traceback_being_written_waits_for_its_last_line(tmp_path: Path) -> None:
    now = time.time()
    path = tmp_path / "logs" / "trainer" / "stderr.log"
    fx.write(path, 'Traceback (most recent call last):\n  File "t.py", line 1\n', now)
    scan = FileScan(path, classify(path, tmp_path / "logs"), 1)
    assert scan.poll() == []  # written just now and not ended: left for the next poll
    _append(path, "torch.OutOfMemoryError: CUDA out of memory.\n")
    [hit] = scan.poll() or []
    assert hit.line == 1 and hit.signature is not None and hit.signature.name == "cuda-oom"
    assert hit.message == "torch.OutOfMemoryError: CUDA out of memory."


def test_a_cut_traceback_of_an_old_file_is_read_as_it_is(tmp_path: Path) -> None:
    now = time.time()
    path = tmp_path / "logs" / "trainer" / "stderr.log"
    fx.write(path, 'Traceback (most recent call last):\n  File "t.py", line 1\n', now - 60)
    scan = FileScan(path, classify(path, tmp_path / "logs"), 1)
    [hit] = scan.poll() or []  # the process died while writing it
    assert hit.line == 1 and hit.traceback[0] == "Traceback (most recent call last):"
