"""The table of known failures names real lines; templates mask what varies; times of the
other shapes (vLLM, glog) and across midnight."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prime_rl_logs.diagnose import SIGNATURES, diagnose
from prime_rl_logs.diagnose.signatures import BY_NAME, match
from prime_rl_logs.diagnose.text import ranks_text, template
from tests import diagnose_fixture as fx

# One real line (or record) per signature, as the processes write it.
EXAMPLES = {
    "cuda-oom": "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",
    "no-space": "OSError: [Errno 28] No space left on device: '/ckpt/step_40/model.pt'",
    "nccl-timeout": "[Rank 3] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=4821, "
    "OpType=ALLREDUCE) ran for 600043 milliseconds before timing out.",
    "vllm-died": "vllm.v1.engine.exceptions.EngineDeadError: EngineCore encountered an issue.",
    "env-died": "Env worker 3 for gsm8k died (exit code 137); restarting",
    "checkpoint": "Failed to save checkpoint at step 40: permission denied",
    "nan": "Step 31 | Time: 12.00s | Loss: nan | Entropy: 0.4321 | Grad. Norm: inf",
    "killed": "torch.distributed.elastic.multiprocessing.errors.ChildFailedError:",
    "connection": "httpx.ConnectError: [Errno 111] Connection refused",
}


def test_every_signature_is_complete_and_has_an_example() -> None:
    names = [s.name for s in SIGNATURES]
    assert len(set(names)) == len(names) and set(names) == set(EXAMPLES)
    for sig in SIGNATURES:
        assert sig.title and sig.hint and "\n" not in sig.hint
        assert (sig.any_level and sig.needles) or not (sig.any_level or sig.needles)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_lines_are_named(name: str) -> None:
    found = match(EXAMPLES[name])
    assert found is not None and found.name == name


def test_ordinary_lines_are_not_named() -> None:
    for line in (
        "Step 3 | Time: 13.87s | Reward: 0.5123 | Seq. Length: 512.0 tokens",
        "NCCL_ASYNC_ERROR_HANDLING is deprecated",
        "Processed rollout 12 | reward 0.7 | inference took 3.1s",
        "Loaded checkpoint from step 40",
    ):
        assert match(line) is None, line
    assert match("Reward: nan", any_level_only=True) is BY_NAME["nan"]
    assert match("Connection refused", any_level_only=True) is None


def test_template_masks_numbers_paths_ids_and_ranks() -> None:
    a = template(
        "[Rank 3] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=4821) ran for "
        "600043 milliseconds"
    )
    b = template(
        "[Rank 6] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=17) ran for "
        "600101 milliseconds"
    )
    assert a == b and "<n>" in a
    assert template("could not open /data/run-7/ckpt/step_40.pt") == "could not open <path>"
    assert template("request 1f2e3d4c-aaaa-bbbb-cccc-0123456789ab failed") == "request <id> failed"
    assert template("bad pointer 0xdeadbeef") == "bad pointer <hex>"
    assert template("Loss: nan at step 4") == "Loss: nan at step <n>"


def _template_by_regex_alone(message: str) -> str:
    """`template` before it skipped the patterns a text cannot match: the reference."""
    import re

    from prime_rl_logs.diagnose.text import _MASKS, TEMPLATE_MAX

    text = message.strip()[: TEMPLATE_MAX * 4]
    for regex, mask, _needs in _MASKS:
        text = regex.sub(mask, text)
    return re.sub(r"\s+", " ", text)[:TEMPLATE_MAX]


_PIECES = st.sampled_from(
    [
        "/",
        "a/b",
        "C:/x",
        "-",
        "0x",
        "0X1f",
        "deadbeef12",
        "1f2e3d4c-aaaa-bbbb-cccc-0123456789ab",
        "12",
        "3.5",
        "1,000",
        " ",
        "  ",
        "\t",
        "\x1c",
        "\u3000",
        "\n",
        "x",
        "é",
        "٣",
        "Rank",
        "=",
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES, max_size=40).map("".join) | st.text(max_size=200))
def test_template_is_what_the_patterns_alone_make(message: str) -> None:
    assert template(message) == _template_by_regex_alone(message)
    long = message * 40  # cut at TEMPLATE_MAX * 4 characters, maybe in white space
    assert template(long) == _template_by_regex_alone(long)


def test_ranks_text() -> None:
    assert ranks_text([7, 0, 1, 2, 3, 4, 6]) == "0-4,6,7"
    assert ranks_text([5]) == "5" and ranks_text([]) == ""


def test_vllm_engine_death_is_timed_by_its_own_clock(tmp_path: Path) -> None:
    now = time.time()
    run = tmp_path / "run"
    logs = fx._skeleton(run)
    died = now - 300
    text = fx.vllm(now - 600, "INFO", "Started server process") + fx.vllm(
        died, "ERROR", "Engine core proc EngineCore_0 died unexpectedly, shutting down client."
    )
    fx.write(logs / "inference.log", text, died)
    fx.write(logs / "orchestrator.log", fx.loguru(now - 610, "INFO", "Starting"), now - 610)
    report = diagnose(run, now=now)
    ff = report.first_failure
    assert ff is not None and ff.signature == "vllm-died" and ff.component == "inference"
    assert ff.time == pytest.approx(died, abs=1) and ff.line == 2


def test_times_cross_midnight(tmp_path: Path) -> None:
    # 23:59:30 ... 00:00:20 the next day: the error after midnight is after the warning.
    lt = time.localtime(time.time() - 3 * 86400)
    midnight = time.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday, 0, 0, 0, 0, 0, -1))
    warn_at, error_at = midnight - 30, midnight + 20
    run = tmp_path / "run"
    logs = fx._skeleton(run)
    text = fx.loguru(warn_at, "WARNING", "slow") + fx.loguru(error_at, "ERROR", "broken")
    assert "23:59:30" in text and "00:00:20" in text
    fx.write(logs / "orchestrator.log", text, error_at)
    report = diagnose(run, now=error_at + 10)
    ff = report.first_failure
    assert ff is not None and ff.time == pytest.approx(error_at, abs=1)
    [slow] = [g for g in report.groups if g.level == "WARNING"]
    assert slow.first_seen == pytest.approx(warn_at, abs=1)
