"""FileFollower against real files: what a ``tail -F`` user would see."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prime_rl_logs.core.fdpool import POOL, DescriptorPool
from prime_rl_logs.core.follow import FileFollower, FollowResult


def poll_all(f: FileFollower) -> list[FollowResult]:
    """Poll until the follower has nothing more to say right now."""
    out = [f.poll()]
    while f.behind:
        out.append(f.poll())
    return out


def data_of(results: list[FollowResult]) -> bytes:
    return b"".join(r.data for r in results)


def test_growth_and_partial_lines(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    p.write_bytes(b"one\ntw")
    with FileFollower(p) as f:
        r = f.poll()
        assert (r.data, r.offset, r.reset, r.gone) == (b"one\n", 0, False, False)
        assert f.pending == b"tw"
        with p.open("ab") as w:
            w.write(b"o\nthr")
        r = f.poll()
        assert (r.data, r.offset) == (b"two\n", 4)
        assert f.poll().data == b""  # nothing new: the partial line is not repeated
        with p.open("ab") as w:
            w.write(b"ee\n")
        r = f.poll()
        assert (r.data, r.offset) == (b"three\n", 8)
        assert f.offset == 14


def test_start_offset_skips_history(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    p.write_bytes(b"old\nold\nnew\n")
    with FileFollower(p, start=8) as f:
        r = f.poll()
        assert (r.data, r.offset) == (b"new\n", 8)


def test_start_at_end_holds_back_the_partial_line(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    p.write_bytes(b"old\nold\nhalf")
    with FileFollower(p, start=None) as f:
        r = f.poll()
        assert (r.data, r.offset, f.offset) == (b"", 8, 8)
        with p.open("ab") as w:
            w.write(b" done\n")
        assert f.poll().data == b"half done\n"


def test_truncation_reads_from_zero(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    p.write_bytes(b"a\nb\nc\n")
    with FileFollower(p) as f:
        f.poll()
        with p.open("r+b") as w:
            w.truncate(0)
        with p.open("ab") as w:
            w.write(b"x\n")
        r = f.poll()
        assert (r.data, r.offset, r.reset) == (b"x\n", 0, True)
        assert f.poll().reset is False


def test_truncation_slept_through_is_still_noticed(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    p.write_bytes(b"first run line\n")
    with FileFollower(p) as f:
        f.poll()
        with p.open("r+b") as w:
            w.truncate(0)
        p.write_bytes(b"second run, a longer line\n")  # grew past our offset again
        r = f.poll()
        assert (r.data, r.offset, r.reset) == (b"second run, a longer line\n", 0, True)


def test_recreation_is_a_reset(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    p.write_bytes(b"a\n" * 100)
    with FileFollower(p) as f:
        f.poll()
        p.unlink()
        p.write_bytes(b"new\n" * 200)  # bigger than before: size alone would not tell
        results = poll_all(f)
        assert results[-1].reset and data_of(results) == b"new\n" * 200
        assert results[-1].offset == 0


def test_rename_rotation_drains_old_file_first(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    p.write_bytes(b"1\n")
    with FileFollower(p) as f:
        f.poll()
        with p.open("ab") as w:
            w.write(b"2\n")  # written just before the rotation, not yet read
            p.rename(tmp_path / "a.log.1")
            p.write_bytes(b"fresh\n")
        first = f.poll()
        assert (first.data, first.reset, f.behind) == (b"2\n", False, True)
        second = f.poll()
        assert (second.data, second.offset, second.reset) == (b"fresh\n", 0, True)


def test_deletion_then_return(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    p.write_bytes(b"a\n")
    with FileFollower(p) as f:
        f.poll()
        with p.open("ab") as w:
            w.write(b"last words\n")
        p.unlink()
        r = f.poll()
        assert (r.data, r.gone) == (b"last words\n", True)
        assert f.poll().gone and f.poll().data == b""
        assert f.fd is None  # a deleted file's space is not held by us
        p.write_bytes(b"back\n")
        r = f.poll()
        assert (r.data, r.offset, r.reset, r.gone) == (b"back\n", 0, True, False)


def test_missing_file_appears_later(tmp_path: Path) -> None:
    p = tmp_path / "later.log"
    with FileFollower(p) as f:
        assert f.poll() == FollowResult(b"", 0, False, True)
        p.write_bytes(b"hello\n")
        r = f.poll()
        assert (r.data, r.reset, r.gone) == (b"hello\n", False, False)


def test_latest_symlink_swap(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    (logs / "attempt_1").mkdir(parents=True)
    (logs / "attempt_2").mkdir()
    (logs / "attempt_1" / "trainer.log").write_bytes(b"attempt one\n")
    (logs / "attempt_2" / "trainer.log").write_bytes(b"attempt two\n")
    (logs / "latest").symlink_to("attempt_1")
    with FileFollower(logs / "latest" / "trainer.log") as f:
        assert f.poll().data == b"attempt one\n"
        tmp_link = logs / "latest.tmp"
        tmp_link.symlink_to("attempt_2")
        os.replace(tmp_link, logs / "latest")  # atomic swap, as prime-rl does
        results = poll_all(f)
        assert results[-1].reset and data_of(results) == b"attempt two\n"


def test_not_a_regular_file_raises_and_never_half_opens(tmp_path: Path) -> None:
    d = tmp_path / "dir.log"
    d.mkdir()
    with FileFollower(d) as f:
        with pytest.raises(OSError):
            f.poll()
        assert f.fd is None


def test_reads_do_not_touch_the_file(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    p.write_bytes(b"a\nb\n")
    before = p.stat()
    with FileFollower(p) as f:
        f.poll()
    after = p.stat()
    assert (before.st_mtime_ns, before.st_size) == (after.st_mtime_ns, after.st_size)


# ---------------------------------------------------------------------------
# Random sequences against a model of what tail -F shows


piece = st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"."))
ops = st.lists(
    st.one_of(
        st.tuples(st.just("lines"), st.lists(piece, min_size=1, max_size=4)),
        st.tuples(st.just("partial"), piece),
        st.tuples(st.just("poll"), st.none()),
        st.tuples(st.just("truncate"), st.floats(0, 1)),
        st.tuples(st.just("recreate"), st.none()),
        st.tuples(st.just("rotate"), st.none()),
        st.tuples(st.just("delete"), st.none()),
    ),
    max_size=30,
)


def complete_lines(content: bytes) -> list[bytes]:
    return content.split(b"\n")[:-1]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=ops)
def test_random_writes_match_ground_truth(tmp_path_factory: pytest.TempPathFactory, ops) -> None:
    d = tmp_path_factory.mktemp("follow")
    p = d / "a.log"
    p.write_bytes(b"")
    content = b""  # the current file's bytes
    expected: list[list[bytes]] = []  # finished generations, complete lines only
    seen: list[list[bytes]] = [[]]
    rotations = 0

    def consume(f: FileFollower) -> None:
        for r in poll_all(f):
            if r.reset:
                seen.append([])
            if r.data:
                assert r.data.endswith(b"\n")
                seen[-1].extend(r.data.split(b"\n")[:-1])

    with FileFollower(p) as f:
        consume(f)
        for op, arg in ops:
            if op == "lines":
                content += b"".join(x + b"\n" for x in arg)
                with p.open("ab") as w:
                    w.write(b"".join(x + b"\n" for x in arg))
            elif op == "partial":
                content += arg
                with p.open("ab") as w:
                    w.write(arg)
            elif op == "poll":
                consume(f)
            elif op == "truncate":
                keep = int(len(content) * arg)
                if keep >= len(content):
                    continue
                consume(f)  # a watcher polls soon after every write
                expected.append(complete_lines(content))
                content = content[:keep]
                os.truncate(p, keep)
                # Seen before the file grows again (a truncation followed by regrowth
                # to the same bytes before any poll cannot be told from no change).
                consume(f)
            else:
                consume(f)
                expected.append(complete_lines(content))
                content = b""
                if op == "recreate":
                    p.unlink()
                elif op == "rotate":
                    rotations += 1
                    p.rename(d / f"a.log.{rotations}")
                else:  # delete, seen as gone, then the file comes back
                    p.unlink()
                    assert f.poll().gone
                p.write_bytes(b"")
        consume(f)
    expected.append(complete_lines(content))
    assert seen == expected


# ---------------------------------------------------------------------------
# Pooled descriptors (issue 15 item 6)


@pytest.fixture
def pool_of_one(monkeypatch: pytest.MonkeyPatch) -> DescriptorPool:
    """The process's pool, holding one descriptor at most for the test."""
    monkeypatch.setattr(POOL, "_limit", 1)
    return POOL


def test_a_parked_follower_holds_no_descriptor_and_reads_by_reopening(
    tmp_path: Path, pool_of_one: DescriptorPool
) -> None:
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    a.write_bytes(b"a1\n")
    b.write_bytes(b"b1\n")
    with FileFollower(a) as fa, FileFollower(b) as fb:
        assert fa.poll().data == b"a1\n"
        assert fb.poll().data == b"b1\n"
        assert fa.fd is None and fb.fd is not None and len(pool_of_one) == 1
        assert fa.poll().data == b""  # quiet: a stat, no open
        assert fa.fd is None
        with a.open("ab") as w:
            w.write(b"a2\n")
        assert fa.poll().data == b"a2\n"  # grown: reopened to read
        assert fa.fd is not None and fb.fd is None
        fd = fb.content_fd()  # a reader reopens the same file
        assert fd is not None and os.pread(fd, 3, 0) == b"b1\n"


def test_a_parked_follower_notices_truncation_and_replacement(
    tmp_path: Path, pool_of_one: DescriptorPool
) -> None:
    a, other = tmp_path / "a.log", tmp_path / "other.log"
    a.write_bytes(b"one\ntwo\n")
    other.write_bytes(b"x\n")
    with FileFollower(a) as fa, FileFollower(other) as fo:
        fa.poll()
        fo.poll()  # parks fa
        a.write_bytes(b"new\n")  # truncated in place and rewritten, shorter
        r = fa.poll()
        assert (r.data, r.reset) == (b"new\n", True)
        fo.poll()
        a.rename(tmp_path / "a.log.1")  # rotated while parked
        a.write_bytes(b"fresh\n")
        fo.content_fd()  # parks fa again
        r = fa.poll()
        assert (r.data, r.offset, r.reset) == (b"fresh\n", 0, True)
        fo.content_fd()
        a.unlink()  # deleted while parked
        r = fa.poll()
        assert r.gone and r.data == b""


# ---------------------------------------------------------------------------
# A line written live without its newline (issue 15 item 7, the live path)


def test_a_long_partial_line_is_held_as_its_head_until_its_newline(tmp_path: Path) -> None:
    """68 MiB of one line written in pieces, polled between them: the follower holds
    at most `PENDING_MAX` bytes of it (it held all of it before), and when the
    newline comes the line is returned alone as its head with its real size, then
    the next line whole."""
    from prime_rl_logs.core.follow import PENDING_MAX

    p = tmp_path / "a.log"
    p.write_bytes(b"before\n")
    piece = b"x" * (4 << 20)
    with FileFollower(p) as f:
        assert data_of(poll_all(f)) == b"before\n"
        written = 0
        with p.open("ab") as w:
            for _ in range(17):
                w.write(piece)
                w.flush()
                written += len(piece)
                assert data_of(poll_all(f)) == b""
                assert len(f.pending) <= PENDING_MAX
                assert f.pending_size == written
            w.write(b"\nafter\n")
        results = [r for r in poll_all(f) if r.data]
    long, after = results
    assert long.offset == 7 and long.line_size == written + 1 and long.end == 7 + written + 1
    assert long.data == piece[:PENDING_MAX]
    assert (after.data, after.offset, after.line_size) == (b"after\n", long.end, None)


def test_the_pending_head_matches_the_read_limit_of_lines() -> None:
    from prime_rl_logs.core.follow import PENDING_MAX
    from prime_rl_logs.core.line_read import LINE_READ_MAX

    assert PENDING_MAX == LINE_READ_MAX


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=ops)
def test_random_writes_with_a_tiny_pending_limit_cut_and_lose_nothing(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, ops
) -> None:
    """With `PENDING_MAX` at 4 bytes, every complete line still comes out once, in
    order: whole, or (when it was a partial line longer than 4 bytes at a poll) as
    its first 4 bytes with its real size."""
    from prime_rl_logs.core import follow

    monkeypatch.setattr(follow, "PENDING_MAX", 4)
    d = tmp_path_factory.mktemp("follow")
    p = d / "a.log"
    p.write_bytes(b"")
    content = b""
    seen: list[tuple[bytes, int]] = []
    with FileFollower(p) as f:
        for op, arg in ops:
            if op in ("lines", "partial"):
                data = b"".join(x + b"\n" for x in arg) if op == "lines" else arg
                content += data
                with p.open("ab") as w:
                    w.write(data)
            elif op == "poll":
                for r in poll_all(f):
                    if r.line_size is not None:
                        assert len(r.data) == 4 and r.end == r.offset + r.line_size
                        seen.append((r.data, r.line_size - 1))
                    elif r.data:
                        seen.extend((x, len(x)) for x in r.data.split(b"\n")[:-1])
        for r in poll_all(f):
            if r.line_size is not None:
                seen.append((r.data, r.line_size - 1))
            elif r.data:
                seen.extend((x, len(x)) for x in r.data.split(b"\n")[:-1])
    expected = complete_lines(content)
    assert [n for _, n in seen] == [len(x) for x in expected]
    assert all(line.startswith(head) for (head, _), line in zip(seen, expected, strict=True))
