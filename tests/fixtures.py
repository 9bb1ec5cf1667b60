"""Fixture runs on disk: the files a real prime-rl run leaves, in both layouts.

`write_fixture_run(path, layout="library" | "latest")` writes a small run whose lines
are byte-for-byte what loguru writes with ``colorize=True`` (ANSI SGR codes, the level
right-aligned to 7 characters, optional ``[tag]``, a DEBUG ``[file.py::123]`` suffix),
plus vLLM and uvicorn lines, a multi-line step record and a traceback. Every record
has its own second, so the merged order is unambiguous; `FixtureRun.records` lists
them in that order for tests to compare against.

The pytest fixtures `library_run` and `latest_run` in ``tests/conftest.py`` wrap it.
The helpers of the reading-engine tests (`log_line`, `traceback_lines`, `append`,
`replace_symlink`), and those of ``prime-logs serve`` (`start_serve`,
`processes_naming`, `wait_until`) are here too: this is the one module of test helpers;
conftest files hold only fixtures and hooks.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pytest
    from textual.pilot import Pilot

    from prime_rl_logs.tui.app import PrimeLogsApp

Layout = Literal["library", "latest"]

ESC = "\x1b"
DIM = f"{ESC}[2m"
RESET = f"{ESC}[0m"

# loguru's default level colours (``<level>`` markup).
LEVEL_COLOURS = {
    "TRACE": f"{ESC}[36m{ESC}[1m",
    "DEBUG": f"{ESC}[34m{ESC}[1m",
    "INFO": f"{ESC}[1m",
    "SUCCESS": f"{ESC}[32m{ESC}[1m",
    "WARNING": f"{ESC}[33m{ESC}[1m",
    "ERROR": f"{ESC}[31m{ESC}[1m",
    "CRITICAL": f"{ESC}[41m{ESC}[1m",
}


def clock(seconds: int) -> str:
    """``HH:MM:SS`` of a number of seconds since midnight (wraps at 24 h)."""
    seconds %= 86400
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def loguru_line(time: str, level: str, message: str, prefix: str = "") -> str:
    """One record as prime-rl's loguru sink writes it with colours (lines joined by \\n).

    A multi-line message (step line with continuation lines, a message followed by a
    traceback) is coloured as a whole, so the resets end its last line.
    """
    colour = LEVEL_COLOURS[level]
    return (
        f"{prefix}{DIM}{time}{RESET} {colour}{level:>7}{RESET} "
        f"{colour}{ESC}[22m{message}{RESET}{RESET}"
    )


def vllm_line(time: str, level: str, message: str, where: str = "api_server.py:1351") -> str:
    return f"(APIServer pid=41213) {level} 02-09 {time} [{where}] {message}"


def access_line(port: int = 53440, status: int = 200) -> str:
    return (
        f'(APIServer pid=41213) INFO:     127.0.0.1:{port} - "POST /v1/chat/completions '
        f'HTTP/1.1" {status} OK'
    )


@dataclass(frozen=True)
class FixtureRecord:
    """One record of the fixture run, in merged (time) order."""

    rel: str  # the file, relative to logs/ as discovered (``latest/...`` in that layout)
    tag: str  # the source tag `prime-logs tail` puts first
    component: str
    rank: int | None  # trainer rank (from the file name or the torchrun prefix)
    time: str  # HH:MM:SS
    level: str  # loguru level name
    message: str  # first line of the message, plain
    continuation: tuple[str, ...] = ()  # further lines of the same record, plain
    fmt: str = "loguru"


@dataclass
class FixtureRun:
    output_dir: Path
    layout: Layout
    records: list[FixtureRecord] = field(default_factory=list)

    @property
    def logs(self) -> Path:
        return self.output_dir / "logs"

    @property
    def files(self) -> list[Path]:
        """Every log file of the current attempt, as discovered (through latest/)."""
        return sorted({self.logs / r.rel for r in self.records})

    def messages(self, **match: object) -> list[str]:
        """First lines of the records whose fields equal ``match``, in merged order."""
        return [
            r.message
            for r in self.records
            if all(getattr(r, key) == value for key, value in match.items())
        ]


# (source key, seconds after 14:03:50, level, message, continuation lines)
# Source keys are mapped to a file per layout below.
START = 14 * 3600 + 3 * 60 + 50
TRACEBACK = (
    "Traceback (most recent call last):",
    '  File "/app/src/prime_rl/trainer/ckpt.py", line 88, in load',
    "    shard = torch.load(path)",
    "FileNotFoundError: [Errno 2] No such file or directory: 'checkpoints/step_0/rank_1.pt'",
)
SCRIPT: list[tuple[str, int, str, str, tuple[str, ...]]] = [
    ("launcher", 0, "INFO", "Starting RL run: 2 trainer ranks, 1 inference server", ()),
    ("inference", 1, "INFO", "Starting vLLM API server 0 on http://0.0.0.0:8000", ()),
    ("rank0", 2, "INFO", "Starting trainer on rank 0", ()),
    ("rank1", 3, "INFO", "Starting trainer on rank 1", ()),
    ("orchestrator", 4, "INFO", "[setup] Connected to inference server at localhost:8000", ()),
    ("gsm8k", 5, "INFO", "Loaded 7473 examples from openai/gsm8k", ()),
    ("reverse_text", 6, "DEBUG", "Worker ready [env_worker.py::88]", ()),
    ("inference", 7, "INFO", "Avg prompt throughput: 412.3 tokens/s, Running: 64 reqs", ()),
    (
        "orchestrator",
        9,
        "SUCCESS",
        "Step 1 | Time: 13.87s | Reward: 0.5123 | Throughput: 1520.3 tokens/s | "
        "Seq. Length: 412.5 tokens/sample | Async Level: 1",
        ("\t\t ╰─ gsm8k | Ratio 50.0% | Reward 0.6010",),
    ),
    (
        "rank0",
        10,
        "SUCCESS",
        "Step 1 | Time: 8.03s | Loss: 0.0003 | Entropy: 0.5121 | Grad. Norm: 0.2210 | "
        "LR: 1.00e-06 | Throughput: 2210.5 tokens/s | MFU: 31.2% | Peak Mem.: 21.3 GiB",
        (),
    ),
    (
        "rank1",
        11,
        "SUCCESS",
        "Step 1 |    8.1s | Loss 0.0004 | Entropy 0.5133 | Peak Mem. 21.4 GiB",
        (),
    ),
    ("orchestrator", 12, "WARNING", "Inference server slow to respond (3.2s); pausing", ()),
    ("rank1", 13, "ERROR", "Failed to load checkpoint shard", TRACEBACK),
    ("gsm8k", 14, "INFO", "[rollout] Scored 64 samples | mean reward 0.5410", ()),
    ("reverse_text", 15, "WARNING", "Sample 12 exceeded max tokens; truncated", ()),
    (
        "orchestrator",
        16,
        "SUCCESS",
        "Step 2 | Time: 12.10s | Reward: 0.5530 | Throughput: 1602.8 tokens/s | "
        "Seq. Length: 418.0 tokens/sample | Async Level: 1",
        ("\t\t ╰─ gsm8k | Ratio 50.0% | Reward 0.6120",),
    ),
    (
        "rank0",
        17,
        "SUCCESS",
        "Step 2 | Time: 7.95s | Loss: 0.0002 | Entropy: 0.5098 | Grad. Norm: 0.2011 | "
        "LR: 1.00e-06 | Throughput: 2231.0 tokens/s | MFU: 31.5% | Peak Mem.: 21.3 GiB",
        (),
    ),
    ("launcher", 18, "INFO", "All components running", ()),
]

# source key -> (rel path, tag, component, rank, torchrun prefix) per layout
FILES: dict[Layout, dict[str, tuple[str, str, str, int | None, str]]] = {
    "library": {
        "launcher": ("rl.log", "rl", "launcher", None, ""),
        "orchestrator": ("orchestrator.log", "orch", "orchestrator", None, ""),
        "inference": ("inference.stdout", "inf", "inference", None, ""),
        "rank0": ("trainer/rank_0.log", "r0", "trainer", 0, ""),
        "rank1": ("trainer/rank_1.log", "r1", "trainer", 1, ""),
        "gsm8k": ("env_workers/gsm8k.log", "gsm8k", "env", None, ""),
        "reverse_text": ("env_workers/reverse_text.log", "reverse_text", "env", None, ""),
    },
    "latest": {
        "orchestrator": ("latest/orchestrator.log", "orch", "orchestrator", None, ""),
        "inference": ("latest/inference.log", "inf", "inference", None, ""),
        "rank0": ("latest/trainer/node_0.log", "r0", "trainer", 0, "[default0]:"),
        "rank1": ("latest/trainer/node_0.log", "r1", "trainer", 1, "[default1]:"),
        "gsm8k": ("latest/envs/train/gsm8k.log", "gsm8k", "env", None, ""),
        "reverse_text": (
            "latest/envs/eval/reverse_text.log",
            "reverse_text:eval",
            "env",
            None,
            "",
        ),
    },
}

# A line of an earlier attempt that a reader of logs/latest must not show.
STALE_MESSAGE = "Stale line from attempt_0 (must not be shown)"


def write_fixture_run(path: str | os.PathLike[str], layout: Layout = "library") -> FixtureRun:
    """Write a small finished run into ``path`` (its OUTPUT_DIR) and describe it.

    ``layout="library"``: logs/rl.log, orchestrator.log, inference.stdout,
    trainer/rank_{0,1}.log, env_workers/{gsm8k,reverse_text}.log.
    ``layout="latest"``: logs/latest -> attempt_1 (relative symlink) holding
    orchestrator.log, inference.log, trainer/node_0.log (torchrun ``[defaultN]:``
    prefixes for ranks 0 and 1), envs/train/gsm8k.log, envs/eval/reverse_text.log;
    plus a stale logs/attempt_0/orchestrator.log.
    """
    out = Path(path)
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    files = FILES[layout]
    if layout == "latest":
        (logs / "attempt_0").mkdir(exist_ok=True)
        (logs / "attempt_0" / "orchestrator.log").write_text(
            loguru_line("13:59:00", "INFO", STALE_MESSAGE) + "\n", encoding="utf-8"
        )
        (logs / "attempt_1").mkdir(exist_ok=True)
        latest = logs / "latest"
        if not latest.is_symlink():
            latest.symlink_to("attempt_1", target_is_directory=True)

    run = FixtureRun(output_dir=out, layout=layout)
    chunks: dict[str, list[str]] = {}
    for key, offset, level, message, cont in SCRIPT:
        if key not in files:
            continue
        rel, tag, component, rank, prefix = files[key]
        time = clock(START + offset)
        if key == "inference":
            access = access_line(53440 + offset)
            text = vllm_line(time, level, message) + "\n" + access + "\n"
            fmt = "vllm"
        else:
            lines = loguru_line(time, level, "\n".join((message, *cont)))
            # torchrun prefixes every physical line it forwards.
            text = "".join(f"{prefix}{line}\n" for line in lines.split("\n"))
            fmt = "loguru"
        chunks.setdefault(rel, []).append(text)
        run.records.append(
            FixtureRecord(rel, tag, component, rank, time, level, message, cont, fmt)
        )
        if key == "inference":
            # uvicorn's access line has no clock of its own: it follows the line above.
            access = access.removeprefix("(APIServer pid=41213) INFO:     ")
            run.records.append(
                FixtureRecord(rel, tag, component, rank, time, "INFO", access, (), "uvicorn")
            )
    for rel, parts in chunks.items():
        target = logs / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "w", encoding="utf-8") as fh:
            fh.write("".join(parts))
    return run


# ---------------------------------------------------------------------------
# Lines and files for the reading-engine tests (tests/core)

PYTHON_TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "train.py", line 3, in <module>\n'
    "    step()\n"
    "ValueError: loss is nan\n"
)


def demo_args(out: Path | None, **kw: object) -> argparse.Namespace:
    """The parsed options of ``prime-logs demo`` (fast, headless, two steps, one
    rank, no --force or --keep), ``kw`` overriding any of them."""
    values: dict[str, object] = {
        "output_dir": out,
        "no_ui": True,
        "layout": "seed",
        "speed": 50.0,
        "steps": 2,
        "ranks": 1,
        "force": False,
        "keep": False,
    }
    values.update(kw)
    return argparse.Namespace(**values)


def log_line(
    seconds: int, level: str, message: str, *, color: bool = True, rank: int | None = None
) -> bytes:
    """One loguru line the way prime-rl's format writes it (with a newline), clock
    ``seconds`` after midnight, behind a torchrun prefix when ``rank`` is given."""
    prefix = f"[default{rank}]:" if rank is not None else ""
    if color:
        c = LEVEL_COLOURS.get(level, f"{ESC}[1m")
        body = (
            f"{DIM}{clock(seconds)}{RESET} {c}{level:>7}{RESET} {c}{ESC}[22m{message}{RESET}{RESET}"
        )
    else:
        body = f"{clock(seconds)} {level:>7} {message}"
    return (prefix + body + "\n").encode()


def traceback_lines(rank: int | None = None) -> bytes:
    """A four-line Python traceback, each line behind a torchrun prefix if ``rank``."""
    prefix = f"[default{rank}]:" if rank is not None else ""
    return "".join(prefix + ln + "\n" for ln in PYTHON_TRACEBACK.splitlines()).encode()


def append(path: Path, data: bytes) -> None:
    """Append ``data`` to ``path`` (its folders made), as a process writing a log does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as f:
        f.write(data)


def replace_symlink(link: Path, target: str) -> None:
    """Swap a symlink atomically, the way prime-rl swaps logs/latest."""
    tmp = link.with_name(link.name + ".tmp")
    tmp.symlink_to(target)
    os.replace(tmp, link)


async def settle(pilot: Pilot[Any], app: PrimeLogsApp) -> None:
    """Let the dashboard's history builder finish and the screen redraw."""
    for _ in range(200):
        await pilot.pause()
        if not any(p.history_pending for p in app.panes):
            break
        await asyncio.sleep(0.01)
    await pilot.pause()


# ---------------------------------------------------------------------------
# `prime-logs serve` in a subprocess (tests/web)


@dataclass
class Served:
    """A running ``prime-logs serve``: its process (leader of its own process group,
    as a shell's job is), the URL it printed and what it printed before."""

    process: subprocess.Popen[str]
    url: str
    out: list[str]
    err: list[str]


def start_serve(output_dir: Path, *options: str, timeout_s: float = 60) -> Served:
    """Start ``prime-logs serve OUTPUT_DIR --port 0 OPTIONS`` and wait for its URL line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "prime_rl_logs", "serve", str(output_dir), "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None and process.stderr is not None
    err: list[str] = []
    threading.Thread(target=lambda: err.extend(process.stderr or ()), daemon=True).start()
    out: list[str] = []
    found: list[str] = []

    def read() -> None:
        for line in process.stdout or ():
            out.append(line)
            match = re.search(r" at (http://\S+)$", line.rstrip())
            if match and not found:
                found.append(match.group(1))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout_s
    while not found and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if not found:
        process.kill()
        raise AssertionError(f"serve printed no URL: {out} {err}")
    return Served(process, found[0], out, err)


def processes_naming(*texts: str) -> list[int]:
    """The live processes whose command line holds every one of ``texts`` (zombies and
    this process not counted)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if all(t in cmdline for t in texts) and state != "Z":
            found.append(int(entry.name))
    return found


def count_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """From now on, the length of every `LogFile.read` (of any file) is appended to the
    list returned: what a step of the reader costs in bytes."""
    from prime_rl_logs.core.log_file import LogFile

    read: list[int] = []
    original = LogFile.read

    def counting(self: LogFile, offset: int, size: int, generation: int | None = None) -> bytes:
        data = original(self, offset, size, generation)
        read.append(len(data))
        return data

    monkeypatch.setattr(LogFile, "read", counting)
    return read


def wait_until(predicate: Callable[[], object], timeout_s: float = 30, what: str = "") -> None:
    """Poll ``predicate`` until true; fail naming ``what`` after ``timeout_s`` (a guard
    against a hang, not a measure)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.1)


async def pilot_wait_for(
    pilot: Pilot[Any], check: Callable[[], bool], timeout: float = 10.0
) -> None:
    """Let the app run until ``check()`` holds; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        await pilot.pause()
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")
