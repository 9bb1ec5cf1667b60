"""The Problems pane's widget: `ProblemsView`, and how each entry reads.

`ProblemsView` shows one `diagnose.model.Report`: a head line (run, status, its
reason), the first failure with its hint and the end of its traceback, the groups
(a consequence indented under its cause, `Group.caused_by`, with the note saying
how long after), the stalls, and the files that could not be read. It
rebuilds its rows only while shown (`show_report` keeps the report otherwise), so a
hidden pane costs nothing. ``enter`` on an entry hands its `Target` to ``on_open``
(`tui.problems.Problems.open`). Every text from a file is drawn plain: `plain` runs
`core.ansi.sanitize` and drops the colours; names go through `layout.safe_name`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from rich.text import Text
from textual import on
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from prime_rl_logs.core.ansi import sanitize, strip_sgr
from prime_rl_logs.diagnose.model import Finding, Group, Report, Stall
from prime_rl_logs.layout import safe_name

__all__ = ["ProblemsView", "Target", "finding_text", "group_text", "plain", "stall_text"]

TRACEBACK_LINES: Final = 12
"""Traceback lines shown under the first failure (the last ones, where it ends)."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where ``enter`` on an entry goes: a file and the byte offset of a record."""

    file: Path
    offset: int
    line: int


def plain(text: str) -> str:
    """Text from a file, safe to draw: no control sequence, no colour."""
    return strip_sgr(sanitize(text))


def clock(t: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t)) if t is not None else "--:--:--"


def _where(component: str, rank: int | None) -> str:
    return safe_name(component) + (f" r{rank}" if rank is not None else "")


def _file(f: Finding) -> str:
    return f"{safe_name(f.file.name)}:{f.line}"


def finding_text(f: Finding, name: str | None = None) -> Text:
    """The first failure: when, where and what (its group's title); then the message,
    file:line and attempt, the hint, and the end of the traceback, each indented."""
    text = Text()
    text.append(f"{clock(f.time)}{'~' if f.time_inferred else ' '} ", style="dim")
    text.append(f"{_where(f.component, f.rank)}  ", style="bold")
    text.append(plain(name or f.signature or "error"), style="bold red")
    text.append("\n    " + plain(f.message), style="red")
    attempt = f" · attempt {f.attempt}" if f.attempt is not None else ""
    text.append(f"\n    {_file(f)}{attempt}", style="dim")
    if f.hint:
        text.append(f"\n    hint: {plain(f.hint)}", style="italic")
    for line in f.traceback[-TRACEBACK_LINES:]:
        text.append("\n      " + plain(line), style="dim")
    return text


def _ranks(ranks: tuple[int, ...]) -> str:
    if not ranks:
        return ""
    if len(ranks) > 6:
        return f" r{min(ranks)}-{max(ranks)} ({len(ranks)} ranks)"
    return " r" + ",".join(map(str, ranks))


def _name(g: Group) -> str:
    return g.title or g.signature or g.template


def group_text(g: Group, *, folded: bool) -> Text:
    """A group: count and title; under it where (components, ranks), when (first and
    last seen) and the first record's file:line; a folded one, the note on its cause."""
    indent = "    ↳ " if folded else ""
    pad = " " * (len(indent) + 7)
    style = "yellow" if g.level == "WARNING" else "red"
    text = Text(indent, style="dim")
    text.append(f"{g.count:>5}× ", style=f"bold {style}")
    text.append(plain(_name(g)), style=style)
    text.append(f"\n{pad}{', '.join(map(safe_name, g.components))}{_ranks(g.ranks)}")
    when = clock(g.first_seen)
    if g.last_seen != g.first_seen:
        when += f" – {clock(g.last_seen)}"
    text.append(f" · {when} · {_file(g.first)}", style="dim")
    if g.note and folded:
        text.append(f"\n{pad}{plain(g.note)}", style="italic")
    return text


def stall_text(s: Stall) -> Text:
    text = Text("  ⏸ ", style="bold yellow")
    text.append(f"{_where(s.component, s.rank)} {plain(s.reason)}", style="bold yellow")
    if s.last_step is not None:
        text.append(f" at step {s.last_step}", style="dim")
    text.append(f"\n       {plain(s.detail)}")
    return text


def _title(label: str, count: int | None = None) -> Option:
    words = label if count is None else f"{label} ({count})"
    return Option(Text(words, style="bold underline"), disabled=True)


class ProblemsView(OptionList):
    """The Problems pane: first failure, groups, stalls; ``enter`` opens one."""

    DEFAULT_CSS = """
    ProblemsView, ProblemsView:focus { height: 1fr; border: none; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.report: Report | None = None
        self.targets: list[Target] = []
        self._shown: Report | None = None
        self.note = "reading the logs…"
        self.on_open: Callable[[Target], None] | None = None

    def show_report(self, report: Report | None) -> None:
        """Keep ``report``; rebuild the rows now only if the pane is on screen."""
        self.report = report
        if self.display:
            self.rebuild()

    def rebuild(self) -> None:
        report = self.report
        if report is self._shown and self.option_count:
            return
        self._shown = report
        highlighted = self.highlighted
        options, self.targets = self._rows(report)
        self.set_options(options)
        if highlighted is not None and highlighted < len(options):
            self.highlighted = highlighted
        elif self.targets:
            self.highlighted = next(
                i for i, o in enumerate(options) if o.id is not None and o.id.startswith("t")
            )

    def _rows(self, report: Report | None) -> tuple[list[Option], list[Target]]:
        options: list[Option] = []
        targets: list[Target] = []

        def entry(text: Text, target: Target | None) -> None:
            if target is None:
                options.append(Option(text, disabled=True))
                return
            options.append(Option(text, id=f"t{len(targets)}"))
            targets.append(target)

        if report is None:
            return [Option(Text(self.note, style="dim italic"), disabled=True)], []
        head = Text.assemble(
            ("Problems of ", "bold"),
            (safe_name(report.run), "bold"),
            ("  ", ""),
            (safe_name(report.status), "bold red" if report.status == "crashed" else "bold"),
            ("  enter: open the record  p/esc: back to the logs", "dim"),
        )
        if report.reason:
            head.append("\n" + plain(report.reason), style="dim")
        options.append(Option(head, disabled=True))
        if report.healthy:
            options.append(Option(Text("No problems found.", style="green"), disabled=True))
        by_key = {g.key: g for g in report.groups}
        f = report.first_failure
        if f is not None:
            options.append(_title("First failure"))
            cause = by_key.get(f.group or "")
            entry(finding_text(f, _name(cause) if cause else None), _target(f))

        def cause_of(g: Group) -> Group | None:
            """The group ``g`` is folded under (`Group.caused_by`: the doctor folds a
            consequence only under a cause of the same attempt)."""
            cause = by_key.get(g.caused_by or "")
            return None if cause is g else cause

        if report.groups:
            options.append(_title("Groups", len(report.groups)))
            tops = [g for g in report.groups if cause_of(g) is None]
            tops.sort(key=lambda g: g.level == "WARNING")  # errors first (a stable sort)
            for top in tops:
                entry(group_text(top, folded=False), _target(top.first))
                for g in report.groups:
                    if cause_of(g) is top:
                        entry(group_text(g, folded=True), _target(g.first))
        if report.stalls:
            options.append(_title("Stalls", len(report.stalls)))
            for s in report.stalls:
                target = Target(s.file, -1, 0) if s.file is not None else None
                entry(stall_text(s), target)
        for error in report.errors:
            options.append(Option(Text(f"! {plain(error)}", style="dim red"), disabled=True))
        return options, targets

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        oid = event.option.id
        if oid is None or not oid.startswith("t"):
            return
        if self.on_open is not None:
            self.on_open(self.targets[int(oid[1:])])


def _target(f: Finding) -> Target:
    return Target(f.file, f.offset, f.line)
