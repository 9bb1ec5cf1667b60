"""`MetricsStore`: series of numbers per step, fed one line at a time; its summary and export.

`MetricsStore.feed` reads one log line (the shapes in `lines`, the fields through
`fields`) and `feed_jsonl` one line of ``metrics.jsonl``; a value from
``metrics.jsonl`` is never replaced by a parsed one. A step number (or
``max_steps``) that does not fit in 64 bits is skipped and counted in
`MetricsStore.skipped`, never raised: the series are arrays of 64-bit integers.
`MetricsStore.summary` gives the `MetricsSummary` (step, pace, reward trend, ETA);
`to_csv` and `to_json` the export of ``prime-logs metrics``. `KEY_SERIES` are the
series the dashboard shows first; `JSONL_NAMES` map prime-rl's W&B names onto the
parsed ones.
"""

from __future__ import annotations

import bisect
import csv
import io
import json
import math
import re
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from prime_rl_logs.layout import safe_name
from prime_rl_logs.metrics.fields import parse_fields
from prime_rl_logs.metrics.lines import (
    DEBUG_SUFFIX,
    ENV_LINE,
    EVALUATED,
    INFERENCE,
    MAX_STEPS,
    NO_RENAMES,
    ORCHESTRATOR,
    ORCHESTRATOR_KEYS,
    STEP,
    STEP_RENAMES,
    TRAINER,
    TRAINER_KEYS,
    VLLM_RENAMES,
    VLLM_STATS,
)
from prime_rl_logs.metrics.series import STEP_MAX, Series, step_number

__all__ = [
    "JSONL_NAMES",
    "KEY_SERIES",
    "STEP_MAX",
    "MetricsStore",
    "MetricsSummary",
    "format_duration",
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


@dataclass(frozen=True, slots=True)
class MetricsSummary:
    """The one-line picture of a run: where it is, how fast, is reward going up."""

    step: int | None
    max_steps: int | None
    steps_per_min: float | None
    reward: float | None
    reward_trend: float | None  # mean of the last 5 rewards minus the mean of the 5 before
    eta_s: float | None
    skipped: int = 0  # values dropped because their step does not fit in 64 bits

    def text(self) -> str:
        """``step 12/100 · 3.2 steps/min · reward 0.5832 ↑ · ETA 27m 30s``.

        Values skipped for a step beyond 64 bits are named at the end
        (``· 2 skipped: step beyond 64 bits``).
        """
        text = self._progress()
        if self.skipped:
            text += f" · {self.skipped} skipped: step beyond 64 bits"
        return text

    def _progress(self) -> str:
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
        self.skipped = 0  # steps (and max_steps) skipped: beyond 64 bits
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
        """Store one value; a parsed value never replaces one from ``metrics.jsonl``.

        A step outside 64 bits is not stored: it is counted in ``skipped`` (and
        ``version`` moves, for the count to be shown).
        """
        if not -STEP_MAX - 1 <= step <= STEP_MAX:
            return self._skip()
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
                line = DEBUG_SUFFIX.sub("", line)
            changed |= self._feed_line(component, line, rank, run_time, source or component)
        return changed

    def _feed_line(
        self, component: str, line: str, rank: int | None, run_time: float | None, source: str
    ) -> bool:
        changed = False
        if "max_steps" in line:
            m = MAX_STEPS.search(line)
            if m is not None:
                changed |= self._set_max_steps(m.group(1))
        if "Step" in line:
            m = STEP.match(line)
            if m is not None:
                return self._step_line(m, component, rank, run_time, source) or changed
        if "╰─" in line:
            m = ENV_LINE.match(line)
            if m is not None:
                record = self._record_step.get((source, rank))
                if record is None:
                    return changed
                name = m.group(1).strip()
                for key, value in parse_fields(m.group(2).split("|"), NO_RENAMES):
                    changed |= self.set(f"env/{name}/{key}", record[1], value)
                return changed
        if "Evaluated" in line:
            m = EVALUATED.match(line)
            if m is not None:
                return self._eval_line(m) or changed
        if "Avg prompt throughput" in line:
            m = VLLM_STATS.search(line)
            if m is not None:
                step = self._step_at(run_time)
                for key, value in parse_fields(m.group().split(","), VLLM_RENAMES):
                    changed |= self.set(f"{INFERENCE}/{key}", step, value)
        return changed

    def _skip(self) -> bool:
        """Count a value skipped for its step; ``version`` moves so the count shows."""
        self.skipped += 1
        self.version += 1
        return False

    def _set_max_steps(self, digits: str) -> bool:
        max_steps = step_number(digits)
        if max_steps is None:
            return self._skip()
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
        step = step_number(m.group(1))
        if step is None:
            return self._skip()
        fields = list(parse_fields(m.group(3).split("|"), STEP_RENAMES))
        if component not in (TRAINER, ORCHESTRATOR):
            keys = {key for key, _ in fields}
            if keys & ORCHESTRATOR_KEYS:
                component = ORCHESTRATOR
            elif keys & TRAINER_KEYS:
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
            changed |= self._set_max_steps(m.group(2))
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
        step = step_number(step_text) if step_text is not None else (self.last_step or 0)
        if step is None:
            return self._skip()
        parts: list[str] = []
        if took is not None:
            parts.append(f"Time {took}")
        rest = rest.strip()
        if rest.startswith("(") and rest.endswith(")"):
            parts.extend(rest[1:-1].split(","))
        else:
            parts.extend(rest.split("|"))
        changed = False
        for key, value in parse_fields(parts, NO_RENAMES):
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
        if not -STEP_MAX - 1 <= step <= STEP_MAX:
            return self._skip()
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
        return MetricsSummary(step, self.max_steps, rate, reward, trend, eta, self.skipped)

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
        writer.writerow(["step", *map(safe_name, names)])  # names come from files
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
