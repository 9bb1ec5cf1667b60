"""watch_run with a file whose name is not valid UTF-8 (issue 15, item 3).

watchfiles raises ``WatchfilesRustInternalError`` ("Unable to decode path") for such
a name, in notification and polling mode alike; the loop then carries on with plain
refreshes, and the file is followed like any other.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from prime_rl_logs.core.run import Run
from prime_rl_logs.core.watch import watch_run
from tests.core.test_watch import wait_for
from tests.fixtures import append, log_line

T0 = 14 * 3600
NOT_UTF8 = os.fsdecode(b"rank_\xff\xfe.log")


@pytest.mark.parametrize("poll", [False, True])
async def test_a_name_that_is_not_utf8_is_followed(tmp_path: Path, poll: bool) -> None:
    logs = tmp_path / "logs"
    bad = logs / "trainer" / NOT_UTF8
    append(logs / "orchestrator.log", log_line(T0, "INFO", "orch"))
    append(bad, log_line(T0 + 1, "INFO", "first"))
    run = Run(tmp_path)
    run.refresh()
    [f] = [f for f in run.files if f.path == bad]
    [orch] = [g for g in run.files if g.path.name == "orchestrator.log"]
    stop = asyncio.Event()
    gen = watch_run(run, poll=poll, stop_event=stop)
    try:
        await asyncio.sleep(0.2)
        append(bad, log_line(T0 + 2, "INFO", "second"))
        await wait_for(gen, lambda c: f in c.grown and f.lines == 2)
        append(logs / "orchestrator.log", log_line(T0 + 3, "INFO", "orch again"))
        await wait_for(gen, lambda c: orch in c.grown and orch.lines == 2)
        late = logs / "trainer" / os.fsdecode(b"rank_\xfd.log")
        append(late, log_line(T0 + 4, "INFO", "late"))
        await wait_for(gen, lambda c: any(g.path == late for g in c.new_files))
    finally:
        stop.set()
        await gen.aclose()
