"""The shapes of the lines that carry metrics, and a quick way to find them in bytes.

`NEEDLES` are the substrings such a line holds; `candidate_lines` finds the lines
of a block of bytes that hold one, with one ``bytes.find`` pass per needle, so the
rest of a log costs nothing. The regexes (`STEP`, `ENV_LINE`, `EVALUATED`,
`MAX_STEPS`, `VLLM_STATS`) and the key renames are what `MetricsStore.feed` matches.
"""

from __future__ import annotations

import re
from typing import Final

from prime_rl_logs import layout

# Substrings that a line worth parsing holds; everything else is skipped unread.
NEEDLES: Final = ("Step ", "Evaluated ", "╰─", "Avg prompt throughput", "max_steps")
NEEDLES_B: Final = tuple(n.encode() for n in NEEDLES)

STEP: Final = re.compile(r"\s*Step\s+(\d+)(?:\s*/\s*(\d+))?\s*(?:\||$)(.*)$", re.S)
ENV_LINE: Final = re.compile(r"\s*╰─\s*([^|]+?)\s*\|(.*)$", re.S)
EVALUATED: Final = re.compile(
    r"\s*Evaluated\s+([A-Za-z][^\s(|]*)(?:\s*\(\s*Step\s+(\d+)\s*\))?"
    r"(?:\s+in\s+((?:\d+(?:\.\d+)?\s*(?:ms|min|s|m|h|d)\b\s*)+))?\s*(.*)$",
    re.S,
)
MAX_STEPS: Final = re.compile(r"\bmax[_-]steps['\"]?\s*[=:]\s*(\d+)")
DEBUG_SUFFIX: Final = re.compile(r"\s\[[^\[\]\s]+::\d+\]\s*$")
VLLM_STATS: Final = re.compile(r"Avg prompt throughput.*$", re.S)

STEP_RENAMES: Final = {"time": "step_time"}
VLLM_RENAMES: Final = {
    "avg_prompt_throughput": "prompt_throughput",
    "avg_generation_throughput": "generation_throughput",
    "gpu_kv_cache_usage": "kv_cache",
    "cpu_kv_cache_usage": "cpu_kv_cache",
}
NO_RENAMES: Final[dict[str, str]] = {}

TRAINER: Final = layout.TRAINER
ORCHESTRATOR: Final = layout.ORCHESTRATOR
INFERENCE: Final = layout.INFERENCE

# Keys that say which process wrote a step line found in a file of another
# component (rl.log, a single output.log).
ORCHESTRATOR_KEYS: Final = frozenset({"reward", "async_level", "seq_length", "trainable"})
TRAINER_KEYS: Final = frozenset({"loss", "entropy", "grad_norm", "mfu", "peak_mem", "lr"})


def candidate_lines(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each line of ``data`` that holds one of `NEEDLES`, in order.

    Each needle is found with ``bytes.find`` (a C loop), so the cost is one fast
    pass per needle plus the matching lines, not a Python step per line.
    """
    spans: dict[int, int] = {}
    for needle in NEEDLES_B:
        pos = data.find(needle)
        while pos != -1:
            start = data.rfind(b"\n", 0, pos) + 1
            end = data.find(b"\n", pos)
            if end == -1:
                end = len(data)
            spans[start] = end
            pos = data.find(needle, end)
    return sorted(spans.items())
