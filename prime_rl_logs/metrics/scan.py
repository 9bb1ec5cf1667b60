"""`scan_run`: the metrics of a run on disk, read in big chunks.

Every log file under ``logs/`` is read in `CHUNK`-sized blocks; only the lines that
`candidate_lines` finds are decoded and parsed, each file with its own `RunClock`.
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

__all__ = ["CHUNK", "feed_block", "scan_file", "scan_run"]

CHUNK: Final = 16 * 1024 * 1024


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
    """Feed ``store`` the lines of one log file that hold a metric, reading big chunks."""
    clock = RunClock()
    carry = b""
    with open(path, "rb") as fh:
        while True:
            block = fh.read(CHUNK)
            if not block:
                data, carry = carry, b""
            else:
                data = carry + block
                cut = data.rfind(b"\n") + 1
                data, carry = data[:cut], data[cut:]
            feed_block(store, data, source, clock)
            if not block:
                break


def scan_run(output_dir: str | os.PathLike[str]) -> MetricsStore:
    """The metrics of a run on disk: every log file under ``logs/``, then ``metrics.jsonl``.

    Inference files are read last, so their vLLM lines land on the step the
    orchestrator was on at that time. A file that cannot be read is skipped and
    named in the returned store's ``errors``.
    """
    out = Path(output_dir)
    logs = layout.logs_dir(out)
    store = MetricsStore()
    errors: list[str] = []
    sources = [layout.classify(path, logs) for path in layout.discover(logs)]
    sources = [s for s in sources if s.path.name != "metrics.jsonl"]
    sources.sort(key=lambda s: (s.component == INFERENCE, s.sort_key))
    for source in sources:
        try:
            scan_file(store, source.path, source)
        except OSError as exc:
            errors.append(f"cannot read {source.path}: {exc.strerror or exc}")
    jsonl = out / "metrics.jsonl"
    if jsonl.is_file():
        try:
            with open(jsonl, encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    store.feed_jsonl(line)
        except OSError as exc:
            errors.append(f"cannot read {jsonl}: {exc.strerror or exc}")
    store.errors.extend(errors)
    return store
