"""`core.inotify.Inotify`: what the dashboard's watch loop wakes on under Linux (issue 12,
idle: no thread stepping every 10 ms)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from prime_rl_logs.core.inotify import Inotify
from tests.fixtures import append

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")


async def _changes(ino: Inotify) -> set[str]:
    await ino.wait(5.0)
    return ino.changes()


async def test_files_and_new_folders_are_named(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    with Inotify.open(str(logs)) as ino:
        assert ino is not None
        assert ino.changes() == set()  # nothing yet: the read does not block
        append(logs / "orchestrator.log", b"x\n")
        assert str(logs / "orchestrator.log") in await _changes(ino)
        (logs / "trainer").mkdir()
        assert str(logs / "trainer") in await _changes(ino)
        append(logs / "trainer" / "rank_0.log", b"y\n")  # in the folder watched just now
        assert str(logs / "trainer" / "rank_0.log") in await _changes(ino)
        bad = os.fsdecode(b"rank_\xff.log")
        append(logs / "trainer" / bad, b"z\n")
        assert str(logs / "trainer" / bad) in await _changes(ino)
        assert not ino.incomplete and not ino.root_gone


async def test_latest_is_followed_and_the_root_going_is_said(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    (logs / "attempt_1").mkdir(parents=True)
    (logs / "attempt_2").mkdir()
    (logs / "latest").symlink_to("attempt_1")
    with Inotify.open(str(logs)) as ino:
        assert ino is not None
        tmp = logs / "latest.tmp"
        tmp.symlink_to("attempt_2")
        tmp.replace(logs / "latest")
        assert str(logs / "latest") in await _changes(ino)
        append(logs / "attempt_2" / "trainer.log", b"two\n")
        named = await _changes(ino)
        assert named & {
            str(logs / "latest" / "trainer.log"),
            str(logs / "attempt_2" / "trainer.log"),
        }
        for p in sorted(logs.rglob("*"), reverse=True):
            p.unlink() if p.is_symlink() or p.is_file() else p.rmdir()
        logs.rmdir()
        await asyncio.wait_for(_changes(ino), 5.0)
        assert ino.root_gone


async def test_many_writes_to_a_few_files_are_read_once_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run writing 10,000 lines a second sends 10,000 IN_MODIFY events a second; a
    file's are alike, and only the first of them in a read is looked at. A folder
    made between them is still watched."""
    logs = tmp_path / "logs"
    logs.mkdir()
    names = [logs / f"rank_{i}.log" for i in range(4)]
    decoded: list[bytes] = []
    fsdecode = os.fsdecode

    def counting(name: bytes) -> str:
        decoded.append(name)
        return fsdecode(name)

    with Inotify.open(str(logs)) as ino:
        assert ino is not None
        handles = [open(p, "ab", buffering=0) for p in names]  # noqa: SIM115
        try:
            for i in range(400):
                handles[i % 4].write(b"a line\n")
                if i == 200:
                    (logs / "trainer").mkdir()
        finally:
            for h in handles:
                h.close()
        await ino.wait(5.0)
        monkeypatch.setattr(os, "fsdecode", counting)
        paths = ino.changes()
        monkeypatch.undo()
        assert {str(p) for p in names} | {str(logs / "trainer")} <= paths
        assert len(decoded) < 40, len(decoded)  # (400 writes: one each before)
        append(logs / "trainer" / "rank_0.log", b"y\n")  # the new folder is watched
        assert str(logs / "trainer" / "rank_0.log") in await _changes(ino)
