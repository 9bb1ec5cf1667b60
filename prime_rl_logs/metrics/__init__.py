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

The package, one concern a module: `fields` (one ``Key value`` field -> a number),
`lines` (the line shapes, and finding candidate lines in bytes), `series` (`Series`:
one series in two arrays), `store` (`MetricsStore`, `MetricsSummary`, CSV and JSON),
`scan` (`scan_run`: a run on disk) and `live` (`LiveMetrics`: kept current from the
dashboard's `RunChanges`). ``prime-logs metrics`` is `prime_rl_logs.commands.metrics`.
"""

from __future__ import annotations

from prime_rl_logs.metrics.fields import parse_duration
from prime_rl_logs.metrics.lines import NEEDLES
from prime_rl_logs.metrics.live import LiveMetrics
from prime_rl_logs.metrics.scan import CHUNK, scan_file, scan_run
from prime_rl_logs.metrics.series import Series
from prime_rl_logs.metrics.store import (
    JSONL_NAMES,
    KEY_SERIES,
    MetricsStore,
    MetricsSummary,
    format_duration,
)

__all__ = [
    "CHUNK",
    "JSONL_NAMES",
    "KEY_SERIES",
    "NEEDLES",
    "LiveMetrics",
    "MetricsStore",
    "MetricsSummary",
    "Series",
    "format_duration",
    "parse_duration",
    "scan_file",
    "scan_run",
]
