"""`scan_run`: the metrics of a run on disk, read in big chunks.

Every log file under ``logs/`` is read in `CHUNK`-sized blocks; only the lines that
`candidate_lines` finds are decoded and parsed, each file with its own `RunClock`.
Work is linear in the file's size and memory bounded by `CHUNK` + `LINE_LIMIT`,
whatever the line lengths: the partial line carried from one block to the next is
appended to in place, and a line longer than `LINE_LIMIT` (no step line is; the
NUL-filled gap a truncated log leaves behind is) is skipped up to its newline.
Inference files come last so their vLLM lines land on the step the orchestrator was
on; ``metrics.jsonl`` is read after the logs. A file that cannot be read is named
in the store's ``errors``, never raised.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from prime_rl_logs import layout
from prime_rl_logs.core.parse import RunClock, decode_line, parse_line
from prime_rl_logs.metrics.lines import INFERENCE, candidate_lines
from prime_rl_logs.metrics.store import MetricsStore

__all__ = ["CHUNK", "LINE_LIMIT", "feed_block", "scan_file", "scan_run"]

CHUNK: Final = 16 * 1024 * 1024
# A line longer than this holds no metric: it is skipped, never carried whole.
LINE_LIMIT: Final = 1024 * 1024


def feed_block(store: MetricsStore, data: bytes, source: layout.Source, clock: RunClock) -> None:
    """Feed ``store`` the lines of ``data`` (whole lines of one file) that hold a metric.

    Args:
        store: where the values go.
        data: bytes of ``source``'s file, starting at a line start.
        source: the file's place in the run (component, rank, ``rel``).
        clock: the file's `RunClock`, advanced by each record's clock, in file order.
    """
    for start, end in candidate_lines(data):
        info = parse_line(decode_line(data[start:end]))
        run_time = clock.advance(info.clock) if info.clock is not None else None
        store.feed(
            source.component,
            info.message,
            rank=info.rank if info.rank is not None else source.rank,
            run_time=run_time,
            source=source.rel,
        )


def scan_file(store: MetricsStore, path: Path, source: layout.Source) -> None:
    """Feed ``store`` the lines of one log file that hold a metric, reading big chunks.

    Each block is searched once and copied at most once; the partial line at its
    end is carried into the next (a `bytearray` grown in place), unless it is
    already longer than `LINE_LIMIT`: then the rest of that line is skipped.
    """
    clock = RunClock()
    carry = bytearray()
    skipping = False  # inside a line longer than LINE_LIMIT: drop up to its newline
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            first = block.find(b"\n")
            if first == -1:
                if not skipping:
                    if len(carry) + len(block) > LINE_LIMIT:
                        skipping = True
                        carry = bytearray()
                    else:
                        carry += block
                continue
            if not skipping and len(carry) + first <= LINE_LIMIT:
                carry += block[: first + 1]
                feed_block(store, bytes(carry), source, clock)
            skipping = False
            last = block.rfind(b"\n")
            if last > first:
                feed_block(store, block[first + 1 : last + 1], source, clock)
            tail = len(block) - last - 1
            if tail > LINE_LIMIT:
                skipping = True
                carry = bytearray()
            else:
                carry = bytearray(block[last + 1 :])
    if carry and not skipping:
        feed_block(store, bytes(carry), source, clock)


def scan_run(
    output_dir: str | os.PathLike[str], logs: str | os.PathLike[str] | None = None
) -> MetricsStore:
    """The metrics of a run on disk: every log file under ``logs/`` (and a torchrun
    ``--log-dir`` tree elsewhere in the run), then ``metrics.jsonl`` (or
    ``monitors/file/metrics.jsonl``, `layout.metrics_jsonl`).

    ``logs``: one attempt's folder to read instead of ``logs/`` (``--attempt N``).
    Inference files are read last, so their vLLM lines land on the step the
    orchestrator was on at that time. A file that cannot be read is skipped and
    named in the returned store's ``errors``.
    """
    out = Path(output_dir)
    cut: list[Path] = []
    paths = layout.discover(layout.logs_dir(out) if logs is None else logs, cut=cut)
    if logs is None:
        paths += layout.discover_torchrun_trees(out)
    logs = layout.logs_dir(out) if logs is None else Path(logs)
    store = MetricsStore()
    errors: list[str] = []
    notice = layout.too_deep_notice(logs, cut)
    if notice is not None:
        errors.append(notice)
    sources = [layout.classify_in_run(path, out, logs) for path in paths]
    sources = [s for s in sources if s.path.name != "metrics.jsonl"]
    sources.sort(key=lambda s: (s.component == INFERENCE, s.sort_key))
    for source in sources:
        try:
            scan_file(store, source.path, source)
        except OSError as exc:
            errors.append(f"cannot read {source.path}: {exc.strerror or exc}")
    jsonl = layout.metrics_jsonl(out)
    if jsonl.is_file():
        try:
            with open(jsonl, encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    store.feed_jsonl(line)
        except OSError as exc:
            errors.append(f"cannot read {jsonl}: {exc.strerror or exc}")
    store.errors.extend(errors)
    return store
