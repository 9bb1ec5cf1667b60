"""Words of the doctor: a record's template (what varies, masked), rank lists, times.

`template` turns a message into the key its group is found by: paths, UUIDs, hex
numbers and ids, and every other number (ranks, pids, sizes, steps) are masked, so
``[Rank 3] ... SeqNum=4821 ... ran for 600043 milliseconds`` and the same line of
rank 6 share one template. `ranks_text` writes ``0-4,6,7``; `iso` an epoch time
as ISO 8601 with the local offset (what ``doctor --json`` prints). Pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Final

__all__ = ["TEMPLATE_MAX", "iso", "ranks_text", "template"]

TEMPLATE_MAX: Final = 160
"""A template is cut at this many characters (a long message varies at its end)."""

_MASKS: Final = (
    (re.compile(r"(?:[A-Za-z]:)?(?:[\w.@~+-]*/)+[\w.@~+-]+"), "<path>"),
    (
        re.compile(r"\b[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\b"),
        "<id>",
    ),
    (re.compile(r"\b0[xX][0-9a-fA-F]+\b"), "<hex>"),
    (re.compile(r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b"), "<id>"),
    (re.compile(r"\d+(?:[.,:]\d+)*"), "<n>"),
    (re.compile(r"\s+"), " "),
)


def template(message: str) -> str:
    """``message`` (plain text) with what varies between records of one kind masked:
    paths ``<path>``, UUIDs and long hex ids ``<id>``, ``0x..`` ``<hex>``, numbers
    ``<n>``; runs of white space are one space; cut at `TEMPLATE_MAX`."""
    text = message.strip()[: TEMPLATE_MAX * 4]
    for regex, mask in _MASKS:
        text = regex.sub(mask, text)
    return text[:TEMPLATE_MAX]


def ranks_text(ranks: Iterable[int]) -> str:
    """``0-4,6,7``: sorted ranks, runs of three or more as a range."""
    out: list[str] = []
    run: list[int] = []
    for r in sorted(set(ranks)):
        if run and r == run[-1] + 1:
            run.append(r)
            continue
        out.extend(_run(run))
        run = [r]
    out.extend(_run(run))
    return ",".join(out)


def _run(run: list[int]) -> list[str]:
    if not run:
        return []
    if len(run) >= 3:
        return [f"{run[0]}-{run[-1]}"]
    return [str(r) for r in run]


def iso(epoch: float | None) -> str | None:
    """Epoch seconds as ISO 8601 in local time with its offset, to the second."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="seconds")
