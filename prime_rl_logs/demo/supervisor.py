"""The supervisor of a demo run: start the children, wait or show the dashboard, stop them.

`prepare` makes the folder (and removes the env workers' files, which are appended
to); `simulate` starts every child (`DemoRun`), runs the dashboard callback if one is
given (else waits for a bounded run to finish), and on return, Ctrl+C, SIGTERM or
SIGHUP stops every child: SIGTERM first, SIGKILL after `STOP_GRACE_S`. It returns
the exit code (``128 + signal`` when stopped by one). The supervisor never logs.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from prime_rl_logs import layout
from prime_rl_logs.demo.plan import (
    BASE_PERIOD,
    ENVS,
    STOP_GRACE_S,
    STOP_SIGNALS,
    WORKERS_PER_ENV,
    Plan,
)
from prime_rl_logs.demo.roles import child
from prime_rl_logs.errors import UsageError


class _Stop(BaseException):
    """A stop signal reached the supervisor."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signum)


class DemoRun:
    """The child processes of one demo run: start, wait, stop."""

    def __init__(self, plan: Plan, quiet_stdio: bool) -> None:
        self.plan = plan
        self.quiet_stdio = quiet_stdio
        method = "fork" if sys.platform == "linux" else "spawn"
        self.ctx: Any = multiprocessing.get_context(method)
        self.procs: list[Any] = []

    def start(self) -> None:
        roles: list[tuple[str, int, str]] = [
            ("launcher", 0, "launcher"),
            ("inference", 0, "inference"),
            ("orchestrator", 0, "orchestrator"),
        ]
        roles += [("trainer", rank, f"trainer rank {rank}") for rank in range(self.plan.ranks)]
        roles += [
            ("env", i, f"{ENVS[i // WORKERS_PER_ENV]} worker {i % WORKERS_PER_ENV}")
            for i in range(len(ENVS) * WORKERS_PER_ENV)
        ]
        for role, index, name in roles:
            proc = self.ctx.Process(
                target=child, args=(role, self.plan, index, self.quiet_stdio), name=name
            )
            proc.start()
            self.procs.append(proc)

    def failed(self) -> Any | None:
        for proc in self.procs:
            if proc.exitcode not in (None, 0):
                return proc
        return None

    def running(self) -> bool:
        return any(proc.is_alive() for proc in self.procs)

    def wait(self) -> int:
        """Until every child has finished (bounded run) or one failed; the exit code."""
        while self.running():
            if (proc := self.failed()) is not None:
                print(
                    f"prime-logs demo: the {proc.name} process failed "
                    f"(exit code {proc.exitcode}); stopping the others",
                    file=sys.stderr,
                )
                return 1
            time.sleep(0.1)
        return 1 if self.failed() is not None else 0

    def stop(self) -> None:
        """SIGTERM every child still alive, then SIGKILL what outlives the grace period."""
        for proc in self.procs:
            if proc.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for proc in self.procs:
            proc.join(max(0.0, deadline - time.monotonic()))
        for proc in self.procs:
            if proc.is_alive():
                proc.kill()
                proc.join(1.0)


def prepare(out: Path) -> None:
    """Make ``out/logs`` and remove the env workers' files (workers append to them).

    Raises:
        UsageError: the folder cannot be written (one line naming it and why).
    """
    try:
        layout.logs_dir(out).mkdir(parents=True, exist_ok=True)
        for env in ENVS:  # workers append: start each demo with fresh env files
            layout.env_worker_log(out, env).unlink(missing_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot write the demo run to {out}: {exc.strerror or exc}") from None


def simulate(
    out: Path,
    *,
    speed: float = 1.0,
    steps: int | None = None,
    ranks: int = 4,
    dashboard: Callable[[], int | None] | None = None,
    say_where: bool = True,
    name: Path | None = None,
) -> int:
    """Write a simulated run into ``out`` (already `prepare`d) until it ends or is stopped.

    Args:
        out: the run's output folder.
        speed: pace multiplier; one step every ``BASE_PERIOD / speed`` seconds.
        steps: stop after this many steps (None: until stopped).
        ranks: trainer ranks; the last one goes quiet for a while.
        dashboard: shows the run while it is written and returns its exit code when
            closed, or None when it could not open (then the writers run on). The
            children's stdio is silenced when it is given.
        name: the folder named in the messages (``out`` if None): the folder of runs
            when ``out`` is the hidden folder writing the live attempt.
        say_where: end by saying where the logs are (False when the caller removes
            the folder on exit).

    Returns:
        0 when the run finished or the dashboard closed cleanly, 1 when a child
        failed, the dashboard's code otherwise, ``128 + signal`` when stopped by one.
    """
    no_ui = dashboard is None
    shown = out if name is None else name
    print(f"prime-logs demo: writing a simulated prime-rl run to {shown}", flush=True)
    if no_ui:
        bound = f"{steps} steps" if steps else "until Ctrl+C"
        print(f"prime-logs demo: one step every {BASE_PERIOD / speed:g}s, {bound}", flush=True)

    plan = Plan(
        out=str(out),
        ranks=ranks,
        steps=steps,
        period=BASE_PERIOD / speed,
        t0=time.time(),
        supervisor=os.getpid(),
        quiet_rank=ranks - 1,
    )
    demo = DemoRun(plan, quiet_stdio=not no_ui)
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    code = 0
    result: int | None = None
    try:
        demo.start()
        for stop_signal in STOP_SIGNALS:
            signal.signal(stop_signal, _raise_stop)
        result = None if dashboard is None else dashboard()
        code = demo.wait() if result is None else result
        if code == 0:
            done = "finished" if result is None else "dashboard closed, writers stopped"
            print(f"prime-logs demo: {done}" + (f"; the logs are in {shown}" if say_where else ""))
    except (_Stop, KeyboardInterrupt) as exc:
        code = 128 + (exc.signum if isinstance(exc, _Stop) else signal.SIGINT)
        where = f"; the logs are in {shown}" if say_where else ""
        print(f"\nprime-logs demo: stopped{where}", file=sys.stderr)
    finally:
        for stop_signal in STOP_SIGNALS:  # a second Ctrl+C must not interrupt the clean-up
            signal.signal(stop_signal, signal.SIG_IGN)
        try:
            demo.stop()
        finally:
            for stop_signal, handler in previous.items():
                signal.signal(stop_signal, handler)
    return code
