"""A line written live in pieces, longer than anything held (issue 15 item 7).

History reads were bounded already (a 2 GiB line shows cut at `LINE_READ_MAX`);
these tests pin the live path: the run's follower, index and views hold a bounded
head of a line still being written, show it cut with its real size once its newline
comes, and the line after it whole.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from prime_rl_logs.core.ansi import strip_sgr
from prime_rl_logs.core.run import Run
from prime_rl_logs.core.view import Filter, View
from tests.fixtures import append, log_line

T0 = 10 * 3600
PIECE = b"y" * (4 << 20)
PIECES = 17  # 68 MiB


def _write_long_line_live(tmp_path: Path, flt: Filter) -> tuple[View, int]:
    log = tmp_path / "logs" / "orchestrator.log"
    append(log, log_line(T0, "INFO", "before"))
    run = Run(tmp_path)
    run.refresh()
    view = View(run, flt)
    while not view.complete:
        view.build(0.01)
    tracemalloc.start()
    try:
        append(log, log_line(T0 + 1, "ERROR", "huge ").rstrip(b"\n"))
        view.update(run.refresh())
        for _ in range(PIECES):
            append(log, PIECE)
            view.update(run.refresh())
        append(log, b"\n" + log_line(T0 + 2, "INFO", "after"))
        for _ in range(4):  # the long line, then what follows it
            view.update(run.refresh())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return view, peak


def test_a_long_line_written_live_is_cut_marked_and_bounded(tmp_path: Path) -> None:
    view, peak = _write_long_line_live(tmp_path, Filter())
    texts = [strip_sgr(view.row(i).text) for i in range(len(view))]
    assert len(texts) == 3, texts
    assert texts[0].endswith("before") and texts[2].endswith("after")
    assert "huge yyy" in texts[1] and texts[1].endswith("[cut: 71.3 MB line]")
    assert peak < 16 << 20, peak  # 68 MiB were written; it held them all before


def test_a_long_live_line_keeps_its_level_under_a_filter(tmp_path: Path) -> None:
    view, peak = _write_long_line_live(tmp_path, Filter(min_level=40))
    texts = [strip_sgr(view.row(i).text) for i in range(len(view))]
    assert len(texts) == 1 and texts[0].endswith("[cut: 71.3 MB line]"), texts
    assert view.row(0).info.level == 40
    assert peak < 16 << 20, peak
