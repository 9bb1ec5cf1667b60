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
