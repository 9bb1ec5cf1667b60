"""Alerts: what changed between two doctor `Report`s, told once, at a bounded rate.

`AlertTracker.update(report, now)` compares a `Report` with what it saw before and
yields `Alert`s for: a new error group (``"new group"``), a group whose signature is
a NaN/inf (``"nan"``), a new stall (``"stall"``) and the run turning ``crashed``
(``"crashed"``). What a run already holds when the tracker first sees it is the
baseline, not news. Each group key alerts once; a stall alerts again only after it
cleared. At most one alert leaves per `RATE_S` (a minute): the others wait and
leave merged into the next one, whose title says "and N more" and whose ``more``
lists them, so none is lost in silence.

Where alerts go, none of which may stop the caller: `OnAlert` runs ``--on-alert
CMD`` (split with `shlex`, no shell) with the alert as JSON on stdin, in a thread,
with a timeout, and reports a failure (not found, non-zero exit, timeout) through
a callback as one line; `terminal_notification` is the bell plus OSC 9 and OSC 777
(wrapped for tmux's passthrough when ``$TMUX`` is set) for the dashboard's driver or
a terminal; `alert_line` is the one-line text for stderr. Every text from a log file
is cleaned here (`clean`: printable, no ESC/BEL/ST, bounded) before it reaches a
terminal; the JSON carries the text as read (JSON escapes it).

`DoctorLoop` is the doctor on a thread for callers without an event loop of their
own to spare (``prime-logs tail --follow``): every `POLL_S` it updates the doctor,
builds a report and hands new alerts to its sinks. UI-free: no Textual, no rich.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shlex
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol, TextIO

from prime_rl_logs.diagnose.model import Group, Report, Stall
from prime_rl_logs.diagnose.text import ranks_text

__all__ = [
    "KINDS",
    "POLL_S",
    "RATE_S",
    "Alert",
    "AlertTracker",
    "DoctorLike",
    "DoctorLoop",
    "OnAlert",
    "alert_line",
    "clean",
    "doctor_for",
    "follow_alerts",
    "is_nan",
    "terminal_notification",
]

KINDS: Final = ("new group", "stall", "crashed", "nan")
RATE_S: Final = 60.0
"""At most one alert leaves per this many seconds; the rest are merged into the next."""
POLL_S: Final = 2.0
"""Seconds between doctor updates of `DoctorLoop` (and of the dashboard's worker)."""
ON_ALERT_TIMEOUT_S: Final = 10.0
TITLE_MAX: Final = 80
BODY_MAX: Final = 240


class DoctorLike(Protocol):
    """What the alerts need of `diagnose.doctor.Doctor`."""

    def update(self) -> bool: ...

    def report(self, now: float | None = None) -> Report: ...


@dataclass(frozen=True, slots=True)
class Alert:
    """One thing worth interrupting someone for."""

    kind: str
    """One of `KINDS`."""
    title: str
    body: str
    key: str
    """What it is about: a group's key, ``stall:...`` or ``crashed:...``."""
    time: float
    run: str = ""
    file: str | None = None
    line: int | None = None
    more: tuple[Alert, ...] = field(default=())
    """Alerts held back by the rate limit and merged into this one."""

    def to_json(self) -> dict[str, Any]:
        """The object ``--on-alert`` gets on stdin (documented in the README)."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "title": self.title,
            "body": self.body,
            "key": self.key,
            "time": self.time,
            "run": self.run,
            "file": self.file,
            "line": self.line,
        }
        out["more"] = [a.to_json() for a in self.more]
        return out


_NAN: Final = re.compile(r"\b(?:nan|inf)\b", re.IGNORECASE)


def is_nan(group: Group) -> bool:
    """A group about a NaN or inf (in a loss, grad norm or reward)."""
    return _NAN.search(f"{group.signature or ''} {group.template}") is not None


def _where(component: str, rank: int | None) -> str:
    return f"{component} rank {rank}" if rank is not None else component


def _group_alert(report: Report, g: Group, now: float) -> Alert:
    kind = "nan" if is_nan(g) else "new group"
    what = g.title or g.signature or g.template
    title = f"{'NaN' if kind == 'nan' else 'new error'}: {what}"
    bits = [g.note] if g.note else []
    where = ", ".join(g.components)
    if g.ranks:
        where += f" rank{'s' if len(g.ranks) > 1 else ''} {ranks_text(g.ranks)}"
    bits.append(f"{g.count}x on {where}" if where else f"{g.count}x")
    bits.append(f"{g.first.file.name}:{g.first.line}")
    if g.first.message and g.first.message != what:
        bits.append(g.first.message)
    return Alert(
        kind,
        title,
        " — ".join(bits),
        g.key,
        now,
        report.run,
        str(g.first.file),
        g.first.line,
    )


def _stall_key(s: Stall) -> str:
    return f"stall:{s.component}:{s.rank}:{s.reason}"


def _stall_alert(report: Report, s: Stall, now: float) -> Alert:
    title = f"stall: {_where(s.component, s.rank)} {s.reason}"
    file = str(s.file) if s.file is not None else None
    return Alert("stall", title, s.detail, _stall_key(s), now, report.run, file)


def _crash_alert(report: Report, now: float) -> Alert:
    f = report.first_failure
    body = "the run crashed"
    file = line = None
    if f is not None:
        body = f"first failure: {f.signature or f.message} on {_where(f.component, f.rank)}"
        body += f" ({f.file.name}:{f.line})"
        file, line = str(f.file), f.line
    key = f"crashed:{report.attempt}"
    return Alert("crashed", f"{report.run} crashed", body, key, now, report.run, file, line)


class AlertTracker:
    """New groups, stalls, crashes and NaNs between successive reports, rate-limited.

    Args:
        rate_s: at most one alert per this many seconds (the rest are merged).
        baseline: the first report is what the run already holds: no alerts for it.
    """

    def __init__(self, *, rate_s: float = RATE_S, baseline: bool = True) -> None:
        self.rate_s = rate_s
        self._baseline = baseline
        self._seen: set[str] = set()
        self._stalls: set[str] = set()
        self._crashed: set[str] = set()
        self._queue: list[Alert] = []
        self._last_sent: float | None = None
        self.new_keys: set[str] = set()
        """Keys that alerted since `acknowledge` (the header's red count)."""

    @property
    def pending(self) -> int:
        """Alerts waiting for the rate limit."""
        return len(self._queue)

    def acknowledge(self) -> None:
        """Someone looked (the Problems pane was opened): nothing is new any more."""
        self.new_keys.clear()

    def update(self, report: Report, now: float | None = None) -> list[Alert]:
        """Compare ``report`` with the previous ones; the alerts to send now (0 or 1)."""
        now = time.time() if now is None else now
        found = self._compare(report, now)
        if self._baseline:
            self._baseline = False
        else:
            self._queue.extend(found)
            self.new_keys.update(a.key for a in found)
        due = self.due(now)
        return [due] if due is not None else []

    def due(self, now: float | None = None) -> Alert | None:
        """The queued alerts merged into one, once the rate limit allows; else None."""
        now = time.time() if now is None else now
        if not self._queue:
            return None
        if self._last_sent is not None and now - self._last_sent < self.rate_s:
            return None
        first, rest = self._queue[0], tuple(self._queue[1:])
        self._queue.clear()
        self._last_sent = now
        if not rest:
            return first
        title = f"{first.title} (and {len(rest)} more)"
        body = first.body + "; and " + "; ".join(a.title for a in rest)
        return Alert(
            first.kind, title, body, first.key, now, first.run, first.file, first.line, rest
        )

    def _compare(self, report: Report, now: float) -> list[Alert]:
        found: list[Alert] = []
        for g in report.groups:
            if g.key in self._seen:
                continue
            if g.level == "WARNING" and not is_nan(g):
                continue
            self._seen.add(g.key)
            found.append(_group_alert(report, g, now))
        stalls = {_stall_key(s): s for s in report.stalls}
        for key, s in stalls.items():
            if key not in self._stalls:
                found.append(_stall_alert(report, s, now))
        self._stalls = set(stalls)
        if report.status == "crashed":
            key = f"crashed:{report.attempt}"
            if key not in self._crashed:
                self._crashed.add(key)
                found.append(_crash_alert(report, now))
        return found


# ---------------------------------------------------------------------------
# Where alerts go

_ESCAPES: Final = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]?|[\]P_^X][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?|[ -/]*[0-~])?"
)


def clean(text: str, limit: int) -> str:
    """``text`` as printable characters only, on one line, at most ``limit`` long:
    escape sequences dropped whole, every other control (BEL, ST, C1, DEL, newlines)
    a space. Safe inside an OSC string and on a terminal line."""
    text = _ESCAPES.sub("", text)
    text = "".join(c if c.isprintable() else " " for c in text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _osc(payload: str) -> str:
    return f"\x1b]{payload}\x1b\\"


def terminal_notification(alert: Alert, *, tmux: bool | None = None) -> str:
    """The bell, then a desktop notification as OSC 9 (iTerm2, WezTerm, kitty, ...)
    and OSC 777 (urxvt, foot, Ghostty, ...). Inside tmux (``$TMUX``, or ``tmux``)
    the OSCs go through its passthrough (``allow-passthrough on``) so they reach the
    terminal outside; the bell is tmux's own."""
    if tmux is None:
        tmux = bool(os.environ.get("TMUX"))
    title = clean(alert.title, TITLE_MAX).replace(";", ",")
    body = clean(alert.body, BODY_MAX)
    # OSC 9 ; 4 ; ... is ConEmu's progress bar: the text never starts with a digit.
    oscs = _osc(f"9;prime-logs: {title}") + _osc(f"777;notify;prime-logs: {title};{body}")
    if tmux:
        oscs = "\x1bPtmux;" + oscs.replace("\x1b", "\x1b\x1b") + "\x1b\\"
    return "\a" + oscs


def alert_line(alert: Alert) -> str:
    """The alert as one line of text for stderr, cleaned."""
    title = clean(alert.title, TITLE_MAX * 2)
    return f"prime-logs: alert: {title} — {clean(alert.body, BODY_MAX * 2)}"


class OnAlert:
    """Runs ``--on-alert CMD`` with each alert as JSON on stdin, one at a time in the
    order sent, on a daemon thread (started with the first alert).

    Args:
        command: the command line, split with `shlex` and run without a shell.
        report: called (from the thread) with one line when the command fails.
        timeout_s: the command is killed after this long.

    Raises:
        ValueError: an empty command or unbalanced quotes.
    """

    def __init__(
        self,
        command: str,
        report: Callable[[str], None],
        *,
        timeout_s: float = ON_ALERT_TIMEOUT_S,
    ) -> None:
        self.argv = shlex.split(command)
        if not self.argv:
            raise ValueError("--on-alert needs a command")
        self.report = report
        self.timeout_s = timeout_s
        self._queue: queue.Queue[Alert] = queue.Queue()
        self._thread: threading.Thread | None = None

    def send(self, alert: Alert) -> None:
        """Queue the command for ``alert``; it runs on the hook's thread."""
        self._queue.put(alert)
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="on-alert", daemon=True)
            self._thread.start()

    def wait(self) -> None:
        """Until every queued alert's command has run (tests, and a clean exit)."""
        self._queue.join()

    def _work(self) -> None:
        while True:
            alert = self._queue.get()
            try:
                self._run(alert)
            finally:
                self._queue.task_done()

    def _run(self, alert: Alert) -> None:
        data = json.dumps(alert.to_json(), ensure_ascii=False).encode() + b"\n"
        name = clean(self.argv[0], 60)
        try:
            done = subprocess.run(
                self.argv,
                input=data,
                capture_output=True,
                timeout=self.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            self._say(f"--on-alert {name} timed out after {self.timeout_s:g} s")
            return
        except OSError as exc:  # not found, not executable
            self._say(f"--on-alert {name} did not run: {clean(exc.strerror or str(exc), 80)}")
            return
        if done.returncode != 0:
            err = done.stderr.decode("utf-8", "replace").strip().splitlines()
            tail = f": {clean(err[-1], 120)}" if err else ""
            self._say(f"--on-alert {name} failed (exit {done.returncode}){tail}")

    def _say(self, message: str) -> None:
        with contextlib.suppress(Exception):  # a failing reporter must not kill the thread
            self.report(message)


def doctor_for(run_dir: Path, logs: Path | None = None, *, every_attempt: bool = False) -> Any:
    """The `diagnose.doctor.Doctor` of a run: the attempt whose folder is ``logs``,
    else every attempt (``every_attempt``: the Problems pane, where the crash of the
    attempt before the live one is the first failure), else the current one."""
    from prime_rl_logs.diagnose.doctor import Doctor
    from prime_rl_logs.runs.find import attempts_of

    if logs is not None:
        chosen = [a for a in attempts_of(run_dir) if a.logs == logs]
        return Doctor(run_dir, chosen or None)
    if every_attempt and run_dir.is_dir():
        return Doctor(run_dir, attempts_of(run_dir))
    return Doctor(run_dir)


class DoctorLoop:
    """A doctor updated every `POLL_S` on a daemon thread; new alerts go to ``sink``.

    The doctor is made by ``make`` on the thread, at the first look. ``sink`` and
    ``on_error`` are called from the thread. A doctor that raises is reported once
    per message through ``on_error`` and tried again next time.
    """

    def __init__(
        self,
        make: Callable[[], DoctorLike],
        sink: Callable[[Alert], None],
        *,
        on_error: Callable[[str], None],
        tracker: AlertTracker | None = None,
        poll_s: float = POLL_S,
    ) -> None:
        self.make = make
        self.doctor: DoctorLike | None = None
        self.sink = sink
        self.on_error = on_error
        self.tracker = tracker or AlertTracker()
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._said: set[str] = set()
        self.thread = threading.Thread(target=self._loop, name="doctor", daemon=True)

    def start(self) -> DoctorLoop:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def step(self, now: float | None = None) -> list[Alert]:
        """One look: update, report, compare; the alerts sent."""
        try:
            if self.doctor is None:
                self.doctor = self.make()
            self.doctor.update()
            report = self.doctor.report(now)
        except Exception as exc:  # never into the caller: say it once
            message = f"the doctor failed: {clean(f'{type(exc).__name__}: {exc}', 160)}"
            if message not in self._said:
                self._said.add(message)
                self.on_error(message)
            alerts = [] if (due := self.tracker.due(now)) is None else [due]
        else:
            alerts = self.tracker.update(report, now)
        for alert in alerts:
            self.sink(alert)
        return alerts

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.step()
            self._stop.wait(self.poll_s)


def follow_alerts(
    run_dir: Path, logs: Path | None, notify: bool, on_alert: str | None, err: TextIO
) -> DoctorLoop | None:
    """``tail --follow --notify / --on-alert``: the doctor of the run on a thread (None
    without either option); each alert is a line on ``err``, with ``notify`` the bell
    and OSCs on the terminal (``err`` when it is one, else ``/dev/tty``), with
    ``on_alert`` the command."""
    if not (notify or on_alert):
        return None
    lock = threading.Lock()

    def say(line: str) -> None:
        with lock, contextlib.suppress(OSError, ValueError):
            err.write(line + "\n")
            err.flush()

    hook = OnAlert(on_alert, lambda m: say(f"prime-logs: {m}")) if on_alert else None

    def sink(alert: Alert) -> None:
        say(alert_line(alert))
        if notify:
            _to_terminal(err, terminal_notification(alert))
        if hook is not None:
            hook.send(alert)

    loop = DoctorLoop(
        lambda: doctor_for(run_dir, logs), sink, on_error=lambda m: say(f"prime-logs: {m}")
    )
    return loop.start()


def _to_terminal(err: TextIO, seq: str) -> None:
    """Write ``seq`` to the terminal: ``err`` if it is one, else ``/dev/tty``, else nowhere."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        if err.isatty():
            err.write(seq)
            err.flush()
            return
        fd = os.open("/dev/tty", os.O_WRONLY | os.O_NOCTTY)
        try:
            os.write(fd, seq.encode())
        finally:
            os.close(fd)
