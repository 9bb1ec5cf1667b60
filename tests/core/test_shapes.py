"""Every line shape a run writes (issue 16): level, time, rank and source detail from
`parse_line`, and the byte-level scans (`header_level`, `problem_lines`) agreeing
with it. The lines are made up for these tests, following each tool's format."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prime_rl_logs.core.parse import decode_line, parse_line, traceback_starts_record
from prime_rl_logs.core.record_edges import in_record
from prime_rl_logs.core.scan.records import count_problems, header_level, problem_lines

H = 3600

# (line, level name, clock, rank, tag, fmt, message)
SHAPES = [
    # glog / PyTorch C++: bracketed, rank prefix, month without its zero, nanoseconds
    (
        "[rank5]:[E317 09:41:07.250000321 ProcessGroupNCCL.cpp:1420] [Rank 5] allreduce stuck",
        "ERROR",
        9 * H + 41 * 60 + 7,
        5,
        None,
        "glog",
        "[Rank 5] allreduce stuck",
    ),
    # with a thread id and microseconds, no prefix: [Rank N] in the message gives the rank
    (
        "[W1203 22:10:00.000123 8812 ProcessGroupNCCL.cpp:77] [Rank 11] slow collective",
        "WARNING",
        22 * H + 10 * 60,
        11,
        None,
        "glog",
        "[Rank 11] slow collective",
    ),
    ("[I0101 00:00:01.5 x.cc:1] up", "INFO", 1, None, None, "glog", "up"),
    ("[F0101 00:00:02.000001 7 x.cc:2] abort", "CRITICAL", 2, None, None, "glog", "abort"),
    # the old timeless c10 form
    ("[E Sync.cpp:563] lost a peer", "ERROR", None, None, None, "glog", "lost a peer"),
    # torchrun's elastic agent: glog without brackets
    (
        "W0412 06:30:15.987000 5150 torch/distributed/elastic/agent/server/api.py:700] "
        "got signal 15, stopping workers",
        "WARNING",
        6 * H + 30 * 60 + 15,
        None,
        None,
        "glog",
        "got signal 15, stopping workers",
    ),
    # torchrun's elastic agent in older PyTorch: Python logging, "[date clock] name: [LEVEL]"
    (
        "[2025-01-31 14:30:05,123] torch.distributed.elastic.multiprocessing.api: [WARNING] "
        "Sending process 1234 closing signal SIGTERM",
        "WARNING",
        14 * H + 30 * 60 + 5,
        None,
        "torch.distributed.elastic.multiprocessing.api",
        "pylog",
        "Sending process 1234 closing signal SIGTERM",
    ),
    # vLLM with nested process prefixes: the outermost is the source detail
    (
        "(APIServer pid=10) (EngineCore_0 pid=20) (VllmWorker TP1 pid=31) "
        "WARNING 03-17 09:41:07 [kv_transfer.py:88] slow transfer",
        "WARNING",
        9 * H + 41 * 60 + 7,
        None,
        "APIServer pid=10",
        "vllm",
        "slow transfer",
    ),
    # older vLLM: no prefix, a bare file:line]
    (
        "INFO 03-17 09:41:08 engine.py:300] warming up",
        "INFO",
        9 * H + 41 * 60 + 8,
        None,
        None,
        "vllm",
        "warming up",
    ),
    # Python logging: "asctime - name - level - message"
    (
        "2025-03-17 09:41:09,001 - reward.env - WARNING - empty completion",
        "WARNING",
        9 * H + 41 * 60 + 9,
        None,
        "reward.env",
        "pylog",
        "empty completion",
    ),
    # transformers' "[LEVEL|file:line] date >> message"
    (
        "[ERROR|modeling.py:512] 2025-03-17 09:41:10,002 >> weights missing",
        "ERROR",
        9 * H + 41 * 60 + 10,
        None,
        None,
        "pylog",
        "weights missing",
    ),
    # logging.basicConfig's "LEVEL:name:message"
    ("CRITICAL:root:disk full", "CRITICAL", None, None, "root", "pylog", "disk full"),
    # Ray's actor prefix before loguru, vLLM and uvicorn shapes
    (
        "(Learner pid=99, ip=10.0.0.7) 09:41:11   ERROR out of memory",
        "ERROR",
        9 * H + 41 * 60 + 11,
        None,
        "Learner pid=99, ip=10.0.0.7",
        "loguru",
        "out of memory",
    ),
    (
        "(Rollout pid=5, ip=10.0.0.8) ERROR 03-17 09:41:12 [io.py:3] socket closed",
        "ERROR",
        9 * H + 41 * 60 + 12,
        None,
        "Rollout pid=5, ip=10.0.0.8",
        "vllm",
        "socket closed",
    ),
]

NOT_HEADERS = [
    "Error: [Rank 3] mentioned in passing",
    "E1130 is a word, not a glog header",
    "W0412 06:30:15.987000 no file and line here",
    "[E but no file]",
    "(worker) INFO 03-17 09:41:08 [a.py:1] a prefix without pid",
    "  [E0101 00:00:01.000001 x.cc:1] indented",
    # glog is read without colour codes or process prefixes (C++ writes neither)
    "\x1b[31m[E0101 00:00:01.000001 x.cc:1] coloured",
    "(Worker pid=3) [E0101 00:00:01.000001 x.cc:1] behind a process prefix",
    "[rank1]:W0101 00:00:01.000001 7 api.py:3] bare glog behind a rank prefix",
]


@pytest.mark.parametrize(("line", "level", "clock", "rank", "tag", "fmt", "message"), SHAPES)
def test_each_shape_gives_level_time_rank_and_source(
    line: str,
    level: str,
    clock: int | None,
    rank: int | None,
    tag: str | None,
    fmt: str,
    message: str,
) -> None:
    info = parse_line(line)
    assert info.header
    assert (info.level_name, info.clock, info.rank, info.tag, info.fmt, info.message) == (
        level,
        clock,
        rank,
        tag,
        fmt,
        message,
    )
    raw = (line + "\n").encode()
    assert header_level(raw, 0, len(raw)) == info.level


@pytest.mark.parametrize("line", NOT_HEADERS)
def test_lines_that_only_look_like_a_shape_are_not_read_as_it(line: str) -> None:
    """Not read as the shape they resemble: a continuation, or (issue 16: a line of no
    shape that does not look like a continuation) an untimed INFO record."""
    info = parse_line(line)
    assert info.fmt == "plain" and info.clock is None and info.level in (0, 20)
    raw = (line + "\n").encode()
    assert header_level(raw, 0, len(raw)) == (info.level if info.header else None)


def test_a_torchrun_prefix_rank_wins_over_rank_in_the_message() -> None:
    info = parse_line("[rank3]:[E0101 00:00:01.000001 x.cc:1] [Rank 0] timeout")
    assert info.rank == 3


LINES = (
    [(line + "\n").encode() for line, *_ in SHAPES]
    + [(line + "\n").encode() for line in NOT_HEADERS]
    + [b"09:41:11 WARNING loguru\n", b"09:41:11    INFO [E in a loguru message\n", b"\n"]
    + [b"Traceback (most recent call last):\n", b"\x1b[33mTraceback (most recent call last):\n"]
    + [b"[rank1]: Traceback (most recent call last):\n", b"[rank1]: 09:41:11   ERROR boom\n"]
)


@given(st.lists(st.sampled_from(LINES), max_size=25))
def test_problem_lines_find_exactly_the_warning_and_error_headers(lines: list[bytes]) -> None:
    buf = b"".join(lines)
    expected, pos, above = {}, 0, None
    for raw in lines:
        text = decode_line(raw)
        info = parse_line(text)
        level = 40 if traceback_starts_record(text, info, above) else info.level
        if (info.header or level == 40) and level >= 30:
            expected[pos] = level
        pos += len(raw)
        above = info
    assert dict(problem_lines(buf)) == expected
    warnings = sum(1 for lv in expected.values() if lv < 40)
    assert count_problems(buf) == (warnings, len(expected) - warnings)


def test_a_vllm_traceback_logged_line_by_line_is_grouped() -> None:
    """vLLM may log a traceback one line at a time, each behind its own header: the
    frame, code and blank lines continue the record of its first line, and so does
    the final exception line (its header is that of the line above): one error."""
    head = "(EngineCore_0 pid=88) ERROR 03-17 09:41:20 [core.py:700] "
    lines = [
        head + "Traceback (most recent call last):",
        head + '  File "/opt/vllm/engine.py", line 12, in step',
        head + "    out = self.model(batch)",
        head.rstrip(),
        head + "RuntimeError: CUDA error: device-side assert triggered",
        "(EngineCore_0 pid=88) ERROR 03-17 09:41:21 [core.py:700] next error",
    ]
    infos = [parse_line(line) for line in lines]
    assert [i.header for i in infos] == [True, False, False, False, True, True]
    judged, above = [], None
    for line, info in zip(lines, infos, strict=True):
        judged.append(in_record(line, info, above).header)
        above = info
    assert judged == [True, False, False, False, False, True]
    buf = "".join(line + "\n" for line in lines).encode()
    assert count_problems(buf) == (0, 2)
    assert [header_level(buf, s, e) for s, e in _spans(buf)] == [40, None, None, None, None, 40]


def _spans(buf: bytes) -> list[tuple[int, int]]:
    out, pos = [], 0
    while pos < len(buf):
        end = buf.index(b"\n", pos) + 1
        out.append((pos, end))
        pos = end
    return out


def test_a_tqdm_bar_glued_to_a_header_starts_its_record() -> None:
    """A progress bar that ran straight into a loguru header (no newline after the
    bar): the line is that record's header, with its level, clock and message; the
    whole line is shown as written. The byte scans and `LogFile.info` agree."""
    bar = "Gen: 100%|##########| 64/64 [00:01<00:00, 350.17it/s]"
    line = bar + "16:43:42   ERROR Orchestrator paused"
    info = parse_line(line)
    assert (info.header, info.level_name, info.level, info.clock, info.message) == (
        True,
        "ERROR",
        40,
        16 * H + 43 * 60 + 42,
        "Orchestrator paused",
    )
    buf = b"15:00:00    INFO before\n" + line.encode() + b"\n  more of it\n"
    assert [header_level(buf, s, e) for s, e in _spans(buf)] == [20, 40, None]
    assert count_problems(buf) == (0, 1)
    # In raw bytes, the bar redrawn with carriage returns before the header.
    raw = b"\r  0%|    | 0/64 [00:00<?, ?it/s]\r" + line.encode() + b"\n"
    assert header_level(raw, 0, len(raw)) == 40 == parse_line(decode_line(raw)).level
    # A word that is not a level, or a header at the line's start, is read as before.
    assert parse_line(bar + "16:43:42 PAUSED x").fmt == "plain"
    assert parse_line("16:43:42    INFO [00:01<00:00]16:43:43   ERROR y").level_name == "INFO"


def test_log_file_info_reads_glued_and_vllm_lines_as_the_scans_do(tmp_path) -> None:
    from prime_rl_logs.core.run import Run
    from tests.fixtures import append

    head = "(EngineCore_0 pid=88) ERROR 03-17 09:41:20 [core.py:700] "
    lines = [
        "09:41:19    INFO start",
        head + "Traceback (most recent call last):",
        head + "    out = self.model(batch)",
        head + "RuntimeError: CUDA error",
        "Gen: 100%|##| 2/2 [00:01<00:00]09:41:21 WARNING glued",
        "  tail of it",
    ]
    append(tmp_path / "logs" / "orchestrator.log", "".join(ln + "\n" for ln in lines).encode())
    run = Run(tmp_path)
    run.refresh()
    [f] = run.files
    f.build_index(1.0)
    infos = [f.info(f.index[i]) for i in range(len(lines))]
    assert [i.header for i in infos] == [True, True, False, False, True, False]
    assert [i.level for i in infos] == [20, 40, 40, 40, 30, 30]
    assert f.warnings == 1 and f.errors == 1
