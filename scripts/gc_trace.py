"""Run ``prime-logs`` with a log of its garbage collections.

    python scripts/gc_trace.py --log /tmp/gc.log [--over-ms 5] [--what] -- watch RUN

Every collection of the cyclic garbage collector that takes longer than
``--over-ms`` is written to ``--log`` as one line: seconds since start, the
generation, the milliseconds it held the event loop, and how many objects it freed.
With ``--what``, the first collection of an older generation (1 or 2) after the
first 3 s keeps what it freed (``gc.DEBUG_SAVEALL``) and the log gets the types of
those objects, most common first: cycles are what only the collector frees, and
the more of them, the longer it holds the loop. This is how issue 12's 180-280 ms
stalls at 10,000 lines/s were traced to a cycle in Textual's `Strip.divide`
(`tui/textual_fixes.py`, `docs/benchmarks.md`).
"""

from __future__ import annotations

import argparse
import collections
import gc
import sys
import time
from typing import Any, TextIO


def install(log: TextIO, over_s: float, what: bool) -> None:
    """Time every collection; with ``what``, list what one older collection freed."""
    start = time.perf_counter()
    began = [0.0]
    state = ["wait" if what else "done"]

    def callback(phase: str, info: dict[str, Any]) -> None:
        now = time.perf_counter()
        older = info["generation"] >= 1
        if phase == "start":
            if state[0] == "wait" and older and now - start > 3:
                state[0] = "saving"
                gc.set_debug(gc.DEBUG_SAVEALL)
            began[0] = time.perf_counter()
            return
        took = now - began[0]
        if took > over_s:
            log.write(
                f"{now - start:9.3f} gen{info['generation']} {took * 1000:8.1f} ms"
                f"  freed {info['collected']}\n"
            )
        if state[0] == "saving":
            state[0] = "done"
            gc.set_debug(0)
            kinds = collections.Counter(
                f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage
            )
            log.write(f"  what it freed ({len(gc.garbage)}): {kinds.most_common(20)}\n")
            gc.garbage.clear()

    gc.callbacks.append(callback)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--log", required=True, help="where the lines go")
    parser.add_argument("--over-ms", type=float, default=5.0)
    parser.add_argument("--what", action="store_true", help="the types one collection freed")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="prime-logs' own arguments")
    args = parser.parse_args()
    rest = args.args[1:] if args.args[:1] == ["--"] else args.args
    with open(args.log, "w", buffering=1) as log:
        install(log, args.over_ms / 1000, args.what)
        from prime_rl_logs.cli import main as cli

        return cli(rest)


if __name__ == "__main__":
    sys.exit(main())
