"""`LiveMetrics`: a run's metrics kept current while the dashboard follows it.

The history comes from `scan_run` (the dashboard runs it in its scanner process,
`scanner.metrics_history`, and hands it to `LiveMetrics.adopt_history`); what is
appended later arrives with the dashboard's `core.run.RunChanges`, its bytes with it. Appended
bytes enter in one place, `LiveMetrics._feed_appended`, and are parsed by
`scan.feed_block`, the same function `scan_run` uses, so a history and a live
update read a line alike.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from prime_rl_logs import layout
from prime_rl_logs.core.parse import RunClock
from prime_rl_logs.metrics.scan import feed_block
from prime_rl_logs.metrics.store import MetricsStore

if TYPE_CHECKING:
    from prime_rl_logs.core.file_change import Appended
    from prime_rl_logs.core.log_file import LogFile
    from prime_rl_logs.core.run import RunChanges

__all__ = ["LiveMetrics"]


class LiveMetrics:
    """A run's metrics kept current while the dashboard follows it.

    The history is read once by `scan_run` (`scanner.metrics_history`);
    lines appended meanwhile are fed from the `core.run.RunChanges` the dashboard
    already gets, with the bytes they carry, so nothing is read again on the hot path.
    Appends that arrive before the history is in are kept as ranges (their bytes
    dropped) and replayed onto it from the file; the overlap
    is harmless because storing a value a second time changes nothing.
    ``metrics.jsonl`` is followed with its own `FileFollower`.
    """

    def __init__(
        self, output_dir: str | os.PathLike[str], logs: str | os.PathLike[str] | None = None
    ) -> None:
        from prime_rl_logs.core.follow import FileFollower

        self.output_dir = Path(output_dir)
        self.logs = logs  # one attempt's folder instead of logs/ (see `scan_run`)
        self.store = MetricsStore()
        self.ready = False
        self._pending: list[tuple[LogFile, Appended]] = []
        self._clocks: dict[str, RunClock] = {}
        self._jsonl = FileFollower(layout.metrics_jsonl(self.output_dir), start=None)

    def adopt_history(self, history: MetricsStore) -> None:
        """Make the scanned history the store and replay what arrived meanwhile."""
        self.store = history
        self.ready = True
        pending, self._pending = self._pending, []
        for file, appended in pending:
            self._feed_appended(file, appended)
        self.store.version += 1

    def feed_changes(self, changes: RunChanges) -> None:
        """Feed the lines a `core.run.RunChanges` says were appended."""
        for file, appended in changes.grown.items():
            if file.source.component == layout.ENV:
                continue  # env workers print no step lines
            if self.ready:
                self._feed_appended(file, appended)
            else:  # its range only: read back from the file once the history is in
                self._pending.append((file, replace(appended, data=None)))

    def poll_jsonl(self) -> None:
        """Read what was appended to ``metrics.jsonl`` (it lives outside ``logs/``)."""
        result = self._jsonl.poll()
        if result.data:
            for line in result.data.decode("utf-8", "replace").splitlines():
                self.store.feed_jsonl(line)

    def _feed_appended(self, file: LogFile, appended: Appended) -> None:
        clock = self._clocks.setdefault(file.source.rel, RunClock())
        for _, data in file.appended(appended):
            feed_block(self.store, data, file.source, clock)
