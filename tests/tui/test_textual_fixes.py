"""The fixes to Textual of `tui.textual_fixes`."""

from __future__ import annotations

import gc

from rich.segment import Segment
from textual.strip import Strip

import prime_rl_logs.tui.app  # noqa: F401 (applies the fixes)


def test_a_strip_divided_at_its_end_does_not_refer_to_itself() -> None:
    """Textual kept ``[self]`` in the strip's own cache: every strip drawn was a cycle
    for the collector (a 180-280 ms collection at 10,000 lines/s)."""
    strip = Strip([Segment("0123456789")])
    assert strip.divide([10]) == [strip]
    assert strip.divide([10, 12]) == [strip]  # cuts past the end are dropped
    holders = [r for r in gc.get_referrers(strip) if isinstance(r, list) and strip in r]
    assert holders == []
    parts = strip.divide([4, 10])  # any other cut: Textual's own, cached
    assert [p.text for p in parts] == ["0123", "456789"]
    assert strip.divide([4, 10]) is parts
