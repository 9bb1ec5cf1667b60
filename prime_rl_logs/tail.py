"""What ``prime-logs tail OUTPUT_DIR`` prints: a run's records as plain text, merged by time.

The same `core` as the dashboard (`Run` reads the files, `View` filters and merges)
with a printer in place of the TUI. Every line starts with its source tag (``r3``,
``orch``, ``inf``, ``gsm8k``) padded to one width, so ``grep '^r3 '`` picks a rank.

Defaults, chosen the way ``journalctl`` treats its merged log:

* without ``--follow`` the whole run is printed (``-n N``: only the last N lines);
* with ``--follow`` the last 10 lines are printed first, as ``tail -f`` does
  (``-n 0``: only what is written from now on), then new lines as they are written,
  from every file including files created later (``--poll`` for network
  filesystems). An OUTPUT_DIR that does not exist yet is waited for.
* colour is kept only when stdout is a terminal; ``--no-color`` or ``NO_COLOR`` drop
  it there too, ``FORCE_COLOR`` keeps it in a pipe (``| less -R``).
* ``--json`` prints one object per record (a header line and its continuation lines,
  such as a traceback), and ``-n`` then counts records.

A file that cannot be read (permissions) is skipped with one warning line on stderr,
once per file, and the others are printed.

Output is flushed after every batch, so a pipe sees lines as they come. When the
reader goes away (``| head``) the command stops quietly with exit code 0, also
while it is waiting for new lines with nothing to write.

Nothing from a file reaches the terminal raw: line text comes sanitised from
`core` (`decode_line`), and names are the escaped ``Source.tag`` and
``Source.label`` (`layout.safe_name`), in text, ``--json`` and the stderr notices,
which also say (once) when discovery left folders out for depth.

This module is the printer (`Printer`) and the loop (`tail(options)`); the command
line that builds `Options` from the parsed arguments is `prime_rl_logs.commands.tail`.
Bad input raises `prime_rl_logs.errors.UsageError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import select
import stat
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from prime_rl_logs import levels
from prime_rl_logs.core.ansi import strip_sgr
from prime_rl_logs.core.crash import (
    ChildFailedBox,
    ChildFailure,
    bare_line,
    child_failure_box,
    exception_line,
    inferred_clock,
)
from prime_rl_logs.core.log_file import LogFile
from prime_rl_logs.core.parse import decode_line
from prime_rl_logs.core.rows import split_prefix, tag_of
from prime_rl_logs.core.run import Run, RunChanges
from prime_rl_logs.core.view import Filter, Row, View
from prime_rl_logs.core.watch import watch_run
from prime_rl_logs.diagnose.alerts import follow_alerts
from prime_rl_logs.errors import UsageError
from prime_rl_logs.layout import (
    ENV,
    INFERENCE,
    LAUNCHER,
    ORCHESTRATOR,
    TRAINER,
    safe_name,
    too_deep_notice,
)
from prime_rl_logs.stdout import silence

FOLLOW_LINES = 10  # what --follow prints before new lines, as tail -f
TAG_WIDTH_MIN = 5
TAG_WIDTH_MAX = 16
BUILD_BUDGET_S = 0.25
PRINT_BATCH = 4096  # rows fetched and printed together
BULK_READ_MAX = 8 << 20  # bytes read at once for a run of rows from one file
BULK_TAIL = 64 << 10  # read past the last row's start to find its end

RESET = "\x1b[0m"
TAG_COLOURS = {
    TRAINER: "\x1b[36m",
    ORCHESTRATOR: "\x1b[35m",
    INFERENCE: "\x1b[34m",
    ENV: "\x1b[32m",
    LAUNCHER: "\x1b[33m",
}
_LEVEL_NAMES = {number: name for name, number in levels.LEVELS.items()}


@dataclass(frozen=True)
class Options:
    """What `tail` prints and how; `prime_rl_logs.commands.tail` builds it from the options."""

    output_dir: Path
    flt: Filter
    follow: bool = False
    lines: int | None = None
    as_json: bool = False
    colour: bool = False
    poll: bool = False
    logs: Path | None = None
    """The folder of logs to read instead of ``logs/``: one attempt's (``--attempt N``)."""
    attempt: int | None = None
    """Tag every record with this attempt (``--attempt all``): ``a2`` before the
    source tag in text, an ``attempt`` key in JSON."""
    notify: bool = False  # with follow: alerts ring the terminal (`diagnose.alerts`)
    on_alert: str | None = None  # with follow: a command run with each alert as JSON


# ---------------------------------------------------------------------------
# Printing


class Printer:
    """Turns view rows into output lines: text with a source tag, or JSON records."""

    def __init__(
        self, out: TextIO, *, width: int, colour: bool, as_json: bool, attempt: int | None = None
    ) -> None:
        self.out = out
        self.width = width
        self.colour = colour
        self.as_json = as_json
        self.attempt = attempt

    def tag(self, file: LogFile, text: str = "") -> str:
        tag = tag_of(file.source, text)
        padded = f"{tag:<{self.width}}"
        if self.attempt is not None:
            padded = f"a{self.attempt} {padded}"
        if not self.colour:
            return padded
        colour = TAG_COLOURS.get(file.source.component)
        return f"{colour}{padded}{RESET}" if colour else padded

    def line(self, row: Row, text: str | None = None) -> str:
        if text is None:
            text = row.text
        tag = self.tag(row.file, text)
        text = split_prefix(text)[1]  # its rank is in the tag
        if not self.colour:
            if "\x1b" in text:
                text = strip_sgr(text)
        elif "\x1b" in text:
            text += RESET  # a colour left open must not spill into the next source
        return f"{tag} {text}\n"

    def rows(self, view: View, start: int, stop: int) -> None:
        """Print rows ``start`` to ``stop`` of the view."""
        if self.as_json:
            self._records(view.row(i) for i in range(start, stop))
        else:
            write, line = self.out.write, self.line
            for batch in range(start, stop, PRINT_BATCH):
                rows = [view.row(i) for i in range(batch, min(stop, batch + PRINT_BATCH))]
                for row, text in zip(rows, _texts(rows), strict=True):
                    write(line(row, text))
        self.out.flush()

    def _records(self, rows: Any) -> None:
        # A continuation line belongs to the last record of its file, even when the
        # merge put another source's line in between. One that arrives without its
        # header (written in a later batch) is a record of its own.
        records: list[dict[str, Any]] = []
        last_of: dict[LogFile, dict[str, Any]] = {}
        tracebacks: list[tuple[dict[str, Any], Row]] = []
        for row in rows:
            info = row.info
            if not info.header and row.file in last_of:
                last_of[row.file]["message"] += "\n" + _plain(row)
                continue
            record = _record(row)
            if self.attempt is not None:
                record["attempt"] = self.attempt
            records.append(record)
            last_of[row.file] = record
            if info.fmt in ("traceback", "box"):
                tracebacks.append((record, row))
        for record, row in tracebacks:
            _bare_traceback(record, row)
        write = self.out.write
        for record in records:
            write(json.dumps(record, ensure_ascii=False) + "\n")


def _texts(rows: list[Row]) -> list[str]:
    """The display text of each row, as ``row.text`` gives it, but a run of rows from
    one file is read with one ``pread`` instead of one per line: a whole-run print
    is mostly such runs."""
    texts: list[str] = []
    i, n = 0, len(rows)
    while i < n:
        first = rows[i]
        file, gen, base = first.file, first.generation, first.offset
        j = i + 1
        while (
            j < n
            and rows[j].file is file
            and rows[j].generation == gen
            and base < rows[j].offset <= base + BULK_READ_MAX
            and rows[j].offset > rows[j - 1].offset
        ):
            j += 1
        buf = b""
        if j - i >= 4 and gen == file.generation:
            size = rows[j - 1].offset - base + BULK_TAIL
            buf = file.read(base, size, gen)
        last = rows[j - 1].offset - base
        if not buf or (buf.find(b"\n", last) < 0 and len(buf) == size):
            texts.extend(row.text for row in rows[i:j])  # a very long last line
        else:
            find, end = buf.find, len(buf)
            for row in rows[i:j]:
                a = row.offset - base
                b = find(b"\n", a)
                texts.append(decode_line(buf[a : b + 1 if b >= 0 else end]))
        i = j
    return texts


def _plain(row: Row) -> str:
    info = row.info
    if info.header:
        return info.message
    text = row.shown
    return strip_sgr(text) if "\x1b" in text else text


def _record(row: Row) -> dict[str, Any]:
    info = row.info
    source = row.file.source
    clock = info.clock if info.header else None
    record = {
        "time": None
        if clock is None
        else f"{clock // 3600:02d}:{clock // 60 % 60:02d}:{clock % 60:02d}",
        "level": info.level_name or _LEVEL_NAMES.get(info.level, str(info.level)),
        "source": row.tag,
        "component": source.component,
        "rank": source.rank if source.rank is not None else info.rank,
        "tag": info.tag if info.header else None,
        "message": _plain(row),
        "file": source.label,
    }
    if source.node is not None:  # a multi-node run's node_<k>.log
        record["node"] = source.node
    return record


def _bare_traceback(record: dict[str, Any], row: Row) -> None:
    """A bare traceback's record (issue 16): its message is the exception line, the
    whole text goes to ``traceback``, and its time is the nearest timed line's,
    marked ``time_inferred``. torchrun's ``ChildFailedError`` box, in the traceback or
    a record of its own (its text then under ``box``), adds its fields (`_box_fields`)."""
    lines = [bare_line(line) for line in record["message"].split("\n")]
    if row.info.fmt == "box":
        box = child_failure_box(lines)
        record["message"] = f"ChildFailedError: {box.title}" if box else lines[0]
        record["box"] = "\n".join(lines)
    else:
        record["message"] = exception_line(lines)
        record["traceback"] = "\n".join(lines)
        ends = [i for i, ln in enumerate(lines) if ln.rstrip().endswith("ChildFailedError:")]
        at = ends[-1] if ends else -1
        box = child_failure_box(lines[at + 1 :]) if at >= 0 else None
    if box is not None:
        record.update(_box_fields(box))
    clock = inferred_clock(row.file, row.offset, row.generation)
    if clock is not None:
        record["time"] = f"{clock // 3600:02d}:{clock // 60 % 60:02d}:{clock % 60:02d}"
        record["time_inferred"] = True


def _box_fields(box: ChildFailedBox) -> dict[str, Any]:
    """torchrun's box as ``--json`` keys: ``failure``, the root cause's time, host, rank,
    local rank, exit code and pid; ``other_failures``, the same for the others."""

    def fields(f: ChildFailure) -> dict[str, Any]:
        return {k: getattr(f, k) for k in ("time", "host", "rank", "local_rank", "exitcode", "pid")}

    out: dict[str, Any] = {"failed": box.title}
    if box.root_cause is not None:
        out["failure"] = fields(box.root_cause)
    out["other_failures"] = [fields(f) for f in box.failures]
    return out


def tag_width(run: Run) -> int:
    longest = max((len(f.source.tag) for f in run.files), default=0)
    return max(TAG_WIDTH_MIN, min(TAG_WIDTH_MAX, longest))


# ---------------------------------------------------------------------------
# The command


def tail(options: Options, out: TextIO | None = None) -> int:
    """Print (and with ``follow``, keep printing) a run; the exit code."""
    out = out if out is not None else sys.stdout
    if isinstance(out, io.TextIOWrapper):
        # A log line that the terminal's encoding cannot show must not stop the rest.
        with contextlib.suppress(ValueError):
            out.reconfigure(errors="replace")
    try:
        if options.follow:
            return asyncio.run(_follow(options, out))
        return _print_run(options, out)
    except BrokenPipeError:
        silence(out)
        return 0


def _print_run(options: Options, out: TextIO) -> int:
    folder = options.output_dir
    if not folder.exists():
        raise UsageError(f"{folder} does not exist (use --follow to wait for it)")
    run = Run(folder, options.logs)
    run.refresh()
    if not run.exists:
        raise UsageError(f"{folder} has no logs/ folder; is it a prime-rl output dir?")
    _warn_unreadable(run, set())
    _warn_too_deep(run, set())
    view = View(run, options.flt)
    printer = _printer(out, run, options)
    start = _build(view, options.lines, options.as_json)
    _check_stopped(view)
    printer.rows(view, start, len(view))
    return 0


def _build(view: View, lines: int | None, as_json: bool) -> int:
    """Build the view backwards until it holds the last ``lines`` lines (or records,
    for JSON; None: everything) and return the index of the first row to print."""
    if lines is None:
        while not view.complete:
            view.build(budget_s=BUILD_BUDGET_S)
        return 0
    if lines == 0:
        return len(view)
    if not as_json:
        while len(view) < lines and not view.complete:
            view.build(budget_s=BUILD_BUDGET_S)
        return _record_start(view, max(0, len(view) - lines))
    # JSON: the last `lines` records start at the `lines`-th header from the end.
    start = len(view)
    headers = 0
    while True:
        while start > 0 and headers < lines:
            start -= 1
            if view.row(start).info.header:
                headers += 1
        if headers >= lines or view.complete:
            return start
        added = view.build(budget_s=BUILD_BUDGET_S)
        start += added  # rows were prepended before the ones already counted


def _record_start(view: View, start: int) -> int:
    """The first row of the record holding row ``start`` (its header), building more
    history when the record began before the rows built so far. ``-n N`` therefore
    never starts in the middle of a record: it prints the last N lines and, before
    them, the rest of the record the first of them belongs to."""
    while start < len(view):
        lo = view.record_span(start).start
        if lo > 0 or view.complete or view.row(lo).info.header:
            return lo
        added = view.build(budget_s=BUILD_BUDGET_S)
        start = lo + added
        if not added:
            return lo
    return start


def _check_stopped(view: View) -> None:
    """A ``--grep`` / ``--exclude`` regex that ran out of time on one search ends the
    command with one line and exit 2 (`core.user_regex`): past a pattern that
    backtracks, any output would be partial and slow."""
    if view.stopped is not None:
        raise UsageError(view.stopped)


async def _follow(options: Options, out: TextIO) -> int:
    folder = options.output_dir
    run = Run(folder, options.logs)
    run.refresh()
    if not run.exists:
        what = folder if not folder.exists() else folder / "logs"
        print(
            f"prime-logs: waiting for {safe_name(str(what))} to appear", file=sys.stderr, flush=True
        )
    warned: set[str] = set()
    _warn_unreadable(run, warned)
    view = View(run, options.flt)
    printer = _printer(out, run, options)
    lines = FOLLOW_LINES if options.lines is None else options.lines
    start = _build(view, lines, options.as_json)
    _check_stopped(view)
    printer.rows(view, start, len(view))

    said: set[str] = set()
    _warn_too_deep(run, said)
    alerts = follow_alerts(folder, options.logs, options.notify, options.on_alert, sys.stderr)
    stop = asyncio.Event()
    closed = _on_closed(out, stop.set)
    async for changes in watch_run(run, poll=options.poll or None, stop_event=stop):
        _notices(changes)
        _warn_unreadable(run, warned)  # a new file, or one whose permissions changed
        _warn_too_deep(run, said)
        delta = view.update(changes)
        if delta.appended:
            printer.rows(view, len(view) - delta.appended, len(view))
        _check_stopped(view)
        if closed.is_set():
            break
    if alerts is not None:
        alerts.stop()  # the doctor's thread
    if closed.is_set():
        silence(out)
    return 0


def _printer(out: TextIO, run: Run, options: Options) -> Printer:
    """The printer of ``run``'s rows as ``options`` ask (colour, JSON, attempt)."""
    return Printer(
        out,
        width=tag_width(run),
        colour=options.colour,
        as_json=options.as_json,
        attempt=options.attempt,
    )


def _warn_unreadable(run: Run, warned: set[str]) -> None:
    """One warning line on stderr for each file that cannot be read, once per file."""
    for file in run.files:
        rel = file.source.rel
        if file.status == "error" and rel not in warned:
            warned.add(rel)
            why = safe_name(file.error or f"cannot read {rel}")
            print(f"prime-logs: warning: {why}; skipped", file=sys.stderr, flush=True)


def _notices(changes: RunChanges) -> None:
    """What ``tail -F`` says on stderr: a file truncated or replaced, or gone."""
    for file in changes.reset:
        name = file.source.label
        print(
            f"prime-logs: {name} was truncated or replaced; following it from its start",
            file=sys.stderr,
        )
    for file in changes.gone:
        print(f"prime-logs: {file.source.label} has gone", file=sys.stderr)


def _warn_too_deep(run: Run, said: set[str]) -> None:
    """One line on stderr when discovery left folders out for depth (once per text)."""
    notice = too_deep_notice(run.logs, run.too_deep)
    if notice is not None and notice not in said:
        said.add(notice)
        print(f"prime-logs: warning: {notice}", file=sys.stderr, flush=True)


def _on_closed(out: TextIO, callback: Callable[[], None]) -> threading.Event:
    """Call back (in the event loop) when the pipe ``out`` writes to loses its reader.

    With nothing new to print, a follower would never write and never learn that
    ``head`` has exited; like GNU tail, watch the pipe for POLLERR instead.
    """
    closed = threading.Event()
    try:
        fd = out.fileno()
        is_pipe = stat.S_ISFIFO(os.fstat(fd).st_mode)
    except (OSError, ValueError, AttributeError):
        return closed
    if not is_pipe or not hasattr(select, "poll"):
        return closed
    loop = asyncio.get_running_loop()

    def wait() -> None:
        poller = select.poll()
        poller.register(fd, 0)  # POLLERR / POLLHUP / POLLNVAL are always reported
        while not poller.poll():
            pass
        closed.set()
        with contextlib.suppress(RuntimeError):  # the loop has already finished
            loop.call_soon_threadsafe(callback)

    threading.Thread(target=wait, name="stdout-closed", daemon=True).start()
    return closed
