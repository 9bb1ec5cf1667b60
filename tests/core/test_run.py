"""Run and LogFile on real runs on disk: discovery, growth, resets, text and info."""

from __future__ import annotations

import errno
import itertools
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from prime_rl_logs.core import follow, line_read
from prime_rl_logs.core import run as run_module
from prime_rl_logs.core.file_change import Appended, FileChange
from prime_rl_logs.core.log_file import GONE_TEXT, LogFile
from prime_rl_logs.core.lru import LRU
from prime_rl_logs.core.run import Run
from prime_rl_logs.core.scan.records import ORPHAN_LEVEL, header_level
from prime_rl_logs.core.view import Filter, View
from tests.fixtures import append, log_line, replace_symlink, traceback_lines

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


def test_an_index_slice_ends_after_the_step_during_which_stop_turned_true(
    tmp_path: Path,
) -> None:
    """A key read mid-slice (the gate, `core.watch`) waits for one step, not the
    slice: with ``stop`` true, each call indexes one step whatever its budget."""
    lines = [log_line(T0 + i, "INFO", "x" * 100) for i in range(40_000)]  # ~5 MB
    append(tmp_path / "logs" / "orchestrator.log", b"".join(lines))
    run = Run(tmp_path)
    run.refresh()
    f = only(run, "orchestrator.log")
    seen = [f.lines]
    while not run.build_index(60.0, stop=lambda: True):
        seen.append(f.lines)
    assert len(seen) > 10  # one step a call: about `index.CHUNK` each
    steps = [b - a for a, b in itertools.pairwise(seen)]
    assert max(steps) < 2 * min(steps[:-1])
    assert f.lines == 40_000
    fresh = Run(tmp_path)
    fresh.refresh()
    assert fresh.build_index(60.0)  # no stop: the whole file in one call


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
    append(log, b"  indented text before any record\n")
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
    # A bare traceback starting a file is an ERROR record (issue 16); after a
    # WARNING-or-above header it continues that record. A redrawn line shows its
    # last state ("progress 2%"), of no shape and not a continuation's: an INFO
    # record of its own (issue 16).
    expected = [30, 20, 10, 30, 20, 40, 50, 40, None, 20, None]
    assert [header_level(x, 0, len(x)) for x in lines] == expected
    after = lines[0] + lines[7]
    assert header_level(after, len(lines[0]), len(after)) is None


def test_refresh_with_unknown_path_discovers(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    append(logs / "orchestrator.log", b"")
    run = Run(tmp_path)
    run.refresh()
    append(logs / "env_workers" / "gsm8k.log", log_line(T0, "INFO", "env up"))
    changes = run.refresh([logs / "env_workers"])
    assert [f.source.env for f in changes.new_files] == ["gsm8k"]
    assert changes.grown[changes.new_files[0]].start == 0


# ---------------------------------------------------------------------------
# Appended lines travel with the change that announces them


def test_refresh_hands_over_the_appended_bytes(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "orchestrator.log"
    append(log, log_line(T0, "INFO", "before"))
    run = Run(tmp_path)
    run.refresh()
    f = only(run, "orchestrator.log")
    new = log_line(T0 + 1, "INFO", "one") + log_line(T0 + 2, "ERROR", "two")
    append(log, new)
    change = f.refresh()
    assert isinstance(change, FileChange) and not change.reset and not change.gone
    got = change.appended
    assert got is not None and got.data == new and got.generation == 0
    assert (got.start, got.end) == (len(log_line(T0, "INFO", "before")), log.stat().st_size)
    assert list(f.appended(got)) == [(got.start, new)]
    second = got.start + len(log_line(T0 + 1, "INFO", "one"))
    assert list(f.appended(got, second)) == [(second, log_line(T0 + 2, "ERROR", "two"))]
    assert f.refresh() == FileChange(None, False, False)


def test_a_large_burst_travels_as_a_range_and_is_read_in_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(line_read, "APPENDED_BLOCK", 1000)
    monkeypatch.setattr(run_module, "BATCH_DATA_MAX", 1500)
    logs = tmp_path / "logs"
    append(logs / "orchestrator.log", b"")
    append(logs / "trainer.log", b"")
    append(logs / "inference.stdout", b"")
    run = Run(tmp_path)
    run.refresh()
    big = b"".join(log_line(T0 + i, "INFO", f"burst {i}") for i in range(200))
    append(logs / "orchestrator.log", big)
    changes = run.refresh()
    orch = only(run, "orchestrator.log")
    assert changes.grown[orch].data is None and len(changes.grown[orch]) == len(big)
    small = log_line(T0, "INFO", "small") * 15  # 840 bytes
    append(logs / "trainer.log", small)
    append(logs / "inference.stdout", small)
    more = run.refresh()
    first, second = (f for f in run.files if f is not orch)  # in the order refreshed
    assert more.grown[first].data == small and more.grown[second].data is None
    assert [p for _, p in second.appended(more.grown[second])] == [small]
    pieces = list(orch.appended(changes.grown[orch]))
    assert len(pieces) > 1 and all(len(p) <= 1000 and p.endswith(b"\n") for _, p in pieces)
    assert b"".join(p for _, p in pieces) == big
    assert [a for a, _ in pieces] == list(
        itertools.accumulate([0] + [len(p) for _, p in pieces[:-1]])
    )
    view = View(run, Filter(min_level=10, rels=frozenset({"orchestrator.log"})))
    build_all(view)
    append(logs / "orchestrator.log", big)
    delta = view.update(run.refresh())
    assert delta.appended == 200 and "burst 199" in view.row(len(view) - 1).text


def build_all(view: View) -> None:
    while not view.complete:
        view.build(0.01)


def test_rows_just_decoded_by_a_view_render_without_reading_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = tmp_path / "logs"
    append(logs / "orchestrator.log", log_line(T0, "INFO", "orch"))
    append(logs / "trainer.log", log_line(T0, "INFO", "trainer"))
    run = Run(tmp_path)
    run.refresh()
    view = View(run, Filter(min_level=10))  # two files merged by time: rows are judged
    build_all(view)
    append(logs / "orchestrator.log", log_line(T0 + 1, "INFO", "new one"))
    append(logs / "trainer.log", log_line(T0 + 2, "WARNING", "new two") + traceback_lines())
    changes = run.refresh()
    delta = view.update(changes)
    n = 2 + len(traceback_lines().splitlines())
    assert delta.appended == n
    reads = []
    real_pread = os.pread

    def counting(fd: int, size: int, offset: int) -> bytes:
        reads.append((fd, size, offset))
        return real_pread(fd, size, offset)

    monkeypatch.setattr(os, "pread", counting)
    texts = [view.row(i).text for i in range(len(view) - n, len(view))]
    assert (
        "new one" in texts[0]
        and "new two" in texts[1]
        and texts[2] == "Traceback (most recent call last):"
    )
    assert reads == []
    assert "INFO" in view.row(0).text and len(reads) == 1  # history: read when asked


def followed(tmp_path: Path, data: bytes) -> tuple[Path, Run, LogFile]:
    """A run whose ``orchestrator.log`` holds ``data``, refreshed once."""
    log = tmp_path / "logs" / "orchestrator.log"
    append(log, data)
    run = Run(tmp_path)
    run.refresh()
    return log, run, only(run, "orchestrator.log")


def failing_pread(
    monkeypatch: pytest.MonkeyPatch, fails: Callable[[int, int], bool]
) -> Callable[[bool], None]:
    """Make ``os.pread(fd, size, offset)`` raise EIO where ``fails(fd, offset)``;
    returns a switch (on at first)."""
    real_pread = os.pread
    on = [True]

    def pread(fd: int, size: int, offset: int) -> bytes:
        if on[0] and fails(fd, offset):
            raise OSError(errno.EIO, "Input/output error")
        return real_pread(fd, size, offset)

    monkeypatch.setattr(os, "pread", pread)
    return lambda state: on.__setitem__(0, state)


def test_a_failed_read_is_the_files_state_until_its_content_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log, run, f = followed(tmp_path, b"".join(log_line(T0 + i, "INFO", f"n{i}") for i in range(3)))
    switch = failing_pread(monkeypatch, lambda fd, offset: fd == f._follower.fd)
    assert f.read(0, 10) == b""
    assert f.status == "error"
    assert f.error == "cannot read orchestrator.log at byte 0: Input/output error"
    switch(False)
    append(log, log_line(T0 + 5, "INFO", "more"))
    assert run.refresh() and f.status == "error"  # a later poll does not hide it
    switch(True)
    second = offsets_of(log)[1]
    assert (
        f.text(second)
        == f"\x1b[2m⋯ (cannot read orchestrator.log at byte {second}: Input/output error)\x1b[0m"
    )
    assert f.error == f"cannot read orchestrator.log at byte {second}: Input/output error"
    switch(False)
    log.unlink()
    append(log, log_line(T0 + 9, "INFO", "new content"))
    assert run.refresh().reset == [f] and f.status == "live" and f.error is None


def test_a_failed_read_above_a_continuation_line_is_an_error_not_an_exception(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    header = log_line(T0, "ERROR", "boom")
    log, _, f = followed(tmp_path, header + traceback_lines())
    failing_pread(monkeypatch, lambda fd, offset: offset < len(header))
    info = f.info(offsets_of(log)[3])  # its own line reads; the header above does not
    assert info.level == ORPHAN_LEVEL and not info.header
    assert f.status == "error" and "Input/output error" in (f.error or "")


def test_a_view_whose_history_cannot_be_read_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, run, f = followed(tmp_path, b"".join(log_line(T0 + i, "INFO", f"n{i}") for i in range(2000)))
    view = View(run, Filter(min_level=20))
    for m in view._members.values():
        m.first_chunk = m.chunk = 4096
    view.build(0.0)
    failing_pread(monkeypatch, lambda fd, offset: fd == f._follower.fd)
    build_all(view)
    assert 0 < len(view) < 2000
    assert f.status == "error" and f.error is not None and "Input/output error" in f.error


def test_lru_keeps_the_most_recently_used() -> None:
    cache: LRU[int, str] = LRU(2)
    cache.put(1, "a")
    cache.put(2, "b")
    assert cache.get(1) == "a"  # 1 is now the most recent
    cache.put(3, "c")
    assert 2 not in cache and cache.get(1) == "a" and cache.get(3) == "c" and len(cache) == 2
    cache.put(1, "z")
    assert cache.get(1) == "z" and len(cache) == 2
    cache.clear()
    assert len(cache) == 0 and cache.get(1) is None


def test_a_file_is_found_by_any_spelling_of_its_path(tmp_path: Path) -> None:
    """`Run.file` looks a notified path up by its string first (the hot path), then as a
    `Path`, so another spelling of the same path finds the same file."""
    append(tmp_path / "logs" / "trainer" / "rank_0.log", b"x\n")
    run = Run(tmp_path)
    run.refresh()
    (f,) = run.files
    plain = os.path.join(str(tmp_path / "logs" / "trainer"), "rank_0.log")
    for spelling in (plain, Path(plain), str(tmp_path / "logs" / "." / "trainer" / "rank_0.log")):
        assert run.file(spelling) is f, spelling
    assert run.file(str(tmp_path / "logs" / "trainer" / "rank_1.log")) is None
    append(tmp_path / "logs" / "trainer" / "rank_0.log", b"y\n")
    assert list(run.refresh([plain]).grown) == [f]
