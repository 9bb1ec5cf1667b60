"""Writing to a stdout whose reader may go away (``prime-logs metrics | head``).

`silence` is Python's own recipe for a closed pipe: point the descriptor at
``/dev/null`` so the flush at exit cannot raise a second time (without it the
interpreter prints "Exception ignored ... BrokenPipeError" on its way out).
`write_all` writes and flushes a text and, when the reader has gone, stops quietly.
Used by the commands that print and by `prime_rl_logs.tail`; imports nothing from
the package.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

__all__ = ["silence", "write_all"]


def silence(out: TextIO | None = None) -> None:
    """Point ``out`` (default: ``sys.stdout``) at ``/dev/null``; nothing if it has
    no descriptor.

    Args:
        out: the stream whose reader went away.
    """
    stream = sys.stdout if out is None else out
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def write_all(text: str) -> bool:
    """Write ``text`` to ``sys.stdout`` and flush it.

    Args:
        text: what to print.

    Returns:
        False when the reader went away (stdout is then silenced), else True.
    """
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        silence()
        return False
    return True
