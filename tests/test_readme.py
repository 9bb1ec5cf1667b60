"""The README's first minute (issue 15, item 15): the set-up lines make a virtual
environment, and the test command is exactly the last line of `.ci/run`."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def setup_commands() -> list[str]:
    """The bash blocks of the README's Set-up section, one command each."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", section, re.S)]


def test_the_set_up_lines_make_a_virtual_environment() -> None:
    demo, tests = setup_commands()
    for command in (demo, tests):
        assert command.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install")
    assert demo.endswith("prime-logs demo")


def test_the_readme_test_command_is_the_last_line_of_ci_run() -> None:
    lines = [line for line in (REPO / ".ci" / "run").read_text().splitlines() if line.strip()]
    assert setup_commands()[1] == lines[-1]
