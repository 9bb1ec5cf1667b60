"""watch_run on real folders: new files, appended lines, late logs/, swaps, stop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from pathlib import Path

import pytest

from prime_rl_logs.core.run import Run, RunChanges
from prime_rl_logs.core.watch import is_network_fs, watch_run
from tests.fixtures import append, log_line, replace_symlink

T0 = 14 * 3600
TIMEOUT = 30.0  # generous: the machine may be busy


async def wait_for(
    changes: AsyncGenerator[RunChanges, None], want: Callable[[RunChanges], bool]
) -> RunChanges:
    async def loop() -> RunChanges:
        async for ch in changes:
            if want(ch):
                return ch
        raise AssertionError("watch_run ended")

    return await asyncio.wait_for(loop(), TIMEOUT)


@pytest.mark.parametrize("poll", [False, True])
async def test_new_file_and_appended_lines_arrive(tmp_path: Path, poll: bool) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    run = Run(tmp_path)
    run.refresh()
    stop = asyncio.Event()
    gen = watch_run(run, poll=poll, stop_event=stop)
    try:
        await asyncio.sleep(0.2)
        append(logs / "trainer" / "rank_0.log", log_line(T0, "INFO", "hello"))
        ch = await wait_for(gen, lambda c: bool(c.new_files))
        [f] = run.files
        assert f.source.rank == 0
        if f not in ch.grown:  # created empty first, written a moment later
            await wait_for(gen, lambda c: f in c.grown)
        append(logs / "trainer" / "rank_0.log", log_line(T0 + 1, "INFO", "more"))
        ch = await wait_for(gen, lambda c: f in c.grown)
        assert f.lines == 2 and "more" in f.text(ch.grown[f].start)
    finally:
        stop.set()
        await gen.aclose()


async def test_waits_for_the_output_dir_to_appear(tmp_path: Path) -> None:
    out = tmp_path / "not" / "yet"
    run = Run(out)
    run.refresh()
    stop = asyncio.Event()
    gen = watch_run(run, stop_event=stop)
    try:
        task = asyncio.ensure_future(wait_for(gen, lambda c: bool(c.new_files)))
        await asyncio.sleep(0.5)
        assert not task.done() and not run.exists
        append(out / "logs" / "orchestrator.log", log_line(T0, "INFO", "started"))
        ch = await task
        [f] = ch.new_files
        assert run.exists and f.source.component == "orchestrator"
        if f.lines == 0:
            await wait_for(gen, lambda c: f in c.grown)
        assert f.lines == 1
    finally:
        stop.set()
        await gen.aclose()


async def test_latest_symlink_swap_is_seen(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    append(logs / "attempt_1" / "trainer.log", log_line(T0, "INFO", "one"))
    (logs / "latest").symlink_to("attempt_1")
    run = Run(tmp_path)
    run.refresh()
    [f] = run.files
    stop = asyncio.Event()
    gen = watch_run(run, stop_event=stop)
    try:
        await asyncio.sleep(0.2)
        append(logs / "attempt_2" / "trainer.log", log_line(T0 + 5, "INFO", "two"))
        replace_symlink(logs / "latest", "attempt_2")
        await wait_for(gen, lambda c: f in c.reset)
        assert f.generation == 1 and "two" in f.text(0)
    finally:
        stop.set()
        await gen.aclose()


async def test_stop_event_ends_the_loop(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    run = Run(tmp_path)
    stop = asyncio.Event()

    async def consume() -> int:
        n = 0
        async for _ in watch_run(run, stop_event=stop):
            n += 1
        return n

    task = asyncio.ensure_future(consume())
    await asyncio.sleep(0.3)
    stop.set()
    assert await asyncio.wait_for(task, TIMEOUT) == 0


def test_is_network_fs_reads_the_longest_mount(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    shared = tmp_path / "shared space"
    (shared / "run" / "logs").mkdir(parents=True)
    escaped = str(shared).replace(" ", "\\040")
    mounts.write_text(
        f"/dev/vda / ext4 rw 0 0\n"
        f"server:/export {escaped} nfs4 rw 0 0\n"
        f"sshfs#host:/x {tmp_path}/ssh fuse.sshfs rw 0 0\n"
    )
    assert is_network_fs(shared / "run" / "logs", mounts=str(mounts))
    assert is_network_fs(shared / "run" / "not-yet", mounts=str(mounts))  # nearest parent
    assert not is_network_fs(tmp_path / "local", mounts=str(mounts))
    (tmp_path / "ssh").mkdir()
    assert is_network_fs(tmp_path / "ssh", mounts=str(mounts))
    assert not is_network_fs(tmp_path, mounts=str(tmp_path / "missing"))
