"""Raw line bytes -> display text: UTF-8 with replacements, ``\r`` redraws resolved,
long lines cut with a marker, every control sequence but SGR colours removed.

`decode_line` is the one way a line's bytes become the text `core.parse.parse_line`
reads and the screen shows; re-exported by `core.parse`. Pure functions, no state.
"""

from __future__ import annotations

from typing import Final

from prime_rl_logs.core.ansi import sanitize
from prime_rl_logs.core.formats import TORCHRUN_TAG_BYTES_RE

__all__ = ["DISPLAY_LIMIT", "decode_line"]

_TORCHRUN_B: Final = TORCHRUN_TAG_BYTES_RE

DISPLAY_LIMIT: Final = 10_000
"""Characters of one line that are ever displayed; the rest is cut with a marker."""


def _human_size(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f} MB"
    if n >= 1_000:
        return f"{n / 1_000:.1f} kB"
    return f"{n} B"


def decode_line(raw: bytes, size: int | None = None) -> str:
    """Display text of one raw line (``size``: the line's length when ``raw`` is
    only its head, for the cut marker).

    UTF-8 with replacement characters for invalid bytes; the trailing newline (and
    a CR before it) dropped; tqdm ``\\r`` redraws resolved to the last non-empty
    state (keeping a torchrun prefix the redraws lost); more than `DISPLAY_LIMIT`
    characters cut, with `` … [cut: 10.0 MB line]`` marking it; then `sanitize`d,
    so only SGR colour codes remain. A 10 MB line costs a slice, not a decode.
    """
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    head_only = size is not None and size > len(raw) + 1  # more than the newline
    size = len(raw) if size is None else size
    if b"\r" in raw:
        raw = _last_redraw(raw)
    limit_bytes = DISPLAY_LIMIT * 4  # UTF-8 is at most 4 bytes per character
    if len(raw) > limit_bytes:
        text = raw[:limit_bytes].decode("utf-8", "replace")
        cut = True
    else:
        text = raw.decode("utf-8", "replace")
        cut = len(text) > DISPLAY_LIMIT or head_only
    if cut:
        text = text[:DISPLAY_LIMIT]
        reset = "\x1b[0m" if "\x1b" in text else ""
        text = f"{text}{reset} … [cut: {_human_size(size)} line]"
    return sanitize(text)


def _last_redraw(raw: bytes) -> bytes:
    stripped = raw.rstrip(b"\r")
    i = stripped.rfind(b"\r")
    if i < 0:
        return stripped
    last = stripped[i + 1 :]
    if raw[:1] == b"[":
        m = _TORCHRUN_B.match(raw)
        if m is not None and not last.startswith(m.group()):
            last = m.group() + last
    return last
