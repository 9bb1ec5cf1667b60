"""Step lines and ``metrics.jsonl`` -> series of numbers per step.

People watch a run for a handful of numbers that prime-rl prints at SUCCESS level.
This module turns those lines into series (name -> step -> value), incrementally,
so the dashboard can feed it each new line, and `scan_run` reads a finished run
for ``prime-logs metrics``. No Textual here.

What is read, and the series it gives (values as the log writes them: percentages
as percent, memory in GiB, durations in seconds, throughput in tokens/s):

* trainer step lines, both spellings::

      Step 3 | Time: 8.03s | Loss: 0.0003 | Entropy: 0.5121 | Mismatch KL: 0.0011 |
        Grad. Norm: 0.1820 | LR: 3.00e-06 | Throughput: 3120 tokens/s | MFU: 4.1% |
        Peak Mem.: 18.2 GiB
      Step 12 |    9.8s | Loss 0.0012 | Entropy 0.4321 | ... | Peak Mem. 21.3 GiB

  -> ``trainer/step_time``, ``trainer/loss``, ``trainer/entropy``,
  ``trainer/mismatch_kl``, ``trainer/grad_norm``, ``trainer/lr``,
  ``trainer/throughput``, ``trainer/mfu``, ``trainer/peak_mem``;
* orchestrator step lines (``Reward: 0.5123`` or ``Reward 0.5832``, ``Throughput``,
  ``Seq. Length``, ``Async Level``, ``Max. Off-Policy Level``, ``Trainable 120/128
  (93.8%)``, ``Error 0.0%``, ``Truncation 2.3%``) -> ``orchestrator/reward``,
  ``orchestrator/step_time``, ``orchestrator/throughput``, ``orchestrator/seq_length``,
  ``orchestrator/async_level``, ``orchestrator/max_off_policy_level``,
  ``orchestrator/trainable`` (+ ``_total``, ``_pct``), ``orchestrator/error``,
  ``orchestrator/truncation``;
* per-environment lines under a step record, ``╰─ gsm8k | Ratio 50.0% | Reward
  0.5000`` -> ``env/gsm8k/ratio``, ``env/gsm8k/reward`` at that record's step;
* ``Evaluated gsm8k (Step 10) | Time: 5.20s | Reward 0.7100`` -> ``eval/gsm8k/time``,
  ``eval/gsm8k/reward`` at step 10;
* vLLM ``Avg prompt throughput: X tokens/s, Avg generation throughput: Y tokens/s,
  Running: N reqs, Waiting: N reqs, GPU KV cache usage: x%`` ->
  ``inference/prompt_throughput``, ``inference/generation_throughput``,
  ``inference/running``, ``inference/waiting``, ``inference/kv_cache``, ... at the
  step the orchestrator was on when the line was written (by clock), else the last
  step seen;
* ``max_steps=100`` (config dumps) or ``Step 3/100`` -> `MetricsStore.max_steps`;
* ``OUTPUT_DIR/metrics.jsonl``, one JSON object per logged step with a ``step`` key:
  every numeric key is a series; prime-rl's W&B names that mean the same as a
  parsed series are stored under the parsed name (``reward/mean`` ->
  ``orchestrator/reward``, see `JSONL_NAMES`). Where a value comes from both, the
  ``metrics.jsonl`` one wins, whichever was read first.

Any other ``Key value`` field of a step line is kept as a series under its own
normalised name (``Max Vio: 0.1`` -> ``trainer/max_vio``); a value that does not
parse skips that field, never the line.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import io
import json
import math
import os
import re
import sys
from array import array
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from prime_rl_logs import layout
from prime_rl_logs.core.parse import RunClock, decode_line, parse_line

__all__ = [
    "JSONL_NAMES",
    "KEY_SERIES",
    "MetricsStore",
    "MetricsSummary",
    "parse_duration",
    "run",
    "scan_run",
]

# The series the dashboard shows first, in this order (when present).
KEY_SERIES: Final = (
    "orchestrator/reward",
    "trainer/loss",
    "trainer/entropy",
    "trainer/grad_norm",
    "trainer/throughput",
    "trainer/mfu",
    "trainer/peak_mem",
    "trainer/step_time",
    "orchestrator/step_time",
    "orchestrator/throughput",
    "inference/kv_cache",
)

# prime-rl's W&B / metrics.jsonl names -> the name of the same value parsed from logs.
JSONL_NAMES: Final[dict[str, str]] = {
    "loss/mean": "trainer/loss",
    "entropy/mean": "trainer/entropy",
    "loss/entropy": "trainer/entropy",
    "mismatch_kl/mean": "trainer/mismatch_kl",
    "loss/mismatch_kl": "trainer/mismatch_kl",
    "optim/grad_norm": "trainer/grad_norm",
    "optim/lr": "trainer/lr",
    "perf/throughput": "trainer/throughput",
    "perf/mfu": "trainer/mfu",
    "perf/peak_memory": "trainer/peak_mem",
    "reward/mean": "orchestrator/reward",
    "seq_len/mean": "orchestrator/seq_length",
    "scheduler/async_level": "orchestrator/async_level",
    "scheduler/max_off_policy_level": "orchestrator/max_off_policy_level",
}

# Substrings that a line worth parsing holds; everything else is skipped unread.
NEEDLES: Final = ("Step ", "Evaluated ", "╰─", "Avg prompt throughput", "max_steps")
_NEEDLES_B: Final = tuple(n.encode() for n in NEEDLES)

# ---------------------------------------------------------------------------
# Values

_NUM: Final = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|NaN|inf|Infinity)"
_DURATION: Final = re.compile(r"(?:\d+(?:\.\d+)?\s*(?:ms|min|s|m|h|d)\b\s*)+$")
_DURATION_PART: Final = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|min|s|m|h|d)\b")
_DURATION_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_FRACTION: Final = re.compile(rf"/\s*(\d+)\s*(?:\(\s*({_NUM})\s*%\s*\))?$")
_MEMORY_TO_GIB: Final = {"KiB": 1 / 1024**2, "MiB": 1 / 1024, "GiB": 1.0, "TiB": 1024.0}


def parse_duration(text: str) -> float | None:
    """Seconds in ``120ms``, ``9.8s``, ``1m 5s``, ``2h 3m``, ``1d 4h``; None if not one."""
    text = text.strip()
    if not text or _DURATION.match(text) is None:
        return None
    return sum(float(n) * _DURATION_UNITS[u] for n, u in _DURATION_PART.findall(text))


_key_cache: dict[str, str] = {}
_NON_WORD: Final = re.compile(r"[^a-z0-9]+")


def _key(label: str) -> str:
    """``Max. Off-Policy Level`` -> ``max_off_policy_level``; ``Peak Mem.`` -> ``peak_mem``."""
    key = _key_cache.get(label)
    if key is None:
        key = _NON_WORD.sub("_", label.lower().replace(".", "")).strip("_")
        if len(_key_cache) < 10_000:
            _key_cache[label] = key
    return key


# One field of a step line: "Key: value", "Key value" or "Key=value". The key is the
# shortest run of words before something that starts like a number; then the number,
# an optional unit ("%", "s", "GiB", "tokens/s") and whatever follows (a second
# duration part, "/128 (93.8%)", "(±12.1)"), trailing punctuation dropped.
_FIELD: Final = re.compile(
    r"\s*([A-Za-z][\w .\-/@#'()]*?)\s*(?::\s*|=\s*|\s+)"
    rf"({_NUM})\s*(%|[A-Za-zµ]+(?:/[A-Za-z]+)?)?\s*(.*?)[\s.,;]*$",
    re.S,
)


def _fields(parts: Iterable[str], renames: dict[str, str]) -> Iterator[tuple[str, float]]:
    """(key, value) of each ``Key value`` part; a bare duration is ``time``.

    Values: ``0.5123``; ``3120 tokens/s``, ``4.1%``, ``18.2 GiB`` -> the number (KiB
    and MiB converted to GiB); ``9.8s``, ``120ms``, ``1m 5s`` -> seconds; ``120/128
    (93.8%)`` -> ``key`` 120, ``key_total`` 128, ``key_pct`` 93.8. A value that is
    none of these is skipped.
    """
    for part in parts:
        # Fast path for the commonest field, "Key: 0.1234": no regex.
        colon = part.find(":")
        if colon > 0:
            label = part[:colon].strip()
            if label[:1].isalpha():
                try:
                    number = float(part[colon + 1 :])
                except ValueError:
                    pass
                else:
                    key = _key(label)
                    if key:
                        yield renames.get(key, key), number
                    continue
        m = _FIELD.match(part)
        if m is None:
            duration = parse_duration(part)
            if duration is not None:
                yield renames.get("time", "time"), duration
            continue
        label, number_text, unit, rest = m.groups()
        key = _key(label)
        if not key:
            continue
        key = renames.get(key, key)
        number = float(number_text)
        if unit is not None and unit in _DURATION_UNITS:
            if rest:
                duration = parse_duration(part[m.start(2) : m.end(4)])
                if duration is None:
                    continue
                number = duration
            else:
                number *= _DURATION_UNITS[unit]
            yield key, number
        elif not rest or (rest[0] == "(" and rest[-1] == ")"):
            factor = _MEMORY_TO_GIB.get(unit) if unit is not None else None
            yield key, number * factor if factor is not None else number
        elif unit is None and rest[0] == "/":
            frac = _FRACTION.match(rest)
            if frac is None:
                continue
            yield key, number
            yield key + "_total", float(frac.group(1))
            if frac.group(2) is not None:
                yield key + "_pct", float(frac.group(2))


# ---------------------------------------------------------------------------
# Line shapes

_STEP: Final = re.compile(r"\s*Step\s+(\d+)(?:\s*/\s*(\d+))?\s*(?:\||$)(.*)$", re.S)
_ENV_LINE: Final = re.compile(r"\s*╰─\s*([^|]+?)\s*\|(.*)$", re.S)
_EVALUATED: Final = re.compile(
    r"\s*Evaluated\s+([A-Za-z][^\s(|]*)(?:\s*\(\s*Step\s+(\d+)\s*\))?"
    r"(?:\s+in\s+((?:\d+(?:\.\d+)?\s*(?:ms|min|s|m|h|d)\b\s*)+))?\s*(.*)$",
    re.S,
)
_MAX_STEPS: Final = re.compile(r"\bmax[_-]steps['\"]?\s*[=:]\s*(\d+)")
_DEBUG_SUFFIX: Final = re.compile(r"\s\[[^\[\]\s]+::\d+\]\s*$")
_VLLM_STATS: Final = re.compile(r"Avg prompt throughput.*$", re.S)

_STEP_RENAMES: Final = {"time": "step_time"}
_VLLM_RENAMES: Final = {
    "avg_prompt_throughput": "prompt_throughput",
    "avg_generation_throughput": "generation_throughput",
    "gpu_kv_cache_usage": "kv_cache",
    "cpu_kv_cache_usage": "cpu_kv_cache",
}
_NO_RENAMES: Final[dict[str, str]] = {}

TRAINER: Final = layout.TRAINER
ORCHESTRATOR: Final = layout.ORCHESTRATOR
INFERENCE: Final = layout.INFERENCE

# Keys that say which process wrote a step line found in a file of another
# component (rl.log, a single output.log).
_ORCHESTRATOR_KEYS: Final = frozenset({"reward", "async_level", "seq_length", "trainable"})
_TRAINER_KEYS: Final = frozenset({"loss", "entropy", "grad_norm", "mfu", "peak_mem", "lr"})


# ---------------------------------------------------------------------------
# The store


@dataclass(frozen=True, slots=True)
class MetricsSummary:
    """The one-line picture of a run: where it is, how fast, is reward going up."""

    step: int | None
    max_steps: int | None
    steps_per_min: float | None
    reward: float | None
    reward_trend: float | None  # mean of the last 5 rewards minus the mean of the 5 before
    eta_s: float | None

    def text(self) -> str:
        """``step 12/100 · 3.2 steps/min · reward 0.5832 ↑ · ETA 27m 30s``."""
        if self.step is None:
            return "no steps yet"
        parts = [f"step {self.step}" + (f"/{self.max_steps}" if self.max_steps else "")]
        if self.steps_per_min is not None:
            parts.append(f"{self.steps_per_min:.3g} steps/min")
        if self.reward is not None:
            arrow = ""
            if self.reward_trend is not None:
                arrow = " →"
                if self.reward_trend > 1e-3:
                    arrow = " ↑"
                elif self.reward_trend < -1e-3:
                    arrow = " ↓"
            parts.append(f"reward {self.reward:.4f}{arrow}")
        if self.eta_s is not None:
            parts.append(f"ETA {format_duration(self.eta_s)}")
        return " · ".join(parts)


def format_duration(seconds: float) -> str:
    """``1d 4h``, ``2h 3m``, ``27m 30s``, ``45s``: two units at most."""
    total = round(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


class Series(Mapping[int, float]):
    """One series: values by step, in two arrays sorted by step (``steps``, ``numbers``).

    16 bytes a value, where a ``dict[int, float]`` costs about 100: a run of a
    million steps logs some ten series. Values come in step order nearly always
    (an append); another step is found by bisection and inserted.
    """

    __slots__ = ("numbers", "steps")

    def __init__(self) -> None:
        self.steps = array("q")
        self.numbers = array("d")

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[int]:
        return iter(self.steps)

    def __getitem__(self, step: int) -> float:
        steps = self.steps
        i = bisect.bisect_left(steps, step)
        if i < len(steps) and steps[i] == step:
            return self.numbers[i]
        raise KeyError(step)

    def __setitem__(self, step: int, value: float) -> None:
        self.put(step, value)

    def put(self, step: int, value: float) -> bool:
        """Store a value; False if the step held it already (a NaN equals a NaN)."""
        steps = self.steps
        if not steps or step > steps[-1]:
            steps.append(step)
            self.numbers.append(value)
            return True
        i = len(steps) - 1 if step == steps[-1] else bisect.bisect_left(steps, step)
        if steps[i] == step:
            old = self.numbers[i]
            if old == value or (math.isnan(old) and math.isnan(value)):
                return False
            self.numbers[i] = value
        else:
            steps.insert(i, step)
            self.numbers.insert(i, value)
        return True

    def holds(self, step: int) -> bool:
        """`in`, quick for the last step."""
        steps = self.steps
        if not steps or step > steps[-1]:
            return False
        return step == steps[-1] or step in self

    def __repr__(self) -> str:
        return f"Series({dict(self.items())!r})"


class MetricsStore:
    """Series of numbers per step, fed one line at a time.

    ``series[name][step] = value``. Feed it every line of a run (`feed` takes the
    plain message of a header line or the text of a continuation line, as
    `core.parse.parse_line` gives them) and ``metrics.jsonl`` lines (`feed_jsonl`);
    only lines holding one of `NEEDLES` cost more than a few substring tests.
    ``version`` grows whenever a value changes, for a view to know when to redraw.
    """

    def __init__(self) -> None:
        self.series: dict[str, Series] = {}
        self.max_steps: int | None = None
        self.last_step: int | None = None
        self.version = 0
        self.errors: list[str] = []  # files `scan_run` could not read
        self._from_jsonl: set[tuple[str, int]] = set()
        # The step of the last step record per (source, rank), for ╰─ lines under it.
        self._record_step: dict[tuple[str, int | None], tuple[str, int]] = {}
        # The lowest trainer rank seen: other ranks' step lines are ignored.
        self._trainer_rank: int | None = None
        # When each step was first seen (run time), per component: for steps/min and
        # to place vLLM lines at the step the run was on.
        self._step_seen: dict[str, Series] = {}
        # The steps by the run time they were first seen, per component.
        self._timeline: dict[str, tuple[array[float], array[int]]] = {}

    # -- reading

    def names(self) -> list[str]:
        """Series names, sorted."""
        return sorted(self.series)

    def steps(self) -> list[int]:
        """Every step that has a value in some series, sorted."""
        seen: set[int] = set()
        for values in self.series.values():
            seen.update(values)
        return sorted(seen)

    def values(self, name: str) -> tuple[list[int], list[float]]:
        """(steps, values) of one series, sorted by step; empty if unknown."""
        data = self.series.get(name)
        if data is None:
            return [], []
        return data.steps.tolist(), data.numbers.tolist()

    # -- feeding

    def set(self, name: str, step: int, value: float, *, from_jsonl: bool = False) -> bool:
        """Store one value; a parsed value never replaces one from ``metrics.jsonl``."""
        if from_jsonl:
            self._from_jsonl.add((name, step))
        elif (name, step) in self._from_jsonl:
            return False
        data = self.series.get(name)
        if data is None:
            data = self.series[name] = Series()
        if not data.put(step, value):
            return False
        self.version += 1
        if self.last_step is None or step > self.last_step:
            self.last_step = step
        return True

    def feed(
        self,
        component: str,
        message: str,
        *,
        rank: int | None = None,
        run_time: float | None = None,
        source: str | None = None,
    ) -> bool:
        """Read one line; True if a value or `max_steps` changed.

        ``component`` is the `layout.Source.component` of the file (``"trainer"``,
        ``"orchestrator"``, ``"inference"``...); ``rank`` the trainer rank (torchrun
        prefix or file name): only the lowest rank's step lines count. ``run_time``
        (seconds, `core.parse.RunClock`) of the record gives steps per minute and
        places vLLM lines at a step; it must be comparable across files (seconds
        since midnight of the run's first day, as each file's `RunClock` gives for
        files that start the same day). ``source`` (the file's ``rel``) ties a ``╰─``
        line to the step record above it in the same file. A message holding several
        lines (JSON logging) is read line by line.
        """
        if not (
            "Step " in message
            or "╰─" in message
            or "Evaluated " in message
            or "Avg prompt throughput" in message
            or "max_steps" in message
        ):
            return False
        changed = False
        for line in message.split("\n") if "\n" in message else (message,):
            if "::" in line:
                line = _DEBUG_SUFFIX.sub("", line)
            changed |= self._feed_line(component, line, rank, run_time, source or component)
        return changed

    def _feed_line(
        self, component: str, line: str, rank: int | None, run_time: float | None, source: str
    ) -> bool:
        changed = False
        if "max_steps" in line:
            m = _MAX_STEPS.search(line)
            if m is not None:
                changed |= self._set_max_steps(int(m.group(1)))
        if "Step" in line:
            m = _STEP.match(line)
            if m is not None:
                return self._step_line(m, component, rank, run_time, source) or changed
        if "╰─" in line:
            m = _ENV_LINE.match(line)
            if m is not None:
                record = self._record_step.get((source, rank))
                if record is None:
                    return changed
                name = m.group(1).strip()
                for key, value in _fields(m.group(2).split("|"), _NO_RENAMES):
                    changed |= self.set(f"env/{name}/{key}", record[1], value)
                return changed
        if "Evaluated" in line:
            m = _EVALUATED.match(line)
            if m is not None:
                return self._eval_line(m) or changed
        if "Avg prompt throughput" in line:
            m = _VLLM_STATS.search(line)
            if m is not None:
                step = self._step_at(run_time)
                for key, value in _fields(m.group().split(","), _VLLM_RENAMES):
                    changed |= self.set(f"{INFERENCE}/{key}", step, value)
        return changed

    def _set_max_steps(self, max_steps: int) -> bool:
        if max_steps == self.max_steps or max_steps <= 0:
            return False
        self.max_steps = max_steps
        self.version += 1
        return True

    def _step_line(
        self,
        m: re.Match[str],
        component: str,
        rank: int | None,
        run_time: float | None,
        source: str,
    ) -> bool:
        step = int(m.group(1))
        fields = list(_fields(m.group(3).split("|"), _STEP_RENAMES))
        if component not in (TRAINER, ORCHESTRATOR):
            keys = {key for key, _ in fields}
            if keys & _ORCHESTRATOR_KEYS:
                component = ORCHESTRATOR
            elif keys & _TRAINER_KEYS:
                component = TRAINER
            else:
                return False
        if component == TRAINER and rank is not None:
            if self._trainer_rank is None or rank < self._trainer_rank:
                self._trainer_rank = rank
            elif rank > self._trainer_rank:
                return False
        changed = False
        if m.group(2) is not None:
            changed |= self._set_max_steps(int(m.group(2)))
        self._record_step[(source, rank)] = (component, step)
        if run_time is not None:
            seen = self._step_seen.get(component)
            if seen is None:
                seen = self._step_seen[component] = Series()
            if not seen.holds(step):
                seen.put(step, run_time)
                timeline = self._timeline.get(component)
                if timeline is None:
                    timeline = self._timeline[component] = (array("d"), array("q"))
                times, steps = timeline
                i = bisect.bisect_right(times, run_time)
                times.insert(i, run_time)
                steps.insert(i, step)
        for key, value in fields:
            changed |= self.set(f"{component}/{key}", step, value)
        if not fields and (self.last_step is None or step > self.last_step):
            self.last_step = step
        return changed

    def _eval_line(self, m: re.Match[str]) -> bool:
        name, step_text, took, rest = m.groups()
        step = int(step_text) if step_text is not None else (self.last_step or 0)
        parts: list[str] = []
        if took is not None:
            parts.append(f"Time {took}")
        rest = rest.strip()
        if rest.startswith("(") and rest.endswith(")"):
            parts.extend(rest[1:-1].split(","))
        else:
            parts.extend(rest.split("|"))
        changed = False
        for key, value in _fields(parts, _NO_RENAMES):
            changed |= self.set(f"eval/{name}/{key}", step, value)
        return changed

    def _step_at(self, run_time: float | None) -> int:
        """The step the run was on at ``run_time``: the orchestrator's, else the trainer's."""
        if run_time is not None:
            for component in (ORCHESTRATOR, TRAINER):
                timeline = self._timeline.get(component)
                if timeline:
                    times, steps = timeline
                    i = bisect.bisect_right(times, run_time)
                    return steps[i - 1] if i else 0
        return self.last_step or 0

    def feed_jsonl(self, line: str) -> bool:
        """Read one line of ``metrics.jsonl``; a line that is not a step object is skipped."""
        line = line.strip()
        if not line.startswith("{"):
            return False
        try:
            obj = json.loads(line)
        except ValueError:
            return False
        if not isinstance(obj, dict):
            return False
        step = obj.get("step")
        if isinstance(step, float) and step.is_integer():
            step = int(step)
        if not isinstance(step, int) or isinstance(step, bool):
            return False
        changed = False
        for name, value in _flatten(obj):
            if name == "step" or name.startswith("_"):
                continue
            changed |= self.set(JSONL_NAMES.get(name, name), step, value, from_jsonl=True)
        return changed

    # -- summary and export

    def summary(self) -> MetricsSummary:
        step = self.last_step
        rate = self._steps_per_min()
        rewards = self._last("orchestrator/reward", 10)
        reward = rewards[-1] if rewards else None
        trend: float | None = None
        if len(rewards) >= 2:
            recent = rewards[-5:]
            before = rewards[-10:-5] or rewards[:1]
            trend = sum(recent) / len(recent) - sum(before) / len(before)
        eta: float | None = None
        if self.max_steps is not None and step is not None and rate:
            eta = max(self.max_steps - step, 0) / rate * 60
        return MetricsSummary(step, self.max_steps, rate, reward, trend, eta)

    def _steps_per_min(self) -> float | None:
        """From when the last ten steps were first seen; else from the logged step times."""
        for component in (TRAINER, ORCHESTRATOR):
            seen = self._step_seen.get(component)
            if seen and len(seen) >= 2:
                elapsed = seen.numbers[-1] - seen.numbers[-11:][0]
                if elapsed > 0:
                    return (seen.steps[-1] - seen.steps[-11:][0]) / elapsed * 60
        for name in ("trainer/step_time", "orchestrator/step_time"):
            times = [t for t in self._last(name, 10) if t > 0 and math.isfinite(t)]
            if times:
                return 60 / (sum(times) / len(times))
        return None

    def _last(self, name: str, n: int) -> list[float]:
        """The values of the last ``n`` steps of a series."""
        data = self.series.get(name)
        return data.numbers[-n:].tolist() if data is not None else []

    def to_csv(self) -> str:
        """``step,<series...>`` then one row per step; empty cells where a series has none."""
        names = self.names()
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["step", *names])
        columns = [self.series[name] for name in names]
        for step in self.steps():
            row: list[str | int] = [step]
            for data in columns:
                value = data.get(step)
                row.append("" if value is None else _format_number(value))
            writer.writerow(row)
        return out.getvalue()

    def to_json(self) -> str:
        """``{"max_steps", "steps": [...], "series": {name: [value or null per step]}}``.

        Columns line up with ``steps``; a missing value and a NaN are both ``null``
        (JSON has no NaN).
        """
        steps = self.steps()
        series = {
            name: [_json_number(self.series[name].get(step)) for step in steps]
            for name in self.names()
        }
        return json.dumps({"max_steps": self.max_steps, "steps": steps, "series": series}, indent=1)


def _flatten(obj: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, float]]:
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            yield name, float(value)
        elif isinstance(value, dict):
            yield from _flatten(value, name + "/")


def _format_number(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _json_number(value: float | None) -> float | int | None:
    if value is None or not math.isfinite(value):
        return None
    if value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


# ---------------------------------------------------------------------------
# Reading a finished run

CHUNK: Final = 16 * 1024 * 1024


def _candidate_lines(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each line of ``data`` that holds one of `NEEDLES`, in order.

    Each needle is found with ``bytes.find`` (a C loop), so the cost is one fast
    pass per needle plus the matching lines, not a Python step per line.
    """
    spans: dict[int, int] = {}
    for needle in _NEEDLES_B:
        pos = data.find(needle)
        while pos != -1:
            start = data.rfind(b"\n", 0, pos) + 1
            end = data.find(b"\n", pos)
            if end == -1:
                end = len(data)
            spans[start] = end
            pos = data.find(needle, end)
    return sorted(spans.items())


def scan_file(store: MetricsStore, path: Path, source: layout.Source) -> None:
    """Feed ``store`` the lines of one log file that hold a metric, reading big chunks."""
    clock = RunClock()
    carry = b""
    with open(path, "rb") as fh:
        while True:
            block = fh.read(CHUNK)
            if not block:
                data, carry = carry, b""
            else:
                data = carry + block
                cut = data.rfind(b"\n") + 1
                data, carry = data[:cut], data[cut:]
            for start, end in _candidate_lines(data):
                info = parse_line(decode_line(data[start:end]))
                run_time = clock.advance(info.clock) if info.clock is not None else None
                store.feed(
                    source.component,
                    info.message,
                    rank=info.rank if info.rank is not None else source.rank,
                    run_time=run_time,
                    source=source.rel,
                )
            if not block:
                break


def scan_run(output_dir: str | os.PathLike[str]) -> MetricsStore:
    """The metrics of a run on disk: every log file under ``logs/``, then ``metrics.jsonl``.

    Inference files are read last, so their vLLM lines land on the step the
    orchestrator was on at that time. A file that cannot be read is skipped and
    named in the returned store's ``errors``.
    """
    out = Path(output_dir)
    logs = layout.logs_dir(out)
    store = MetricsStore()
    errors: list[str] = []
    sources = [layout.classify(path, logs) for path in layout.discover(logs)]
    sources = [s for s in sources if s.path.name != "metrics.jsonl"]
    sources.sort(key=lambda s: (s.component == INFERENCE, s.sort_key))
    for source in sources:
        try:
            scan_file(store, source.path, source)
        except OSError as exc:
            errors.append(f"cannot read {source.path}: {exc.strerror or exc}")
    jsonl = out / "metrics.jsonl"
    if jsonl.is_file():
        try:
            with open(jsonl, encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    store.feed_jsonl(line)
        except OSError as exc:
            errors.append(f"cannot read {jsonl}: {exc.strerror or exc}")
    store.errors.extend(errors)
    return store


class LiveMetrics:
    """A run's metrics kept current while the dashboard follows it.

    The history is read once by `scan_run` (in a worker thread: `load_history`);
    lines appended meanwhile are fed from the `core.run.RunChanges` the dashboard
    already gets, by byte range, so nothing is read twice on the hot path. Ranges
    that arrive before the history is in are kept and replayed onto it; the overlap
    is harmless because storing a value a second time changes nothing.
    ``metrics.jsonl`` is followed with its own `FileFollower`.
    """

    def __init__(self, output_dir: str | os.PathLike[str]) -> None:
        from prime_rl_logs.core.follow import FileFollower

        self.output_dir = Path(output_dir)
        self.store = MetricsStore()
        self.ready = False
        self._pending: list[tuple[Any, Any]] = []  # (LogFile, Appended) while not ready
        self._clocks: dict[str, RunClock] = {}
        self._jsonl = FileFollower(self.output_dir / "metrics.jsonl", start=None)

    def load_history(self) -> MetricsStore:
        """Scan the run as it is on disk; safe to call from a worker thread."""
        return scan_run(self.output_dir)

    def adopt_history(self, history: MetricsStore) -> None:
        """Make the scanned history the store and replay what arrived meanwhile."""
        self.store = history
        self.ready = True
        pending, self._pending = self._pending, []
        for file, appended in pending:
            self._feed_appended(file, appended)
        self.store.version += 1

    def feed_changes(self, changes: Any) -> None:
        """Feed the lines a `core.run.RunChanges` says were appended."""
        for file, appended in changes.grown.items():
            if file.source.component == layout.ENV:
                continue  # env workers print no step lines
            if self.ready:
                self._feed_appended(file, appended)
            else:  # its range only: read back from the file once the history is in
                self._pending.append((file, replace(appended, data=None)))

    def poll_jsonl(self) -> None:
        """Read what was appended to ``metrics.jsonl`` (it lives outside ``logs/``)."""
        result = self._jsonl.poll()
        if result.data:
            for line in result.data.decode("utf-8", "replace").splitlines():
                self.store.feed_jsonl(line)

    def _feed_appended(self, file: Any, appended: Any) -> None:
        source = file.source
        clock = self._clocks.setdefault(source.rel, RunClock())
        for _, data in file.appended(appended):
            for a, b in _candidate_lines(data):
                info = parse_line(decode_line(data[a:b]))
                self.store.feed(
                    source.component,
                    info.message,
                    rank=info.rank if info.rank is not None else source.rank,
                    run_time=clock.advance(info.clock) if info.clock is not None else None,
                    source=source.rel,
                )


# ---------------------------------------------------------------------------
# prime-logs metrics


def run(args: argparse.Namespace) -> int:
    """``prime-logs metrics OUTPUT_DIR [--csv | --json]``: the series on stdout."""
    from prime_rl_logs.errors import UsageError as CLIError

    out = Path(args.output_dir)
    if not out.is_dir():
        raise CLIError(f"{out} does not exist")
    if not layout.logs_dir(out).is_dir() and not (out / "metrics.jsonl").is_file():
        raise CLIError(f"{out} has no logs/ folder and no metrics.jsonl: not a prime-rl run")
    store = scan_run(out)
    for error in store.errors:
        print(f"prime-logs: warning: {error}", file=sys.stderr)
    text = store.to_json() + "\n" if getattr(args, "json", False) else store.to_csv()
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python's exit-time
        # flush of stdout from raising again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return 0
