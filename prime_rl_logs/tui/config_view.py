"""The config view (``C``): the shown attempt's config files and ``command.txt``.

`config_text(files)` reads each file (at most `MAX_BYTES` of it), makes every line
safe (`layout.safe_name`: control characters, ESC included, are drawn escaped as
``\\x1b``; tabs are expanded first) and highlights it with rich's `Syntax` by its
suffix (TOML, JSON, YAML; ``command.txt`` as a shell line), under a bold header
naming the file. Only rich's styles (SGR) reach the terminal: the text itself holds
no control character. `ConfigView` is a full screen showing that text; ``/``
searches it (a user regex, `core.user_regex`), every match is marked and the first
at or after the top is scrolled to; ``n``/``N`` step through the matches; ``escape``
closes the prompt, then the screen.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import ScrollableContainer
from textual.screen import Screen
from textual.widgets import Input, Static

from prime_rl_logs.core.user_regex import RegexTooSlow, UserRegex, compile_user_regex
from prime_rl_logs.layout import safe_name
from prime_rl_logs.tui.keys import KeyFooter

__all__ = ["MAX_BYTES", "ConfigView", "config_text", "lexer_of", "safe_lines"]

MAX_BYTES = 1 << 20
"""The most of one config file read (a config is small; a huge file is cut)."""

MATCH_STYLE = "black on yellow"
LEXERS = {".toml": "toml", ".json": "json", ".yaml": "yaml", ".yml": "yaml", ".txt": "bash"}


def lexer_of(path: Path) -> str:
    return LEXERS.get(path.suffix.lower(), "text")


def safe_lines(text: str) -> str:
    """``text`` with tabs expanded and every other unprintable character escaped."""
    return "\n".join(safe_name(line.expandtabs(4)) for line in text.split("\n"))


def _read(path: Path) -> str:
    try:
        with path.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        return f"# cannot read: {exc.strerror}"
    text = data[:MAX_BYTES].decode("utf-8", "surrogateescape")
    if len(data) > MAX_BYTES:
        text += f"\n# … cut at {MAX_BYTES:,} bytes"
    return text


def config_text(files: Sequence[Path], root: Path | None = None) -> Text:
    """Every file, highlighted, under a header with its path (relative to ``root``)."""
    out = Text(no_wrap=True, overflow="ignore")
    for i, path in enumerate(files):
        name = path.relative_to(root) if root is not None and path.is_relative_to(root) else path
        if i:
            out.append("\n")
        out.append(f"── {safe_name(str(name))} ──\n", style="bold reverse")
        code = safe_lines(_read(path)).rstrip("\n")
        syntax = Syntax(code, lexer_of(path), theme="monokai", background_color="default")
        highlighted = syntax.highlight(code)
        highlighted.rstrip()
        out.append_text(highlighted)
        out.append("\n")
    return out


class ConfigView(Screen[None]):
    """The config files of one attempt, highlighted and searchable."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search", key_display="/"),
        Binding("n", "next(1)", "Next match"),
        Binding("N", "next(-1)", "Previous match", show=False),
        Binding("escape,C", "close", "Close"),
        Binding("q", "app.quit", "Quit"),
    ]
    DEFAULT_CSS = """
    ConfigView > #config-title { height: 1; background: $primary-darken-2; color: $text; }
    ConfigView > #config-scroll { height: 1fr; }
    ConfigView #config-body { width: auto; }
    ConfigView > #config-prompt { dock: bottom; margin-bottom: 1; border: round $primary; }
    ConfigView > #config-prompt.-error { border: round $error; }
    """

    def __init__(self, title: str, files: Sequence[Path], root: Path | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.files = list(files)
        self.text = (
            config_text(self.files, root)
            if self.files
            else Text("no config files or command.txt for this attempt", style="dim")
        )
        self.shown = self.text  # with the search's marks
        self.plain_lines = self.text.plain.split("\n")
        self.pattern: UserRegex | None = None
        self.matches: list[int] = []  # line numbers holding a match
        self.current: int | None = None  # index in matches of the one scrolled to
        self.body = Static(self.text, id="config-body")
        self.scroller = ScrollableContainer(self.body, id="config-scroll")
        self.prompt = Input(placeholder="regex", id="config-prompt")

    def compose(self) -> ComposeResult:
        yield Static(Text.assemble(" prime-logs  ", (self.title_text, "bold")), id="config-title")
        yield self.scroller
        yield self.prompt
        yield KeyFooter()

    def on_mount(self) -> None:
        self.prompt.display = False
        self.scroller.focus()

    def action_search(self) -> None:
        self.prompt.border_title = "search the config (regex)"
        self.prompt.remove_class("-error")
        self.prompt.value = ""
        self.prompt.display = True
        self.prompt.focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            pattern = compile_user_regex(event.value) if event.value else None
        except re.error as exc:
            self.prompt.border_title = Text(f"invalid regex: {exc}")
            self.prompt.add_class("-error")
            return
        self.prompt.display = False
        self.scroller.focus()
        self.search(pattern)

    def search(self, pattern: UserRegex | None) -> None:
        """Mark every match of ``pattern`` and scroll to the first from the top line."""
        self.pattern = pattern
        text = self.text.copy()
        self.matches = []
        self.current = None
        if pattern is not None:
            try:
                self.matches = [
                    i for i, line in enumerate(self.plain_lines) if pattern.search(line)
                ]
                text.highlight_regex(pattern, style=MATCH_STYLE)  # type: ignore[arg-type]
            except RegexTooSlow as exc:
                self.notify(f"search stopped: {exc}", severity="error", timeout=10, markup=False)
                self.matches = []
                text = self.text.copy()
        self.shown = text
        self.body.update(text)
        if pattern is not None and not self.matches:
            self.notify(
                f"no match for /{pattern.pattern}/", severity="warning", timeout=2, markup=False
            )
        elif self.matches:
            self._go(1, inclusive=True)

    def _go(self, step: int, *, inclusive: bool = False) -> None:
        """Scroll to the next (``step`` 1) or previous (-1) match; with ``inclusive``,
        the first match at or below the top line."""
        if inclusive or self.current is None:
            top = self.top_line
            index = next((i for i, m in enumerate(self.matches) if m >= top), 0)
        else:
            index = self.current + step
        if not 0 <= index < len(self.matches):
            self.notify("no more matches", timeout=2)
            return
        self.current = index
        self.scroller.scroll_to(y=max(0, self.matches[index] - 2), animate=False)

    def action_next(self, step: int) -> None:
        if self.matches:
            self._go(step)

    def action_close(self) -> None:
        if self.prompt.display:
            self.prompt.display = False
            self.scroller.focus()
        else:
            self.dismiss(None)

    @property
    def top_line(self) -> int:
        return round(self.scroller.scroll_y)
