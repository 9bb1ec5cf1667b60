"""Reading lines of one content through a `generations.ReadAt`, with bounded memory.

Three pure readers that `core.log_file.LogFile` serves its lines with: `line_head`
(the bytes of one line, a long line cut to `LINE_READ_MAX` with its real length),
`header_above` (the record look-back: the nearest header above a line, within
`scan.records.RECORD_LOOKBACK`, read bottom-up in growing blocks) and
`appended_blocks` (a range of whole lines in blocks of `APPENDED_BLOCK`). They hold
no state and cache nothing; a failed read raises ``OSError`` for the caller to turn
into the file's status.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from prime_rl_logs.core.generations import ReadAt, read_line_head
from prime_rl_logs.core.parse import LineInfo
from prime_rl_logs.core.scan.records import RECORD_LOOKBACK, header_info

__all__ = ["APPENDED_BLOCK", "LINE_READ_MAX", "appended_blocks", "header_above", "line_head"]

LINE_READ_MAX: Final = 64 << 10
"""The most bytes of one line read for its text (more than `parse.DISPLAY_LIMIT`
characters of UTF-8); a longer line is shown cut, with its real size."""

APPENDED_BLOCK: Final = 8 << 20
"""`appended_blocks` reads appended lines in blocks of this size."""


def line_head(read: ReadAt, offset: int, end: int | None) -> tuple[bytes, int]:
    """The bytes of the line at ``offset``, at most `LINE_READ_MAX` of them, and its length.

    Args:
        read: ``read(offset, size)`` of the content.
        offset: where the line starts.
        end: where it ends, if the index knows; else it is looked for (past
            `LINE_READ_MAX` in blocks that are dropped).

    Returns:
        ``(head, size)``: the line with its newline when it fits, and its length.

    Raises:
        OSError: a read failed.
    """
    if end is not None and end - offset <= LINE_READ_MAX:
        return read(offset, end - offset), end - offset
    head, size = read_line_head(read, offset, LINE_READ_MAX)
    return head, size if end is None else end - offset


def appended_blocks(read: ReadAt, a: int, b: int) -> Iterator[tuple[int, bytes]]:
    """The lines of ``[a, b)`` (whole lines) in blocks of about `APPENDED_BLOCK`.

    Args:
        read: ``read(offset, size)`` of the content.
        a: where the first line starts.
        b: where the last line ends.

    Returns:
        ``(offset, bytes)`` pieces of whole lines in file order; fewer when a read
        comes back short (the content was replaced or a read failed). A line longer
        than the block is never held whole: it comes alone, as its first
        `LINE_READ_MAX` bytes and a newline (what is shown of it, cut: the reader's
        text says so), and the next piece starts at its real end.
    """
    while a < b:
        size = min(APPENDED_BLOCK, b - a)
        buf = read(a, size)
        if len(buf) != size:
            return
        if a + size < b:
            cut = buf.rfind(b"\n") + 1
            if cut == 0:  # one line longer than the block
                del buf
                head, line = read_line_head(read, a, LINE_READ_MAX)
                yield a, head if head.endswith(b"\n") else head + b"\n"
                a += line
                continue
            buf = buf[:cut]
        yield a, buf
        a += len(buf)


def header_above(read: ReadAt, offset: int, rank: int | None) -> LineInfo | None:
    """The nearest header above ``offset`` (of ``rank``, if given) within
    `RECORD_LOOKBACK`; None if a line starting the content or the lookback comes first.

    Raises:
        OSError: a read failed.
    """
    pos = offset
    block = 64 << 10
    while pos > 0 and offset - pos < RECORD_LOOKBACK:
        a = max(0, pos - block)
        buf = read(a, pos - a)
        if len(buf) != pos - a:
            return None
        end = len(buf)
        # Lines from the bottom up; the one cut at the top is read next time.
        while True:
            start = buf.rfind(b"\n", 0, end - 1) + 1 if end > 0 else 0
            if start == 0 and a > 0:
                break
            head = header_info(buf, start, end)
            if head is not None and (rank is None or head.rank == rank):
                return head
            if start == 0:
                return None
            end = start
        pos = a + end
        block *= 2
    return None
