"""`Inotify`: Linux change notification for a folder tree, read on the event loop.

watchfiles (what `core.watch` used alone before) runs a thread that wakes every
`core.watch.STEP_MS` (10 ms) and takes the GIL each time, found or not: at 256 idle
files that thread was about 40% of the dashboard's idle CPU, and its 10 ms step plus a
20 ms debounce sat between a write and the screen. Here the kernel's inotify
descriptor is read on the asyncio loop (``add_reader``) when it has events, and not at
all otherwise. Every folder below the root is watched (files are named by the events
on their folder), a folder that appears is watched at once, and ``logs/latest`` is
followed like `layout.discover` follows it. A queue overflow or a folder that could
not be watched (the per-user watch limit) asks the caller for a full refresh.

`Inotify.open` returns None where inotify is not available (not Linux, no libc
symbol, the limit of inotify instances reached); `core.watch` then uses watchfiles.
Names are bytes from the kernel, decoded with ``os.fsdecode`` (a name that is not
UTF-8 stays followable). Not thread-safe; one loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import struct
import sys
from typing import Any, Final

from prime_rl_logs.layout import MAX_DEPTH

__all__ = ["Inotify"]

# <sys/inotify.h>
IN_MODIFY: Final = 0x002
IN_ATTRIB: Final = 0x004
IN_CLOSE_WRITE: Final = 0x008
IN_MOVED_FROM: Final = 0x040
IN_MOVED_TO: Final = 0x080
IN_CREATE: Final = 0x100
IN_DELETE: Final = 0x200
IN_DELETE_SELF: Final = 0x400
IN_MOVE_SELF: Final = 0x800
IN_Q_OVERFLOW: Final = 0x4000
IN_IGNORED: Final = 0x8000
IN_ISDIR: Final = 0x40000000
IN_NONBLOCK: Final = 0o4000
IN_CLOEXEC: Final = 0o2000000

MASK: Final = (
    IN_MODIFY
    | IN_ATTRIB
    | IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
)
_HEADER: Final = struct.Struct("iIII")  # wd, mask, cookie, len


class Inotify:
    """Watches ``root`` and every folder below it; `changes` says what changed."""

    def __init__(self, fd: int, root: str) -> None:
        self._fd = fd
        self.root = root
        self._paths: dict[int, str] = {}  # watch descriptor -> folder path
        self._depth: dict[int, int] = {}
        self.incomplete = False
        """A folder could not be watched, or events were lost: refresh everything."""
        self.root_gone = False
        """The root folder was deleted or moved: watch it again when it is back."""
        self._wake = asyncio.Event()
        self._reader: asyncio.AbstractEventLoop | None = None
        self.add_tree(root, 0)

    @classmethod
    def open(cls, root: str) -> Inotify | None:
        """A watcher of ``root``, or None where inotify cannot be used."""
        if not sys.platform.startswith("linux"):
            return None
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            init = libc.inotify_init1
            add = libc.inotify_add_watch
        except (OSError, AttributeError):
            return None
        add.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        fd = init(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            return None
        _LIBC["add"] = add
        _LIBC["errno"] = ctypes.get_errno
        try:
            return cls(fd, root)
        except BaseException:
            os.close(fd)
            raise

    # -- watching ------------------------------------------------------------------

    def add_tree(self, top: str, depth: int) -> None:
        """Watch ``top`` and the folders below it (iteratively, to `layout.MAX_DEPTH`,
        as deep as `layout.discover` reads)."""
        stack = [(top, depth)]
        while stack:
            folder, d = stack.pop()
            if not self._add(folder, d):
                continue
            if d >= MAX_DEPTH:
                continue
            try:
                with os.scandir(folder) as it:
                    entries = list(it)
            except OSError:
                continue
            for entry in entries:
                try:
                    # Symlinked folders are followed only for logs/latest, as `discover` does.
                    follow = d == 0 and entry.name == "latest"
                    if entry.is_dir(follow_symlinks=follow):
                        stack.append((entry.path, d + 1))
                except OSError:
                    continue

    def _add(self, folder: str, depth: int) -> bool:
        wd = _LIBC["add"](self._fd, os.fsencode(folder), MASK)
        if wd < 0:
            err = _LIBC["errno"]()
            if err not in (errno.ENOENT, errno.ENOTDIR, errno.EACCES):
                self.incomplete = True  # ENOSPC: the watch limit; a full refresh finds it
            return False
        self._paths[wd] = folder
        self._depth[wd] = depth
        return True

    # -- reading ---------------------------------------------------------------------

    async def wait(self, timeout: float) -> None:
        """Until events are waiting, or ``timeout`` seconds.

        The descriptor is watched by the loop only meanwhile: epoll reports it
        readable on every turn of the loop while events wait unread, so left
        registered it would spin the loop while a batch is gathered or handled.
        """
        loop = asyncio.get_running_loop()
        self._wake.clear()
        loop.add_reader(self._fd, self._wake.set)
        self._reader = loop
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
        finally:
            loop.remove_reader(self._fd)
            self._reader = None

    def changes(self) -> set[str]:
        """The paths named by the events read now (files and folders); new folders
        are watched before this returns."""
        paths: set[str] = set()
        while True:
            try:
                buf = os.read(self._fd, 1 << 16)
            except BlockingIOError:
                break
            except OSError:
                self.incomplete = True
                break
            if not buf:
                break
            self._parse(buf, paths)
        return paths

    def _parse(self, buf: bytes, paths: set[str]) -> None:
        pos = 0
        size = _HEADER.size
        modified: set[bytes] = set()  # the IN_MODIFY records seen in this read
        while pos + size <= len(buf):
            wd, mask, _cookie, n = _HEADER.unpack_from(buf, pos)
            end = pos + size + n
            if mask == IN_MODIFY:
                # Every write is one: 10,000 a second for a run writing 10,000 lines a
                # second, and a file's are alike (only the first says something new).
                record = buf[pos:end]
                if record in modified:
                    pos = end
                    continue
                modified.add(record)
            raw = buf[pos + size : end].rstrip(b"\0")
            pos = end
            if mask & IN_Q_OVERFLOW:
                self.incomplete = True
                continue
            folder = self._paths.get(wd)
            if folder is None:
                continue
            if mask & IN_IGNORED:
                self._paths.pop(wd, None)
                depth = self._depth.pop(wd, 0)
                if depth == 0:
                    self.root_gone = True
                continue
            if mask & (IN_DELETE_SELF | IN_MOVE_SELF) and self._depth.get(wd) == 0:
                self.root_gone = True
            if not raw:
                paths.add(folder)
                continue
            path = os.path.join(folder, os.fsdecode(raw))
            paths.add(path)
            depth = self._depth.get(wd, 0)
            new_dir = mask & IN_ISDIR and mask & (IN_CREATE | IN_MOVED_TO)
            latest = depth == 0 and raw == b"latest" and mask & (IN_CREATE | IN_MOVED_TO)
            if (new_dir or latest) and depth < MAX_DEPTH:
                self.add_tree(path, depth + 1)

    def close(self) -> None:
        if self._reader is not None:
            with contextlib.suppress(Exception):
                self._reader.remove_reader(self._fd)
            self._reader = None
        with contextlib.suppress(OSError):
            os.close(self._fd)

    def __enter__(self) -> Inotify:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_LIBC: dict[str, Any] = {}
"""``inotify_add_watch`` and ``get_errno``, set by `Inotify.open`."""
