"""Every path of both layouts is classified; unknown files are still sources."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from prime_rl_logs import layout
from prime_rl_logs.layout import classify, discover


@pytest.mark.parametrize(
    ("rel", "component", "fields", "tag"),
    [
        ("rl.log", "launcher", {}, "rl"),
        ("orchestrator.log", "orchestrator", {}, "orch"),
        ("inference.stdout", "inference", {}, "inf"),
        ("trainer/rank_3.log", "trainer", {"rank": 3}, "r3"),
        ("env_workers/gsm8k.log", "env", {"env": "gsm8k"}, "gsm8k"),
        ("attempt_2/trainer.log", "trainer", {"attempt": 2, "rank": None}, "train"),
        ("attempt_2/inference.log", "inference", {"attempt": 2}, "inf"),
        ("attempt_1/envs/train/math.log", "env", {"env": "math", "split": "train"}, "math"),
        ("attempt_1/envs/eval/aime.log", "env", {"split": "eval"}, "aime:eval"),
        ("attempt_1/trainer/node_1.log", "trainer", {"node": 1}, "n1"),
        ("attempt_1/inference/node_2.log", "inference", {"node": 2}, "inf2"),
        (
            "trainer/torchrun/abc123/attempt_0/5/stderr.log",
            "trainer",
            {"rank": 5, "attempt": 0, "stream": "stderr"},
            "r5!",
        ),
        ("core.1234.txt", "other", {}, "core.1234"),
        ("weird/deeper/thing.log", "other", {}, "thing"),
    ],
)
def test_classify(rel: str, component: str, fields: dict[str, object], tag: str) -> None:
    logs = Path("/run/logs")
    source = classify(logs / rel, logs)
    assert source.component == component
    assert source.rel == rel
    for name, value in fields.items():
        assert getattr(source, name) == value, name
    assert source.tag == tag


def test_latest_symlink_reports_its_attempt(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    (logs / "attempt_3").mkdir(parents=True)
    (logs / "attempt_3" / "orchestrator.log").write_text("x\n")
    os.symlink("attempt_3", logs / "latest")
    source = classify(logs / "latest" / "orchestrator.log", logs)
    assert (source.component, source.attempt, source.rel) == (
        "orchestrator",
        3,
        "latest/orchestrator.log",
    )


def test_discover_reads_latest_and_skips_old_attempts(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    for attempt in ("attempt_1", "attempt_2"):
        (logs / attempt / "envs" / "train").mkdir(parents=True)
        (logs / attempt / "trainer.log").write_text("a\n")
        (logs / attempt / "envs" / "train" / "gsm8k.log").write_text("a\n")
    os.symlink("attempt_2", logs / "latest")
    (logs / "rl.log").write_text("a\n")
    (logs / "launcher.pid").write_text("1\n")
    rels = [p.relative_to(logs).as_posix() for p in discover(logs)]
    assert rels == ["latest/envs/train/gsm8k.log", "latest/trainer.log", "rl.log"]


def test_discover_library_layout(tmp_path: Path) -> None:
    out = tmp_path
    paths = [
        layout.launcher_log(out),
        layout.orchestrator_log(out),
        layout.inference_log(out),
        layout.trainer_log(out, 0),
        layout.trainer_log(out, 1),
        layout.env_worker_log(out, "gsm8k"),
    ]
    for p in paths:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x\n")
    found = discover(layout.logs_dir(out))
    assert sorted(found) == sorted(paths)
    components = sorted(classify(p, layout.logs_dir(out)).component for p in found)
    assert components == ["env", "inference", "launcher", "orchestrator", "trainer", "trainer"]


def test_discover_missing_folder_is_empty(tmp_path: Path) -> None:
    assert discover(tmp_path / "nope") == []
