"""LineIndex: backward build from the end, forward extension, lookups by offset."""

from __future__ import annotations

import os
from itertools import accumulate
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from prime_rl_logs.core.index import LineIndex, line_start_list, line_starts


def truth(data: bytes) -> list[int]:
    """Line starts of whole lines, the slow obvious way."""
    out, pos = [], 0
    for line in data.split(b"\n")[:-1]:
        out.append(pos)
        pos += len(line) + 1
    return out


def reader(data: bytes):
    return lambda off, n: data[off : off + n]


def test_line_starts() -> None:
    assert list(line_starts(b"a\nbb\n\nc\n", 100)) == [100, 102, 105, 106]
    assert list(line_starts(b"\n", 7)) == [7]


def test_last_lines_first_then_everything(tmp_path: Path) -> None:
    data = b"".join(b"line %d %s\n" % (i, b"x" * (i % 50)) for i in range(20_000))
    p = tmp_path / "big.log"
    p.write_bytes(data)
    fd = os.open(p, os.O_RDONLY)
    try:
        idx = LineIndex(base=len(data))
        first = idx.build_step(lambda o, n: os.pread(fd, n, o), size=4096)
        assert first is not None
        start, chunk = first
        assert chunk.endswith(b"\n") and start + len(chunk) == len(data)
        assert idx[-1] == truth(data)[-1] and len(idx) > 50  # the last screen is there
        assert not idx.complete
        while idx.build_step(lambda o, n: os.pread(fd, n, o), size=65536):
            pass
        assert idx.complete and list(idx) == truth(data)
    finally:
        os.close(fd)


def test_extend_forward_and_lookups() -> None:
    data = b"aa\nbbb\nc\n"
    idx = LineIndex(base=len(data))
    while idx.build_step(reader(data), size=3):
        pass
    idx.extend(b"dd\ne\n", len(data))
    assert list(idx) == [0, 3, 7, 9, 12]
    assert idx.find(0) == 0 and idx.find(5) == 1 and idx.find(9) == 3 and idx.find(13) == 4
    assert idx.line_end(3) == 7 and idx.line_end(12) == 14 and idx.line_end(4) is None
    assert idx[-1] == 12 and len(idx) == 5


def test_offsets_stay_valid_while_history_is_prepended() -> None:
    data = b"".join(b"%d\n" % i for i in range(1000))
    idx = LineIndex(base=len(data))
    idx.build_step(reader(data), size=100)
    last = idx[-1]
    before = idx.find(last)
    while idx.build_step(reader(data), size=100):
        pass
    after = idx.find(last)
    assert idx[after] == last and after > before  # its number moved, its offset did not


def test_a_line_longer_than_the_chunk() -> None:
    data = b"short\n" + b"x" * 100_000 + b"\nend\n"
    idx = LineIndex(base=len(data))
    while idx.build_step(reader(data), size=1000):
        pass
    assert list(idx) == [0, 6, 100_007]


def test_short_read_marks_stale() -> None:
    data = b"a\nb\nc\n"
    idx = LineIndex(base=len(data))
    assert idx.build_step(lambda o, n: b"", size=2) is None
    assert idx.stale and not idx.complete


def test_memory_is_about_eight_bytes_a_line() -> None:
    data = b"x\n" * 200_000
    idx = LineIndex(base=len(data))
    while idx.build_step(reader(data)):
        pass
    assert len(idx) == 200_000 and idx.nbytes <= 200_000 * 8 * 1.15


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")), max_size=60),
    split=st.floats(0, 1),
    size=st.integers(1, 64),
)
def test_any_split_and_chunk_size_gives_the_true_index(
    lines: list[bytes], split: float, size: int
) -> None:
    data = b"".join(x + b"\n" for x in lines)
    starts = truth(data)
    cut = starts[int(len(starts) * split)] if starts and split < 1 else len(data)
    idx = LineIndex(base=cut)
    idx.extend(data[cut:], cut)
    while idx.build_step(reader(data[:cut]), size=size):
        pass
    assert idx.complete and list(idx) == starts
    for i, s in enumerate(starts):
        assert idx.find(s) == i


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(
        st.binary(max_size=20).map(lambda b: b.replace(b"\n", b"") + b"\n"), max_size=50
    ),
    split=st.floats(0, 1),
    steps=st.lists(st.integers(1, 60), max_size=5),
    ranges=st.lists(st.tuples(st.floats(0, 1.1), st.floats(0, 1.1)), min_size=1, max_size=20),
)
def test_starts_between_and_count_between_match_the_true_index(
    lines: list[bytes], split: float, steps: list[int], ranges: list[tuple[float, float]]
) -> None:
    data = b"".join(lines)
    base = data.rfind(b"\n", 0, int(split * len(data))) + 1
    idx = LineIndex(base)
    idx.extend(data[base:], base)
    for size in steps:  # part of the history indexed, maybe all of it
        idx.build_step(reader(data), size)
    starts = truth(data)
    for a, b in ranges:
        lo, hi = sorted((int(a * len(data)), int(b * len(data))))
        got = idx.starts_between(lo, hi)
        if lo >= hi:
            assert got is not None and not got
        elif lo < idx.indexed_from or hi > idx.end:
            assert got is None
        else:
            assert got is not None and list(got) == [s for s in starts if lo <= s < hi]
            assert idx.count_between(lo, hi) == len(got)


@given(
    lines=st.lists(
        st.lists(
            st.sampled_from([b"a", b"\r", b"\r\n", b"\x0b", b"\x1c", b"\x85", b"x"]), max_size=6
        ).map(lambda parts: b"".join(parts).replace(b"\n", b"") + b"\n"),
        max_size=20,
    ),
    cut=st.floats(0, 1),
)
def test_line_start_list_splits_at_newlines_only(lines: list[bytes], cut: float) -> None:
    data = b"".join(lines)
    lo = data.rfind(b"\n", 0, int(cut * len(data))) + 1  # a line start
    expected = [s + 1000 for s in truth(data) if s >= lo]
    assert line_start_list(data, lo, len(data), 1000) == expected


# ---------------------------------------------------------------------------
# Packed offsets (issue 12, memory: 128 files of 20 MB)


@settings(max_examples=300, deadline=None)
@given(
    gaps=st.lists(st.one_of(st.integers(1, 255), st.integers(1, 70_000)), max_size=60),
    descending=st.booleans(),
    steps=st.lists(st.integers(1, 7), min_size=1, max_size=20),
    probes=st.lists(st.integers(-5, 2_000_000), max_size=20),
)
def test_packed_offsets_read_as_the_plain_array(
    gaps: list[int], descending: bool, steps: list[int], probes: list[int]
) -> None:
    """Blocks of 4 (the real 512, shrunk): every position, value lookup and slice of
    a `PackedOffsets` reads as the plain sorted array it stands for; blocks of lines
    under 256 bytes keep their lengths, spans past 64 KiB take the wider block types."""
    import operator
    from bisect import bisect_left, bisect_right
    from unittest import mock

    from prime_rl_logs.core import offsets

    values = list(accumulate(gaps))
    if descending:
        values.reverse()
    with mock.patch.object(offsets, "BLOCK", 4):
        packed = offsets.PackedOffsets(descending=descending)
        i, k = 0, 0
        while i < len(values):
            n = steps[k % len(steps)]
            if n == 1:
                packed.append(values[i])
            else:
                packed.extend(values[i : i + n])
            i, k = i + n, k + 1
        assert len(packed) == len(values) and list(packed) == values
        assert [packed[j] for j in range(len(values))] == values
        key = operator.neg if descending else None
        for v in probes + values:
            x = -v if descending else v
            assert packed.bisect(v) == bisect_left(values, x, key=key)
            assert packed.bisect(v, right=True) == bisect_right(values, x, key=key)
        for a in range(len(values) + 1):
            assert list(packed.slice(a, a + 5)) == values[a : a + 5]


def test_an_index_of_ordinary_lines_costs_about_one_byte_a_line() -> None:
    """200,000 lines of 90 bytes: 1.2 bytes a line (2.2 with offsets relative to each
    block's first, 8 in a plain array before)."""
    line = (
        b"12:00:00    INFO [step 1] Generated rollout batch 1 reward=0.5 seq_len=100 xxxxxxxxxxxx\n"
    )
    data = line * 200_000
    idx = LineIndex(0)
    idx.extend(data, 0)
    back = LineIndex(len(data))
    while back.build_step(lambda o, n: data[o : o + n], 1 << 20) is not None:
        pass
    for built in (idx, back):
        assert len(built) == 200_000
        assert built.nbytes <= 200_000 * 1.2, built.nbytes
        assert built.find(len(line) * 1234 + 5) == 1234
        assert built.line_end(len(line) * 7) == len(line) * 8
