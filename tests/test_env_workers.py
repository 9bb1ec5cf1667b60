"""Env-worker files shared by every worker of an environment, and verifiers routed into ours."""

from __future__ import annotations

import json
import logging
import multiprocessing
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from prime_rl_logs import get_logger, reset_logger, setup_logger
from prime_rl_logs.config import LogConfig
from prime_rl_logs.env_workers import intercept_verifiers_logging, setup_env_worker_logger

SGR = re.compile(r"\x1b\[[0-9;]*m")
PAYLOAD = "reward=0.5 " * 20


@pytest.fixture(autouse=True)
def fresh_logging() -> Iterator[None]:
    reset_logger()
    yield
    reset_logger()
    vf = logging.getLogger("verifiers")
    for handler in list(vf.handlers):
        vf.removeHandler(handler)
    vf.propagate = True
    vf.setLevel(logging.NOTSET)


def strip(text: str) -> str:
    return SGR.sub("", text)


def env_log(out: Path, name: str) -> Path:
    return out / "logs" / "env_workers" / f"{name}.log"


def _worker(out: str, index: int, lines: int, config: LogConfig) -> None:
    logger = setup_env_worker_logger("gsm8k", index, out, config)
    for i in range(lines):
        logger.info(f"rollout {i} {PAYLOAD}")
    logging.getLogger("verifiers.envs").warning("worker %d done", index)


def test_eight_workers_share_one_file_without_tearing(tmp_path: Path) -> None:
    # fork, as the orchestrator starts its workers on Linux (spawned workers: see below
    # and test_logger's spawn test); the parent's logger is inherited and replaced.
    setup_logger("info", tmp_path / "logs" / "orchestrator.log", console=False)
    ctx = multiprocessing.get_context("fork")
    config = LogConfig(env_worker_logs=True)
    workers = [ctx.Process(target=_worker, args=(str(tmp_path), n, 5000, config)) for n in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
        assert worker.exitcode == 0
    text = env_log(tmp_path, "gsm8k").read_text()
    assert text.endswith("\n")
    lines = text.split("\n")[:-1]
    assert len(lines) == 8 * 5000 + 8  # 5,000 lines and one verifiers line each
    line_re = re.compile(
        r"\x1b\[2m\d\d:\d\d:\d\d\x1b\[0m \x1b\[1m   INFO\x1b\[0m \x1b\[1m\x1b\[22m"
        r"\[gsm8k_(\d)\] rollout (\d+) " + re.escape(PAYLOAD) + r"\x1b\[0m\x1b\[0m"
    )
    seen: dict[int, list[int]] = {n: [] for n in range(8)}
    done = []
    for line in lines:
        if m := line_re.fullmatch(line):
            seen[int(m.group(1))].append(int(m.group(2)))
        else:
            plain = strip(line)
            assert re.fullmatch(
                r"\d\d:\d\d:\d\d WARNING \[gsm8k_(\d)\] \[verifiers\] worker \1 done", plain
            ), f"torn or interleaved line: {line[:120]!r}"
            done.append(plain)
    assert all(numbers == list(range(5000)) for numbers in seen.values())
    assert len(done) == 8
    assert (tmp_path / "logs" / "orchestrator.log").read_text() == ""


def test_workers_append_and_keep_earlier_lines(tmp_path: Path) -> None:
    path = env_log(tmp_path, "math")
    path.parent.mkdir(parents=True)
    path.write_text("earlier\n")
    setup_env_worker_logger("math", 0, tmp_path, LogConfig(env_worker_logs=True)).info("hi")
    lines = path.read_text().splitlines()
    assert lines[0] == "earlier" and strip(lines[1])[9:] == "   INFO [math_0] hi"


def test_env_worker_file_is_not_echoed_to_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_env_worker_logger("math", 1, tmp_path, LogConfig(env_worker_logs=True)).info("hi")
    assert capsys.readouterr().out == ""
    assert len(env_log(tmp_path, "math").read_text().splitlines()) == 1


def test_json_env_worker_lines(tmp_path: Path) -> None:
    config = LogConfig(env_worker_logs=True, json_logging=True)
    setup_env_worker_logger("gsm8k", 2, tmp_path, config).success("scored")
    (entry,) = (json.loads(line) for line in env_log(tmp_path, "gsm8k").read_text().splitlines())
    assert entry["tag"] == "gsm8k_2" and entry["message"] == "scored"


def _forked_worker(out: str, env_worker_logs: bool) -> None:
    setup_env_worker_logger("gsm8k", 3, out, LogConfig(env_worker_logs=env_worker_logs))
    get_logger().info("from the worker")


@pytest.mark.parametrize("env_worker_logs", [True, False])
def test_forked_worker_file_or_inherited_handlers(tmp_path: Path, env_worker_logs: bool) -> None:
    orch = tmp_path / "logs" / "orchestrator.log"
    setup_logger("info", orch, console=False, tag="orch")
    child = multiprocessing.get_context("fork").Process(
        target=_forked_worker, args=(str(tmp_path), env_worker_logs)
    )
    child.start()
    child.join()
    assert child.exitcode == 0
    get_logger().info("parent still writes")
    orch_lines = [strip(line)[9:] for line in orch.read_text().splitlines()]
    if env_worker_logs:
        assert orch_lines == ["   INFO [orch] parent still writes"]
        env_lines = [
            strip(line)[9:] for line in env_log(tmp_path, "gsm8k").read_text().splitlines()
        ]
        assert env_lines == ["   INFO [gsm8k_3] from the worker"]
    else:
        assert orch_lines == [
            "   INFO [orch] from the worker",
            "   INFO [orch] parent still writes",
        ]
        assert not (tmp_path / "logs" / "env_workers").exists()


def _spawned_worker(out: str) -> None:
    setup_env_worker_logger("math", 0, out, LogConfig(env_worker_logs=False)).info("to stdout")


def test_spawned_worker_without_file_logs_to_inherited_stdout(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    child = multiprocessing.get_context("spawn").Process(
        target=_spawned_worker, args=(str(tmp_path),)
    )
    child.start()
    child.join()
    assert child.exitcode == 0
    assert strip(capfd.readouterr().out)[9:] == "   INFO [math_0] to stdout\n"
    assert not (tmp_path / "logs").exists()


# ---------------------------------------------------------------------------
# verifiers


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_verifiers_is_routed_at_vf_level_and_does_not_propagate(tmp_path: Path) -> None:
    log_file = tmp_path / "orchestrator.log"
    setup_logger("debug", log_file, console=False)
    root_collect = Collect()
    logging.getLogger().addHandler(root_collect)
    try:
        intercept_verifiers_logging("info")
        vf = logging.getLogger("verifiers.envs.math_env")
        vf.debug("too chatty")
        vf.info("Loaded %d examples", 7473)
        line_no = sys._getframe().f_lineno - 1
        vf.warning("Rollout {id} timed out")
    finally:
        logging.getLogger().removeHandler(root_collect)
    lines = [strip(line)[9:] for line in log_file.read_text().splitlines()]
    assert lines == [
        f"   INFO [verifiers] Loaded 7473 examples [test_env_workers.py::{line_no}]",
        f"WARNING [verifiers] Rollout {{id}} timed out [test_env_workers.py::{line_no + 2}]",
    ]
    assert root_collect.records == []


def test_default_vf_level_is_warn(tmp_path: Path) -> None:
    log_file = tmp_path / "orchestrator.log"
    setup_logger("info", log_file, console=False)
    setup_env_worker_logger("gsm8k", 0, tmp_path, LogConfig())
    vf = logging.getLogger("verifiers")
    vf.info("hidden")
    vf.error("shown")
    lines = [strip(line)[9:] for line in log_file.read_text().splitlines()]
    assert lines == ["  ERROR [verifiers] shown"]


def test_verifiers_exception_keeps_its_traceback(tmp_path: Path) -> None:
    log_file = tmp_path / "orchestrator.log"
    setup_logger("info", log_file, console=False)
    intercept_verifiers_logging("warn")
    try:
        raise TimeoutError("sandbox did not answer")
    except TimeoutError:
        logging.getLogger("verifiers.rubric").exception("Scoring failed")
    lines = [strip(line) for line in log_file.read_text().splitlines()]
    assert lines[0][9:] == "  ERROR [verifiers] Scoring failed"
    assert lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "TimeoutError: sandbox did not answer"


def test_verifiers_before_setup_is_not_lost(capfd: pytest.CaptureFixture[str]) -> None:
    intercept_verifiers_logging("warn")
    logging.getLogger("verifiers").warning("early warning")
    assert "early warning" in capfd.readouterr().err


def test_only_a_logger_not_set_up_makes_a_worker_set_up_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Any other `RuntimeError` from `get_logger` is not taken for "not set up"."""
    import prime_rl_logs.env_workers as env_workers

    def broken() -> None:
        raise RuntimeError("something else went wrong")

    monkeypatch.setattr(env_workers, "get_logger", broken)
    with pytest.raises(RuntimeError, match="something else"):
        setup_env_worker_logger("gsm8k", 0, "unused", LogConfig(env_worker_logs=False))


@pytest.mark.parametrize(
    ("name", "number", "loguru_name"),
    [
        ("SUCCESS", 25, "SUCCESS"),
        ("WARNING", 30, "WARNING"),
        ("Level 5", 5, "TRACE"),
        ("Level 15", 15, "INFO"),
        ("Level 25", 25, "WARNING"),  # the stdlib has no SUCCESS
        ("Level 45", 45, "CRITICAL"),
        ("Level 60", 60, "CRITICAL"),
    ],
)
def test_stdlib_levels_map_onto_loguru_names(name: str, number: int, loguru_name: str) -> None:
    from prime_rl_logs.env_workers import _loguru_level

    record = logging.LogRecord("verifiers", number, __file__, 1, "m", None, None)
    record.levelname = name
    assert _loguru_level(record) == loguru_name
