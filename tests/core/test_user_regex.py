"""Issue 15 item 5: a user's regex that would backtrack for minutes is refused."""

from __future__ import annotations

import re

import pytest

from prime_rl_logs.core.filter import Filter
from prime_rl_logs.core.user_regex import compile_user_regex, nested_repetition


@pytest.mark.parametrize("pattern", ["(a+)+$", "(a*)*", r"(\w*\s?)*x", "(x+y?)+", "((a+))+"])
def test_nested_repetition_is_refused(pattern: str) -> None:
    assert nested_repetition(pattern)
    with pytest.raises(re.error, match="exponential"):
        compile_user_regex(pattern)


@pytest.mark.parametrize(
    "pattern",
    [
        r"Reward: 0\.99",
        "(?i)timeout|nan",
        "a+b+",
        "(ab)+",
        r"[a-z]+(\.[a-z]+)*",  # the `.` separates the repetitions
        r"(\w+\s)+",
        "(?>a+)+",  # atomic: no backtracking into it
        "(a++)+",
        "(a{1,3})+",
    ],
)
def test_ordinary_patterns_compile(pattern: str) -> None:
    assert compile_user_regex(pattern).pattern == pattern


def test_command_line_filters_refuse_it_in_one_line() -> None:
    with pytest.raises(ValueError, match=r"--grep.*exponential"):
        Filter.from_options(grep="(a+)+$")
