"""Issue 12 and issue 15 item 11: what a view costs follows what it shows, not the
number of its files; history rows held until published keep row numbers still."""

from __future__ import annotations

from pathlib import Path

import pytest

from prime_rl_logs.core.run import Run
from prime_rl_logs.core.view import Filter, View
from tests.fixtures import append, count_reads, log_line

T0 = 14 * 3600


def ranks_run(tmp: Path, files: int, lines: int) -> Run:
    for r in range(files):
        data = b"".join(
            log_line(T0 + i, "INFO", f"rank {r} step {i} " + "x" * 60) for i in range(lines)
        )
        append(tmp / "logs" / "trainer" / f"rank_{r}.log", data)
    run = Run(tmp)
    run.refresh()
    return run


def offsets(view: View) -> list[tuple[str, int]]:
    return [(view.row(i).file.source.rel, view.row(i).offset) for i in range(len(view))]


def test_the_first_screen_of_a_merged_view_reads_a_bounded_amount(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pane switch to 64 files read 256 kB of each (16 MB, about 0.2-1 s on the
    event loop) before it could show a row: now 1 MB among them all."""
    run = ranks_run(tmp_path, files=64, lines=3000)  # about 300 kB a file
    read = count_reads(monkeypatch)
    view = View(run, Filter())
    view.build(0.0)
    assert len(view) >= 200
    # the first chunks, plus the small probe read that finds each chunk's first line
    assert sum(read) <= 3 << 20  # 3 x `view_file.MERGED_FIRST_BYTES`


def test_held_history_moves_no_row_until_published(tmp_path: Path) -> None:
    # one file (an index window) and three merged by time
    for files, flt in ((1, Filter()), (3, Filter(components=frozenset({"trainer"})))):
        run = ranks_run(tmp_path / str(files), files=files, lines=4000)
        view = View(run, flt)
        view.build(0.0)
        shown = offsets(view)
        while not view.complete:
            view.build(0.001, held=True)
            assert offsets(view) == shown  # the rows on screen stay where they are
        assert view.held > 0
        added = view.publish()
        assert added > 0 and view.held == 0
        assert offsets(view)[added:] == shown
        reference = View(run, flt)
        while not reference.complete:
            reference.build(1.0)
        assert offsets(view) == offsets(reference)


def test_an_index_window_finds_its_rows_after_publishing(tmp_path: Path) -> None:
    """`IndexWindow.get` caches where its first row is in the index; publishing moves
    that row (it raised IndexError, or showed the wrong line)."""
    run = ranks_run(tmp_path, files=1, lines=20_000)
    [f] = run.files
    view = View(run, Filter())
    assert view.is_index_window
    view.build(0.0)
    view.row(0)  # the window caches where `lo` is
    while not view.complete:
        view.build(0.001, held=True)
    view.publish()
    assert [view.row(i).offset for i in range(len(view))] == list(f.index)


def test_a_cancelled_view_takes_nothing_more(tmp_path: Path) -> None:
    from prime_rl_logs.core.view import CANCELLED

    run = ranks_run(tmp_path, files=3, lines=2000)
    view = View(run, Filter(min_level=10))
    view.build(0.0)
    rows = len(view)
    view.cancel()
    assert view.stopped == CANCELLED and view.complete
    assert view.build(1.0) == 0
    append(tmp_path / "logs" / "trainer" / "rank_0.log", log_line(T0 + 9000, "INFO", "late"))
    assert view.update(run.refresh()).appended == 0
    assert len(view) == rows


def test_a_background_index_step_reads_at_most_half_a_megabyte(tmp_path: Path) -> None:
    """The index of older lines is built on the event loop, one step per slice: a step
    of 4 MB held the loop 50-90 ms and delayed every key while 256 files were indexed
    (issue 12). Each `LogFile.build_index` call with no time left is one step."""
    import itertools

    from prime_rl_logs.core.index import CHUNK
    from prime_rl_logs.core.run import Run

    logs = tmp_path / "run" / "logs"
    logs.mkdir(parents=True)
    line = b"12:00:00    INFO [step 1] a line of about eighty bytes, written many times....\n"
    (logs / "orchestrator.log").write_bytes(line * (6 * 1024 * 1024 // len(line)))
    run = Run(tmp_path / "run")
    run.refresh()
    [f] = run.files
    froms = [f.index.indexed_from]
    while not f.build_index(0.0):
        froms.append(f.index.indexed_from)
    froms.append(f.index.indexed_from)
    steps = [a - b for a, b in itertools.pairwise(froms)]
    assert froms[-1] == 0 and len(steps) > 8
    assert max(steps) <= CHUNK + len(line) <= (512 << 10) + len(line)
