"""The one-line regex prompt under the panes: `Prompt`.

``/`` opens it to search, ``f`` to show only matching lines, ``F`` to hide them.
`Prompt.open` sets its ``mode`` and title; `Prompt.pattern` compiles what was typed
(`core.user_regex.compile_user_regex`: an empty text is no pattern) and, for an
invalid regex, shows the error in the title (class ``-error``) and keeps the prompt
open. What a pattern does is the app's business (`tui.app.PrimeLogsApp`).
"""

from __future__ import annotations

import re
from typing import Final

from rich.text import Text
from textual.widgets import Input

from prime_rl_logs.core.user_regex import UserRegex, compile_user_regex

__all__ = ["PROMPT_TITLES", "Prompt"]

PROMPT_TITLES: Final = {
    "search": "search (regex)",
    "include": "show only lines matching (regex)",
    "exclude": "hide lines matching (regex)",
}
"""The prompt's title per mode."""


class Prompt(Input):
    """A regex prompt; ``mode`` is one of `PROMPT_TITLES`, or "" while closed."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.mode = ""

    def open(self, mode: str) -> None:
        """Show the prompt, empty, for ``mode``, and focus it."""
        self.mode = mode
        self.border_title = PROMPT_TITLES[mode]
        self.value = ""
        self.remove_class("-error")
        self.display = True
        self.focus()

    def close(self) -> None:
        self.display = False
        self.mode = ""

    def pattern(self, text: str) -> tuple[bool, UserRegex | None]:
        """``(ok, pattern)`` for what was typed: ``(True, None)`` for nothing;
        ``(False, None)`` for an invalid regex, said in the title."""
        try:
            return True, compile_user_regex(text) if text else None
        except re.error as exc:
            self.border_title = Text(f"invalid regex: {exc}")
            self.add_class("-error")
            return False, None
