"""Words of the doctor: a record's template (what varies, masked), rank lists, times.

`template` turns a message into the key its group is found by: paths, UUIDs, hex
numbers and ids, and every other number (ranks, pids, sizes, steps) are masked, so
``[Rank 3] ... SeqNum=4821 ... ran for 600043 milliseconds`` and the same line of
rank 6 share one template. `ranks_text` writes ``0-4,6,7``; `iso` an epoch time
as ISO 8601 with the local offset (what ``doctor --json`` prints). `line_date` reads
the month and day a vLLM (``INFO 11-30 14:30:05``) or glog (``[E1130 14:30:05...``)
header writes, and `dated_epoch` puts a clock on that day of the year that keeps it
from being after the file's mtime. Pure functions (of the local time zone).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Final

from prime_rl_logs.core.ansi import strip_sgr

__all__ = ["TEMPLATE_MAX", "dated_epoch", "iso", "line_date", "ranks_text", "template"]

_VLLM_DATE: Final = re.compile(r"(?:^|[ :])[A-Z]+ (\d\d)-(\d\d) \d\d:\d\d:\d\d")
_GLOG_DATE: Final = re.compile(
    r"(?:\[[A-Za-z_\-]*\d+\]: ?)?\[?[IWEF](\d{1,2})(\d\d) \d\d:\d\d:\d\d"
)
FUTURE_SLACK_S: Final = 300.0
"""A dated clock up to this far after the file's mtime is still this year's
(`core.scan.timeline.FileClock`'s slack for clocks written just before a stat)."""

TEMPLATE_MAX: Final = 160
"""A template is cut at this many characters (a long message varies at its end)."""

_MASKS: Final = (
    # (a pattern, its mask, and a string the pattern cannot match without)
    (re.compile(r"(?:[A-Za-z]:)?(?:[\w.@~+-]*/)+[\w.@~+-]+"), "<path>", "/"),
    (
        re.compile(r"\b[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\b"),
        "<id>",
        "-",
    ),
    (re.compile(r"\b0[xX][0-9a-fA-F]+\b"), "<hex>", "0"),
    (re.compile(r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b"), "<id>", ""),
    (re.compile(r"\d+(?:[.,:]\d+)*"), "<n>", ""),
)


def template(message: str) -> str:
    """``message`` (plain text) with what varies between records of one kind masked:
    paths ``<path>``, UUIDs and long hex ids ``<id>``, ``0x..`` ``<hex>``, numbers
    ``<n>``; runs of white space are one space; cut at `TEMPLATE_MAX`.

    The doctor's first look makes one for every warning and error of a run (a third
    of its time went here): a pattern is tried only when the text holds what it
    needs, and white space is joined by ``str.split`` (the same white space as
    ``\\s``)."""
    text = message.strip()[: TEMPLATE_MAX * 4]
    for regex, mask, needs in _MASKS:
        if needs in text:
            text = regex.sub(mask, text)
    joined = " ".join(text.split())
    if text[-1:].isspace():  # (a cut message may end in white space)
        joined += " "
    return joined[:TEMPLATE_MAX]


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


def line_date(text: str, fmt: str) -> tuple[int, int] | None:
    """(month, day) of a vLLM header (``MM-DD``) or a glog one (``E1130``: month 11,
    day 30; ``E317``: month 3, day 17) as `core.parse.parse_line` read it (``fmt``);
    None for other shapes and for a month or day out of range."""
    if fmt == "vllm":
        m = _VLLM_DATE.search(strip_sgr(text) if "\x1b" in text else text)
    elif fmt == "glog":
        m = _GLOG_DATE.match(text)
    else:
        return None
    if m is None:
        return None
    month, day = int(m.group(1)), int(m.group(2))
    return (month, day) if 1 <= month <= 12 and 1 <= day <= 31 else None


def dated_epoch(month: int, day: int, clock: int, mtime: float) -> float | None:
    """The epoch of ``clock`` (seconds since local midnight) on ``month``/``day`` of the
    latest year that does not put it after ``mtime`` (more than `FUTURE_SLACK_S`):
    the mtime's year, else an earlier one (a Feb 29 looks up to 4 years back)."""
    year = time.localtime(mtime).tm_year
    for y in range(year, year - 5, -1):
        try:
            datetime(y, month, day)
        except ValueError:
            continue
        t = time.mktime((y, month, day, 0, 0, 0, 0, 0, -1)) + clock
        if t <= mtime + FUTURE_SLACK_S:
            return t
    return None
