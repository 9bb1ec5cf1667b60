"""Run time from clock times: `RunClock` turns the ``HH:MM:SS`` clocks of successive
records into seconds that only grow, across midnight.

loguru writes no date, so a run's time is rebuilt from the clocks in file order. One
`RunClock` per file; holds only that file's last clock, day count and run time.
`core.parse` re-exports it.
"""

from __future__ import annotations

__all__ = ["RunClock"]


class RunClock:
    """Turns the clock times of successive records into a run time that only grows.

    loguru writes ``HH:MM:SS`` without a date, so a run crossing midnight goes from
    ``23:59:59`` to ``00:00:00``. A clock that goes back by more than `wrap_after`
    seconds is taken as the next day; a smaller step back (lines written out of
    order by a few seconds) keeps the run time where it was, and so does a line
    from just before a wrap that arrives after it.

    Run time is seconds since midnight of the first day seen.
    """

    __slots__ = ("day", "last", "time", "wrap_after")

    def __init__(self, wrap_after: int = 3600) -> None:
        self.wrap_after = wrap_after
        self.day = 0
        self.last: int | None = None  # the last clock value that moved time
        self.time = 0  # the current run time

    def advance(self, clock: int) -> int:
        """Run time of a record stamped ``clock`` (seconds since midnight)."""
        last = self.last
        if last is None:
            self.last = self.time = clock
            return clock
        delta = clock - last
        if delta < -self.wrap_after:
            self.day += 1
        elif delta > 86_400 - self.wrap_after:
            return self.time  # a straggler from before midnight
        self.last = clock
        now = self.day * 86_400 + clock
        if now > self.time:
            self.time = now
        return self.time
