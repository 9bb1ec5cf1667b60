"""The known failures, as data: a name, the patterns that recognise one, a hint.

`SIGNATURES` is the table the doctor matches each error and warning record
against (the header's message and its traceback lines, colour codes removed), in
order, first match wins, so the more specific names come first (a full disk while
saving a checkpoint is ``no-space``, not ``checkpoint``). A signature marked
``consequence`` is what usually follows another failure (the NCCL timeouts on every
other rank, torchrun killing the survivors, a refused connection to a server that
died): its group is folded under the first failure when it comes after it
(`diagnose.doctor`, docs/doctor.md "Folding"). ``any_level`` signatures are also
looked for in lines below WARNING (a NaN in a step line), through the byte
``needles`` first and the pattern only on the lines holding one; ``level`` is the
level their group counts at.

To add one: append a `Signature` to `SIGNATURES` (a test in
``tests/diagnose/test_signatures.py`` checks each has a name, a title, a hint and
a pattern that compiles), and document it in docs/doctor.md. Pure data and one
function (`match`); no state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = ["BY_NAME", "NAN_NEEDLES", "SIGNATURES", "Signature", "match"]


@dataclass(frozen=True, slots=True)
class Signature:
    """One known failure."""

    name: str
    """Short and stable: what ``--json`` prints and alerts carry (``cuda-oom``)."""
    title: str
    """For people: "CUDA out of memory"."""
    pattern: re.Pattern[str]
    """Searched in the record's text (message and traceback, without colour codes)."""
    hint: str
    """One line: what it usually means and where to look."""
    consequence: bool = False
    """Usually follows another failure: folded under the first failure when later."""
    any_level: bool = False
    """Also looked for in records below WARNING (found through ``needles``)."""
    needles: tuple[bytes, ...] = ()
    level: str | None = None
    """The level its group counts at when found below it (``any_level``)."""


def _re(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, flags)


SIGNATURES: Final[tuple[Signature, ...]] = (
    Signature(
        "cuda-oom",
        "CUDA out of memory",
        _re(
            r"CUDA out of memory|OutOfMemoryError|CUDA error: out of memory"
            r"|CUBLAS_STATUS_ALLOC_FAILED|NCCL WARN .*Cuda failure 'out of memory'"
        ),
        "a rank ran out of GPU memory: lower the micro batch or sequence length, "
        "or enable activation checkpointing",
    ),
    Signature(
        "no-space",
        "No space left on device",
        _re(r"No space left on device|ENOSPC|Disk quota exceeded|EDQUOT"),
        "a disk or quota is full: checkpoints, rollouts and logs stop being written",
    ),
    Signature(
        "nccl-timeout",
        "NCCL watchdog timeout",
        _re(
            r"[Ww]atchdog caught collective operation timeout|collective operation timeout"
            r"|ProcessGroupNCCL.*(?:[Tt]imeout|timed out)|NCCL.{0,80}(?:timed out|[Tt]imeout\b)"
            r"|DistStoreError.*[Tt]imeout|Timed out waiting .{0,40}(?:clients|workers|ranks)"
        ),
        "a collective waited for a rank that never joined: look for the first failure "
        "on another rank before it",
        consequence=True,
    ),
    Signature(
        "vllm-died",
        "vLLM engine died",
        _re(
            r"EngineDeadError|AsyncEngineDeadError|Engine core (?:proc \S+ )?died"
            r"|EngineCore.{0,40}(?:died|failed|exited)|Engine process failed to start"
            r"|MQLLMEngine .{0,40}(?:died|terminated)"
        ),
        "the inference server's engine process died: its log has the cause "
        "(often CUDA OOM or a bad request)",
    ),
    Signature(
        "env-died",
        "Env worker or server died",
        _re(
            r"(?i)env(?:ironment)?[ _-]?(?:worker|server)\b.{0,80}"
            r"(?:died|crashed|exited|terminated|killed|not responding|is dead|unreachable)"
            r"|BrokenProcessPool|process in the process pool was terminated abruptly"
        ),
        "an environment process stopped: its own log under envs/ or env_workers/ has the traceback",
        consequence=True,
    ),
    Signature(
        "checkpoint",
        "Checkpoint save or load failed",
        _re(
            r"(?i)(?:fail\w*|error|could not|unable to|cannot)\b.{0,60}\bcheckpoint"
            r"|checkpoint\b.{0,80}\b(?:fail\w*|error|corrupt\w*|not found|missing)"
        ),
        "saving or loading a checkpoint failed: check the disk, the path and that "
        "every rank wrote its shard",
    ),
    Signature(
        "nan",
        "NaN or inf in loss, grad norm or reward",
        _re(
            r"(?i)\b(?:loss|grad[_ ]?norm|reward|entropy|kl)\w*\b[^|\n]{0,24}?"
            r"[:=]?\s*[-+]?(?:nan|inf)\b"
        ),
        "training diverged: lower the learning rate, check the rewards and the data "
        "of the step it starts at",
        any_level=True,
        needles=(b"nan",),
        level="ERROR",
    ),
    Signature(
        "killed",
        "Process killed by a signal, or ChildFailedError",
        _re(
            r"ChildFailedError|exitcode\s*:\s*-\d+|failed \(exitcode: -?\d+\)"
            r"|[Ss]ignal \d+ \(SIG\w+\) received"
            r"|closing signal SIG\w+|[Kk]illed by signal|\bSIG(?:KILL|SEGV|ABRT|BUS)\b"
            r"|Segmentation fault|core dumped|\S+ FAILED\s*$|Root Cause \(first observed failure\)",
            re.M,
        ),
        "a process was killed or a rank failed; torchrun then stops the others: the "
        "first failure above is usually the cause (a kill without one: the OOM killer, "
        "a scheduler's time limit)",
        consequence=True,
    ),
    Signature(
        "connection",
        "Connection refused or reset",
        _re(
            r"Connection refused|ConnectionRefusedError|Connection reset|ConnectionResetError"
            r"|ECONNREFUSED|ECONNRESET|Broken pipe|BrokenPipeError|RemoteDisconnected"
            r"|ServerDisconnectedError|Cannot connect to host"
        ),
        "a server went away or never came up: check the inference server's and the "
        "env servers' logs",
        consequence=True,
    ),
)
"""The table, in matching order."""

BY_NAME: Final = {s.name: s for s in SIGNATURES}

NAN_NEEDLES: Final = tuple(dict.fromkeys(n for s in SIGNATURES if s.any_level for n in s.needles))
"""The byte needles of the ``any_level`` signatures (one ``bytes.find`` pass each)."""

_ANY_LEVEL: Final = tuple(s for s in SIGNATURES if s.any_level)


def match(text: str, *, any_level_only: bool = False) -> Signature | None:
    """The first signature whose pattern is found in ``text`` (plain text: no colour
    codes), or None. ``any_level_only``: only the ``any_level`` signatures (a line
    below WARNING)."""
    for sig in _ANY_LEVEL if any_level_only else SIGNATURES:
        if sig.pattern.search(text) is not None:
            return sig
    return None
