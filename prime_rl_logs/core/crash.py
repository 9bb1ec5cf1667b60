"""What a crash leaves in a log: a bare traceback's exception line, the time it
inherits, and torchrun's ``ChildFailedError`` summary box, parsed.

A bare Python traceback (one no record header claims, see
`core.parse.traceback_starts_record`) is a record of ERROR level whose header line
has no clock: `exception_line` gives its message (the final ``SomeError: ...``
line), `inferred_clock` the clock of the nearest timed header above it (shown as
inferred). When torchrun's elastic launcher gives up, its traceback ends in
``ChildFailedError:`` and a box of ``=`` and ``-`` rules listing each failed
rank's time, host, rank, local rank, exit code and pid; `child_failure_box` reads
it into a `ChildFailedBox` for the doctor and for `tail --json`. Pure functions of
text lines (and one bounded read for `inferred_clock`); holds no state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from prime_rl_logs.core.ansi import strip_sgr
from prime_rl_logs.core.formats import TORCHRUN_RE
from prime_rl_logs.core.scan.timeline import clock_above

if TYPE_CHECKING:
    from prime_rl_logs.core.log_file import LogFile

__all__ = [
    "INFER_LOOKBACK",
    "ChildFailedBox",
    "ChildFailure",
    "bare_line",
    "child_failure_box",
    "exception_line",
    "inferred_clock",
]

INFER_LOOKBACK: Final = 1 << 20
"""How far above a clock-less record `inferred_clock` looks for a timed header."""

_EXCEPTION_RE: Final = re.compile(
    r"(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception|Interrupt|Exit|Warning|Failure)\b"
)
_FIELD_RE: Final = re.compile(r"\s+(\w+)\s*:\s?(.*)$")
_RANK_RE: Final = re.compile(r"(-?\d+)(?: \(local_rank: (-?\d+)\))?")
_EXIT_RE: Final = re.compile(r"(-?\d+)(?: \(pid: (\d+)\))?")


def bare_line(line: str) -> str:
    """A line without colour codes and its torchrun prefix."""
    line = strip_sgr(line) if "\x1b" in line else line
    m = TORCHRUN_RE.match(line)
    return line[m.end() :] if m is not None else line


def exception_line(lines: list[str]) -> str:
    """The final exception line of a traceback's lines (``ValueError: bad``), without
    torchrun prefix; the last unindented non-blank line if none looks like one, and
    ``""`` for no lines. A ``ChildFailedError:`` followed by torchrun's box gets the
    box's title (``train.py FAILED``) after it."""
    bare = [bare_line(ln).rstrip() for ln in lines]
    for i in range(len(bare) - 1, -1, -1):
        text = bare[i]
        if text and not text[0].isspace() and _EXCEPTION_RE.match(text):
            if text.endswith("ChildFailedError:"):
                box = child_failure_box(bare[i + 1 :])
                if box is not None and box.title:
                    return f"{text} {box.title}"
            return text
    return next((t for t in reversed(bare) if t and not t[0].isspace()), "")


def inferred_clock(file: LogFile, offset: int, generation: int | None = None) -> int | None:
    """The clock (seconds since midnight) of the nearest timed header above file
    ``offset``, within `INFER_LOOKBACK`; None if there is none."""
    a = max(0, offset - INFER_LOOKBACK)
    buf = file.read(a, offset - a, generation)
    if len(buf) != offset - a:
        return None
    stop = buf.find(b"\n") if a > 0 else -1  # the first line may be cut: not read
    return clock_above(buf, len(buf), stop)


@dataclass(frozen=True, slots=True)
class ChildFailure:
    """One failed rank of torchrun's box (``None``: a field the box does not give)."""

    time: str | None  # as written, "2025-01-31_14:30:05"
    host: str | None
    rank: int | None
    local_rank: int | None
    exitcode: int | None
    pid: int | None
    error_file: str | None = None
    traceback: str | None = None


@dataclass(frozen=True, slots=True)
class ChildFailedBox:
    """torchrun's ``ChildFailedError`` summary: the title (``train.py FAILED``), the
    root cause (first observed failure) and the other failures."""

    title: str
    root_cause: ChildFailure | None
    failures: list[ChildFailure] = field(default_factory=list)


def _failure(fields: dict[str, str]) -> ChildFailure:
    rank = local = code = pid = None
    m = _RANK_RE.match(fields.get("rank", ""))
    if m is not None:
        rank = int(m.group(1))
        local = int(m.group(2)) if m.group(2) is not None else None
    m = _EXIT_RE.match(fields.get("exitcode", ""))
    if m is not None:
        code = int(m.group(1))
        pid = int(m.group(2)) if m.group(2) is not None else None
    return ChildFailure(
        time=fields.get("time"),
        host=fields.get("host"),
        rank=rank,
        local_rank=local,
        exitcode=code,
        pid=pid,
        error_file=fields.get("error_file"),
        traceback=fields.get("traceback"),
    )


def child_failure_box(lines: list[str]) -> ChildFailedBox | None:
    """torchrun's box in ``lines`` (the lines after ``ChildFailedError:``, torchrun
    prefixes and colours allowed); None if they hold no box."""
    title = ""
    section = ""
    root: ChildFailure | None = None
    failures: list[ChildFailure] = []
    fields: dict[str, str] | None = None
    seen_rule = False

    def flush() -> None:
        nonlocal root, fields
        if fields:
            if section == "root":
                root = _failure(fields)
            else:
                failures.append(_failure(fields))
        fields = None

    for raw in lines:
        text = bare_line(raw).rstrip()
        if text.startswith("====") or text.startswith("----"):
            flush()
            if seen_rule and text.startswith("====") and (root or failures or title):
                break
            seen_rule = True
            continue
        if not seen_rule:
            continue
        if text.startswith("Root Cause"):
            flush()
            section = "root"
        elif text.startswith("Failures:"):
            flush()
            section = "failures"
        elif re.fullmatch(r"\[\d+\]:", text):
            flush()
            fields = {}
        elif fields is not None and (m := _FIELD_RE.match(text)) is not None:
            fields[m.group(1)] = m.group(2).strip()
        elif text and not text[0].isspace() and not title and not section:
            title = text
    flush()
    if not (title or root or failures):
        return None
    return ChildFailedBox(title, root, failures)
