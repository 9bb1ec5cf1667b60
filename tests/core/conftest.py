"""Helpers for the reading-engine tests: log lines as prime-rl writes them, on disk."""

from __future__ import annotations

import os
from pathlib import Path

COLORS = {
    "TRACE": "\x1b[36m\x1b[1m",
    "DEBUG": "\x1b[34m\x1b[1m",
    "INFO": "\x1b[1m",
    "SUCCESS": "\x1b[32m\x1b[1m",
    "WARNING": "\x1b[33m\x1b[1m",
    "ERROR": "\x1b[31m\x1b[1m",
    "CRITICAL": "\x1b[41m\x1b[1m",
}


def hms(clock: int) -> str:
    return f"{clock // 3600 % 24:02d}:{clock // 60 % 60:02d}:{clock % 60:02d}"


def log_line(
    clock: int, level: str, message: str, *, color: bool = True, rank: int | None = None
) -> bytes:
    """One loguru line the way prime-rl's format writes it (with a newline)."""
    prefix = f"[default{rank}]:" if rank is not None else ""
    if color:
        c = COLORS.get(level, "\x1b[1m")
        body = f"\x1b[2m{hms(clock)}\x1b[0m {c}{level:>7}\x1b[0m {c}\x1b[22m{message}\x1b[0m\x1b[0m"
    else:
        body = f"{hms(clock)} {level:>7} {message}"
    return (prefix + body + "\n").encode()


TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "train.py", line 3, in <module>\n'
    "    step()\n"
    "ValueError: loss is nan\n"
)


def traceback_lines(rank: int | None = None) -> bytes:
    prefix = f"[default{rank}]:" if rank is not None else ""
    return "".join(prefix + ln + "\n" for ln in TRACEBACK.splitlines()).encode()


def append(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as f:
        f.write(data)


def replace_symlink(link: Path, target: str) -> None:
    """Swap a symlink atomically, the way prime-rl swaps logs/latest."""
    tmp = link.with_name(link.name + ".tmp")
    tmp.symlink_to(target)
    os.replace(tmp, link)
