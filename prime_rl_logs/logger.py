"""The logger every prime-rl process uses: one loguru logger per process, set up once.

``setup_logger`` builds a loguru ``Logger`` on its **own core**, not ``loguru.logger``,
so third-party code that calls ``loguru.logger.remove()`` or ``.add(...)`` can neither
silence nor duplicate our lines. It writes the format prime-rl users know, colour
codes included (prime-rl's files carry them)::

    \\x1b[2m14:03:55\\x1b[0m \\x1b[32m\\x1b[1mSUCCESS\\x1b[0m
    \\x1b[32m\\x1b[1m\\x1b[22m[tag] Step 3 | ...\\x1b[0m\\x1b[0m   (one line)

which reads ``14:03:55 SUCCESS [tag] Step 3 | ...`` once stripped; at DEBUG each line
ends with `` [file.py::123]``.

Why a custom file sink: several processes append to one file (env workers, forked
children, torchrun ranks sharing a log). The file is opened with ``O_APPEND`` and
each record, traceback included, goes out in a single ``os.write``, so the kernel
places it whole at the end of the file: no line is torn or interleaved and nothing
sits in a userspace buffer to be lost or duplicated by ``fork``. No ``enqueue``
thread or queue is needed; loguru's per-handler lock covers threads.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from prime_rl_logs.config import normalize_level

if TYPE_CHECKING:
    from loguru import Logger, Message

__all__ = [
    "AppendFileSink",
    "LoggerAlreadySetUp",
    "LoggerNotSetUp",
    "get_logger",
    "line_format",
    "reset_logger",
    "setup_logger",
]

NO_BOLD: Final = "\x1b[22m"
RESET: Final = "\x1b[0m"
TIME_FORMAT: Final = "<dim>{time:HH:mm:ss}</dim>"


class LoggerAlreadySetUp(RuntimeError):
    """`setup_logger` was called a second time without `reset_logger` in between."""


class LoggerNotSetUp(RuntimeError):
    """`get_logger` was called before `setup_logger` (or after `reset_logger`)."""


def _escape_tag(tag: str) -> str:
    """A tag as literal text inside a loguru format string (no fields, no markup)."""
    return tag.replace("\\", "\\\\").replace("<", "\\<").replace("{", "{{").replace("}", "}}")


def line_format(level: str, tag: str | None = None, *, colorize: bool = True) -> str:
    """The loguru format string of a text line, exactly as prime-rl writes it.

    Args:
        level: the handler's level; at DEBUG (or TRACE) lines end with
            `` [file::line]``.
        tag: written as ``[tag] `` before the message, as literal text.
        colorize: wrap the message in ``ESC[22m`` ... ``ESC[0m`` like prime-rl's
            (bold off inside the level colour); without it those raw codes are left
            out too, so the line holds no escape at all.

    Returns:
        A format string for ``logger.add(..., format=...)``.

    Raises:
        ValueError: ``level`` is not a log level.
    """
    prefix = f"[{_escape_tag(tag)}] " if tag else ""
    no_bold, reset = (NO_BOLD, RESET) if colorize else ("", "")
    message = f"<level>{no_bold}{prefix}{{message}}{reset}</level>"
    fmt = f"{TIME_FORMAT} <level>{{level: >7}}</level> {message}"
    if normalize_level(level) in ("DEBUG", "TRACE"):
        fmt += f"<level>{no_bold} [{{file}}::{{line}}]{reset}</level>"
    return fmt


class AppendFileSink:
    """A loguru sink that appends each record to a file with one ``os.write``.

    The file is opened ``O_WRONLY | O_APPEND | O_CREAT``: concurrent writers (threads,
    forked or spawned processes, each with its own sink) never tear a record, since
    the kernel appends each write whole. ``stop`` (called by loguru when the handler
    is removed) closes the file.

    A write that fails (a full disk, a closed descriptor, a reader gone from a pipe)
    never raises into the program and never floods stderr: the record is dropped and
    counted, and stderr gets one line at the first failure, then at most one line
    per `REPORT_INTERVAL_S` with the count dropped since the last line (and one at
    ``stop`` for what is left). If part of a record reached the file before the
    failure, the next record written begins with a newline, so it starts whole on a
    line of its own instead of being glued onto the torn one.

    Args:
        path: the file; its parent folders are created.

    Raises:
        OSError: the file cannot be opened for appending.
    """

    REPORT_INTERVAL_S: Final = 10.0

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd: int | None = os.open(
            self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644
        )
        self.name = str(self.path)  # loguru shows it in repr(logger)
        self.dropped = 0  # records dropped since the last report to stderr
        self.dropped_total = 0
        self._torn = False  # the last record reached the file in part: no newline yet
        self._reported_at: float | None = None  # time.monotonic() of the last report
        self._error = ""

    def write(self, message: str) -> None:
        """Append one formatted record (loguru calls this); never raises.

        Args:
            message: the record as loguru formatted it, its newline included.
        """
        fd = self.fd
        if fd is None:
            return
        data = message.encode("utf-8", "replace")
        prefix = 1 if self._torn else 0
        if prefix:
            data = b"\n" + data
        sent = 0
        try:
            # A regular file takes the whole buffer in one call; should a signal or a
            # full disk cut it short, finish the record rather than lose its end.
            while sent < len(data):
                sent += os.write(fd, data[sent:] if sent else data)
        except OSError as exc:
            # Torn: some of this record is in the file, or the torn line is still open.
            self._torn = sent > prefix or (prefix == 1 and sent == 0)
            self.dropped += 1
            self.dropped_total += 1
            self._error = f"{exc.strerror or exc} ({errno.errorcode.get(exc.errno or 0, '?')})"
            self._report(failing=True)
            return
        self._torn = False
        if self.dropped:
            self._report(failing=False)

    def _report(self, *, failing: bool, final: bool = False) -> None:
        """One line to stderr, unless one went out less than `REPORT_INTERVAL_S` ago."""
        now = time.monotonic()
        last = self._reported_at
        if not final and last is not None and now - last < self.REPORT_INTERVAL_S:
            return
        if last is None:
            line = f"cannot write to {self.path}: {self._error}; dropping records"
            line += f" (reported at most every {self.REPORT_INTERVAL_S:g} s)"
        elif failing:
            line = f"cannot write to {self.path}: {self._error}; {self.dropped} records dropped"
        else:
            line = f"writing to {self.path} again; {self.dropped} records were dropped"
        self._reported_at = now
        self.dropped = 0
        try:
            stream = sys.stderr
            if stream is not None:
                stream.write(f"prime-logs: {line}\n")
                stream.flush()
        except (OSError, ValueError):
            pass  # stderr is gone too: nothing more can be said

    def stop(self) -> None:
        """Close the file (loguru calls this when the handler is removed), first
        reporting on stderr the records dropped since the last report."""
        fd, self.fd = self.fd, None
        if self.dropped:
            self._report(failing=True, final=True)
        if fd is not None:
            # Already closed behind our back (EBADF): nothing is left to release.
            with contextlib.suppress(OSError):
                os.close(fd)


class _Stdout:
    """Writes to whatever ``sys.stdout`` is at the time (so redirection is honoured)."""

    name = "<stdout>"

    def write(self, message: str) -> None:
        stream = sys.stdout
        if stream is None:
            return
        stream.write(message)
        stream.flush()


def json_line(message: Message, tag: str | None) -> str:
    """One record as a flat JSON object on one line (for Loki, Grafana, ``jq``).

    Args:
        message: the loguru message handed to a sink (its ``record`` is read).
        tag: the logger's tag, stored under ``"tag"`` (None: null).

    Returns:
        The JSON object and a newline; ``extra`` values that JSON cannot hold are
        written as their ``str``.
    """
    record = message.record
    entry: dict[str, Any] = {
        "timestamp": record["time"].isoformat(),
        "level": record["level"].name,
        "message": record["message"],
        "module": record["module"],
        "function": record["function"],
        "line": record["line"],
        "tag": tag,
        "exception": None,
    }
    exc = record["exception"]
    if exc is not None and exc.type is not None:
        entry["exception"] = "".join(traceback.format_exception(exc.type, exc.value, exc.traceback))
    if record["extra"]:
        entry["extra"] = {k: _jsonable(v) for k, v in record["extra"].items()}
    return json.dumps(entry, ensure_ascii=False) + "\n"


def _jsonable(value: object) -> object:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


class _JsonSink:
    """Writes each record as one JSON line to a text sink (stdout or an append file)."""

    def __init__(self, target: AppendFileSink | _Stdout, tag: str | None) -> None:
        self.target = target
        self.tag = tag
        self.name = f"json:{getattr(target, 'name', target)}"

    def write(self, message: Message) -> None:
        self.target.write(json_line(message, self.tag))

    def stop(self) -> None:
        if isinstance(self.target, AppendFileSink):
            self.target.stop()


@dataclass(frozen=True)
class _Setup:
    logger: Logger
    level: str
    file: Path | None
    tag: str | None
    json_logging: bool

    def describe(self) -> str:
        where = str(self.file) if self.file is not None else "no file"
        return f"level {self.level}, file {where}"


_SETUP: _Setup | None = None


def isolated_logger() -> Logger:
    """A loguru ``Logger`` on a fresh core of its own, with no handler.

    Third-party calls to ``loguru.logger.remove()`` or ``.add(...)`` never reach it.

    loguru has no public way to make one: its documented recipe,
    ``copy.deepcopy(loguru.logger)``, copies the handlers too and fails while the
    global logger has its default stderr handler (``cannot pickle
    '_io.TextIOWrapper'``), unless that handler is removed from everyone. So this is
    the one place that uses loguru's private ``loguru._logger.Core`` and ``Logger``,
    called the way ``loguru/__init__.py`` builds its own logger. Checked against
    loguru 0.7.3; ``pyproject.toml`` keeps loguru below 0.8, and
    ``tests/test_logger.py`` pins the constructor's keywords.
    """
    from loguru._logger import Core as _Core
    from loguru._logger import Logger as _Logger

    logger: Logger = _Logger(  # type: ignore[assignment]
        core=_Core(),
        exception=None,
        depth=0,
        record=False,
        lazy=False,
        colors=False,
        raw=False,
        capture=True,
        patchers=[],
        extra={},
    )
    return logger


def setup_logger(
    log_level: str,
    log_file: str | os.PathLike[str] | None = None,
    *,
    append: bool = False,
    tag: str | None = None,
    json_logging: bool = False,
    colorize: bool = True,
    console: bool = True,
) -> Logger:
    """Create this process's logger; call once per process (again only after `reset_logger`).

    Args:
        log_level: loguru level name, case-insensitive (``"warn"`` is accepted).
        log_file: also write here; parent folders are created, and an existing file
            is deleted first unless ``append`` is true.
        append: keep an existing ``log_file`` and append to it.
        tag: written as ``[tag] `` before every message.
        json_logging: one JSON object per line on stdout and in the file.
        colorize: ANSI colours on stdout and in the file (prime-rl writes them to both).
        console: also write to stdout (env workers with their own file turn it off).

    Returns:
        The logger, also what `get_logger` returns from now on.

    Raises:
        LoggerAlreadySetUp: already set up (a `RuntimeError`); the message names the
            first call's level and file.
        ValueError: ``log_level`` is not a log level.
        OSError: ``log_file`` cannot be created or opened.
    """
    global _SETUP
    if _SETUP is not None:
        raise LoggerAlreadySetUp(
            f"setup_logger was already called in this process ({_SETUP.describe()}); "
            "call reset_logger() first to set it up again"
        )
    level = normalize_level(log_level)
    path = Path(log_file) if log_file is not None else None

    logger = isolated_logger()
    if path is not None and not append:
        path.unlink(missing_ok=True)
    file_sink = AppendFileSink(path) if path is not None else None

    # Plain Python tracebacks; `diagnose` would print local variables (and secrets).
    common: dict[str, Any] = {"level": level, "backtrace": False, "diagnose": False}
    if json_logging:
        if console:
            logger.add(_JsonSink(_Stdout(), tag), format="{message}", colorize=False, **common)
        if file_sink is not None:
            logger.add(_JsonSink(file_sink, tag), format="{message}", colorize=False, **common)
    else:
        fmt = line_format(level, tag, colorize=colorize)
        if console:
            logger.add(_Stdout(), format=fmt, colorize=colorize, **common)
        if file_sink is not None:
            logger.add(file_sink, format=fmt, colorize=colorize, **common)

    _SETUP = _Setup(logger=logger, level=level, file=path, tag=tag, json_logging=json_logging)
    return logger


def get_logger() -> Logger:
    """This process's logger, as `setup_logger` made it.

    Raises:
        LoggerNotSetUp: `setup_logger` has not run (or `reset_logger` ran since); a
            `RuntimeError` whose message says what to call.
    """
    setup = _SETUP
    if setup is None:
        raise LoggerNotSetUp(
            "the logger is not set up: call prime_rl_logs.setup_logger(level, log_file) "
            "once at process start before get_logger()"
        )
    return setup.logger


def reset_logger() -> None:
    """Remove every handler, close the files and forget the logger.

    Used between tests and by forked workers that want their own file: after it,
    `setup_logger` may be called again. Harmless when nothing is set up.
    """
    global _SETUP
    setup, _SETUP = _SETUP, None
    if setup is not None:
        setup.logger.remove()
