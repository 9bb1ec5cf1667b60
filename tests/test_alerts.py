"""Alerts (`prime_rl_logs.diagnose.alerts`): the tracker's rules and rate limit, the
``--on-alert`` command (one JSON object per new group, failures reported, never
raised), and the terminal notification's bytes (sanitised, tmux passthrough).
The notification through the dashboard's driver is in tests/tui/test_problems.py."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from prime_rl_logs.diagnose.alerts import (
    Alert,
    AlertTracker,
    DoctorLoop,
    OnAlert,
    alert_line,
    clean,
    terminal_notification,
)
from prime_rl_logs.diagnose.model import Finding, Group, Report, Stall
from tests.fixtures import append, log_line


def finding(message: str = "boom", *, rank: int | None = 1, line: int = 3) -> Finding:
    return Finding(
        time=1000.0,
        component="trainer",
        rank=rank,
        node=None,
        file=Path(f"/run/logs/trainer/rank_{rank}.log"),
        line=line,
        offset=100,
        message=message,
    )


def group(key: str, *, level: str = "ERROR", signature: str | None = None, count: int = 1) -> Group:
    return Group(
        key=key,
        level=level,
        signature=signature,
        template=f"template of {key}",
        count=count,
        ranks=(1,),
        components=("trainer",),
        first_seen=1000.0,
        last_seen=1000.0,
        first=finding(key),
    )


def report(*groups: Group, stalls: tuple[Stall, ...] = (), status: str = "running") -> Report:
    return Report(
        run="demo-run",
        status=status,
        attempt=1,
        first_failure=groups[0].first if groups else None,
        groups=groups,
        stalls=stalls,
    )


STALL = Stall("trainer", 3, 8, 60.0, "silent", "rank 3 silent for 60 s; its peers wrote 1 s ago")


# -- the tracker ---------------------------------------------------------------


def test_the_first_report_is_the_baseline() -> None:
    tracker = AlertTracker()
    assert tracker.update(report(group("a"), status="crashed"), now=0) == []
    assert tracker.update(report(group("a"), status="crashed"), now=100) == []


def test_a_new_group_alerts_once() -> None:
    tracker = AlertTracker()
    tracker.update(report(), now=0)
    [alert] = tracker.update(report(group("a")), now=10)
    assert (alert.kind, alert.key) == ("new group", "a")
    assert "rank 1" in alert.body and "rank_1.log:3" in alert.body
    assert tracker.update(report(group("a", count=5)), now=100) == []
    assert tracker.new_keys == {"a"}
    tracker.acknowledge()
    assert tracker.new_keys == set()


def test_warnings_do_not_alert_but_a_nan_warning_does() -> None:
    tracker = AlertTracker()
    tracker.update(report(), now=0)
    assert tracker.update(report(group("w", level="WARNING")), now=10) == []
    nan = group("n", level="WARNING", signature="NaN loss")
    [alert] = tracker.update(report(group("w", level="WARNING"), nan), now=20)
    assert alert.kind == "nan"


def test_stall_and_crash_alert_and_a_stall_rearms_after_it_cleared() -> None:
    tracker = AlertTracker(rate_s=0)
    tracker.update(report(), now=0)
    [stall] = tracker.update(report(stalls=(STALL,)), now=10)
    assert stall.kind == "stall" and "silent" in stall.title
    assert tracker.update(report(stalls=(STALL,)), now=20) == []
    assert tracker.update(report(), now=30) == []
    [again] = tracker.update(report(stalls=(STALL,)), now=40)
    assert again.kind == "stall"


def test_a_crash_alerts_once_per_attempt() -> None:
    tracker = AlertTracker(rate_s=0)
    tracker.update(report(group("oom")), now=0)
    [crash] = tracker.update(report(group("oom"), status="crashed"), now=10)
    assert (crash.kind, crash.key) == ("crashed", "crashed:1")
    assert "first failure: oom on trainer rank 1" in crash.body
    assert tracker.update(report(group("oom"), status="crashed"), now=20) == []


def test_one_alert_a_minute_the_rest_merged_never_lost() -> None:
    tracker = AlertTracker()
    tracker.update(report(), now=0)
    [first] = tracker.update(report(group("a")), now=100)
    assert first.key == "a"
    assert tracker.update(report(group("a"), group("b")), now=110) == []
    assert tracker.update(report(group("a"), group("b"), group("c")), now=120) == []
    assert tracker.pending == 2
    assert tracker.due(now=150) is None
    merged = tracker.due(now=160)
    assert merged is not None
    assert merged.key == "b" and "(and 1 more)" in merged.title
    assert [a.key for a in merged.more] == ["c"]
    assert "new error: template of c" in merged.body
    assert tracker.pending == 0
    assert [m["key"] for m in merged.to_json()["more"]] == ["c"]


# -- the --on-alert command ------------------------------------------------------


def appender(tmp_path: Path) -> tuple[str, Path]:
    """A command that appends its stdin to a file, and that file."""
    out = tmp_path / "alerts.jsonl"
    script = tmp_path / "append.py"
    script.write_text(
        "import sys\nwith open(sys.argv[1], 'a') as f:\n    f.write(sys.stdin.read())\n"
    )
    return f"{sys.executable} {script} '{out}'", out


class FakeDoctor:
    """Hands out prepared reports, one per update."""

    def __init__(self, reports: list[Report]) -> None:
        self.reports = reports
        self.current = reports[0]

    def update(self) -> bool:
        if self.reports:
            self.current = self.reports.pop(0)
        return True

    def report(self, now: float | None = None) -> Report:
        return self.current


def test_on_alert_gets_exactly_one_json_alert_per_new_group(tmp_path: Path) -> None:
    command, out = appender(tmp_path)
    errors: list[str] = []
    hook = OnAlert(command, errors.append)
    reports = [
        report(),
        report(group("a")),
        report(group("a", count=2)),
        report(group("a", count=3), group("b")),
        report(group("a", count=9), group("b", count=4)),
        report(group("a", count=9), group("b", count=5)),
    ]
    doctor = FakeDoctor(reports)
    loop = DoctorLoop(lambda: doctor, hook.send, on_error=errors.append)
    for minute in range(len(reports)):
        loop.step(now=1000.0 + 61 * minute)
    hook.wait()
    lines = out.read_text().splitlines()
    alerts = [json.loads(line) for line in lines]
    assert [a["key"] for a in alerts] == ["a", "b"]
    assert all(a["kind"] == "new group" and a["run"] == "demo-run" for a in alerts)
    assert set(alerts[0]) >= {"kind", "title", "body", "key", "time", "file", "line", "more"}
    assert errors == []


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("prime-logs-no-such-command-xyz", "did not run"),
        (
            f"{sys.executable} -c 'import sys; print(\"nope\", file=sys.stderr); sys.exit(3)'",
            "exit 3",
        ),
        (f"{sys.executable} -c 'import time; time.sleep(5)'", "timed out"),
    ],
)
def test_on_alert_failures_are_reported_not_raised(command: str, expected: str) -> None:
    said: list[str] = []
    hook = OnAlert(command, said.append, timeout_s=0.5)
    hook.send(Alert("new group", "t", "b", "k", 0.0))
    hook.wait()
    assert len(said) == 1 and expected in said[0]
    if expected == "exit 3":
        assert said[0].endswith(": nope")


def test_on_alert_refuses_an_empty_or_badly_quoted_command() -> None:
    with pytest.raises(ValueError):
        OnAlert("", print)
    with pytest.raises(ValueError):
        OnAlert("notify 'unbalanced", print)


def test_a_failing_doctor_is_reported_once_and_never_raised() -> None:
    class Broken:
        def update(self) -> bool:
            raise OSError("disk gone")

        def report(self, now: float | None = None) -> Report:
            raise AssertionError("not reached")

    said: list[str] = []
    loop = DoctorLoop(Broken, lambda a: None, on_error=said.append)
    loop.step(now=0)
    loop.step(now=1)
    assert said == ["the doctor failed: OSError: disk gone"]


# -- the terminal notification ------------------------------------------------------

HOSTILE = "rank 1 \x1b]52;c;cHduZWQ=\x07 boom\x1b\\ \x9c\x9d\x1b[2J done;\nnext\x07"


def test_notification_bytes_bell_osc9_osc777() -> None:
    alert = Alert("new group", "new error: CUDA out of memory", "rank 5", "k", 0.0)
    seq = terminal_notification(alert, tmux=False)
    assert seq == (
        "\a\x1b]9;prime-logs: new error: CUDA out of memory\x1b\\"
        "\x1b]777;notify;prime-logs: new error: CUDA out of memory;rank 5\x1b\\"
    )


def test_notification_in_tmux_is_wrapped_for_passthrough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMUX", "/tmp/tmux-1000/default,1,0")
    seq = terminal_notification(Alert("stall", "t", "b", "k", 0.0))
    assert seq.startswith("\a\x1bPtmux;\x1b\x1b]9;prime-logs: t\x1b\x1b\\")
    assert seq.endswith("\x1b\x1b]777;notify;prime-logs: t;b\x1b\x1b\\\x1b\\")
    inner = seq[len("\a\x1bPtmux;") : -2]
    assert "\x1b" not in inner.replace("\x1b\x1b", "")  # every ESC inside is doubled


def test_log_text_cannot_escape_the_notification() -> None:
    alert = Alert("new group", HOSTILE, HOSTILE * 20, "k", 0.0)
    seq = terminal_notification(alert, tmux=False)
    payloads = seq[1:].split("\x1b\\")
    assert payloads[-1] == ""
    for payload in payloads[:-1]:
        assert payload.startswith("\x1b]")
        body = payload[2:]
        assert body.isprintable(), repr(body)
    assert seq.count("\x1b") == 4 and seq.count("\a") == 1
    title_field = payloads[1].split(";")[2]  # 777;notify;TITLE;BODY: no ';' in the title
    assert "boom" in title_field
    assert len(payloads[1]) < 400
    line = alert_line(alert)
    assert line.isprintable() and len(line) < 800


def test_clean() -> None:
    assert clean("a\x1b[31mred\x1b[0m\tb\nc", 50) == "ared b c"
    assert clean("x" * 100, 10) == "x" * 9 + "…"


def test_tail_follow_on_alert_runs_the_command_with_the_alert(tmp_path: Path) -> None:
    """``tail --follow --on-alert CMD`` with the real doctor: a new error group reaches
    the command as one JSON object and stderr as one line. Errors written before the
    doctor's first look are the baseline, so new templates are written until one
    alerts; further ones within the minute wait (the rate limit), so there is one."""
    command, out = appender(tmp_path)
    run = tmp_path / "run"
    log = run / "logs" / "orchestrator.log"
    append(log, log_line(3600, "INFO", "Starting orchestrator"))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    argv = [sys.executable, "-m", "prime_rl_logs", "tail", str(run), "-f", "--on-alert", command]
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        deadline = time.monotonic() + 60  # a guard against a hang, not a measure
        words = itertools.cycle(("alpha", "bravo", "charlie", "delta", "echo", "golf"))
        while not (out.exists() and out.read_text().endswith("\n")):
            assert time.monotonic() < deadline, "no alert reached the command"
            word = next(words)
            append(log, log_line(3700, "ERROR", f"failure {word} in the {word} batch"))
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    [alert] = [json.loads(line) for line in out.read_text().splitlines()]
    assert alert["kind"] == "new group" and alert["run"] == "run"
    assert alert["title"].startswith("new error: failure ")
    assert alert["file"] == str(log) and alert["line"] >= 2
    assert f"prime-logs: alert: {alert['title']}" in err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["tail", "RUN", "--notify"], "add --follow"),
        (["tail", "RUN", "-f", "--on-alert", "notify 'open"], "--on-alert: No closing quotation"),
        (["watch", "RUN", "--on-alert", "  "], "--on-alert needs a command"),
    ],
)
def test_alert_options_are_checked_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    from prime_rl_logs import cli

    run = tmp_path / "run"
    append(run / "logs" / "orchestrator.log", log_line(3600, "INFO", "Starting"))
    assert cli.main([str(run) if a == "RUN" else a for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("prime-logs: error: ") and says in err and err.count("\n") == 1
