"""Run ``prime-logs`` with a log of what holds its event loop.

    python scripts/loop_trace.py --log /tmp/loop.log --over-ms 20 -- watch RUN

Every callback of the asyncio loop that runs longer than ``--over-ms`` is written to
``--log`` as one line: seconds since start, wall milliseconds, the thread's CPU
milliseconds, and what ran (a worker's name, a timer's callback; ``screen_update``
is a frame). Key presses the driver reads (``KEY``), the app's pane switches
(``PANE``) and each write of a frame to the terminal (``WRITE``, with its size) are
logged too, so the path of one key from the terminal to the screen can be read off.
Wall time far above CPU time means the loop waited for the GIL or the CPU. This is
how issue 12's causes were found: a doctor thread holding the GIL, 512 kB history
steps, the scrollbar's repaint, full garbage collections (`docs/benchmarks.md`).
"""

from __future__ import annotations

import argparse
import asyncio.events
import sys
import time
from typing import Any, TextIO


def install(log: TextIO, over_s: float) -> None:
    """Wrap the loop's callbacks, the driver's key reads and writes, and pane switches."""
    start = time.perf_counter()
    run = asyncio.events.Handle._run

    def say(t: float, wall: float, cpu: float, what: str) -> None:
        log.write(f"{t - start:9.3f} {wall * 1000:8.1f} ms  cpu {cpu * 1000:7.1f} ms  {what}\n")

    def timed(self: asyncio.events.Handle) -> None:
        t, c = time.perf_counter(), time.thread_time()
        run(self)
        wall = time.perf_counter() - t
        if wall > over_s:
            say(t, wall, time.thread_time() - c, describe(self))

    asyncio.events.Handle._run = timed  # type: ignore[method-assign]

    import textual.driver
    import textual.drivers.linux_driver

    from prime_rl_logs.tui import app

    process = textual.driver.Driver.process_message
    write = textual.drivers.linux_driver.LinuxDriver.write
    pane = app.PrimeLogsApp.action_pane

    def key(self: Any, message: Any) -> None:
        if type(message).__name__ == "Key":
            say(time.perf_counter(), 0.0, 0.0, f"KEY {message.key}")
        process(self, message)

    def wrote(self: Any, data: str) -> None:
        say(time.perf_counter(), 0.0, 0.0, f"WRITE {len(data)}")
        write(self, data)

    def switched(self: Any, name: str) -> None:
        t = time.perf_counter()
        pane(self, name)
        say(t, time.perf_counter() - t, 0.0, f"PANE {name}")

    textual.driver.Driver.process_message = key  # type: ignore[method-assign]
    textual.drivers.linux_driver.LinuxDriver.write = wrote  # type: ignore[method-assign]
    app.PrimeLogsApp.action_pane = switched  # type: ignore[method-assign,assignment]


def describe(handle: asyncio.events.Handle) -> str:
    """A worker's or a timer's name, else the callback's."""
    callback = getattr(handle, "_callback", None)
    owner = getattr(callback, "__self__", None)
    get_coro = getattr(owner, "get_coro", None)
    if get_coro is None:
        return getattr(callback, "__qualname__", repr(callback))
    coro = get_coro()
    frame = getattr(coro, "cr_frame", None)
    me = frame.f_locals.get("self") if frame is not None else None
    name = getattr(coro, "__qualname__", repr(coro))
    if me is not None:
        timer_callback = getattr(getattr(me, "_callback", None), "__name__", "")
        name += f" {getattr(me, 'name', '')} {timer_callback}"
    return name.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--log", required=True, help="where the lines go")
    parser.add_argument("--over-ms", type=float, default=20.0)
    parser.add_argument("args", nargs=argparse.REMAINDER, help="prime-logs' own arguments")
    args = parser.parse_args()
    rest = args.args[1:] if args.args[:1] == ["--"] else args.args
    with open(args.log, "w", buffering=1) as log:
        install(log, args.over_ms / 1000)
        from prime_rl_logs.cli import main as cli

        return cli(rest)


if __name__ == "__main__":
    sys.exit(main())
