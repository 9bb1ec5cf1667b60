"""The dashboard's whole-run scans in a child process: `Scanner`.

The doctor (`diagnose.doctor.Doctor`) reads every byte of every file of a run on its
first look, and the Metrics pane's history (`metrics.scan.scan_run`) too: seconds of
pure Python at 64 files. In a thread of the dashboard's process that work holds the
GIL, and the event loop waits for it at each of its own system calls (a frame
written, a file read): key presses took 0.3-1 s instead of 50 ms while the first scan
ran, and quitting waited for the scan to end (9.6 s at 64 files of 1.7 MB).

A `Scanner` is one child process (a new interpreter: nothing of the dashboard's
threads is copied) that runs such calls one at a time: `Scanner.call` sends a
function and its arguments over a socket and waits for the answer, from a worker
thread of the dashboard (waiting on the socket holds no lock). The child keeps state
between calls in its own module globals: `doctor_step` keeps each run's `Doctor`,
so a look after the first reads only what was appended. `Scanner.close` ends the
child; a caller waiting then gets `ScannerClosed`, so quitting never waits for a
scan. The child runs at ``nice 10`` and ends with the dashboard, however it ends.

The child is started by `Scanner.start` or at the first call. When it cannot be
started (a sandbox without ``fork``/``exec``), calls run in the caller's thread, as
before, and the state lives in this process's globals instead: the same functions,
the same answers. A child that died (killed, out of memory) is started again at the
next call, which then starts its scan over.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from prime_rl_logs.diagnose.alerts import DoctorLike
    from prime_rl_logs.diagnose.model import Report
    from prime_rl_logs.metrics.store import MetricsStore

__all__ = [
    "ProcessDoctor",
    "Scanner",
    "ScannerClosed",
    "doctor_report",
    "doctor_step",
    "metrics_history",
]

T = TypeVar("T")


class ScannerClosed(Exception):
    """The scanner was closed (the app is quitting) while a call waited for it."""


class Scanner:
    """A child process that runs module-level functions, one call at a time.

    Args:
        local: run every call in the caller's thread (no child process): for tests
            and where a child cannot be started.
    """

    def __init__(self, *, local: bool = False) -> None:
        self.local = local
        self.started = 0
        """Child processes started so far (a second one: the first died)."""
        self._lock = threading.Lock()  # one call at a time on the pipe
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._closed = False

    @property
    def pid(self) -> int | None:
        """The child's process id, None before the first call or when local."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def start(self) -> None:
        """Start the child now (else the first call does). The dashboard starts it
        from its event loop's thread: Linux lists a child under the thread that
        started it (``/proc/PID/task/TID/children``), and tools that look for a
        process's children under its main thread (benchmarks, ``ps --forest``
        alike) would miss a child started by a worker thread."""
        with self._lock:
            if not self._closed and not self.local:
                self._start_if_needed()

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the child (``fn`` a module-level function, the arguments
        and the answer picklable); what it raises is raised here. Blocks: call it
        from a worker thread. `ScannerClosed` after `close`."""
        with self._lock:
            if self._closed:
                raise ScannerClosed
            if not self.local and self._start_if_needed():
                for attempt in (0, 1):
                    conn = self._conn
                    assert conn is not None
                    try:
                        conn.send((fn, args))
                        ok, value = conn.recv()
                    except (EOFError, OSError):
                        if self._closed:
                            raise ScannerClosed from None
                        self._stop()  # it died: start another, once
                        if attempt or not self._start_if_needed():
                            raise
                        continue
                    if ok:
                        return value
                    raise value
        return fn(*args)

    def close(self) -> None:
        """End the child (a call waiting for it raises `ScannerClosed`)."""
        self._closed = True
        self._stop()

    def _start_if_needed(self) -> bool:
        """The child is running (started now if needed); False: run calls locally."""
        if self._proc is not None and self._proc.poll() is None:
            return True
        import socket
        import sys
        from multiprocessing.connection import Connection

        # A socket pair and a plain `subprocess`, not `multiprocessing`'s own start:
        # that starts a resource tracker too, and hands it our stderr, which Textual
        # has replaced (no file descriptor: "bad value(s) in fds_to_keep").
        package_parent = str(Path(__file__).resolve().parent.parent)
        try:
            mine, theirs = socket.socketpair()
            with theirs:
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-I",
                        "-c",
                        _CHILD,
                        package_parent,
                        str(theirs.fileno()),
                        str(os.getpid()),
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    pass_fds=(theirs.fileno(),),
                    start_new_session=True,  # a Ctrl+C in the terminal is ours to handle
                )
        except (OSError, ValueError):
            self.local = True
            return False
        self._proc, self._conn = proc, Connection(mine.detach())
        self.started += 1
        return True

    def _stop(self) -> None:
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        if proc is not None and proc.poll() is None:
            proc.kill()
        if conn is not None:
            conn.close()  # (a thread in `recv` gets EOFError or OSError)
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=1.0)


_CHILD = """
import os, sys
sys.path.insert(0, sys.argv[1])
from prime_rl_logs.scanner import _serve, _tie_to_parent
_tie_to_parent(int(sys.argv[3]))
try:
    os.nice(max(0, 10 - os.nice(0)))  # the terminal, and the dashboard, before the scans
except OSError:
    pass
from multiprocessing.connection import Connection
_serve(Connection(int(sys.argv[2])), *map(float, sys.argv[4:6]))
"""
"""The child's program: argv is the folder holding our package, the socket's fd, the
dashboard's process id and, when the child starts over (`_start_over`), the fd of the
state it kept and the time it did."""

SHED_MB: Final = 16
"""A child that holds this many MB more than it did when it started, after a call,
starts over (`_start_over`)..."""
SHED_EVERY_S: Final = 60.0
"""... at most this often (what it keeps may be that big)."""


def _tie_to_parent(parent: int) -> None:
    """End this process when the dashboard's ends, however it ends (Linux:
    ``PR_SET_PDEATHSIG``): a dashboard killed in the middle of a scan leaves no
    scanner reading on for minutes. Elsewhere the closed socket ends it after the
    call at hand."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError, ValueError):
        return
    if os.getppid() != parent:  # it ended before the tie was made
        os._exit(0)


def _serve(conn: Connection, state: float | None = None, started_over: float = 0.0) -> None:
    """The child: answer calls until the pipe closes (``state``: the fd of the
    doctors a former self kept, which started over at ``started_over``: `_start_over`)."""
    import time

    from prime_rl_logs.core.malloc import return_big_buffers
    from prime_rl_logs.diagnose import alerts  # noqa: F401  (what every look needs)

    return_big_buffers()  # its scans free big buffers too (`core.malloc`)
    if state is not None:
        _take_state(int(state))
    start = _rss_mb()
    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        try:
            answer: tuple[bool, Any] = (True, fn(*args))
        except Exception as exc:  # sent back and raised in the caller
            answer = (False, exc)
        try:
            conn.send(answer)
        except (OSError, ValueError):
            return
        rss, now = _rss_mb(), time.monotonic()
        grown = rss is not None and start is not None and rss - start > SHED_MB
        if grown and now - started_over > SHED_EVERY_S:
            _start_over(conn, now)  # (returns only if it could not)


def _rss_mb() -> float | None:
    """This process's resident memory in MB (Linux), else None."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return None


def _start_over(conn: Connection, now: float) -> None:
    """Become a fresh child, with the same process id, socket and doctors.

    A doctor's first look at a large run leaves the child 30-40 MB of freed heap
    that the allocators keep (pymalloc's arenas and glibc's heap, fragmented by the
    little that stays: `malloc_trim` gives back none of it), while what the doctors
    keep pickles to about 35 kB (128 files of 20 MB). So the child writes its
    doctors to a memory file and ``exec``s its own program with it: the memory is
    the system's again, the state and the pending calls on the socket are not lost.
    Where that cannot be done (no ``memfd_create``, a state that does not pickle),
    it carries on as it is. (``now``: the monotonic clock, the same for the new
    program, which starts over again only `SHED_EVERY_S` later.)
    """
    import pickle
    import sys

    try:
        data = pickle.dumps(_DOCTORS)
        fd = os.memfd_create("prime-logs-scanner-state", 0)  # (no CLOEXEC: inherited)
        with open(fd, "wb", closefd=False) as f:
            f.write(data)
        os.lseek(fd, 0, os.SEEK_SET)
        os.set_inheritable(conn.fileno(), True)
        argv = [sys.executable, "-I", "-c", _CHILD, *sys.argv[1:4], str(fd), repr(now)]
        os.execv(sys.executable, argv)
    except (OSError, AttributeError, pickle.PicklingError, TypeError):
        return


def _take_state(fd: int) -> None:
    """The doctors a former self wrote (`_start_over`)."""
    import pickle

    try:
        with open(fd, "rb") as f:
            _DOCTORS.update(pickle.load(f))
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
        return  # a new doctor is made at the next look: slower, not wrong


# -- the calls ----------------------------------------------------------------------

_DOCTORS: dict[tuple[Path, Path | None], DoctorLike] = {}
"""The doctor of each run looked at, in the process that runs `doctor_step`."""


def doctor_step(run_dir: Path, logs: Path | None) -> tuple[bool, Report]:
    """Update the run's doctor (made at the first call: every attempt of the run, see
    `diagnose.alerts.doctor_for`) and report; whether the update found something."""
    key = (run_dir, logs)
    doctor = _DOCTORS.get(key)
    if doctor is None:
        from prime_rl_logs.diagnose.alerts import doctor_for

        _DOCTORS.clear()  # one run at a time: another attempt drops the last one
        doctor = _DOCTORS[key] = doctor_for(run_dir, logs, every_attempt=True)
    changed = doctor.update()
    return changed, doctor.report()


def doctor_report(run_dir: Path, logs: Path | None, now: float) -> Report:
    """The report of the run's doctor at ``now`` (after a `doctor_step`)."""
    if (run_dir, logs) not in _DOCTORS:
        doctor_step(run_dir, logs)
    return _DOCTORS[(run_dir, logs)].report(now)


def metrics_history(
    output_dir: str | os.PathLike[str], logs: str | os.PathLike[str] | None
) -> MetricsStore:
    """The run's metrics as they are on disk (`metrics.scan.scan_run`)."""
    from prime_rl_logs.metrics.scan import scan_run

    return scan_run(output_dir, logs)


class ProcessDoctor:
    """A `diagnose.alerts.DoctorLike` whose doctor lives in a `Scanner`'s child."""

    def __init__(self, scanner: Scanner, run_dir: Path, logs: Path | None) -> None:
        self.scanner = scanner
        self.run_dir = run_dir
        self.logs = logs
        self._report: Report | None = None

    def update(self) -> bool:
        changed, self._report = self.scanner.call(doctor_step, self.run_dir, self.logs)
        return changed

    def report(self, now: float | None = None) -> Report:
        """The report at ``now``; None: the one the last `update` made (at once)."""
        if now is None and self._report is not None:
            return self._report
        if now is None:
            self.update()
            assert self._report is not None
            return self._report
        return self.scanner.call(doctor_report, self.run_dir, self.logs, now)
