"""`Series`: the values of one metric by step, kept in two sorted arrays.

Steps are 64-bit (``array("q")``): `STEP_MAX` is the largest a series holds, and
`step_number` reads a run of digits as a step, or None when it does not fit.
"""

from __future__ import annotations

import bisect
import math
from array import array
from collections.abc import Iterator, Mapping
from typing import Final

__all__ = ["STEP_MAX", "Series", "step_number"]

# The largest step a `Series` holds (its steps are an ``array("q")``).
STEP_MAX: Final = 2**63 - 1


def step_number(text: str) -> int | None:
    """The step a run of digits names, or None if it does not fit in 64 bits.

    Checked on the length first: ``int()`` of more than 4,300 digits raises.
    """
    if len(text) > 19:
        return None
    number = int(text)
    return number if number <= STEP_MAX else None


class Series(Mapping[int, float]):
    """One series: values by step, in two arrays sorted by step (``steps``, ``numbers``).

    16 bytes a value, where a ``dict[int, float]`` costs about 100: a run of a
    million steps logs some ten series. Values come in step order nearly always
    (an append); another step is found by bisection and inserted.
    """

    __slots__ = ("numbers", "steps")

    def __init__(self) -> None:
        self.steps = array("q")
        self.numbers = array("d")

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[int]:
        return iter(self.steps)

    def __getitem__(self, step: int) -> float:
        steps = self.steps
        i = bisect.bisect_left(steps, step)
        if i < len(steps) and steps[i] == step:
            return self.numbers[i]
        raise KeyError(step)

    def __setitem__(self, step: int, value: float) -> None:
        self.put(step, value)

    def put(self, step: int, value: float) -> bool:
        """Store a value; False if the step held it already (a NaN equals a NaN)."""
        steps = self.steps
        if not steps or step > steps[-1]:
            steps.append(step)
            self.numbers.append(value)
            return True
        i = len(steps) - 1 if step == steps[-1] else bisect.bisect_left(steps, step)
        if steps[i] == step:
            old = self.numbers[i]
            if old == value or (math.isnan(old) and math.isnan(value)):
                return False
            self.numbers[i] = value
        else:
            steps.insert(i, step)
            self.numbers.insert(i, value)
        return True

    def holds(self, step: int) -> bool:
        """`in`, quick for the last step."""
        steps = self.steps
        if not steps or step > steps[-1]:
            return False
        return step == steps[-1] or step in self

    def __repr__(self) -> str:
        return f"Series({dict(self.items())!r})"
