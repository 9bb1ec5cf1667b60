"""One log file read for the doctor: only what was appended, problems found by byte search.

`FileScan.poll` reads a file from where the last call stopped (whole lines; a
partial last line waits), in `CHUNK` blocks, and hands back a `Hit` per record of
WARNING and up (`core.scan.records.problem_lines`: a ``bytes.find`` per level
word and one regex pass for the shapes that do not spell their level, glog and
bare tracebacks), plus the lines the ``any_level`` signatures find through their
byte needles (a NaN in a step line). Lines are never parsed one by one: a chunk's
line count is one ``bytes.count``, its step lines are found from its end with
``rfind`` (the last `STEP_HISTORY`), and only the lines found are decoded.

Times: each record's clock (loguru, vLLM, glog, ...) is put on a file time line
that crosses midnight where a clock drops by more than an hour (from the sampled
clocks: problems, step lines, each chunk's first and last timed header), then
anchored to the file's mtime as `core.scan.timeline.FileClock` does (the last
clock read is the last write); a problem whose line writes its month and day (vLLM,
glog) takes its date from them instead (``Hit.at``: the year that keeps it from
being after the mtime). A record without a clock (a bare traceback, torchrun's
box) takes the clock of the nearest timed header above it (`INFER_WINDOW`), else
the last one of the file before it (``Hit.inferred``); the doctor then looks at
the rank's stdout for one in a stderr file. A file that shrank or was replaced is
read again from its start (``reset``). Nothing raises for a file that vanished or
cannot be read: ``error`` says why.
"""

from __future__ import annotations

import os
import re
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from prime_rl_logs import layout, levels
from prime_rl_logs.core.ansi import strip_sgr
from prime_rl_logs.core.crash import bare_line, child_failure_box, exception_line
from prime_rl_logs.core.parse import decode_line, parse_line
from prime_rl_logs.core.scan.lines import line_end, line_start
from prime_rl_logs.core.scan.records import header_level, problem_lines
from prime_rl_logs.core.scan.timeline import clock_above, clock_at
from prime_rl_logs.diagnose import signatures
from prime_rl_logs.diagnose.text import dated_epoch, line_date, template

__all__ = ["CHUNK", "INFER_WINDOW", "STEP_HISTORY", "FileScan", "Hit", "epoch_of"]

CHUNK: Final = 16 << 20
INFER_WINDOW: Final = 64 << 10
"""How far above a clock-less record the nearest timed header is looked for in the
chunk (beyond: the file's last sampled clock)."""
STEP_HISTORY: Final = 24
RECORD_LINES: Final = 80
"""Lines of a record (its traceback) read after an error header, at most."""
RECORD_BYTES: Final = 32 << 10
TRACEBACK_KEEP: Final = (8, 32)
"""The first and last lines of a longer traceback that a finding keeps."""
SIG_CACHE: Final = 4096
"""Record texts (digits zeroed) whose signature a `SignatureCache` remembers..."""
SIG_KEY_MAX: Final = 2048
"""... when no longer than this (at most 8 MiB of keys, shared by a doctor's files)."""
OPEN_S: Final = 5.0
"""A bare traceback at the end of a file written this recently may still be growing."""
PREFIX_MAX: Final = 4096
"""The line before a chunk, kept to judge its first line (a bare traceback's above)."""

_STEP: Final = re.compile(r"^\s*Step\s+(\d+)\b")
_EXCEPTION: Final = re.compile(r"(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?::|$)")
"""A traceback's last line: ``SomeError: message`` (or a bare name), unindented."""
_ZEROS: Final = str.maketrans("123456789", "000000000")


def epoch_of(clock: int, mtime: float) -> float:
    """The epoch of a clock (seconds since local midnight) on the day of ``mtime``,
    the day before when it is more than 5 minutes after ``mtime`` (FileClock's rule)."""
    lt = time.localtime(mtime)
    midnight = time.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday, 0, 0, 0, 0, 0, -1))
    t = midnight + clock
    return t - 86_400 if t > mtime + 300 else t


SignatureCache = dict[str, "signatures.Signature | None"]
"""A record's text with its digits zeroed -> its signature (`FileScan._hit`), shared by
the files of one doctor."""


@dataclass(slots=True)
class Hit:
    """One record of WARNING and up (or a line an ``any_level`` signature found)."""

    offset: int
    line: int
    level: int
    message: str
    text: str
    """The message and the traceback lines, plain: what signatures are matched on."""
    traceback: tuple[str, ...]
    rank: int | None
    rel: float | None
    """Time on the file's time line (`FileScan.epoch` turns it into epoch seconds)."""
    inferred: bool
    signature: signatures.Signature | None = None
    template: str = ""
    """`diagnose.text.template` of the message."""
    at: float | None = None
    """Epoch seconds from the line's own date (vLLM, glog: `text.dated_epoch`), which
    wins over the file's time line (whose day comes from the mtime)."""


class FileScan:
    """One file of a run, read incrementally."""

    def __init__(
        self,
        path: Path,
        source: layout.Source,
        attempt: int | None,
        sigs: SignatureCache | None = None,
    ) -> None:
        self.path = path
        self.source = source
        self.attempt = attempt
        self.offset = 0
        self.lines = 0  # newlines before `offset`
        self.mtime: float | None = None
        self.size = 0
        self._ident: tuple[int, int] | None = None
        self._prefix = 0  # the length of the line before `offset` (read again)
        self._day = 0
        self._clock: int | None = None
        self.last_rel: float | None = None
        self._anchor: float | None = None  # epoch - rel, from the last poll
        self.steps: deque[tuple[int, float]] = deque(maxlen=STEP_HISTORY)
        """(step, rel) of the last step lines, oldest first."""
        self.bytes_read = 0
        self.error: str | None = None
        self.resets = 0
        self._open = False  # a record at the end was left for the next poll
        self._sigs: SignatureCache = {} if sigs is None else sigs

    # ------------------------------------------------------------------ time

    def epoch(self, rel: float | None) -> float | None:
        """A time on this file's time line as epoch seconds (None without an anchor)."""
        if rel is None or self._anchor is None:
            return None
        return rel + self._anchor

    @property
    def last_epoch(self) -> float | None:
        """The epoch of the last timed header read."""
        return self.epoch(self.last_rel)

    def _rel(self, clock: int) -> float:
        if self._clock is not None and clock < self._clock - 3600:
            self._day += 1  # crossed midnight
        self._clock = clock
        rel = float(self._day * 86_400 + clock)
        if self.last_rel is not None and rel < self.last_rel:
            rel = self.last_rel  # monotonic per file
        self.last_rel = rel
        return rel

    # ------------------------------------------------------------------ reading

    def _restart(self) -> None:
        self.offset = self.lines = 0
        self._open = False
        self.size = -1  # read the new content even if its size and mtime are the old ones
        self._prefix = 0  # the length of the line before `offset` (read again)
        self._day = 0
        self._clock = None
        self.last_rel = None
        self._anchor = None
        self.steps.clear()
        self.resets += 1

    def poll(self) -> list[Hit] | None:
        """Read what was appended since the last call; None when the file did not
        change (one ``stat``), else the hits found (maybe none)."""
        try:
            st = os.stat(self.path)
        except OSError as exc:
            if self.error is None:
                self.error = f"{self.source.label}: {exc.strerror or exc}"
                return []
            return None
        ident = (st.st_dev, st.st_ino)
        if self._ident is not None and (ident != self._ident or st.st_size < self.offset):
            self._restart()
        self._ident = ident
        unchanged = st.st_size == self.size and st.st_mtime == self.mtime
        if unchanged and self.error is None and not self._open:
            return None
        self.size, self.mtime = st.st_size, st.st_mtime
        self.error = None
        hits: list[Hit] = []
        try:
            with open(self.path, "rb") as fh:
                while self.offset < st.st_size:
                    # The line before the offset is read again (judging the first line
                    # may need it): no copy of a chunk to glue it on.
                    lo = self._prefix if self._prefix <= self.offset else 0
                    fh.seek(self.offset - lo)
                    want = min(CHUNK, st.st_size - self.offset)
                    buf = fh.read(lo + want)
                    self.bytes_read += len(buf)
                    if len(buf) <= lo:
                        break
                    cut = buf.rfind(b"\n", lo)
                    if cut < 0:
                        if len(buf) - lo < CHUNK:
                            break  # a partial line: it waits for its newline
                        used = len(buf) - lo  # one huge line: passed over
                        self._prefix = 0
                    else:
                        final = self.offset + cut + 1 - lo >= st.st_size
                        used = self._chunk(buf, lo, cut + 1, final, hits)
                    self.offset += used
                    if self._open:
                        break  # a traceback still being written: the next poll reads it
        except OSError as exc:
            self.error = f"{self.source.label}: {exc.strerror or exc}"
        if self.last_rel is not None and self._clock is not None:
            last = self._clock + self._day * 86_400
            self._anchor = epoch_of(self._clock, st.st_mtime) - last
        return hits

    def _chunk(self, buf: bytes, lo: int, hi: int, final: bool, hits: list[Hit]) -> int:
        """Find the hits of ``buf[lo:hi]`` (whole lines; ``buf[:lo]`` is the line before);
        returns how many bytes were used (less when the last error record may go on in
        the next chunk)."""
        found = sorted(problem_lines(buf, lo, hi))
        self._open = False
        if found:
            # The last error record may run past the chunk: leave it for the next one. At
            # the end of the file, a bare traceback or box without its last line, in a
            # file written in the last `OPEN_S` seconds, is being written: the same.
            start, level = found[-1]
            if level >= levels.ERROR and (start > lo or final):
                end, starts = self._record_end(buf, start, hi)
                if end >= hi and (not final or self._writing(buf, start, starts, hi)):
                    self._open = final
                    hi = start
                    found.pop()
        seen = {s for s, _ in found}
        extra = self._needle_lines(buf, lo, hi, seen)
        events: list[tuple[int, int, int | None]] = []  # (start, kind, level)
        events.extend((s, 0, lv) for s, lv in found)
        events.extend((s, 1, None) for s in extra)
        events.extend((s, 2, None) for s in self._step_lines(buf, lo, hi))
        first = self._first_timed(buf, lo, hi)
        if first is not None:
            events.append((first, 3, None))
        last = self._last_timed(buf, lo, hi)
        if last is not None:
            events.append((last, 3, None))
        events.sort(key=lambda ev: (ev[0], ev[1]))
        pos, line = lo, self.lines
        for start, kind, lv in events:
            line += buf.count(b"\n", pos, start)
            pos = start
            end = line_end(buf, start, hi)
            if kind == 3:
                c = clock_at(buf, start, end)
                if c is not None:
                    self._rel(c)
            elif kind == 2:
                self._step(buf, start, end)
            else:
                hit = self._hit(buf, start, end, hi, lo, lv, line + 1)
                if hit is not None:
                    hit.offset = self.offset - lo + start
                    hits.append(hit)
        self.lines = line + buf.count(b"\n", pos, hi)
        if hi > lo:
            p = line_start(buf, hi - 1, 0)
            self._prefix = hi - p if hi - p <= PREFIX_MAX else 0
        return hi - lo

    def _record_end(self, buf: bytes, start: int, hi: int) -> tuple[int, list[int]]:
        """The end of the record whose header is at ``start`` (bounded) and the starts
        of its lines after the header."""
        q = line_end(buf, start, hi)
        starts: list[int] = []
        while q < hi and len(starts) < RECORD_LINES and q - start < RECORD_BYTES:
            e = line_end(buf, q, hi)
            if header_level(buf, q, e) is not None:
                return q, starts
            starts.append(q)
            q = e
        return q, starts

    def _writing(self, buf: bytes, start: int, starts: list[int], hi: int) -> bool:
        """Whether the record at ``start`` (its other lines at ``starts``), last in the
        file, is a bare traceback or a box still being written."""
        if self.mtime is None or time.time() - self.mtime >= OPEN_S:
            return False
        first = bare_line(decode_line(buf[start : line_end(buf, start, hi)])).strip()
        last = bare_line(decode_line(buf[starts[-1] : hi])).rstrip() if starts else ""
        if first.startswith("Traceback (most recent call last)"):
            ended = last[:1].strip() != "" and _EXCEPTION.match(last) is not None
            return not ended or last.endswith("ChildFailedError:")
        if first.startswith("=" * 20):
            return not (len(starts) >= 2 and last.startswith("=" * 20))
        return False

    def _needle_lines(self, buf: bytes, lo: int, hi: int, seen: set[int]) -> list[int]:
        """Starts of the lines (not in ``seen``) holding an ``any_level`` needle that
        is not part of a longer word (``inference`` is not ``inf``)."""
        out: set[int] = set()
        find, rfind = buf.find, buf.rfind
        for needle in signatures.NAN_NEEDLES:
            n = len(needle)
            p = find(needle, lo, hi)
            while p >= 0:
                after = buf[p + n : p + n + 1]
                if not after.isalnum() and (p == 0 or not buf[p - 1 : p].isalpha()):
                    s = rfind(b"\n", lo, p) + 1 or lo
                    if s not in seen:
                        out.add(max(s, lo))
                p = find(needle, p + n, hi)
        return sorted(out)

    def _step_lines(self, buf: bytes, lo: int, hi: int) -> list[int]:
        """Starts of the last `STEP_HISTORY` lines holding ``Step `` (from the end)."""
        out: list[int] = []
        p = buf.rfind(b"Step ", lo, hi)
        while p >= 0 and len(out) < STEP_HISTORY:
            s = line_start(buf, p, lo)
            out.append(s)
            p = buf.rfind(b"Step ", lo, s)
        return out

    def _first_timed(self, buf: bytes, lo: int, hi: int) -> int | None:
        p, n = lo, 0
        while p < hi and n < 64:
            e = line_end(buf, p, hi)
            if header_level(buf, p, e) is not None and clock_at(buf, p, e) is not None:
                return p
            p, n = e, n + 1
        return None

    def _last_timed(self, buf: bytes, lo: int, hi: int) -> int | None:
        e, n = hi, 0
        while e > lo and n < 64:
            s = line_start(buf, e - 1, lo)
            if header_level(buf, s, e) is not None and clock_at(buf, s, e) is not None:
                return s
            e, n = s, n + 1
        return None

    def _step(self, buf: bytes, start: int, end: int) -> None:
        info = parse_line(decode_line(buf[start:end]))
        if not info.header or info.clock is None:
            return
        rel = self._rel(info.clock)
        m = _STEP.match(info.message)
        if m is not None:
            step = int(m.group(1))
            if self.steps and step <= self.steps[-1][0]:
                if step < self.steps[-1][0]:
                    self.steps.clear()  # a restart from a checkpoint: count again
                else:
                    return
            self.steps.append((step, rel))

    def _hit(
        self, buf: bytes, start: int, end: int, hi: int, lo: int, level: int | None, line: int
    ) -> Hit | None:
        text = decode_line(buf[start:end])
        info = parse_line(text)
        if level is None:  # a needle line: below WARNING (or not a header)
            plain = strip_sgr(text)
            sig = signatures.match(plain, any_level_only=True)
            if sig is None:
                return None
            when = self._rel(info.clock) if info.clock is not None else self.last_rel
            msg = info.message if info.header else bare_line(text).strip()
            untimed = info.clock is None
            tmpl = template(msg)
            return Hit(0, line, info.level, msg, plain, (), info.rank, when, untimed, sig, tmpl)
        rel: float | None
        clock = info.clock if info.header else None
        inferred = False
        at: float | None = None
        if clock is None:
            stop = max(lo - 1, start - INFER_WINDOW)
            above = clock_above(buf, start, stop)
            rel = self._rel(above) if above is not None else self.last_rel
            inferred = True
        else:
            rel = self._rel(clock)
            date = line_date(text, info.fmt)
            if date is not None and self.mtime is not None:
                at = dated_epoch(*date, clock, self.mtime)
        message = info.message.strip() if info.header else bare_line(text).strip()
        lines: list[str] = []
        fmt = "other"
        if level >= levels.ERROR:
            _, starts = self._record_end(buf, start, hi)
            lines = [decode_line(buf[s : line_end(buf, s, hi)]) for s in starts]
            fmt = _fmt_of(text, info)
            if fmt == "traceback":
                message = exception_line([text, *lines]) or message
            elif fmt == "box":
                message = _box_message([text, *lines]) or message
        plain_lines = [strip_sgr(ln) for ln in lines]
        full = "\n".join([strip_sgr(message), *plain_lines])
        tmpl = template(message)
        # The signature of a record is that of its text with every digit a 0 (numbers
        # do not name a failure; a sign or a word such as nan stays): cached per file.
        key = full.translate(_ZEROS)
        cached = self._sigs.get(key, False)
        if cached is False:
            cached = signatures.match(full)
            if len(self._sigs) < SIG_CACHE and len(key) <= SIG_KEY_MAX:
                self._sigs[key] = cached
        sig = cached if isinstance(cached, signatures.Signature) else None
        head, tail = TRACEBACK_KEEP
        if len(lines) > head + tail:
            skipped = len(lines) - head - tail
            lines = [*lines[:head], f"  ... ({skipped} lines)", *lines[-tail:]]
        if fmt == "traceback":
            lines = [text, *lines]
        rank = info.rank
        return Hit(0, line, level, message, full, tuple(lines), rank, rel, inferred, sig, tmpl, at)


def _fmt_of(text: str, info: object) -> str:
    """What kind of header a line judged a header is: ``traceback``, ``box`` or other."""
    plain = bare_line(text).strip()
    if plain.startswith("Traceback (most recent call last)"):
        return "traceback"
    if plain.startswith("=" * 20) and set(plain) == {"="}:
        return "box"
    return "other"


def _box_message(lines: list[str]) -> str:
    box = child_failure_box(lines)
    if box is None:
        return ""
    root = box.root_cause
    words = f"ChildFailedError: {box.title}".strip()
    if root is not None and root.rank is not None:
        code = f", exitcode {root.exitcode}" if root.exitcode is not None else ""
        words += f" (root cause: rank {root.rank}{code})"
    return words
