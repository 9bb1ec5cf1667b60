"""Record edges judged with the line above: the few lines whose own text does not say
whether they start a record.

`core.parse.parse_line` reads one line alone. Three shapes need the line just above
(its `parse_line`, ``above``) as well, and `in_record` is the one judgment every
reader applies (the byte scans of `core.scan.records`, the views' deciders and live
feed, `LogFile.info`, the property tests' reference): a bare traceback's first line
(`traceback_starts_record`) and the top rule of torchrun's ``ChildFailedError`` box
(`box_starts_record`) start ERROR records; a vLLM header line that carries the next
line of a message vLLM logged line by line continues the record above
(`_vllm_continues`). A reader that cuts a file into chunks never starts one at such
a line (`may_need_line_above`), so the answer does not depend on the cut. Pure
functions; no state.
"""

from __future__ import annotations

import re
from typing import Final

from prime_rl_logs import levels
from prime_rl_logs.core import formats
from prime_rl_logs.core.ansi import SGR_RE
from prime_rl_logs.core.parse import LineInfo, _info, glued_level

__all__ = [
    "box_starts_record",
    "in_record",
    "may_need_line_above",
    "needs_line_above",
    "traceback_header",
    "traceback_starts_record",
]

_TRACEBACK_LINE: Final = formats.TRACEBACK_LINE_RE
_BOX_RULE: Final = re.compile(formats.BOX.pattern.pattern if formats.BOX.pattern else "$^")
_PROCESS: Final = formats.PROCESS_PREFIX_RE
_TORCHRUN: Final = formats.TORCHRUN_RE
_VLLM_HEAD_B: Final = re.compile(
    rb"(?:\([^()\n]*\bpid=\d+[^()\n]*\) )*[A-Z]+ \d\d-\d\d \d\d:\d\d:\d\d"
)


def needs_line_above(text: str) -> bool:
    """Whether a continuation line (decoded ``text``) may start a record when judged
    with the line above: it holds the traceback words or a rule of ``=``."""
    return "Traceback (most recent call last):" in text or "=" * 20 in text


def may_need_line_above(line: bytes) -> bool:
    """Whether the raw line could be judged by the line above it (`in_record`): a
    chunk must not start at such a line. Cheap and generous: the traceback words,
    a rule of ``=``, or a vLLM header's start."""
    if b"Traceback (most recent call last):" in line or b"=" * 20 in line:
        return True
    m = formats.TORCHRUN_TAG_BYTES_RE.match(line)
    start = 0 if m is None else m.end()
    match = _VLLM_HEAD_B.match
    return match(line, start) is not None or match(line, start + 1) is not None


def traceback_starts_record(text: str, info: LineInfo, above: LineInfo | None) -> bool:
    """Whether a line (``text`` as decoded, colour codes kept; ``info``, its
    `parse_line`) is a bare traceback's first line that starts a record of its own,
    judged by the line just above it (``above``, as `parse_line` reads it; None at the
    start of a file).

    `parse_line` reads ``Traceback (most recent call last):`` (at the start of the
    line, after a torchrun prefix, without colour codes) as a continuation line. It
    starts a record unless the line above is of the same stream (torchrun rank) and
    is a header of level WARNING or above (loguru's ``logger.exception``, Python
    logging's ``exc_info``: the traceback belongs to that record; but glog lines,
    written by C++, never carry one) or a blank line (the second half of a chained
    traceback, after "During handling of the above exception").
    """
    if info.header or text[:1] not in "T[" or _TRACEBACK_LINE.match(text) is None:
        return False
    if above is None or above.rank != info.rank:
        return True
    if above.header:
        return above.level < levels.WARNING or above.fmt == "glog"
    return above.message.strip() != ""


def traceback_header(info: LineInfo) -> LineInfo:
    """The `LineInfo` of a bare traceback's first line that starts a record: a header
    of level ERROR without a clock (its record takes the time of the line before)."""
    return _info(True, None, levels.ERROR, "ERROR", None, info.message, info.rank, "traceback")


def box_starts_record(text: str, info: LineInfo, above: LineInfo | None) -> bool:
    """Whether a line is the top rule of torchrun's ``ChildFailedError`` box that
    starts an ERROR record of its own: a line of 20 to 60 ``=`` (after a torchrun
    prefix, without colour codes) that does not follow, in the same stream, the
    ``...ChildFailedError:`` line of the launcher's traceback (then the box is part of
    that record) or an indented line (the box's last field: this is its bottom rule).
    """
    if info.header or text[:1] not in "=[":
        return False
    body = info.message
    if _BOX_RULE.match(body) is None or "\x1b" in text:
        return False
    if above is None or above.rank != info.rank:
        return True
    if above.header:
        return True
    prev = above.message.rstrip()
    return not (prev.endswith("ChildFailedError:") or above.message[:1] in (" ", "\t"))


def _vllm_continues(text: str, info: LineInfo, above: LineInfo | None) -> bool:
    """Whether a vLLM header line continues the record above: vLLM writes a multi-line
    message (a traceback) one physical line per line, each behind the same header, so
    a line whose header is exactly that of the continuation line above it (an
    indented or blank vLLM line, same process and rank) is the message's next line,
    such as a traceback's final exception line."""
    if above is None or above.fmt != "vllm" or above.header or above.rank != info.rank:
        return False
    if above.tag != info.tag:
        return False
    plain = SGR_RE.sub("", text) if "\x1b" in text else text
    m = _PROCESS.search(plain) if info.tag is not None else None
    rest = plain[m.end() :] if m is not None else plain
    if m is None:
        tm = _TORCHRUN.match(rest)
        if tm is not None:
            rest = rest[tm.end() :]
    head = rest[: len(rest) - len(info.message)]
    return head != "" and (above.message + " ").startswith(head)


def in_record(text: str, info: LineInfo, above: LineInfo | None) -> LineInfo:
    """A line as its record reads it, judged with the line just above it (``above``:
    that line's `parse_line`, of the same stream or not; None at the start of a
    file). ``text`` is the line as decoded, ``info`` its `parse_line`.

    Three shapes are read this way: a bare traceback's first line
    (`traceback_starts_record`) and the top rule of torchrun's box
    (`box_starts_record`) become ERROR headers; a vLLM header line that continues a
    message logged line by line (`_vllm_continues`) becomes a continuation line.
    And a header line with loguru headers glued after its own (a record half-written
    without its newline, then the next) takes the highest level among them
    (`core.parse.glued_level`), as `core.scan.records.header_level` reads it.
    Every other line is ``info`` itself. Callers keep ``above`` as `parse_line` read
    it (not as this returns it), the way `core.scan.records` reads the line above.
    """
    if info.header:
        if info.fmt == "vllm" and above is not None and _vllm_continues(text, info, above):
            return _info(False, None, 0, "", info.tag, text, info.rank, "vllm")
        if "\x1b[2m" in text and text.find("\x1b[2m", 1) >= 0:
            glued = glued_level(text, 1)  # records glued after this one's header
            if glued > info.level:
                return _info(
                    True,
                    info.clock,
                    glued,
                    info.level_name,
                    info.tag,
                    info.message,
                    info.rank,
                    info.fmt,
                )
        return info
    if traceback_starts_record(text, info, above):
        return traceback_header(info)
    if box_starts_record(text, info, above):
        return _info(True, None, levels.ERROR, "ERROR", None, info.message, info.rank, "box")
    return info
