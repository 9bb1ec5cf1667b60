"""The dashboard with hostile names (issue 15, items 1, 3 and 4): the sidebar, the Env
pane's source tags, a source pane's title and the metrics picker draw names escaped;
a name that is not UTF-8 neither stops the watcher nor the tag colouring; folders
too deep to read are reported in a notification."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.strip import Strip
from textual.widgets._toast import Toast

from prime_rl_logs.layout import classify
from prime_rl_logs.tui.app import PrimeLogsApp
from prime_rl_logs.tui.log_view import tag_style
from prime_rl_logs.tui.pane import PaneSpec
from prime_rl_logs.tui.sidebar import Sidebar
from tests.test_hostile_names import (
    EVIL,
    NOT_UTF8,
    deep_run,  # noqa: F401 (a fixture)
    hostile_run,
)
from tests.tui.test_app import SIZE, active, screen_lines, settle, wait_for


def printable(strip: Strip) -> bool:
    """Every cell of a drawn line is a printable character (no ESC, no C1, no BEL)."""
    return all(segment.text.isprintable() for segment in strip)


def sidebar_rows(sidebar: Sidebar) -> list[str]:
    rows = []
    for i in range(sidebar.option_count):
        prompt = sidebar.get_option_at_index(i).prompt
        rows.append(prompt.plain if isinstance(prompt, Text) else str(prompt))
    return rows


def test_tag_style_of_a_name_that_is_not_utf8() -> None:
    source = classify(Path("/r/logs/env_workers") / f"{NOT_UTF8}.log", Path("/r/logs"))
    tag_style(source.tag)  # raised UnicodeEncodeError on the raw name


async def test_sidebar_and_env_pane_draw_names_escaped(tmp_path: Path) -> None:
    run = hostile_run(tmp_path)
    app = PrimeLogsApp(run)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        rows = sidebar_rows(app.sidebar)
        assert all(row.isprintable() for row in rows), rows
        assert any(row.startswith("\\x1b]2;PWNED") for row in rows), rows
        assert any(row.startswith("\\xff\\xfebad") for row in rows), rows
        height = app.sidebar.scrollable_content_region.height
        assert all(printable(app.sidebar.render_line(y)) for y in range(height))

        await pilot.press("4")  # Env workers: the tags of both hostile files
        await settle(pilot, app)
        lv = active(app)
        await wait_for(pilot, lambda: any("not utf-8" in line for line in screen_lines(lv)))
        lines = screen_lines(lv)
        assert any(line.startswith("\\xff\\xfebad") for line in lines), lines
        assert any(line.startswith("\\x1b]2;PWNED") for line in lines), lines
        height = lv.scrollable_content_region.height
        assert all(printable(lv.render_line(y)) for y in range(height))

        # Open the hostile source as its own pane: its title is escaped too.
        rel = f"env_workers/{EVIL}.log"
        ids = [app.sidebar.get_option_at_index(i).id for i in range(app.sidebar.option_count)]
        app.sidebar.focus()
        app.sidebar.highlighted = ids.index(rel)
        await pilot.press("enter")
        await settle(pilot, app)
        pane = app.panes[0]
        assert pane.spec.rel == rel  # the identity stays the raw name
        title = str(pane.title._text)
        assert "\\x1b]2;PWNED" in title and title.isprintable(), title


async def test_a_name_that_is_not_utf8_is_followed_live(tmp_path: Path) -> None:
    run = hostile_run(tmp_path)
    app = PrimeLogsApp(run)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot, app)
        with open(run / "logs" / "env_workers" / f"{NOT_UTF8}.log", "a") as f:
            f.write("23:00:09    INFO written while watching\n")
        lv = active(app)
        await wait_for(pilot, lambda: any("while watching" in x for x in screen_lines(lv)))


async def test_metrics_picker_draws_keys_escaped(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    key = f"{EVIL}loss"
    (tmp_path / "metrics.jsonl").write_text(json.dumps({"step": 1, key: 0.5}) + "\n")
    app = PrimeLogsApp(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m")
        picker = app.metrics_view.picker
        await wait_for(pilot, lambda: picker.option_count > 0)
        prompts = [str(picker.get_option_at_index(i).prompt) for i in range(picker.option_count)]
        assert any("\\x1b]2;PWNED" in p for p in prompts), prompts
        assert all(p.isprintable() for p in prompts), prompts


async def test_folders_too_deep_are_reported_in_a_notification(
    deep_run: Callable[[int], Path],  # noqa: F811 (the fixture, imported)
) -> None:
    run = deep_run(200)
    app = PrimeLogsApp(run)
    notes: list[str] = []

    def notify(message: str, **kw: Any) -> None:
        notes.append(message)

    app.notify = notify  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert any("top" in line for line in screen_lines(active(app)))
        await wait_for(pilot, lambda: bool(notes))
        [note] = notes
        assert note.startswith("folders more than 32 deep under logs/ are not read: d/d/")


async def test_brackets_in_a_name_or_a_regex_are_drawn_as_they_are(tmp_path: Path) -> None:
    """The title and status lines draw plain text: a file called ``gsm8k_[red]_[b].log``
    or a filter ``[/]x|[red]`` was read as Textual markup (``[red]`` swallowed as a
    style, and ``[/]`` a MarkupError that ended the app)."""
    run = hostile_run(tmp_path)
    odd = run / "logs" / "env_workers" / "gsm8k_[red]_[b].log"
    odd.write_bytes(b"12:00:00    INFO odd\n")
    app = PrimeLogsApp(run)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("F", *"[/]x|[red]", "enter")
        await settle(pilot, app)
        assert "hide /[/]x|[red]/" in app.status.render_line(0).text
        pane = app.active_pane
        pane.spec = PaneSpec.of_source("env_workers/gsm8k_[red]_[b].log")
        pane.update_chrome()
        await pilot.pause()
        assert "gsm8k_[red]_[b].log" in pane.title.render_line(0).text
        await pilot.press("escape", "slash", *"[/]nowhere", "enter")  # no match: a toast
        await wait_for(pilot, lambda: len(app._notifications) > 0)
        # What the toast draws (Textual's own Toast.render: markup raised MarkupError).
        shown = [Toast(n).render().plain for n in app._notifications]
        assert any("no match for /[/]nowhere/" in text for text in shown), shown
