"""What one refresh of a log file found: `FileChange`, and the lines it appended, `Appended`.

Plain values, made by `core.log_file.LogFile.refresh` and handed on in
`core.run.RunChanges` to the views, the metrics follower and the commands. An
`Appended` carries its bytes when the batch was small enough, so consumers need not
read back what was just read; else its range only. Nothing here reads a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, NamedTuple

__all__ = ["NOTHING", "Appended", "FileChange"]


@dataclass(frozen=True, slots=True)
class Appended:
    """Whole lines appended to a file by one refresh: bytes ``[start, end)`` of its
    content number ``generation``.

    ``data`` holds those bytes, unless the whole refresh appended too much: one poll
    reads at most `follow.MAX_POLL_BYTES` of a file, and one `Run.refresh` hands on at
    most `run.BATCH_DATA_MAX` for all its files. Past that it is None and the bytes
    stay on disk: `LogFile.appended` yields them either way, reading them in blocks
    of `line_read.APPENDED_BLOCK`, so no consumer holds more than that of them at once.
    """

    start: int
    end: int
    generation: int
    data: bytes | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return self.end - self.start


class FileChange(NamedTuple):
    """What one `LogFile.refresh` found."""

    appended: Appended | None
    """The lines appended (in the current generation), if any."""
    reset: bool
    """The file was truncated or replaced: ``generation`` went up and ``appended``
    (if any) starts at 0 of the new content."""
    gone: bool
    """The path named a file before and names none now (reported once)."""


NOTHING: Final = FileChange(None, False, False)
