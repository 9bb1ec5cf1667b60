"""The sidebar's judgement of a silent source, and its coarse age labels."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from prime_rl_logs.layout import classify
from prime_rl_logs.tui.sidebar import human_age, shown_sources, silent_sources


@dataclass
class FakeFile:
    """The three attributes `silent_sources` reads from a `LogFile`."""

    rel: str
    last_write: float
    status: str = "live"

    @property
    def source(self) -> Any:
        return classify(Path("/run/logs") / self.rel, Path("/run/logs"))


def test_the_rank_that_hung_is_flagged() -> None:
    now = 10_000.0
    files = [FakeFile(f"trainer/rank_{r}.log", now - 1) for r in range(7)]
    files.append(FakeFile("trainer/rank_7.log", now - 120))
    files.append(FakeFile("orchestrator.log", now - 500))  # alone in its component
    assert silent_sources(cast(Any, files), now) == {"trainer/rank_7.log"}


def test_everyone_quiet_is_not_a_hang() -> None:
    now = 10_000.0
    files = [FakeFile(f"trainer/rank_{r}.log", now - 600 - r) for r in range(4)]
    assert silent_sources(cast(Any, files), now) == set()


def test_a_short_pause_is_not_flagged() -> None:
    now = 10_000.0
    files = [FakeFile(f"trainer/rank_{r}.log", now - 0.5) for r in range(4)]
    files.append(FakeFile("trainer/rank_4.log", now - 8))  # 16x the median, but 8 s
    assert silent_sources(cast(Any, files), now) == set()


@pytest.mark.parametrize(
    ("seconds", "label"),
    [(0, "now"), (9.9, "now"), (10, "10s"), (45, "30s"), (61, "1m"), (4000, "1h"), (9e5, "1d")],
)
def test_age_labels(seconds: float, label: str) -> None:
    assert human_age(seconds) == label


def test_empty_stderr_files_get_no_row() -> None:
    @dataclass
    class Sized(FakeFile):
        size: int = 0

    rank = "latest/trainer/torchrun/r/attempt_0/{}/{}.log"
    files = [
        Sized(rank.format(r, s), 0.0, size=10 if (r, s) == (1, "stderr") else 0)
        for r in range(2)
        for s in ("stdout", "stderr")
    ]
    shown = [f.rel for f in shown_sources(cast(Any, files))]
    assert shown == [rank.format(0, "stdout"), rank.format(1, "stdout"), rank.format(1, "stderr")]
