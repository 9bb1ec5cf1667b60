"""What a line says: every shape prime-rl's processes write, and what is not a header."""

from __future__ import annotations

import dataclasses
import json

import pytest

from prime_rl_logs.core import formats
from prime_rl_logs.core.parse import (
    DISPLAY_LIMIT,
    HEADER_LEVEL_RE,
    LEVELS,
    LineInfo,
    RunClock,
    decode_line,
    level_no,
    parse_line,
)

CLOCK_140355 = 14 * 3600 + 3 * 60 + 55


def colour(clock: str, level: str, message: str, prefix: str = "") -> str:
    """A line exactly as loguru writes it with colorize=True."""
    return (
        f"{prefix}\x1b[2m{clock}\x1b[0m \x1b[32m\x1b[1m{level:>7}\x1b[0m "
        f"\x1b[32m\x1b[1m\x1b[22m{message}\x1b[0m\x1b[0m"
    )


# -- levels


def test_levels_are_loguru_numbers() -> None:
    assert LEVELS == {
        "TRACE": 5,
        "DEBUG": 10,
        "INFO": 20,
        "SUCCESS": 25,
        "WARNING": 30,
        "ERROR": 40,
        "CRITICAL": 50,
    }


@pytest.mark.parametrize(
    ("name", "number"),
    [
        ("INFO", 20),
        ("info", 20),
        ("Success", 25),
        ("WARN", 30),
        ("warn", 30),
        ("FATAL", 50),
        ("critical", 50),
        ("trace", 5),
        ("STEP", 20),
        ("", 20),
    ],
)
def test_level_no(name: str, number: int) -> None:
    assert level_no(name) == number


# -- loguru


def test_coloured_loguru_success_line() -> None:
    info = parse_line(colour("14:03:55", "SUCCESS", "Step 3 | Time: 13.87s | Reward: 0.5123"))
    assert info == LineInfo(
        header=True,
        clock=CLOCK_140355,
        level=25,
        level_name="SUCCESS",
        tag=None,
        message="Step 3 | Time: 13.87s | Reward: 0.5123",
        rank=None,
        fmt="loguru",
    )


@pytest.mark.parametrize(
    ("line", "level", "name"),
    [
        ("14:03:55   DEBUG x", 10, "DEBUG"),
        ("14:03:55    INFO x", 20, "INFO"),
        ("14:03:55 SUCCESS x", 25, "SUCCESS"),
        ("14:03:55 WARNING x", 30, "WARNING"),
        ("14:03:55   ERROR x", 40, "ERROR"),
        ("14:03:55 CRITICAL x", 50, "CRITICAL"),
        ("14:03:55   TRACE x", 5, "TRACE"),
        ("14:03:55 PROFILE_2 x", 20, "PROFILE_2"),  # custom level
    ],
)
def test_plain_loguru_levels(line: str, level: int, name: str) -> None:
    info = parse_line(line)
    assert (info.header, info.level, info.level_name, info.message, info.fmt) == (
        True,
        level,
        name,
        "x",
        "loguru",
    )
    assert info.clock == CLOCK_140355


def test_loguru_tag_and_verifiers_prefix() -> None:
    info = parse_line("14:03:55    INFO [orchestrator] Starting")
    assert (info.tag, info.message) == ("orchestrator", "Starting")
    info = parse_line(colour("14:03:55", "INFO", "[verifiers] Loaded gsm8k"))
    assert (info.tag, info.message) == ("verifiers", "Loaded gsm8k")


def test_bracket_that_is_no_tag_stays_in_message() -> None:
    info = parse_line("14:03:55    INFO [1/10] loading")
    assert (info.tag, info.message) == (None, "[1/10] loading")


def test_debug_location_suffix_stays_in_message() -> None:
    info = parse_line("14:03:55   DEBUG Sending batch [batch.py::88]")
    assert (info.level, info.message) == (10, "Sending batch [batch.py::88]")


def test_loguru_empty_message() -> None:
    info = parse_line("14:03:55    INFO")
    assert (info.header, info.message) == (True, "")
    assert parse_line("14:03:55    INFO ").message == ""


def test_midnight_and_end_of_day_clocks() -> None:
    assert parse_line("00:00:00    INFO a").clock == 0
    assert parse_line("23:59:59    INFO a").clock == 86_399


# -- torchrun prefixes


@pytest.mark.parametrize(
    ("prefix", "rank"),
    [("[default0]:", 0), ("[trainer3]:", 3), ("[rank12]:", 12), ("[rank3]: ", 3)],
)
def test_torchrun_prefix_gives_rank(prefix: str, rank: int) -> None:
    info = parse_line(colour("14:03:55", "WARNING", "slow step", prefix=prefix))
    assert (info.header, info.rank, info.level, info.message) == (True, rank, 30, "slow step")


def test_torchrun_prefix_on_continuation_line() -> None:
    info = parse_line("[rank3]: Traceback (most recent call last):")
    assert info == LineInfo(
        header=False,
        clock=None,
        level=0,
        level_name="",
        tag=None,
        message="Traceback (most recent call last):",
        rank=3,
        fmt="plain",
    )


# -- vLLM and uvicorn


def test_vllm_api_server_line() -> None:
    info = parse_line(
        "(APIServer pid=41213) INFO 02-09 14:02:40 [api_server.py:1351] Starting vLLM API server"
    )
    assert info == LineInfo(
        header=True,
        clock=14 * 3600 + 2 * 60 + 40,
        level=20,
        level_name="INFO",
        tag="APIServer pid=41213",
        message="Starting vLLM API server",
        rank=None,
        fmt="vllm",
    )


def test_vllm_engine_core_and_bare_lines() -> None:
    info = parse_line("(EngineCore_DP0 pid=1) WARNING 02-09 14:02:41 [core.py:10] KV low")
    assert (info.level, info.tag, info.message, info.fmt) == (
        30,
        "EngineCore_DP0 pid=1",
        "KV low",
        "vllm",
    )
    info = parse_line("INFO 02-09 14:02:40 [loggers.py:123] Avg prompt throughput: 1.0 tokens/s")
    assert (info.header, info.tag, info.message) == (
        True,
        None,
        "Avg prompt throughput: 1.0 tokens/s",
    )
    info = parse_line("ERROR 06-13 10:00:00 llm_engine.py:161] old format")
    assert (info.level, info.clock, info.message) == (40, 36_000, "old format")


def test_uvicorn_access_line() -> None:
    line = (
        '(APIServer pid=41213) INFO:     127.0.0.1:53440 - "POST /v1/chat/completions '
        'HTTP/1.1" 200 OK'
    )
    info = parse_line(line)
    assert info == LineInfo(
        header=True,
        clock=None,
        level=20,
        level_name="INFO",
        tag="APIServer pid=41213",
        message='127.0.0.1:53440 - "POST /v1/chat/completions HTTP/1.1" 200 OK',
        rank=None,
        fmt="uvicorn",
    )
    info = parse_line("WARNING:  Invalid HTTP request received.")
    assert (info.level, info.tag, info.message) == (30, None, "Invalid HTTP request received.")


# -- JSON


def test_flat_json_line() -> None:
    line = json.dumps(
        {
            "timestamp": "2026-11-26T14:03:55.123+00:00",
            "level": "SUCCESS",
            "message": "Step 3 | Reward: 0.5",
            "tag": "orchestrator",
        }
    )
    assert parse_line(line) == LineInfo(
        header=True,
        clock=CLOCK_140355,
        level=25,
        level_name="SUCCESS",
        tag="orchestrator",
        message="Step 3 | Reward: 0.5",
        rank=None,
        fmt="json",
    )


def test_loguru_serialized_json_line() -> None:
    line = json.dumps(
        {
            "text": "14:03:55 | WARNING | hi\n",
            "record": {
                "level": {"icon": "⚠️", "name": "WARNING", "no": 30},
                "message": "hi",
                "time": {"repr": "2026-11-26 14:03:55.123456+00:00", "timestamp": 1.0},
                "extra": {"tag": "trainer", "rank": 2},
            },
        }
    )
    info = parse_line(line)
    assert (info.header, info.level, info.clock, info.tag, info.rank, info.message) == (
        True,
        30,
        CLOCK_140355,
        "trainer",
        2,
        "hi",
    )
    assert info.fmt == "json"


def test_json_with_torchrun_prefix_and_bad_json() -> None:
    info = parse_line(
        '[default1]:{"timestamp": "2026-11-26T14:03:55", "level": "info", "message": "m"}'
    )
    assert (info.header, info.rank, info.level_name, info.message) == (True, 1, "INFO", "m")
    for line in ['{"level": "INFO"', '{"a": 1}', "[1, 2]", '{"level": 3, "message": "x"}']:
        assert parse_line(line).header is False


# -- other ISO shapes


@pytest.mark.parametrize(
    ("line", "level", "message"),
    [
        ("2026-02-09 14:02:40,123 - INFO - started", 20, "started"),
        ("2026-02-09 14:02:40.123 | WARNING  | mod:f:1 - careful", 30, "mod:f:1 - careful"),
        ("2026-02-09T14:02:40Z ERROR boom", 40, "boom"),
        ("[2026-02-09 14:02:40] [error] boom", 40, "boom"),
    ],
)
def test_iso_timestamp_lines_are_headers(line: str, level: int, message: str) -> None:
    info = parse_line(line)
    assert (info.header, info.level, info.message, info.clock) == (
        True,
        level,
        message,
        14 * 3600 + 2 * 60 + 40,
    )


# -- continuations


@pytest.mark.parametrize(
    "line",
    [
        "Traceback (most recent call last):",
        '  File "/app/train.py", line 12, in main',
        "ValueError: bad",
        "\t\t ╰─ gsm8k | Ratio 50.0% | Reward 0.5000",
        "",
        "   ",
        "{not json",
        "[1/10] loading",
        "(APIServer pid=1) Traceback (most recent call last):",
        " 45%|████▌     | 45/100 [00:10<00:12,  4.50it/s]",
        # issue 16: what else looks like a continuation
        "}",
        '> File "/app/train.py", line 12, in main',  # loguru diagnose=True
        "    │    └ <function main at 0x7f>",
        "│ └ 3",
        "During handling of the above exception, another exception occurred:",
        "torch.OutOfMemoryError: CUDA out of memory.",
        "KeyboardInterrupt",
        "rl_train.py FAILED",
        "Root Cause (first observed failure):",
        "=" * 60,
    ],
)
def test_continuation_lines(line: str) -> None:
    info = parse_line(line)
    assert (info.header, info.level, info.level_name, info.clock, info.fmt) == (
        False,
        0,
        "",
        None,
        "plain",
    )
    assert info.message == line


@pytest.mark.parametrize(
    "line",
    [
        "14:03:55 Something lower case",
        "12:00 OK",
        "2026-02-09 14:02:40 no level here",
        "INFO is a word",
        "user@gpu-node-3:~/prime-rl$ ls outputs",
        "plain output line",
        "Loading checkpoint shards: 100%|##########| 4/4",
        "✓ all checks passed",
    ],
)
def test_lines_of_no_shape_that_do_not_look_like_continuations_are_records(line: str) -> None:
    """Issue 16: such a line is an untimed record of the stream's default level (INFO),
    not a tail of the record above (a shell prompt pasted after an ERROR)."""
    info = parse_line(line)
    assert (info.header, info.level, info.clock, info.message) == (True, 20, None, line)


def test_lineinfo_is_frozen() -> None:
    info = parse_line("14:03:55    INFO x")
    assert type(info) is LineInfo
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.level = 40  # type: ignore[misc]
    assert hash(info) == hash(parse_line("14:03:55    INFO x"))


# -- decode_line


def test_decode_drops_newline_and_keeps_colours() -> None:
    line = colour("14:03:55", "INFO", "hi")
    assert decode_line((line + "\n").encode()) == line
    assert decode_line(b"plain\r\n") == "plain"


def test_decode_invalid_utf8_shows_replacement() -> None:
    assert decode_line(b"ok \xff\xfe end\n") == "ok \ufffd\ufffd end"


def test_decode_resolves_tqdm_redraws() -> None:
    raw = b"  0%|          | 0/10\r 50%|#####     | 5/10\r100%|##########| 10/10\r\n"
    assert decode_line(raw) == "100%|##########| 10/10"


def test_decode_keeps_torchrun_prefix_across_redraws() -> None:
    raw = b"[default3]:  0%|  | 0/10\r 100%|##| 10/10\n"
    assert decode_line(raw) == "[default3]: 100%|##| 10/10"
    assert parse_line(decode_line(raw)).rank == 3


def test_decode_removes_escape_injection() -> None:
    raw = b"\x1b]52;c;ZXZpbA==\x07\x1b[2Jhello \x1b[31mred\x1b[0m\x07\n"
    assert decode_line(raw) == "hello \x1b[31mred\x1b[0m"


def test_decode_cuts_a_huge_line_with_a_marker() -> None:
    raw = b"x" * 10_000_000 + b"\n"
    text = decode_line(raw)
    assert text == "x" * DISPLAY_LIMIT + " … [cut: 10.0 MB line]"


def test_decode_cut_does_not_leave_a_broken_escape_or_open_colour() -> None:
    body = "\x1b[31m" + "é" * (DISPLAY_LIMIT - 2) + "\x1b[0mtail" * 10
    text = decode_line(body.encode())
    assert text.endswith("\x1b[0m … [cut: 20.1 kB line]")
    assert text.startswith("\x1b[31méé")
    assert text.count("\x1b[") == 2  # the opening colour and the added reset


def test_decode_just_under_the_limit_is_whole() -> None:
    raw = "é" * DISPLAY_LIMIT
    assert decode_line(raw.encode()) == raw


# -- HEADER_LEVEL_RE


def test_header_level_re_finds_loguru_headers_in_a_buffer() -> None:
    lines = [
        colour("14:03:55", "SUCCESS", "Step 3 | Reward: 0.5"),
        "Traceback (most recent call last):",
        "14:03:56 WARNING [orchestrator] plain warning",
        colour("14:03:57", "ERROR", "boom", prefix="[default2]:"),
        "[trainer1]:14:03:58   DEBUG x [a.py::1]",
        "\t\t ╰─ gsm8k | Ratio 50.0% | Reward 0.5000",
        "(APIServer pid=1) INFO 02-09 14:02:40 [api_server.py:1] vllm",
        "14:03:59 PROFILE custom",
        "14:03:59    INFO",
        "14:04:00 Something else",
        "",
        "14:04:01    INFO crlf line\r",
    ]
    buf = "\n".join(lines).encode() + b"\n"
    found = [(m.start(), m.group(1)) for m in HEADER_LEVEL_RE.finditer(buf)]
    starts = []
    offset = 0
    for line in lines:
        starts.append(offset)
        offset += len(line.encode()) + 1
    assert found == [
        (starts[0], b"SUCCESS"),
        (starts[2], b"WARNING"),
        (starts[3], b"ERROR"),
        (starts[4], b"DEBUG"),
        (starts[7], b"PROFILE"),
        (starts[8], b"INFO"),
        (starts[11], b"INFO"),
    ]


def test_header_level_re_agrees_with_parse_line_on_loguru_lines() -> None:
    lines = [
        colour("14:03:55", level, msg, prefix=prefix)
        for level in ("DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL", "STEP")
        for msg in ("Step 1 | Loss: 0.1", "[tag] x", "", "a\tb")
        for prefix in ("", "[default0]:", "[rank7]: ")
    ]
    lines += [
        "14:03:55    INFO plain",
        "14:03:55.123    INFO with fraction",
        "14:03:55 info lower",
        "14:03:55 Info mixed",
        "14:03:55INFO glued",
        "4:03:55    INFO short clock",
        " 14:03:55    INFO indented",
        "14:03:55    INFO\tnot a space",
        "[default0]:Traceback (most recent call last):",
        "x 14:03:55    INFO inside",
    ]
    for line in lines:
        raw = line.encode()
        info = parse_line(decode_line(raw))
        m = HEADER_LEVEL_RE.match(raw)
        expected = info.header and info.fmt == "loguru"
        assert (m is not None) == expected, line
        if m is not None:
            assert m.group(1).decode() == info.level_name, line


# -- RunClock


def test_run_clock_counts_on_through_midnight() -> None:
    clock = RunClock()
    times = [clock.advance(c) for c in (86_390, 86_399, 5, 10, 3600)]
    assert times == [86_390, 86_399, 86_405, 86_410, 90_000]
    assert clock.day == 1


def test_run_clock_never_goes_back() -> None:
    clock = RunClock()
    assert [clock.advance(c) for c in (100, 98, 101, 99)] == [100, 100, 101, 101]


def test_run_clock_straggler_from_before_midnight() -> None:
    clock = RunClock()
    assert [clock.advance(c) for c in (86_399, 2, 86_398, 3)] == [86_399, 86_402, 86_402, 86_403]
    assert clock.day == 1


def test_run_clock_two_midnights() -> None:
    clock = RunClock()
    assert [clock.advance(c) for c in (80_000, 10, 80_000, 20)] == [
        80_000,
        86_410,
        166_400,
        172_820,
    ]


# -- the table of formats


def _first_chars(items: list[tuple[object, object]]) -> set[str] | None:
    """The characters a match of a parsed regex (``re._parser`` items) can start
    with; None when it can start with anything (or an item is not understood)."""
    from re import _parser as p  # type: ignore[attr-defined]

    out: set[str] = set()
    for op, arg in items:
        if op is p.AT:  # zero-width: ^, $
            continue
        if op is p.LITERAL:
            out.add(chr(arg))  # type: ignore[arg-type]
            return out
        if op is p.IN:
            for kind, value in arg:  # type: ignore[attr-defined]
                if kind is p.LITERAL:
                    out.add(chr(value))
                elif kind is p.RANGE:
                    out.update(chr(c) for c in range(value[0], value[1] + 1))
                elif kind is p.CATEGORY and value is p.CATEGORY_DIGIT:
                    out.update("0123456789")  # parse_line dispatches on ASCII digits
                else:
                    return None
            return out
        if op is p.SUBPATTERN:
            inner = _first_chars(list(arg[-1]))  # type: ignore[index]
            if inner is None:
                return None
            out |= inner
            return out
        if op in (p.MAX_REPEAT, p.MIN_REPEAT, getattr(p, "POSSESSIVE_REPEAT", None)):
            low, _, sub = arg  # type: ignore[misc]
            inner = _first_chars(list(sub))
            if inner is None:
                return None
            out |= inner
            if low > 0:
                return out
            continue
        if op is p.BRANCH:
            for alt in arg[1]:  # type: ignore[index]
                inner = _first_chars(list(alt))
                if inner is None:
                    return None
                out |= inner
            return out
        return None
    return None  # may match the empty string


@pytest.mark.parametrize("shape", formats.SHAPES, ids=lambda s: s.name)
def test_every_shape_starts_with_a_header_first_byte(shape: formats.HeaderShape) -> None:
    from re import _parser as p  # type: ignore[attr-defined]

    if shape.pattern is None:
        derived = {"{"}  # JSON: `_json_info` wants '{"'
    else:
        found = _first_chars(list(p.parse(shape.pattern.pattern, shape.pattern.flags)))
        assert found is not None, shape.name
        derived = found
    assert derived <= shape.first_chars
    assert {ord(c) for c in shape.first_chars} <= formats.HEADER_FIRST_BYTES
    # ... and the prefixes in front of any shape: torchrun and colour codes.
    assert ord("[") in formats.HEADER_FIRST_BYTES and 0x1B in formats.HEADER_FIRST_BYTES


def test_byte_level_tables_derive_from_the_shapes_and_levels() -> None:
    assert formats.TORCHRUN_RE.match("[default3]: x").group(1) == "3"  # type: ignore[union-attr]
    assert formats.TORCHRUN_TAG_BYTES_RE.match(b"[trainer12]:x") is not None
    assert formats.HEADER_LEVEL_RE.pattern.startswith(b"^(?:" + formats._TAG.encode())
    assert formats.LOGURU_CLOCK_RE.match(b"[rank1]: \x1b[2m14:03:55").groups() == (  # type: ignore[union-attr]
        b"14",
        b"03",
        b"55",
    )
    words = dict(formats.LEVEL_WORDS)
    for name, no in LEVELS.items():  # every level name is found by one of its words
        assert any(w.decode() in name and words[w] == no for w in words), name
    assert formats.PROBLEM_WORDS == (b"WARN", b"ERROR", b"CRITICAL", b"FATAL")
    assert HEADER_LEVEL_RE is formats.HEADER_LEVEL_RE
