"""Imports point one way: the logging library never loads the reader or the UI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def _modules_after_import(module: str) -> list[str]:
    code = (
        f"import json, sys, {module}; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('prime_rl_logs'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return list(json.loads(out.stdout))


@pytest.mark.parametrize(
    "module",
    ["prime_rl_logs", "prime_rl_logs.logger", "prime_rl_logs.config", "prime_rl_logs.env_workers"],
)
def test_the_logging_library_loads_neither_the_reader_nor_the_ui(module: str) -> None:
    loaded = _modules_after_import(module)
    assert module in loaded
    reader = [m for m in loaded if m.startswith(("prime_rl_logs.core", "prime_rl_logs.tui"))]
    assert reader == []


def test_the_logger_loads_only_the_library_modules() -> None:
    assert set(_modules_after_import("prime_rl_logs.logger")) <= {
        "prime_rl_logs",
        "prime_rl_logs.config",
        "prime_rl_logs.layout",
        "prime_rl_logs.levels",
        "prime_rl_logs.logger",
    }


def test_levels_is_a_leaf() -> None:
    assert _modules_after_import("prime_rl_logs.levels") == [
        "prime_rl_logs",
        "prime_rl_logs.levels",
    ]


def test_the_package_says_it_is_typed() -> None:
    """prime-rl's mypy reads `setup_logger`'s types only with the PEP 561 marker."""
    from pathlib import Path

    import prime_rl_logs

    assert (Path(prime_rl_logs.__file__).parent / "py.typed").is_file()


# What the dashboard's first screen does not need (issue 12, start-up): loaded when
# first used, by the key that shows it.
NOT_FOR_THE_FIRST_SCREEN = (
    "prime_rl_logs.tui.metrics_view",
    "prime_rl_logs.tui.plot",
    "prime_rl_logs.tui.help",
    "prime_rl_logs.tui.runs_screen",
    "prime_rl_logs.tui.config_view",
    "prime_rl_logs.runs",
    "prime_rl_logs.web",
    "regex",  # a user regex: compiled when one is typed
    "pygments",  # the config view's highlighting
    "tomllib",  # the runs model's config reader
)


def _all_modules_after(code: str) -> set[str]:
    code += "\nimport json, sys; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_the_dashboards_import_path_loads_nothing_the_first_screen_does_not_need() -> None:
    loaded = _all_modules_after(
        "import prime_rl_logs.cli, prime_rl_logs.commands.watch, prime_rl_logs.tui.app"
    )
    assert "prime_rl_logs.tui.app" in loaded
    assert sorted(loaded & set(NOT_FOR_THE_FIRST_SCREEN)) == []


def test_the_dashboards_first_screen_loads_nothing_it_does_not_show(tmp_path) -> None:
    """The app mounted, its first screen drawn and its history read: still none of
    them (the Metrics pane, help, runs screen and config view wait for their keys),
    but the runs model, which the header's attempt phrase reads after the first frame."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "orchestrator.log").write_text("10:00:00    INFO hello\n")
    loaded = _all_modules_after(
        "import asyncio\n"
        "from pathlib import Path\n"
        "from prime_rl_logs.tui.app import PrimeLogsApp\n"
        "async def main():\n"
        f"    app = PrimeLogsApp(Path({str(tmp_path)!r}))\n"
        "    async with app.run_test(size=(120, 30)) as pilot:\n"
        "        await pilot.pause()\n"
        "        assert app.panes[0].view is not None and len(app.panes[0].view) == 1\n"
        "asyncio.run(main())\n"
    )
    assert "prime_rl_logs.tui.app" in loaded
    drawn = set(NOT_FOR_THE_FIRST_SCREEN) - {"prime_rl_logs.runs", "tomllib"}
    assert sorted(loaded & drawn) == []
