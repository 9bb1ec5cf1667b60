"""`prime-logs demo`: every file of the layout written with lines that parse; clean stops."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from prime_rl_logs.commands import demo as demo_command
from prime_rl_logs.demo.plan import QUIET_FROM
from prime_rl_logs.errors import UsageError
from tests.fixtures import demo_args

SGR = re.compile(r"\x1b\[[0-9;]*m")
HEADER = re.compile(r"^\d\d:\d\d:\d\d +[A-Z]+ ")
CONTINUATION = re.compile(
    r"^(\t\t ╰─ \w+ \| Ratio [\d.]+% \| Reward [\d.]+"
    r"|Traceback \(most recent call last\):"
    r'|  File ".*", line \d+, in \w+'
    r"|    \S.*"
    r"|\w+Error: .+"
    r"|The above exception was the direct cause of the following exception:"
    r"|)$"
)
VLLM = re.compile(
    r"^\(APIServer pid=\d+\) (INFO|WARNING) \d\d-\d\d \d\d:\d\d:\d\d \[\w+\.py:\d+\] \S"
)
UVICORN = re.compile(r"^\(APIServer pid=\d+\) INFO:     \S")
ACCESS = re.compile(
    r'^\(APIServer pid=\d+\) INFO:     127\.0\.0\.1:\d+ - "POST /v1/chat/completions HTTP/1\.1" '
    r"200 OK$"
)
ORCH_STEP = re.compile(
    r"Step (\d+) \| Time: [\d.]+s \| Reward: ([\d.]+) \| Throughput: [\d.]+ tokens/s \| "
    r"Seq\. Length: [\d.]+ \| Async Level: \d \| Max\. Off-Policy Level: \d"
)
TRAINER_STEP = re.compile(
    r"Step (\d+) \| Time: [\d.]+s \| Loss: [\d.]+ \| Entropy: [\d.]+ \| Mismatch KL: [\d.]+ \| "
    r"Grad\. Norm: [\d.]+ \| LR: [\d.]+e-\d\d \| Throughput: \d+ tokens/s \| MFU: [\d.]+% \| "
    r"Peak Mem\.: [\d.]+ GiB"
)
THROUGHPUT = re.compile(
    r"Engine 000: Avg prompt throughput: [\d.]+ tokens/s, Avg generation throughput: [\d.]+ "
    r"tokens/s, Running: \d+ reqs, Waiting: \d+ reqs, GPU KV cache usage: [\d.]+%, "
    r"Prefix cache hit rate: [\d.]+%$"
)


def demo_cmd(*args: str) -> list[str]:
    """The demo in the seed's layout, the one these tests read (the default is a
    folder of runs: `test_demo_runs.py`)."""
    return [sys.executable, "-m", "prime_rl_logs", "demo", "--layout", "seed", *args]


def plain_lines(path: Path) -> list[str]:
    return [SGR.sub("", line) for line in path.read_text().splitlines()]


def messages(path: Path) -> list[str]:
    """Header lines' messages, ``HH:MM:SS LEVEL `` cut off."""
    return [line[17:] for line in plain_lines(path) if HEADER.match(line)]


def assert_loguru_file(path: Path, continuations: bool = False) -> list[str]:
    lines = plain_lines(path)
    assert lines, f"{path} is empty"
    assert HEADER.match(lines[0]), lines[0]
    for line in lines:
        if not HEADER.match(line):
            assert continuations and CONTINUATION.match(line), f"{path.name}: {line!r}"
    return lines


@pytest.fixture(scope="module")
def bounded_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    out = tmp_path_factory.mktemp("demo") / "run"
    proc = subprocess.run(
        demo_cmd(str(out), "--no-ui", "--speed", "50", "--steps", "22"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    yield out, proc.stdout


def test_every_file_of_the_layout_is_written_and_parses(bounded_run: tuple[Path, str]) -> None:
    out, stdout = bounded_run
    logs = out / "logs"
    assert str(out) in stdout
    files = sorted(p.relative_to(logs).as_posix() for p in logs.rglob("*") if p.is_file())
    assert files == [
        "env_workers/gsm8k.log",
        "env_workers/math.log",
        "inference.stdout",
        "orchestrator.log",
        "rl.log",
        "trainer/rank_0.log",
        "trainer/rank_1.log",
        "trainer/rank_2.log",
        "trainer/rank_3.log",
    ]
    assert not (out / "metrics.jsonl").exists()
    assert_loguru_file(logs / "rl.log")
    assert_loguru_file(logs / "orchestrator.log", continuations=True)
    for rank in range(4):
        assert_loguru_file(logs / "trainer" / f"rank_{rank}.log")
    for env in ("gsm8k", "math"):
        lines = assert_loguru_file(logs / "env_workers" / f"{env}.log")
        assert {f"[{env}_0]", f"[{env}_1]"} <= {line[17:].split(" ")[0] for line in lines}
    for line in (logs / "inference.stdout").read_text().splitlines():
        assert VLLM.match(line) or UVICORN.match(line), line


def test_orchestrator_steps_evals_pauses_warnings_and_a_traceback(
    bounded_run: tuple[Path, str],
) -> None:
    out, _ = bounded_run
    path = out / "logs" / "orchestrator.log"
    msgs = messages(path)
    steps = [m for m in msgs if m.startswith("Step ")]
    assert [int(ORCH_STEP.fullmatch(m).group(1)) for m in steps] == list(range(1, 23))  # type: ignore[union-attr]
    rewards = [float(ORCH_STEP.fullmatch(m).group(2)) for m in steps]  # type: ignore[union-attr]
    assert sum(rewards[-7:]) > sum(rewards[:7])  # rising
    assert rewards != sorted(rewards)  # noisily
    assert any(m.startswith("Evaluated gsm8k (Step 10) | ") and "| Reward: " in m for m in msgs)
    assert any(m.startswith("Evaluated math (Step 20) | ") for m in msgs)
    assert any(m.startswith("Orchestrator paused") for m in msgs)
    assert any(m.startswith("Orchestrator resumed") for m in msgs)
    lines = plain_lines(path)
    assert sum(line.startswith("\t\t ╰─ gsm8k | Ratio 50.0% | Reward ") for line in lines) == 22
    assert "Traceback (most recent call last):" in lines
    assert any(line.startswith("  ERROR Failed to score rollouts", 9) for line in lines)
    assert any(
        line[9:].startswith("WARNING")
        for line in plain_lines(out / "logs" / "trainer" / "rank_2.log")
    )


def test_trainer_ranks_write_every_step_and_one_goes_quiet(bounded_run: tuple[Path, str]) -> None:
    out, _ = bounded_run
    for rank in range(4):
        msgs = messages(out / "logs" / "trainer" / f"rank_{rank}.log")
        steps = [int(m.group(1)) for m in map(TRAINER_STEP.match, msgs) if m]
        assert steps == list(range(1, 23)), rank
    quiet = messages(out / "logs" / "trainer" / "rank_3.log")
    took = f"Step {QUIET_FROM} took "
    assert any(m.startswith(took) and "waited on an all-reduce" in m for m in quiet)
    rank0 = plain_lines(out / "logs" / "trainer" / "rank_0.log")
    assert any(
        line[9:16] == "  DEBUG" and re.search(r" \[roles\.py::\d+\]$", line) for line in rank0
    )


def test_inference_has_vllm_access_and_throughput_lines(bounded_run: tuple[Path, str]) -> None:
    out, _ = bounded_run
    lines = (out / "logs" / "inference.stdout").read_text().splitlines()
    assert sum(bool(ACCESS.match(line)) for line in lines) == 22 * 8
    assert sum(bool(THROUGHPUT.search(line)) for line in lines) == 11
    assert "\x1b" not in "".join(lines)


def test_env_workers_log_through_the_library_with_verifiers(bounded_run: tuple[Path, str]) -> None:
    out, _ = bounded_run
    msgs = messages(out / "logs" / "env_workers" / "gsm8k.log")
    done = [m for m in msgs if re.fullmatch(r"\[gsm8k_\d\] Finished \d+ groups for step \d+ .*", m)]
    assert len(done) == 2 * 22


def children_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()]


def wait_for(predicate: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for the demo")


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_every_child_and_leaves_no_orphans(tmp_path: Path, signum: int) -> None:
    proc = subprocess.Popen(
        demo_cmd(str(tmp_path), "--no-ui", "--speed", "20"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        orch = tmp_path / "logs" / "orchestrator.log"
        wait_for(lambda: orch.exists() and "Step 2 |" in orch.read_text())
        kids = children_of(proc.pid)
        assert len(kids) == 1 + 1 + 1 + 4 + 4  # launcher, inference, orchestrator, ranks, envs
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signum
    assert "stopped" in err and "Traceback" not in err
    wait_for(lambda: not any(alive(k) for k in kids), timeout=10)
    assert "shutting down" in (tmp_path / "logs" / "rl.log").read_text()


def test_default_output_is_a_temporary_folder_it_prints() -> None:
    proc = subprocess.run(
        demo_cmd("--no-ui", "--speed", "50", "--steps", "2", "--ranks", "2", "--keep"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    match = re.search(r"writing a simulated prime-rl run to (\S+)", proc.stdout)
    assert match
    out = Path(match.group(1))
    try:
        assert out.is_dir() and out.name.startswith("prime-logs-demo-")
        ranks = sorted(p.name for p in (out / "logs" / "trainer").iterdir())
        assert ranks == ["rank_0.log", "rank_1.log"]
        steps = [m for m in messages(out / "logs" / "orchestrator.log") if m.startswith("Step ")]
        assert len(steps) == 2
    finally:
        shutil.rmtree(out, ignore_errors=True)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"speed": 0.0}, "--speed must be a positive number"),
        ({"speed": float("nan")}, "--speed must be a positive number"),
        ({"steps": 0}, "--steps must be at least 1"),
        ({"ranks": 0}, "--ranks must be between 1 and 64"),
    ],
)
def test_bad_options_are_one_line_errors(
    tmp_path: Path, kw: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        demo_command.main(demo_args(tmp_path, **kw))
    assert not (tmp_path / "logs").exists()


def test_output_dir_that_cannot_be_written(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UsageError, match="cannot write the demo run"):
        demo_command.main(demo_args(blocker / "run"))


def test_opens_the_dashboard_on_the_run_and_stops_the_writers_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[tuple[Path, dict[str, object]]] = []

    class FakeApp:
        """Stands in for the dashboard: records how it was opened, waits for a step."""

        return_code = 0

        def __init__(self, output_dir: Path, **options: object) -> None:
            seen.append((output_dir, options))

        def run(self) -> None:
            orch = seen[0][0] / "logs" / "orchestrator.log"
            wait_for(lambda: orch.exists() and "Step 1 |" in orch.read_text())

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    fake = types.ModuleType("prime_rl_logs.tui.app")
    fake.PrimeLogsApp = FakeApp  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "prime_rl_logs.tui.app", fake)
    code = demo_command.main(demo_args(tmp_path, no_ui=False, steps=None))
    assert code == 0
    ((output_dir, options),) = seen
    assert output_dir == tmp_path
    assert options == {"pane": "orchestrator", "split": None, "flt": None, "poll": None}
    import multiprocessing

    assert multiprocessing.active_children() == []
    assert str(tmp_path) in capsys.readouterr().out


def test_without_the_dashboard_it_says_so_and_keeps_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setitem(sys.modules, "prime_rl_logs.tui.app", None)  # import fails
    code = demo_command.main(demo_args(tmp_path, no_ui=False, steps=2))
    assert code == 0
    err = capsys.readouterr().err
    assert "dashboard is not available" in err and f"prime-logs tail {tmp_path} --follow" in err
    assert (
        len([m for m in messages(tmp_path / "logs" / "orchestrator.log") if m.startswith("Step ")])
        == 2
    )
    assert os.listdir(tmp_path / "logs" / "trainer") == ["rank_0.log"]


def test_stdout_not_a_terminal_only_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_dashboard(*args: object, **kwargs: object) -> None:
        raise AssertionError("the dashboard must not open without a terminal")

    fake = types.ModuleType("prime_rl_logs.tui.app")
    fake.PrimeLogsApp = no_dashboard  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "prime_rl_logs.tui.app", fake)
    assert demo_command.main(demo_args(tmp_path, no_ui=False, steps=1)) == 0
    assert "stdout is not a terminal" in capsys.readouterr().err
    assert (tmp_path / "logs" / "orchestrator.log").exists()
