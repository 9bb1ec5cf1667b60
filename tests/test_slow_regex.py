"""Issue 15 item 5: a user regex that backtracks exponentially and is not caught by the
nested-repetition check (``(a|aa)+$``) stops its filter after one time limit: the
dashboard answers ``esc`` and ``q``, ``tail --grep`` ends with one line and exit 2.

The dashboard and ``tail`` run in a subprocess with a hard timeout, so a freeze fails
the test instead of hanging the suite (on the code before the fix they never end).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from prime_rl_logs.core.filter import Filter
from prime_rl_logs.core.run import Run
from prime_rl_logs.core.user_regex import (
    RegexTooSlow,
    UserRegex,
    bounded,
    compile_user_regex,
    nested_repetition,
)
from prime_rl_logs.core.view import View
from tests.fixtures import loguru_line

SLOW = "(a|aa)+$"
LONG_A = "a" * 70 + "b"  # fib(70) ways to split the a's: years for a backtracking engine
HARD_TIMEOUT_S = 120


def write_run(path: Path, *, plain: int = 30, slow: int = 5) -> Path:
    """A run whose orchestrator log holds ``plain`` ordinary records, then ``slow``
    records of a long run of ``a`` ended by ``b``."""
    logs = path / "logs"
    logs.mkdir(parents=True)
    lines = [loguru_line(f"14:00:{i % 60:02d}", "INFO", f"ordinary {i}") for i in range(plain)]
    lines += [loguru_line("14:01:00", "INFO", LONG_A) for _ in range(slow)]
    (logs / "orchestrator.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_pattern_passes_the_nested_repetition_check() -> None:
    assert not nested_repetition(SLOW)
    assert isinstance(compile_user_regex(SLOW), UserRegex)


def test_a_search_that_runs_out_of_time_raises_and_spends_the_pattern() -> None:
    pattern = compile_user_regex(SLOW)
    assert pattern.search("xaa") is not None and not pattern.spent
    with pytest.raises(RegexTooSlow, match=r"/\(a\|aa\)\+\$/ is too slow"):
        pattern.search(LONG_A)
    assert pattern.spent
    with pytest.raises(RegexTooSlow):  # at once, without running it again
        pattern.search("ab")
    with pytest.raises(RegexTooSlow):
        list(pattern.finditer("ab"))
    # The MULTILINE twin used on chunks shares it.
    with pytest.raises(RegexTooSlow):
        pattern.with_flags(re.MULTILINE).search("ab")


def test_user_regex_behaves_as_re() -> None:
    pattern = compile_user_regex(r"(?i)step (\d+)")
    assert pattern.flags & re.IGNORECASE
    m = pattern.search("x STEP 12 y")
    assert m is not None and m.group(1) == "12" and m.span() == (2, 9)
    assert [m.group() for m in pattern.finditer("step 1 Step 2")] == ["step 1", "Step 2"]
    assert pattern == compile_user_regex(r"(?i)step (\d+)")
    assert bounded(re.compile("x", re.I)).search("X") is not None
    with pytest.raises(re.error):
        compile_user_regex("(")


def test_a_view_with_a_slow_include_stops_with_its_reason(tmp_path: Path) -> None:
    run = Run(write_run(tmp_path / "out", slow=3))
    run.refresh()
    view = View(run, Filter.from_options(grep=SLOW))
    for _ in range(1000):
        if view.complete:
            break
        view.build(0.01)
    assert view.complete
    assert view.stopped is not None and "too slow" in view.stopped
    assert len(view) == 0  # the slow records come last in the file, read first


def test_a_live_line_that_is_too_slow_stops_the_view(tmp_path: Path) -> None:
    out = write_run(tmp_path / "out", slow=0)
    run = Run(out)
    run.refresh()
    view = View(run, Filter.from_options(grep="(a|aa)+$|ordinary 7"))
    while not view.complete:
        view.build(0.01)
    assert view.stopped is None and len(view) == 1
    with (out / "logs" / "orchestrator.log").open("a", encoding="utf-8") as f:
        f.write(loguru_line("14:02:00", "INFO", LONG_A) + "\n")
    delta = view.update(run.refresh())  # no exception: the view stops
    assert delta.appended == 0 and view.stopped is not None and "too slow" in view.stopped
    with (out / "logs" / "orchestrator.log").open("a", encoding="utf-8") as f:
        f.write(loguru_line("14:02:01", "INFO", "ordinary 7 again") + "\n")
    assert view.update(run.refresh()).appended == 0  # stopped: takes no more rows
    assert len(view) == 1


def _env() -> dict[str, str]:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")])
    env.pop("FORCE_COLOR", None)
    return env


def test_tail_grep_with_a_slow_regex_ends_with_one_line(tmp_path: Path) -> None:
    out = write_run(tmp_path / "out")
    proc = subprocess.run(
        [sys.executable, "-m", "prime_rl_logs", "tail", str(out), "--grep", SLOW],
        capture_output=True,
        text=True,
        timeout=HARD_TIMEOUT_S,
        env=_env(),
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "too slow" in proc.stderr
    assert "Traceback" not in proc.stderr


DASHBOARD = textwrap.dedent(
    """
    import asyncio, json, sys
    from pathlib import Path
    from prime_rl_logs.tui.app import PrimeLogsApp

    async def main() -> None:
        app = PrimeLogsApp(Path(sys.argv[1]), pane="orchestrator")
        seen = {}
        async with app.run_test(size=(120, 30)) as pilot:
            async def until(check):
                for _ in range(3000):
                    await pilot.pause()
                    if check():
                        return True
                    await asyncio.sleep(0.01)
                return False

            pane = app.active_pane
            await until(lambda: pane.view is not None and pane.view.complete)
            seen["rows_before"] = len(pane.view)
            await pilot.press("f", *sys.argv[2], "enter")
            seen["stopped"] = await until(lambda: pane.view.stopped is not None)
            seen["status"] = str(pane.status.render())
            seen["rows_filtered"] = len(pane.view)
            await pilot.press("escape")
            await until(lambda: pane.view.stopped is None and pane.view.complete)
            seen["include_after_esc"] = repr(app.filter.include)
            seen["rows_after_esc"] = len(pane.view)
            await pilot.press("slash", *sys.argv[2], "enter")
            await until(lambda: len(app._notifications) > 0)
            seen["notes"] = [n.message for n in app._notifications]
            await pilot.press("q")
            await pilot.pause()
        seen["return_code"] = app.return_code
        print(json.dumps(seen))

    asyncio.run(main())
    """
)


def test_dashboard_answers_esc_and_q_after_a_slow_filter(tmp_path: Path) -> None:
    out = write_run(tmp_path / "out")
    proc = subprocess.run(
        [sys.executable, "-c", DASHBOARD, str(out), SLOW],
        capture_output=True,
        text=True,
        timeout=HARD_TIMEOUT_S,
        env=_env(),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["rows_before"] == 35
    assert seen["stopped"] and "too slow" in seen["status"] and "esc clears" in seen["status"]
    assert seen["rows_filtered"] == 0
    assert seen["include_after_esc"] == "None"
    assert seen["rows_after_esc"] == 35  # the unfiltered pane again
    assert any("search stopped" in n and "too slow" in n for n in seen["notes"])
    assert seen["return_code"] == 0
