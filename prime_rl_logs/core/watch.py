"""Wake the run's followers when its files change.

`watch_run` is the one loop of the dashboard (and of ``prime-logs tail --follow``):
change notification says *which* paths changed, `Run.refresh` reads them, and each
non-empty `RunChanges` is yielded. Size and inode decide what happened (growth,
truncation, replacement), never the kind of event.

On Linux the notifications are inotify's, read on the event loop when the kernel has
some (`core.inotify.Inotify`): an idle run costs no wake-up but the full refresh; the
first line written after a quiet spell is read at once, and while writes keep coming
they are read in batches at most every `BATCH_S` (25 ms: at 10,000 lines/s over 64
files, 15 ms cost 10-20% more CPU than watchfiles for 10 ms less latency).
Elsewhere, on network filesystems (polled) and where inotify cannot be had,
watchfiles does it: its thread
looks for events every `STEP_MS` (10 ms) and gathers them for `DEBOUNCE_MS` (20 ms).
What notification misses (a swapped ``logs/latest`` symlink, writes from another NFS
client, files created in a new folder before its watch was set up) is caught by a
full refresh every `FULL_REFRESH_S` (2 s; `NOTIFIED_FULL_REFRESH_S`, 5 s, on
inotify, which says when it lost events), a folder walk and a ``stat`` per file,
and by a re-check `RECHECK_S` (0.1 s) after a new folder shows up. While idle, the
older lines of large files are indexed in small slices (`INDEX_SLICE_S`) so their
warning/error counts complete; a slice waits while a key is on its way (`core.gate`).

When watchfiles itself fails (it raises on a file name that is not valid UTF-8,
from notification and polling alike), the loop carries on without it: a full
refresh every `POLL_DELAY_MS`, which reads such a file like any other.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncGenerator, Collection, Iterator
from pathlib import Path
from typing import Any, Final, Protocol

from prime_rl_logs.core.gate import Gate
from prime_rl_logs.core.inotify import Inotify
from prime_rl_logs.core.malloc import return_big_buffers
from prime_rl_logs.core.run import Run, RunChanges

__all__ = ["NETWORK_FILESYSTEMS", "is_network_fs", "watch_run"]

DEBOUNCE_MS: Final = 20
"""watchfiles gathers the events of this long into one batch."""
STEP_MS: Final = 10
"""watchfiles' thread looks for events this often."""
FULL_REFRESH_S: Final = 2.0
"""Every file is read and the folder walked at least this often (watchfiles)."""
BATCH_S: Final = 0.025
"""On inotify, refreshes come at most this often while writes keep coming (what is
written meanwhile is one batch); the first write after a quiet spell is read at once.
Each batch costs the dashboard a pass over its panes: 15 ms cost 10-20% more CPU at
10,000 lines/s than watchfiles' batches; 25 ms costs the same, and reads sooner."""
NOTIFIED_FULL_REFRESH_S: Final = 5.0
"""The same on inotify, which loses nothing it can see without saying so (a queue
overflow or a folder it could not watch asks for a full refresh at once): at 256 idle
files the walk was two thirds of the dashboard's idle CPU."""
WAKE_MS: Final = 1000
"""The loop wakes this often when idle, for the full refresh and re-checks."""
RECHECK_S: Final = 0.1
"""A new folder (or the start of the watch) is looked at again after this long."""
POLL_DELAY_MS: Final = 250
WAIT_FOR_LOGS_S: Final = 0.25
INDEX_SLICE_S: Final = 0.01
INDEX_PAUSE_S: Final = 0.004
"""Between slices of the index build, the loop is free for this long (frames, keys)."""
INDEX_START_S: Final = 0.1
"""The background index starts this long after the watch (the first screen first)."""

NETWORK_FILESYSTEMS: Final = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "lustre",
        "gpfs",
        "beegfs",
        "9p",
        "virtiofs",
        "afs",
        "ceph",
        "glusterfs",
        "ocfs2",
        "gfs2",
        "panfs",
        "wekafs",
        "davfs",
        "sshfs",
        "rclone",
        "s3fs",
    }
)
"""Filesystems where inotify does not see writes made elsewhere: poll them."""


class _Event(Protocol):
    def is_set(self) -> bool: ...

    async def wait(self) -> Any: ...


def _unescape(field: str) -> str:
    """/proc/mounts escapes spaces, tabs, newlines and backslashes as octal."""
    return (
        field.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
    )


def is_network_fs(path: str | os.PathLike[str], mounts: str = "/proc/mounts") -> bool:
    """Is ``path`` (or its nearest existing parent) on a network filesystem?

    Reads the longest matching mount point in ``/proc/mounts``; ``fuse.sshfs`` and
    the like count by their subtype. False when that cannot be told.
    """
    p = Path(path).absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        real = os.path.realpath(p)
        with open(mounts, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return False
    best, fstype = -1, ""
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        mount = _unescape(parts[1])
        inside = real == mount or real.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) > best:
            best, fstype = len(mount), parts[2]
    kind = fstype.removeprefix("fuse.").removeprefix("fuseblk.")
    return kind in NETWORK_FILESYSTEMS


async def _sleep_or_stop(seconds: float, stop_event: _Event | None) -> bool:
    """Sleep; True if ``stop_event`` was set meanwhile."""
    if stop_event is None:
        await asyncio.sleep(seconds)
        return False
    if stop_event.is_set():
        return True
    try:
        await asyncio.wait_for(stop_event.wait(), seconds)
    except TimeoutError:
        return False
    return True


async def _index_in_background(run: Run, gate: Gate | None) -> None:
    """Index older lines in small slices, leaving the loop free in between (their
    4 MB chunks unmapped when freed: `core.malloc`, set after the first screen);
    each slice waits while ``gate`` is held (a key on its way), and ends after the
    step during which a key arrived (the driver holds the gate as it reads it)."""
    await asyncio.sleep(INDEX_START_S)
    return_big_buffers()
    held = None if gate is None else (lambda: gate.held > 0)
    while True:
        if gate is not None:
            await gate.wait()
        if run.build_index(INDEX_SLICE_S, held):
            await asyncio.sleep(0.5)  # new files may come; cheap when all are done
        else:
            await asyncio.sleep(INDEX_PAUSE_S)


def _watcher_failed(exc: BaseException) -> bool:
    """Is this watchfiles' own error (``WatchfilesRustInternalError``, such as
    "Unable to decode path"), alone or inside anyio's exception group?"""
    if isinstance(exc, BaseExceptionGroup):
        return any(_watcher_failed(e) for e in exc.exceptions)
    return type(exc).__name__ == "WatchfilesRustInternalError"


def _and_the_rest(run: Run, changes: RunChanges) -> Iterator[RunChanges]:
    """``changes`` unless empty, then one more refresh at a time while the run is
    behind (one poll reads at most `follow.MAX_POLL_BYTES` of a file)."""
    if changes:
        yield changes
    while run.behind:
        more = run.refresh()
        if more:
            yield more


async def _refresh_forever(run: Run, stop_event: _Event | None) -> AsyncGenerator[RunChanges, None]:
    """The watch loop without watchfiles: a full refresh every `POLL_DELAY_MS`."""
    while not await _sleep_or_stop(POLL_DELAY_MS / 1000, stop_event):
        for changes in _and_the_rest(run, run.refresh()):
            yield changes


async def _stop_or_events(ino: Inotify, timeout: float, stop_event: _Event | None) -> None:
    """Until ``ino`` has events, ``stop_event`` is set, or ``timeout`` seconds."""
    if stop_event is None:
        await ino.wait(timeout)
        return
    waiters = [asyncio.ensure_future(ino.wait(timeout)), asyncio.ensure_future(stop_event.wait())]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


class _Looks:
    """What each watch loop reads on waking: the whole run (`Run.refresh`) every
    ``every`` seconds and at the recheck time, else the paths the events named.

    The recheck comes `RECHECK_S` after the watch starts (what was written before it
    began sends no event) and after an event names a path of no known file: a new
    folder, whose files created before its watch was set up send no event either.
    """

    def __init__(self, run: Run, every: float, last_full: float) -> None:
        self.run = run
        self.every = every
        self.last_full = last_full
        self.recheck = last_full + RECHECK_S

    def due(self) -> float:
        """The loop time of the next full refresh."""
        due = self.last_full + self.every
        return min(self.recheck, due) if self.recheck else due

    def look(self, paths: Collection[str], full: bool = False) -> RunChanges | None:
        """The changes to hand on; None when there is nothing to read."""
        now = time.monotonic()
        if full or now >= self.due():
            self.last_full, self.recheck = now, 0.0
            return self.run.refresh()
        if not paths:
            return None
        if any(self.run.file(p) is None for p in paths):
            self.recheck = now + RECHECK_S
        return self.run.refresh(paths)


async def _notified(
    run: Run, ino: Inotify, stop_event: _Event | None, looks: _Looks
) -> AsyncGenerator[RunChanges, None]:
    """The watch loop on inotify: the files events name are read as soon as the
    loop gets to them (what piles up meanwhile is one batch); a full refresh every
    `NOTIFIED_FULL_REFRESH_S`, and `RECHECK_S` after a new folder. Ends when the
    folder goes."""
    last_batch = 0.0
    while stop_event is None or not stop_event.is_set():
        wait = max(0.0, min(looks.due() - time.monotonic(), WAKE_MS / 1000))
        await _stop_or_events(ino, wait, stop_event)
        if stop_event is not None and stop_event.is_set():
            return
        gap = time.monotonic() - last_batch
        if gap < BATCH_S:
            await asyncio.sleep(BATCH_S - gap)  # writes keep coming: gather them
        last_batch = time.monotonic()
        paths = ino.changes()
        if ino.root_gone:
            return
        full, ino.incomplete = ino.incomplete, False  # events were lost: read it all
        changes = looks.look(paths, full)
        if changes is None:
            continue
        for batch in _and_the_rest(run, changes):
            yield batch
        if not run.logs.is_dir():
            return  # the folder went away: wait for it again


async def watch_run(
    run: Run,
    *,
    poll: bool | None = None,
    stop_event: _Event | None = None,
    gate: Gate | None = None,
) -> AsyncGenerator[RunChanges, None]:
    """Yield each non-empty batch of changes to ``run``'s files until ``stop_event``.

    Waits for ``logs/`` to exist (a ``stat`` every `WAIT_FOR_LOGS_S`, 250 ms).
    ``poll=None`` polls on a network filesystem and uses notifications elsewhere.
    The background index waits on ``gate`` before each slice (`core.gate`).
    """
    indexer = asyncio.create_task(_index_in_background(run, gate))
    try:
        while stop_event is None or not stop_event.is_set():
            while not run.logs.is_dir():
                if await _sleep_or_stop(WAIT_FOR_LOGS_S, stop_event):
                    return
            force = is_network_fs(run.logs) if poll is None else poll
            changes = run.refresh()
            last_full = time.monotonic()
            if changes:
                yield changes
            ino = None if force else Inotify.open(os.fspath(run.logs))
            if ino is not None:
                with ino:
                    looks = _Looks(run, NOTIFIED_FULL_REFRESH_S, last_full)
                    async for batch in _notified(run, ino, stop_event, looks):
                        yield batch
                continue  # stopped (the loop's test), or the folder went: wait for it
            from watchfiles import awatch  # polling, or no inotify here

            looks = _Looks(run, FULL_REFRESH_S, last_full)

            try:
                async for events in awatch(
                    run.logs,
                    watch_filter=None,
                    debounce=DEBOUNCE_MS,
                    step=STEP_MS,
                    stop_event=stop_event,
                    rust_timeout=WAKE_MS,
                    yield_on_timeout=True,
                    force_polling=force,
                    poll_delay_ms=POLL_DELAY_MS,
                    recursive=True,
                    ignore_permission_denied=True,
                ):
                    seen = looks.look([path for _, path in events])
                    if seen is None:
                        continue
                    for batch in _and_the_rest(run, seen):
                        yield batch
                    if not run.logs.is_dir():
                        break  # the folder went away: wait for it again
            except (OSError, RuntimeError, ExceptionGroup) as exc:
                if _watcher_failed(exc):
                    async for changes in _refresh_forever(run, stop_event):
                        yield changes
                    return
                if isinstance(exc, ExceptionGroup):
                    raise
                # The watched folder vanished under the watcher: wait for it again.
                if await _sleep_or_stop(WAIT_FOR_LOGS_S, stop_event):
                    return
            else:
                if stop_event is not None and stop_event.is_set():
                    return
    finally:
        indexer.cancel()
