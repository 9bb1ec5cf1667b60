"""The log formats the reader knows: one table of header shapes, and what derives from it.

prime-rl's processes write several header shapes into the same files (loguru, vLLM,
uvicorn, JSON lines, common ISO shapes, Python logging, glog / PyTorch C++ and
torchrun's elastic agent in its two shapes; see `core.parse` and docs/formats.md),
any of them behind a torchrun prefix (``[default0]:``) that gives the rank, most of
them behind process prefixes (``(APIServer pid=N)``, Ray's ``(Actor pid=N,
ip=...)``: `PROCESS_PREFIX_RE`).
`SHAPES` lists them, each with its text regex and the characters its line can start
with (after the prefixes). Everything else that must agree with it is built here from
the same pieces: `HEADER_FIRST_BYTES` (a line starting with another byte is a
continuation without asking `parse_line`), `HEADER_LEVEL_RE` (loguru headers in raw
bytes), `LOGURU_CLOCK_RE` (where a loguru header's clock is), the torchrun prefix in
its text and bytes forms, and what the bulk scans look for: the level words of
`prime_rl_logs.levels` (`LEVEL_WORDS`) and, for the shapes that do not spell their
level (glog, a bare traceback), `SHAPE_LINE_RE`. A new shape is one entry in `SHAPES`
plus its branch in `parse_line` (and in `SHAPE_LINE_RE` if it does not spell its level);
tests/core/test_parse.py checks that every shape's first characters are in
`HEADER_FIRST_BYTES`. Holds no state: every name here is a constant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from prime_rl_logs import levels

__all__ = [
    "BASIC_LOG",
    "BOX",
    "CONTINUATION_FIRST_CHARS",
    "CONTINUATION_LINE_RE",
    "GLOG",
    "GLOG_BARE",
    "GLOG_LEVELS",
    "GLUED_BARE_BYTES_RE",
    "GLUED_BARE_RE",
    "GLUED_DIM_BYTES_RE",
    "GLUED_DIM_RE",
    "HEADER_FIRST_BYTES",
    "HEADER_LEVEL_RE",
    "HF_LOG",
    "ISO",
    "JSON",
    "LEVEL_OF_BYTES",
    "LEVEL_WORDS",
    "LOGURU",
    "LOGURU_CLOCK_RE",
    "PROBLEM_WORDS",
    "PROCESS_PREFIX_RE",
    "PYLOG",
    "RANK_IN_MESSAGE_RE",
    "SHAPES",
    "SHAPE_LINE_AT_RE",
    "SHAPE_LINE_RE",
    "TORCHRUN_PREFIX",
    "TORCHRUN_RE",
    "TORCHRUN_TAG_BYTES_RE",
    "TORCH_LOG",
    "TRACEBACK",
    "TRACEBACK_LINE_RE",
    "UVICORN",
    "VLLM",
    "HeaderShape",
    "outermost_process",
]

# ---------------------------------------------------------------------------
# The torchrun prefix: "[default0]:", "[trainer3]:", "[rank3]: "

_TAG: Final = r"\[[A-Za-z_][A-Za-z_\-]*?"

TORCHRUN_PREFIX: Final = _TAG + r"(\d+)\]: ?"
"""The torchrun ``--tee`` / ``--redirects`` prefix as a regex; group 1 is the rank."""

TORCHRUN_RE: Final = re.compile(TORCHRUN_PREFIX)
"""`TORCHRUN_PREFIX` compiled, for text."""

TORCHRUN_TAG_BYTES_RE: Final = re.compile((_TAG + r"\d+\]:").encode())
"""The prefix without its optional space, for raw bytes (kept across ``\\r`` redraws)."""

PROCESS_PREFIX_RE: Final = re.compile(r"(?:\(([^()]*?\bpid=\d+[^()]*)\) )+")
"""One or more process prefixes before a header: vLLM's ``(APIServer pid=32) (EngineCore_0
pid=296) `` (nested, any number) and Ray's ``(Actor pid=12, ip=10.0.0.2) ``. Group 1 is
the innermost's text; `outermost_process` gives the outermost's."""


def outermost_process(prefix: str) -> str:
    """The text of the first ``(...)`` of a `PROCESS_PREFIX_RE` match."""
    return prefix[1 : prefix.index(")")]


RANK_IN_MESSAGE_RE: Final = re.compile(r"\[Rank (\d+)\]")
"""``[Rank N]`` in a glog message (PyTorch's process groups): the rank, when no torchrun
prefix gives it."""

_TORCHRUN_ANY_B: Final = ("(?:" + _TAG + r"\d+\]: ?)?").encode()
_SGR_B: Final = rb"(?:\x1b\[[0-9;:]*m)*"

# ---------------------------------------------------------------------------
# The header shapes

_DIGITS: Final = frozenset("0123456789")
_UPPER: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


@dataclass(frozen=True, slots=True)
class HeaderShape:
    """One header shape: its name (``LineInfo.fmt``), the regex `parse_line` matches
    the line against (after the torchrun prefix, colour codes removed), and the
    characters such a line can start with."""

    name: str
    pattern: re.Pattern[str] | None  # None: not a regex (JSON is read by `json`)
    first_chars: frozenset[str]


LOGURU: Final = HeaderShape(
    "loguru",
    # "HH:MM:SS LEVEL [tag] message", level padded on the left to 7. Fractional
    # seconds are accepted in case a format adds them.
    re.compile(
        r"(\d\d:\d\d:\d\d)(?:[.,]\d{1,6})? +([A-Z][A-Z0-9_]*)"
        r"(?: (?:\[([A-Za-z][\w.\-]*)\] )?(.*))?$",
        re.S,
    ),
    _DIGITS,
)

ISO: Final = HeaderShape(
    "plain",
    # Other tools: an ISO date and time, then a known level, separated by " |-:[]".
    re.compile(
        r"\[?\d{4}-\d\d-\d\d[T ](\d\d:\d\d:\d\d)(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?\]?"
        r"[\s|:\-]*\[?(TRACE|DEBUG|INFO|SUCCESS|WARNING|WARN|ERROR|CRITICAL|FATAL)\]?"
        r"(?:[\s|:\-]+(.*))?$",
        re.S | re.I,
    ),
    _DIGITS | {"["},
)

VLLM: Final = HeaderShape(
    "vllm",
    # "LEVEL MM-DD HH:MM:SS [file.py:123] message" (older vLLM writes "file.py:123]"
    # without the opening bracket); its "(Proc pid=N) " prefixes are `PROCESS_PREFIX`.
    re.compile(
        r"([A-Z]+) \d\d-\d\d (\d\d:\d\d:\d\d)(?:[.,]\d+)? "
        r"\[?[^\s\]]+:\d+\](?: (.*))?$",
        re.S,
    ),
    _UPPER,
)

UVICORN: Final = HeaderShape(
    "uvicorn",
    # "INFO:     message", level padded after the colon.
    re.compile(r"(TRACE|DEBUG|INFO|WARNING|ERROR|CRITICAL):[ \t]+(.*)$", re.S),
    _UPPER,
)

_PY_LEVEL: Final = r"(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL)"

PYLOG: Final = HeaderShape(
    "pylog",
    # Python ``logging`` with "%(asctime)s - %(name)s - %(levelname)s - %(message)s".
    re.compile(
        r"\d{4}-\d\d-\d\d[T ](\d\d:\d\d:\d\d)(?:[.,]\d+)? - (\S+) - "
        + _PY_LEVEL
        + r"(?: - (.*))?$",
        re.S,
    ),
    _DIGITS,
)

HF_LOG: Final = HeaderShape(
    "pylog",
    # transformers' "[LEVEL|file.py:123] YYYY-MM-DD HH:MM:SS,mmm >> message".
    re.compile(
        r"\[" + _PY_LEVEL + r"\|([^\s\]]+)\] \d{4}-\d\d-\d\d[T ](\d\d:\d\d:\d\d)(?:[.,]\d+)?"
        r"(?: >>)?(?: (.*))?$",
        re.S,
    ),
    frozenset("["),
)

TORCH_LOG: Final = HeaderShape(
    "pylog",
    # torch.distributed's Python loggers (torchrun's elastic agent, as older PyTorch
    # writes it): "[YYYY-MM-DD HH:MM:SS,mmm] logger.name: [LEVEL] message".
    re.compile(
        r"\[\d{4}-\d\d-\d\d[T ](\d\d:\d\d:\d\d)(?:[.,]\d+)?\] ([^\s\[\]]+): \["
        + _PY_LEVEL
        + r"\](?: (.*))?$",
        re.S,
    ),
    frozenset("["),
)

BASIC_LOG: Final = HeaderShape(
    "pylog",
    # ``logging.basicConfig()``'s "LEVEL:logger.name:message" (no space after a colon,
    # which tells it from uvicorn's "INFO:     message").
    re.compile(_PY_LEVEL + r":([^\s:]+):(.*)$", re.S),
    _UPPER,
)

GLOG: Final = HeaderShape(
    "glog",
    # glog and PyTorch C++ (c10) logging: "[SMMDD HH:MM:SS.micros|nanos [thread] file:line]
    # message", S a severity letter (I W E F); the month may lack its leading zero.
    # An older c10 form has no time: "[E file.cpp:563] message".
    re.compile(
        r"\[([IWEF])(?:\d{3,4} (\d\d:\d\d:\d\d)(?:\.\d+)?(?: +\d+)?)? "
        r"([^\s\]]+:\d+)\](?: (.*))?$",
        re.S,
    ),
    frozenset("["),
)

GLOG_BARE: Final = HeaderShape(
    "glog",
    # torchrun's elastic agent (Python logging in glog's shape, no brackets):
    # "SMMDD HH:MM:SS.micros pid path/file.py:123] message".
    re.compile(
        r"([IWEF])\d{3,4} (\d\d:\d\d:\d\d)(?:\.\d+)?(?: +\d+)? ([^\s\]]+:\d+)\](?: (.*))?$",
        re.S,
    ),
    frozenset("IWEF"),
)

TRACEBACK: Final = HeaderShape(
    "traceback",
    # A bare Python traceback's first line. `parse_line` reads it as a continuation;
    # whether it starts a record (of ERROR level) depends on the line above it:
    # `core.parse.traceback_starts_record`.
    re.compile(r"Traceback \(most recent call last\):\s*$"),
    frozenset("T"),
)

BOX: Final = HeaderShape(
    "box",
    # The top rule of torchrun's ``ChildFailedError`` summary box: 20 to 60 "=" (the
    # box is as wide as its widest line, at most 60). Like `TRACEBACK`, read as a
    # continuation by `parse_line` and judged with the line above it:
    # `core.parse.box_starts_record`.
    re.compile(r"={20,60}\s*$"),
    frozenset("="),
)

TRACEBACK_LINE_RE: Final = re.compile(
    "(?:" + TORCHRUN_PREFIX + r")?Traceback \(most recent call last\):\s*$"
)
"""A bare traceback's first line as decoded (colour codes kept: a coloured one is
not a bare traceback), torchrun prefix included."""

GLOG_LEVELS: Final = {"I": "INFO", "W": "WARNING", "E": "ERROR", "F": "CRITICAL"}
"""glog severity letters to level names."""

JSON: Final = HeaderShape("json", None, frozenset("{"))
"""loguru ``json_logging`` (flat) or ``serialize=True`` lines, read by `json`."""

SHAPES: Final = (
    LOGURU,
    ISO,
    PYLOG,
    HF_LOG,
    TORCH_LOG,
    GLOG,
    GLOG_BARE,
    VLLM,
    UVICORN,
    BASIC_LOG,
    TRACEBACK,
    BOX,
    JSON,
)

CONTINUATION_FIRST_CHARS: Final = frozenset(" \t!\"#$%&')*+,-./:;<>?@\\]^_`|}~")
"""First characters of a line that fits no header shape and continues the record
above: whitespace (frames, code, loguru's ``│ └`` lines, JSON bodies) and ASCII
punctuation (loguru's ``> File`` frame, a closing ``}``), but not the ``[`` ``(``
``{`` ``=`` that start shapes. The box-drawing block (``╰─``, ``│``) also
continues, and so do the lines `CONTINUATION_LINE_RE` matches; any other line of
no shape is a record of its own (`core.parse`)."""

CONTINUATION_LINE_RE: Final = re.compile(
    r"Traceback \(most recent call last\):"
    r"|During handling of the above exception"
    r"|The above exception was the direct cause"
    r"|Exception in thread "
    r"|Root Cause \(first observed failure\):"
    r"|Failures:\s*$"
    r"|\S+ FAILED\s*$"  # torchrun's box title
    r"|(?:[A-Za-z_]\w*\.)+[A-Za-z_]\w*(?::(?: |$)|\s*$)"  # a dotted exception name
    r"|[A-Za-z_]\w*(?:Error|Exception|Interrupt|Exit|Warning|Failure|Iteration|Group)"
    r"(?::(?: |$)|\s*$)"
)
"""Lines starting with a letter that still continue the record above: the parts of
a Python traceback (its exception line, the chained-traceback sentences) and of
torchrun's box (its title, ``Failures:``, ``Root Cause ...:``)."""

HEADER_FIRST_BYTES: Final = frozenset(range(256)) - frozenset(
    b"\n" + "".join(sorted(CONTINUATION_FIRST_CHARS)).encode()
)
"""First bytes a record can start with: any but whitespace and the punctuation of
`CONTINUATION_FIRST_CHARS` (so letters, digits, ``[ ( { =``, colour codes, ``\\r``
redraws, control bytes and non-ASCII bytes). A line starting with another byte,
without ``\\r`` in it, is a continuation without asking `parse_line`, unless a
loguru header is glued into it (`GLUED_BARE_RE`, `GLUED_DIM_RE`)."""

# ---------------------------------------------------------------------------
# Loguru headers in raw bytes

HEADER_LEVEL_RE: Final[re.Pattern[bytes]] = re.compile(
    rb"^"
    + _TORCHRUN_ANY_B
    + _SGR_B
    + rb"\d\d:\d\d:\d\d(?:[.,]\d{1,6})?"  # clock
    + _SGR_B
    + rb" (?:\x1b\[[0-9;:]*m| )*"  # the space, colour codes and the level's padding
    + rb"([A-Z][A-Z0-9_]*)"  # level name
    + _SGR_B
    + rb"(?= |\r?$)",
    re.M,
)
"""The loguru headers of a raw bytes buffer, for ``HEADER_LEVEL_RE.finditer(chunk)``.

Matches at the start of a line (MULTILINE ``^``: offset 0 of the buffer or just after
a ``\\n``) that is a loguru record header as `parse_line` reads it:

    [torchrun prefix] HH:MM:SS[.frac] <spaces> LEVEL (space | end of line)

with SGR colour codes allowed before and after the clock, among the spaces and
after the level name (where loguru puts them). Group 1 is the level name (bytes,
upper case as written: feed ``.decode()`` to `level_no`); ``match.start()`` is the
line's start offset. On loguru lines it agrees with ``parse_line(decode_line(line))``
having ``header=True`` and ``fmt == "loguru"``; it does not see the other header
shapes (vLLM, uvicorn, JSON, ISO), nor colour codes inside the clock digits or the
level name, nor a line whose ``\\r`` redraws put a header after the last ``\\r``.
"""

LOGURU_CLOCK_RE: Final = re.compile(_TORCHRUN_ANY_B + _SGR_B + rb"(\d\d):(\d\d):(\d\d)")
"""The loguru clock at a line start (after an optional torchrun prefix and colours);
groups 1-3 are hours, minutes and seconds."""

# ---------------------------------------------------------------------------
# Level words


def _level_words() -> tuple[tuple[bytes, int], ...]:
    """Every level name and alias with its number, by number; a name holding another
    name of the same level is left out (``WARN`` finds ``WARNING``)."""
    named = [(name, no) for name, no in levels.LEVELS.items()]
    named += [(alias, levels.LEVELS[name]) for alias, name in levels.ALIASES.items()]
    named.sort(key=lambda item: item[1])  # stable: LEVELS order within a number
    return tuple(
        (name.encode(), no)
        for name, no in named
        if not any(other != name and other in name and n == no for other, n in named)
    )


LEVEL_WORDS: Final = _level_words()
"""Words whose presence makes a line a candidate header of a level (checked after):
``(b"TRACE", 5) ... (b"WARN", 30) ... (b"FATAL", 50)``, by level."""

PROBLEM_WORDS: Final = tuple(w for w, no in LEVEL_WORDS if no >= levels.WARNING)
"""The words of the levels WARNING and up."""

_SHAPE_LINE_B: Final = _TORCHRUN_ANY_B + (
    rb"(?:\[?[WEF][\d ]|Traceback \(most recent call last\):|={20})"
)

SHAPE_LINE_RE: Final = re.compile(rb"\n" + _SHAPE_LINE_B)
"""The headers of level WARNING and up that do not spell their level: a newline, then
at the next line's start (after a torchrun prefix) a glog severity ``W`` ``E`` ``F``
with or without its ``[`` (`GLOG`, `GLOG_BARE`), a bare traceback's first line
(`TRACEBACK`) or a box's top rule (`BOX`). One regex pass whose literal first byte
keeps it as fast as one ``bytes.find`` of a level word; ``match.start() + 1`` is the
line's start. Lines with colour codes before these are not found, and `parse_line`
does not read them as these shapes either."""

SHAPE_LINE_AT_RE: Final = re.compile(_SHAPE_LINE_B)
"""`SHAPE_LINE_RE` without the newline, for the line at the start of a buffer."""

LEVEL_OF_BYTES: Final = {name.encode(): no for name, no in levels.LEVELS.items()}
"""Level names as loguru writes them (bytes) to their numbers."""

# ---------------------------------------------------------------------------
# Loguru headers glued into a line (after a half-written record or a tqdm bar)

_GLUED_DIM: Final = (
    r"\x1b\[2m(\d\d:\d\d:\d\d)(?:[.,]\d{1,6})?\x1b\[0m (?:\x1b\[[0-9;:]*m| )*"
    r"([A-Z][A-Z0-9_]*)(?:\x1b\[[0-9;:]*m)*(?: |$)"
)
_GLUED_BARE: Final = r"\](\d\d:\d\d:\d\d)(?:[.,]\d{1,6})? +([A-Z][A-Z0-9_]*)(?: |$)"

GLUED_DIM_RE: Final = re.compile(_GLUED_DIM, re.M)
"""A loguru header as prime-rl's coloured sink writes it (a dim clock, then the level),
anywhere in a line: a record glued onto a half-written one. Group 1 the clock, 2 the
level name (only a known name counts)."""

GLUED_DIM_BYTES_RE: Final = re.compile(_GLUED_DIM.encode(), re.M)
"""`GLUED_DIM_RE` for raw bytes."""

GLUED_BARE_RE: Final = re.compile(_GLUED_BARE, re.M)
"""An uncoloured loguru header straight after a ``]``, the end of a tqdm bar
(``...350.17it/s]16:43:42    INFO paused``): read only on a line that does not
start with a header (a bar starts its line). Groups as `GLUED_DIM_RE`."""

GLUED_BARE_BYTES_RE: Final = re.compile(_GLUED_BARE.encode(), re.M)
"""`GLUED_BARE_RE` for raw bytes."""
