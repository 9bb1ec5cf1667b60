"""Run and LogFile on real runs on disk: discovery, growth, resets, text and info."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from prime_rl_logs.core import follow
from prime_rl_logs.core.run import (
    GONE_TEXT,
    ORPHAN_LEVEL,
    Appended,
    LogFile,
    Run,
    header_level,
)
from tests.core.conftest import append, log_line, replace_symlink, traceback_lines

T0 = 14 * 3600


def only(run: Run, rel: str) -> LogFile:
    [f] = [f for f in run.files if f.source.rel == rel]
    return f


def span(appended: Appended) -> tuple[int, int]:
    return appended.start, appended.end


def offsets_of(path: Path) -> list[int]:
    out, pos = [], 0
    for line in path.read_bytes().split(b"\n")[:-1]:
        out.append(pos)
        pos += len(line) + 1
    return out


def test_waits_for_logs_then_reads_new_files_from_the_start(tmp_path: Path) -> None:
    run = Run(tmp_path / "out")
    assert not run.refresh() and not run.exists and run.files == []
    log = tmp_path / "out" / "logs" / "orchestrator.log"
    append(log, log_line(T0, "INFO", "hello") + log_line(T0 + 1, "WARNING", "careful"))
    changes = run.refresh()
    assert run.exists
    [f] = changes.new_files
    assert f.source.component == "orchestrator"
    assert span(changes.grown[f]) == (0, log.stat().st_size)
    assert f.lines == 2 and f.warnings == 1 and f.errors == 0 and f.indexed
    assert "careful" in f.text(offsets_of(log)[1])


def test_existing_files_open_at_the_end_and_index_backwards(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    lines = [log_line(T0 + i, "ERROR" if i % 100 == 0 else "INFO", f"n{i}") for i in range(5000)]
    append(logs / "trainer" / "rank_0.log", b"".join(lines))
    append(logs / "orchestrator.log", log_line(T0, "INFO", "orch"))
    run = Run(tmp_path)
    changes = run.refresh()
    assert len(changes.new_files) == 2 and not changes.grown
    f = only(run, "trainer/rank_0.log")
    assert [x.source.rel for x in run.files] == ["trainer/rank_0.log", "orchestrator.log"]
    assert 0 < f.lines < 5000 and not f.indexed  # the last screen, counted already
    assert f.errors > 0
    while not run.build_index(0.01):
        pass
    assert f.lines == 5000 and f.errors == 50 and f.warnings == 0
    starts = offsets_of(logs / "trainer" / "rank_0.log")
    assert f.text(starts[4999]).endswith("n4999\x1b[0m\x1b[0m")
    append(logs / "trainer" / "rank_0.log", log_line(T0, "INFO", "more"))
    changes = run.refresh([logs / "trainer" / "rank_0.log"])
    assert list(changes.grown) == [f] and f.lines == 5001


def test_partial_lines_wait_for_their_newline(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "rl.log"
    append(log, b"")
    run = Run(tmp_path)
    run.refresh()
    f = only(run, "rl.log")
    append(log, b"14:00:00    INFO half")
    assert not run.refresh() and f.lines == 0 and f.size == len(b"14:00:00    INFO half")
    append(log, b" and the rest\n")
    changes = run.refresh()
    assert span(changes.grown[f]) == (0, log.stat().st_size)
    assert f.text(0) == "14:00:00    INFO half and the rest"


def test_truncation_keeps_old_rows_readable_from_cache(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "orchestrator.log"
    append(log, b"")
    run = Run(tmp_path)
    run.refresh()
    f = only(run, "orchestrator.log")
    append(log, log_line(T0, "INFO", "first run") + log_line(T0, "INFO", "more"))
    run.refresh()
    shown = f.text(0)
    os.truncate(log, 0)
    append(log, log_line(T0 + 5, "INFO", "after truncation"))
    changes = run.refresh()
    assert changes.reset == [f] and f.generation == 1
    assert span(changes.grown[f]) == (0, log.stat().st_size)
    assert f.text(0, generation=0) == shown  # cached: the file no longer has it
    assert f.text(offsets_of(log)[0]).find("after truncation") > 0
    second_old_line = len(log_line(T0, "INFO", "first run"))
    assert f.text(second_old_line, generation=0) == GONE_TEXT


def test_recreation_snapshots_the_deleted_file(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "orchestrator.log"
    append(log, log_line(T0, "ERROR", "old run"))
    run = Run(tmp_path)
    run.refresh()
    f = only(run, "orchestrator.log")
    log.unlink()  # setup_logger deletes and recreates its files
    append(log, log_line(T0 + 9, "INFO", "new run") * 3)
    changes = run.refresh()
    assert changes.reset == [f] and f.generation == 1 and f.errors == 0
    assert "old run" in f.text(0, generation=0)
    assert "new run" in f.text(0)
    assert f.lines == 3


def test_rename_rotation_drains_then_switches(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "orchestrator.log"
    append(log, log_line(T0, "INFO", "a"))
    run = Run(tmp_path)
    run.refresh()
    f = only(run, "orchestrator.log")
    append(log, log_line(T0, "INFO", "written before rotation"))
    log.rename(log.with_name("orchestrator.log.1"))
    append(log, log_line(T0, "INFO", "after rotation"))
    first = run.refresh()
    assert first.grown[f].start == len(log_line(T0, "INFO", "a")) and not first.reset
    assert run.behind
    second = run.refresh()
    assert second.reset == [f] and span(second.grown[f]) == (0, log.stat().st_size)
    assert "written before rotation" in f.text(first.grown[f].start, generation=0)


def test_latest_symlink_swap(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    append(logs / "attempt_1" / "trainer.log", log_line(T0, "INFO", "attempt one"))
    append(logs / "attempt_1" / "orchestrator.log", log_line(T0, "INFO", "orch one"))
    (logs / "latest").symlink_to("attempt_1")
    run = Run(tmp_path)
    run.refresh()
    assert {x.source.rel for x in run.files} == {"latest/trainer.log", "latest/orchestrator.log"}
    f = only(run, "latest/trainer.log")
    assert f.source.attempt == 1
    append(logs / "attempt_2" / "trainer.log", log_line(T0 + 60, "INFO", "attempt two"))
    append(logs / "attempt_2" / "envs" / "train" / "gsm8k.log", log_line(T0, "INFO", "env"))
    replace_symlink(logs / "latest", "attempt_2")
    changes = run.refresh()
    while run.behind:
        more = run.refresh()
        changes.reset += more.reset
        changes.grown.update(more.grown)
    assert f in changes.reset and f.source.attempt == 2
    assert "attempt two" in f.text(0) and "attempt one" in f.text(0, generation=0)
    assert [x.source.rel for x in changes.new_files] == ["latest/envs/train/gsm8k.log"]
    orch = only(run, "latest/orchestrator.log")
    assert orch in changes.gone and orch.status == "gone"
    assert "orch one" in orch.text(0)  # still on screen


def test_deleted_file_stays_readable_and_comes_back(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "inference.stdout"
    append(log, b"INFO 02-09 14:02:40 [api_server.py:1351] serving\n")
    run = Run(tmp_path)
    run.refresh()
    f = only(run, "inference.stdout")
    log.unlink()
    changes = run.refresh()
    assert changes.gone == [f] and f.status == "gone"
    assert "serving" in f.text(0)
    assert not run.refresh()  # gone once, not on every refresh
    append(log, b"INFO 02-09 14:05:00 [api_server.py:1351] back\n")
    changes = run.refresh()
    assert changes.reset == [f] and f.status == "live" and "back" in f.text(0)


def test_unreadable_file_is_an_error_not_an_exception(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "logs" / "orchestrator.log"
    append(log, log_line(T0, "INFO", "x"))
    real_open = os.open

    def deny(path, flags, *args, **kw):
        if Path(path) == log:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, *args, **kw)

    monkeypatch.setattr(follow.os, "open", deny)
    run = Run(tmp_path)
    run.refresh()
    f = only(run, "orchestrator.log")
    assert f.status == "error" and f.error == "cannot read orchestrator.log: Permission denied"
    assert "\n" not in f.error
    monkeypatch.setattr(follow.os, "open", real_open)
    run.refresh()
    assert f.status == "live" and f.error is None


def test_invalid_utf8_long_lines_and_escape_injection(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "orchestrator.log"
    huge = b"14:00:00    INFO " + b"x" * (10 << 20) + b"\n"
    evil = (
        b"14:00:01    INFO \x1b[31mred\x1b[0m \x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\x1b]0;pwned\x07ok\n"
    )
    append(log, b"")
    run = Run(tmp_path)
    run.refresh()
    f = only(run, "orchestrator.log")
    append(log, b"14:00:00    INFO caf\xc3 \xff\xfe\n" + huge + evil)
    run.refresh()
    starts = offsets_of(log)
    assert f.lines == 3
    assert "\ufffd" in f.text(starts[0])
    big = f.text(starts[1])
    assert len(big) < 20_000 and "cut: 10.5 MB line" in big
    assert f.info(starts[1]).header and f.info(starts[1]).level == 20
    safe = f.text(starts[2])
    assert safe == "14:00:01    INFO \x1b[31mred\x1b[0m ok"


def test_continuation_lines_carry_their_record_level(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "orchestrator.log"
    append(log, b"plain text before any record\n")
    append(log, log_line(T0, "INFO", "fine") + log_line(T0, "ERROR", "boom"))
    append(log, traceback_lines() + log_line(T0 + 1, "INFO", "recovered"))
    run = Run(tmp_path)
    run.refresh()
    f = only(run, "orchestrator.log")
    starts = offsets_of(log)
    levels = [f.info(s).level for s in starts]
    assert levels == [ORPHAN_LEVEL, 20, 40, 40, 40, 40, 40, 20]
    assert [f.info(s).header for s in starts] == [False, True, True] + [False] * 4 + [True]
    # Asked out of order (no cached neighbour), the answer is the same.
    f2 = LogFile(f.source, from_start=True)
    f2.refresh()
    assert [f2.info(s).level for s in reversed(starts)] == list(reversed(levels))


def test_interleaved_torchrun_ranks_keep_their_own_records(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "trainer.log"
    tb = traceback_lines(rank=1).splitlines(keepends=True)
    data = (
        log_line(T0, "ERROR", "rank 1 fails", rank=1)
        + tb[0]
        + log_line(T0, "INFO", "rank 0 fine", rank=0)
        + b"".join(tb[1:])
    )
    append(log, data)
    run = Run(tmp_path)
    run.refresh()
    f = only(run, "trainer.log")
    starts = offsets_of(log)
    assert [f.info(s).level for s in starts] == [40, 40, 20, 40, 40, 40]
    assert [f.info(s).rank for s in starts] == [1, 1, 0, 1, 1, 1]


def test_header_level_agrees_with_parse_line() -> None:
    lines = [
        log_line(T0, "WARNING", "w"),
        log_line(T0, "NOTICE", "custom"),
        log_line(T0, "DEBUG", "d", color=False, rank=3),
        b"(APIServer pid=1) WARNING 02-09 14:02:40 [api_server.py:1] vllm\n",
        b'(APIServer pid=1) INFO:     127.0.0.1:5 - "POST /v1 HTTP/1.1" 200 OK\n',
        b'{"timestamp": "2026-02-09T14:00:00", "level": "ERROR", "message": "j"}\n',
        b"2026-02-09 14:02:40,123 - CRITICAL - iso\n",
        b"Traceback (most recent call last):\n",
        b"  File x\n",
        b"14:00:00    INFO progress 1%\r\x1b[2Kprogress 2%\n",
        b"\n",
    ]
    expected = [30, 20, 10, 30, 20, 40, 50, None, None, None, None]
    assert [header_level(x, 0, len(x)) for x in lines] == expected


def test_refresh_with_unknown_path_discovers(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    append(logs / "orchestrator.log", b"")
    run = Run(tmp_path)
    run.refresh()
    append(logs / "env_workers" / "gsm8k.log", log_line(T0, "INFO", "env up"))
    changes = run.refresh([logs / "env_workers"])
    assert [f.source.env for f in changes.new_files] == ["gsm8k"]
    assert changes.grown[changes.new_files[0]].start == 0
