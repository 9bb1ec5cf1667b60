"""One log line -> what it says: does it start a record, when, at which level, from whom.

prime-rl's processes write several shapes into the same files (see DESIGN.md):

* loguru, the one that matters most, with or without ANSI colour codes::

      14:03:55 SUCCESS [orchestrator] Step 3 | Time: 13.87s | Reward: 0.5123
      14:03:56   DEBUG Sending batch [batch.py::88]

  clock ``HH:MM:SS`` (no date), level right-aligned to 7 (any upper-case name,
  custom levels included), an optional ``[tag] `` before the message;
* vLLM: ``(APIServer pid=41213) INFO 02-09 14:02:40 [api_server.py:1351] message``,
  behind any number of nested ``(Name pid=N)`` prefixes (the outermost is kept as
  ``tag``) or none, and the older ``INFO 09-05 20:51:54 api_server.py:440] message``;
  one whose message is empty or indented continues the record above (a traceback
  vLLM logs line by line);
* uvicorn access and startup lines: ``(APIServer pid=N) INFO:     127.0.0.1:53440 - "POST
  /v1/chat/completions HTTP/1.1" 200 OK``;
* JSON lines from loguru ``json_logging`` (flat ``{"timestamp", "level", "message",
  "tag"}``) or ``serialize=True`` (``{"text", "record": {...}}``);
* common ISO shapes from other tools: ``2026-02-09 14:02:40,123 - INFO - msg``,
  ``2026-02-09 14:02:40.123 | INFO | msg``;
* Python ``logging``: ``2026-02-09 14:02:40,123 - env.math - WARNING - msg``,
  transformers' ``[INFO|trainer.py:12] 2026-02-09 14:02:40,123 >> msg``,
  ``basicConfig``'s ``WARNING:root:msg``;
* glog and PyTorch C++: ``[E1130 14:30:05.412345634 ProcessGroupNCCL.cpp:632] msg``
  (severity I/W/E/F, optional thread id, micro- or nanoseconds, the old timeless
  ``[E ProcessGroupNCCL.cpp:563] msg``; ``[Rank N]`` in the message gives the rank
  when no prefix does) and torchrun's elastic agent lines, glog without brackets:
  ``W1130 12:13:49.388000 124326 torch/.../api.py:723] msg``, or in older PyTorch
  ``[2025-01-31 14:30:05,123] torch.distributed.elastic...api: [WARNING] msg``;

any of them behind a torchrun prefix (``[default0]:``, ``[trainer3]:``, ``[rank3]:``)
which gives the rank, and (but for glog) behind Ray's or vLLM's process prefixes
(``(Actor pid=N, ip=...)``). A line that does not start with a header but holds a
loguru header glued into it (after a tqdm bar or a half-written record) is that
record's header. A line of no shape continues the record above it when it looks
like a continuation (blank, indented, punctuation or box drawing first, a
traceback's exception line...: `_continuation`); any other is an untimed record of
`ORPHAN_LEVEL`. Bare tracebacks, torchrun's box and vLLM's line-by-line messages
are also judged with the line above them (`core.record_edges.in_record`).

`parse_line` runs for every line of multi-gigabyte files, so it dispatches on the
first character and tries at most one or two compiled regexes; lines that cannot
be headers cost one character test. The shapes themselves (regexes, first
characters, the torchrun prefix) are the table of `core.formats`; its
`HEADER_LEVEL_RE` (re-exported here) finds the loguru headers of a raw bytes
buffer in one pass. Holds no mutable state (the clock memo is a bounded
``functools.lru_cache`` of a pure function).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any, Final

from prime_rl_logs import levels
from prime_rl_logs.core import formats
from prime_rl_logs.core.ansi import SGR_RE
from prime_rl_logs.core.decode import DISPLAY_LIMIT, decode_line
from prime_rl_logs.core.formats import HEADER_LEVEL_RE, TORCHRUN_RE
from prime_rl_logs.core.run_clock import RunClock

__all__ = [
    "DISPLAY_LIMIT",
    "HEADER_LEVEL_RE",
    "LEVELS",
    "ORPHAN_LEVEL",
    "LineInfo",
    "RunClock",
    "decode_line",
    "glued_level",
    "level_no",
    "parse_line",
    "traceback_header",
    "traceback_starts_record",
]

# ---------------------------------------------------------------------------
# Levels

# The table lives in `prime_rl_logs.levels`; re-exported here for the reader.
LEVELS: Final = levels.LEVELS
level_no: Final = levels.number_lenient

ORPHAN_LEVEL: Final = levels.INFO
"""Level of a record no header starts: the lines above a file's first header, and a
line of no shape that does not look like a continuation (`_continuation`). INFO, so
they show wherever INFO does."""


def _pattern(shape: formats.HeaderShape) -> re.Pattern[str]:
    assert shape.pattern is not None
    return shape.pattern


# ---------------------------------------------------------------------------
# LineInfo


@dataclass(frozen=True, slots=True)
class LineInfo:
    """What one physical line says.

    A continuation line (``header=False``) has ``level=0``, ``level_name=""`` and
    ``clock=None``; its record's level is the one of the header above it.
    ``message`` is plain text (no colour codes), without the clock, level, tag,
    process prefix or torchrun prefix. ``clock`` is seconds since midnight.
    """

    header: bool
    clock: int | None
    level: int
    level_name: str
    tag: str | None
    message: str
    rank: int | None
    fmt: str  # "loguru", "vllm", "uvicorn", "json", "glog", "pylog", "plain"


class _LineInfoBuilder:
    """Builds a `LineInfo` at a third of the frozen dataclass's cost.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``,
    which costs more than parsing the line. This class has the same slots (CPython
    lays slots out by name, so the order written does not matter), so an instance can
    be filled with plain stores and then become a `LineInfo` by ``__class__``
    assignment, which CPython allows between classes of the same layout. The result
    is an ordinary, immutable `LineInfo`.
    """

    __slots__ = ("clock", "fmt", "header", "level", "level_name", "message", "rank", "tag")

    def __init__(
        self,
        header: bool,
        clock: int | None,
        level: int,
        level_name: str,
        tag: str | None,
        message: str,
        rank: int | None,
        fmt: str,
    ) -> None:
        self.header = header
        self.clock = clock
        self.level = level
        self.level_name = level_name
        self.tag = tag
        self.message = message
        self.rank = rank
        self.fmt = fmt


assert set(_LineInfoBuilder.__slots__) == set(LineInfo.__slots__)


def _info(
    header: bool,
    clock: int | None,
    level: int,
    level_name: str,
    tag: str | None,
    message: str,
    rank: int | None,
    fmt: str,
) -> LineInfo:
    info: Any = _LineInfoBuilder(header, clock, level, level_name, tag, message, rank, fmt)
    info.__class__ = LineInfo
    return info


# ---------------------------------------------------------------------------
# Regexes: the shapes of `core.formats`

_TORCHRUN: Final = TORCHRUN_RE
_LOGURU: Final = _pattern(formats.LOGURU)
_ISO: Final = _pattern(formats.ISO)
_PYLOG: Final = _pattern(formats.PYLOG)
_HF_LOG: Final = _pattern(formats.HF_LOG)
_TORCH_LOG: Final = _pattern(formats.TORCH_LOG)
_BASIC_LOG: Final = _pattern(formats.BASIC_LOG)
_GLOG: Final = _pattern(formats.GLOG)
_GLOG_BARE: Final = _pattern(formats.GLOG_BARE)
_VLLM: Final = _pattern(formats.VLLM)
_GLUED_DIM: Final = formats.GLUED_DIM_RE
_GLUED_BARE: Final = formats.GLUED_BARE_RE
# After the shapes: every ASCII punctuation, "[({=" included, starts a continuation.
_CONT_FIRST: Final = formats.CONTINUATION_FIRST_CHARS | frozenset("[({=")
_CONT_LINE: Final = formats.CONTINUATION_LINE_RE
_UVICORN: Final = _pattern(formats.UVICORN)
_PROCESS: Final = formats.PROCESS_PREFIX_RE
_RANK_IN_MESSAGE: Final = formats.RANK_IN_MESSAGE_RE
_GLOG_LEVELS: Final = formats.GLOG_LEVELS

_CLOCK: Final = re.compile(r"(\d\d):(\d\d):(\d\d)")

# The first characters `parse_line` dispatches on (after the torchrun prefix).
_DIGITS: Final = formats.LOGURU.first_chars | (formats.ISO.first_chars - {"["})
_UPPER: Final = formats.VLLM.first_chars | formats.UVICORN.first_chars
_SEVERITY: Final = formats.GLOG_BARE.first_chars
_FIRST: Final = frozenset(c for shape in formats.SHAPES for c in shape.first_chars) | {"("}


@functools.lru_cache(maxsize=1 << 17)
def _clock_of(hms: str) -> int:
    """``"HH:MM:SS"`` -> seconds since midnight (memoised: a pure function of its
    argument, and a file holds at most 86,400 distinct clocks)."""
    return int(hms[0:2]) * 3600 + int(hms[3:5]) * 60 + int(hms[6:8])


# ---------------------------------------------------------------------------
# parse_line


def parse_line(text: str) -> LineInfo:
    """Parse one decoded, ``\\r``-resolved line (see `decode_line`).

    Colour codes are ignored. Never raises: a line of no known shape is a
    continuation of the record above, or an untimed record (`_continuation`). A
    line that does not start with a header but holds loguru headers glued into it (a
    tqdm bar, a half-written record: `_glued`) is their record's header, at the
    highest level among them. A header line with headers glued after it keeps its
    own level here; `core.record_edges.in_record` (which every reader applies)
    raises it to theirs (`glued_level`), so the common line pays no scan for it.
    """
    coloured = "\x1b" in text
    raw = text
    if coloured:
        text = SGR_RE.sub("", text)
    rank: int | None = None
    first = text[:1]
    if first == "[":
        m = _TORCHRUN.match(text)
        if m is not None:
            rank = int(m.group(1))
            text = text[m.end() :]
            first = text[:1]

    if first in _DIGITS:  # loguru first: most lines of a run are loguru headers
        m = _LOGURU.match(text)
        if m is not None:
            hms, name, tag, message = m.groups()
            return _info(
                True,
                _clock_of(hms),
                level_no(name),
                name,
                tag,
                message or "",
                rank,
                "loguru",
            )
    elif first not in _FIRST:
        if first in _CONT_FIRST and not coloured and "]" not in text:
            return _info(False, None, 0, "", None, text, rank, "plain")  # most continuations
        return _continuation(raw, text, rank, coloured)
    info = _other_shapes(text, first, rank, None, coloured)
    if info is not None:
        return info
    return _continuation(raw, text, rank, coloured)


def glued_level(raw: str, pos: int) -> int:
    """The highest known level of the dim-coloured loguru headers in ``raw[pos:]``;
    0 if none."""
    best = 0
    for m in _GLUED_DIM.finditer(raw, pos):
        best = max(best, LEVELS.get(m.group(2), 0))
    return best


def _continuation(raw: str, text: str, rank: int | None, coloured: bool) -> LineInfo:
    """A line that does not start with a header (``raw`` as decoded, ``text`` without
    colour codes and torchrun prefix). If loguru headers of a known level are glued
    into it, dim-coloured anywhere or uncoloured straight after a ``]`` (a tqdm bar's
    end), a header at the highest of their levels, with the first one's clock, tag
    and message. Else a continuation when it looks like one: blank, starting with
    whitespace, ASCII punctuation or a box-drawing character
    (`formats.CONTINUATION_FIRST_CHARS`, and ``[ ( { =`` once no shape matched),
    or a traceback's or torchrun box's line (`formats.CONTINUATION_LINE_RE`); any
    other line is an untimed header of `ORPHAN_LEVEL` (fmt ``"plain"``, no level
    name written)."""
    glued = _glued(raw, coloured) if "]" in raw or (coloured and "\x1b[2m" in raw) else None
    if glued is None:
        first = text[:1]
        if not first or first in _CONT_FIRST or "\u2500" <= first <= "\u257f":
            return _info(False, None, 0, "", None, text, rank, "plain")
        if _CONT_LINE.match(text) is not None:
            return _info(False, None, 0, "", None, text, rank, "plain")
        # Anything else is a record of its own, untimed, of the stream's default level.
        return _info(True, None, ORPHAN_LEVEL, "", None, text, rank, "plain")
    found, best = glued
    rest = raw[found.start(1) if found.re is _GLUED_BARE else found.start() :]
    lm = _LOGURU.match(SGR_RE.sub("", rest) if coloured else rest)
    if lm is None:  # pragma: no cover - the glued regexes are stricter than LOGURU's
        return _info(False, None, 0, "", None, text, rank, "plain")
    hms, name, tag, message = lm.groups()
    return _info(True, _clock_of(hms), best, name, tag, message or "", rank, "loguru")


def _glued(raw: str, coloured: bool) -> tuple[re.Match[str], int] | None:
    """The first loguru header of a known level glued into ``raw`` and the highest
    level among them (`_continuation`); None if none."""
    found: re.Match[str] | None = None
    best = 0
    for regex in (_GLUED_DIM, _GLUED_BARE) if coloured else (_GLUED_BARE,):
        for m in regex.finditer(raw):
            level = LEVELS.get(m.group(2), 0)
            if level:
                if found is None or m.start() < found.start():
                    found = m
                best = max(best, level)
    return None if found is None else (found, best)


def _other_shapes(
    text: str, first: str, rank: int | None, proc: str | None, coloured: bool
) -> LineInfo | None:
    """The header shapes other than a bare loguru line; ``proc``: the outermost
    process prefix already removed (then the line held one). glog lines are read only
    without colour codes and process prefixes, as `formats.SHAPE_LINE_RE` finds them."""
    if first in _DIGITS:
        if proc is not None:
            m = _LOGURU.match(text)
            if m is not None:
                hms, name, tag, message = m.groups()
                return _info(
                    True,
                    _clock_of(hms),
                    level_no(name),
                    name,
                    tag or proc,
                    message or "",
                    rank,
                    "loguru",
                )
        m = _ISO.match(text)
        if m is not None:
            return _iso_info(m, rank)
        m = _PYLOG.match(text)
        if m is not None:
            hms, logger, name, message = m.groups()
            return _named(hms, name, logger, message, rank, "pylog")
    elif first in _UPPER:
        glog = not coloured and proc is None and rank is None
        if glog and first in _SEVERITY and text[1:2].isdigit():
            m = _GLOG_BARE.match(text)
            if m is not None:
                return _glog_info(m, rank)
        m = _VLLM.match(text)
        if m is not None:
            name, hms, message = m.groups()
            if not message or message[0] == " ":
                # A traceback vLLM logs one line at a time, each behind its own
                # header: its frame, code and blank lines continue the record its
                # "Traceback (most recent call last):" line started.
                # ``in_record`` also joins the final exception line to it.
                return _info(False, None, 0, "", proc, text, rank, "vllm")
            return _named(hms, name, proc, message, rank, "vllm")
        m = _UVICORN.match(text)
        if m is not None:
            name, message = m.groups()
            return _info(True, None, level_no(name), name, proc, message, rank, "uvicorn")
        m = _BASIC_LOG.match(text)
        if m is not None:
            name, logger, message = m.groups()
            return _named(None, name, proc or logger, message, rank, "pylog")
    elif first == "[":
        second = text[1:2]
        if second in _DIGITS:
            m = _ISO.match(text)
            if m is not None:
                return _iso_info(m, rank)
            m = _TORCH_LOG.match(text)
            if m is not None:
                hms, logger, name, message = m.groups()
                return _named(hms, name, logger, message, rank, "pylog")
        elif second in _UPPER:
            m = _GLOG.match(text) if not coloured and proc is None else None
            if m is not None:
                return _glog_info(m, rank)
            m = _HF_LOG.match(text)
            if m is not None:
                name, _where, hms, message = m.groups()
                return _named(hms, name, proc, message, rank, "pylog")
    elif first == "(" and proc is None:
        m = _PROCESS.match(text)
        if m is not None:
            rest = text[m.end() :]
            proc = formats.outermost_process(m.group())
            return _other_shapes(rest, rest[:1], rank, proc, coloured)
    elif first == "{":
        return _json_info(text, rank)
    return None


def _named(
    hms: str | None,
    name: str,
    tag: str | None,
    message: str | None,
    rank: int | None,
    fmt: str,
) -> LineInfo:
    name = name.upper()
    clock = _clock_of(hms) if hms is not None else None
    return _info(True, clock, level_no(name), name, tag, message or "", rank, fmt)


def _glog_info(m: re.Match[str], rank: int | None) -> LineInfo:
    letter, hms, _where, message = m.groups()
    message = message or ""
    if rank is None and "[Rank " in message:
        rm = _RANK_IN_MESSAGE.search(message)
        if rm is not None:
            rank = int(rm.group(1))
    return _named(hms, _GLOG_LEVELS[letter], None, message, rank, "glog")


def _iso_info(m: re.Match[str], rank: int | None) -> LineInfo:
    hms, name, message = m.groups()
    name = name.upper()
    return _info(True, _clock_of(hms), level_no(name), name, None, message or "", rank, "plain")


def _json_info(text: str, rank: int | None) -> LineInfo | None:
    """A loguru JSON line, flat (``json_logging``) or ``serialize=True``; None if not."""
    if not text.startswith('{"'):
        return None
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    record = obj.get("record")
    if isinstance(record, dict):
        # loguru serialize=True: {"text": ..., "record": {"level": {"name"}, "time":
        # {"repr"}, "message", "extra": {...}}}
        level = record.get("level")
        name = level.get("name") if isinstance(level, dict) else level
        time = record.get("time")
        stamp = time.get("repr") if isinstance(time, dict) else time
        message = record.get("message")
        extra = record.get("extra")
        tag = extra.get("tag") if isinstance(extra, dict) else None
        if rank is None and isinstance(extra, dict):
            rank = _int_or_none(extra.get("rank"))
    else:
        name = obj.get("level")
        stamp = obj.get("timestamp", obj.get("time"))
        message = obj.get("message", obj.get("msg"))
        tag = obj.get("tag")
        if rank is None:
            rank = _int_or_none(obj.get("rank"))
    if not isinstance(name, str) or not name or message is None:
        return None
    clock: int | None = None
    if isinstance(stamp, str) and len(stamp) >= 19 and stamp[10:11] in ("T", " "):
        cm = _CLOCK.match(stamp, 11)
        if cm is not None:
            clock = _clock_of(cm.group())
    name = name.upper()
    return _info(
        True,
        clock,
        level_no(name),
        name,
        tag if isinstance(tag, str) else None,
        message if isinstance(message, str) else str(message),
        rank,
        "json",
    )


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# Lines judged with the line above them; imported last (it reads `LineInfo`).
from prime_rl_logs.core.record_edges import (  # noqa: E402
    traceback_header,
    traceback_starts_record,
)
