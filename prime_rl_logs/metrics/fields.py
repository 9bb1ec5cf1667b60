"""One field of a metric line -> a number: ``Key: value`` with its unit, or a duration.

`parse_fields` reads the ``|``-separated parts of a step line (or the ``,``-separated
parts of a vLLM line) into ``(key, value)`` pairs: the key normalised (`field_key`:
``Max. Off-Policy Level`` -> ``max_off_policy_level``), the value a float with
percentages as percent, memory in GiB and durations in seconds (`parse_duration`).
A part whose value does not parse is skipped, never the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Final

__all__ = ["DURATION_UNITS", "field_key", "parse_duration", "parse_fields"]

_NUM: Final = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|NaN|inf|Infinity)"
_DURATION: Final = re.compile(r"(?:\d+(?:\.\d+)?\s*(?:ms|min|s|m|h|d)\b\s*)+$")
_DURATION_PART: Final = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|min|s|m|h|d)\b")
DURATION_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_FRACTION: Final = re.compile(rf"/\s*(\d+)\s*(?:\(\s*({_NUM})\s*%\s*\))?$")
_MEMORY_TO_GIB: Final = {"KiB": 1 / 1024**2, "MiB": 1 / 1024, "GiB": 1.0, "TiB": 1024.0}


def parse_duration(text: str) -> float | None:
    """Seconds in ``120ms``, ``9.8s``, ``1m 5s``, ``2h 3m``, ``1d 4h``; None if not one."""
    text = text.strip()
    if not text or _DURATION.match(text) is None:
        return None
    return sum(float(n) * DURATION_UNITS[u] for n, u in _DURATION_PART.findall(text))


_key_cache: dict[str, str] = {}
_NON_WORD: Final = re.compile(r"[^a-z0-9]+")


def field_key(label: str) -> str:
    """``Max. Off-Policy Level`` -> ``max_off_policy_level``; ``Peak Mem.`` -> ``peak_mem``."""
    key = _key_cache.get(label)
    if key is None:
        key = _NON_WORD.sub("_", label.lower().replace(".", "")).strip("_")
        if len(_key_cache) < 10_000:
            _key_cache[label] = key
    return key


# One field of a step line: "Key: value", "Key value" or "Key=value". The key is the
# shortest run of words before something that starts like a number; then the number,
# an optional unit ("%", "s", "GiB", "tokens/s") and whatever follows (a second
# duration part, "/128 (93.8%)", "(±12.1)"), trailing punctuation dropped.
_FIELD: Final = re.compile(
    r"\s*([A-Za-z][\w .\-/@#'()]*?)\s*(?::\s*|=\s*|\s+)"
    rf"({_NUM})\s*(%|[A-Za-zµ]+(?:/[A-Za-z]+)?)?\s*(.*?)[\s.,;]*$",
    re.S,
)


def parse_fields(parts: Iterable[str], renames: dict[str, str]) -> Iterator[tuple[str, float]]:
    """(key, value) of each ``Key value`` part; a bare duration is ``time``.

    Values: ``0.5123``; ``3120 tokens/s``, ``4.1%``, ``18.2 GiB`` -> the number (KiB
    and MiB converted to GiB); ``9.8s``, ``120ms``, ``1m 5s`` -> seconds; ``120/128
    (93.8%)`` -> ``key`` 120, ``key_total`` 128, ``key_pct`` 93.8. A value that is
    none of these is skipped.
    """
    for part in parts:
        # Fast path for the commonest field, "Key: 0.1234": no regex.
        colon = part.find(":")
        if colon > 0:
            label = part[:colon].strip()
            if label[:1].isalpha():
                try:
                    number = float(part[colon + 1 :])
                except ValueError:
                    pass
                else:
                    key = field_key(label)
                    if key:
                        yield renames.get(key, key), number
                    continue
        m = _FIELD.match(part)
        if m is None:
            duration = parse_duration(part)
            if duration is not None:
                yield renames.get("time", "time"), duration
            continue
        label, number_text, unit, rest = m.groups()
        key = field_key(label)
        if not key:
            continue
        key = renames.get(key, key)
        number = float(number_text)
        if unit is not None and unit in DURATION_UNITS:
            if rest:
                duration = parse_duration(part[m.start(2) : m.end(4)])
                if duration is None:
                    continue
                number = duration
            else:
                number *= DURATION_UNITS[unit]
            yield key, number
        elif not rest or (rest[0] == "(" and rest[-1] == ")"):
            factor = _MEMORY_TO_GIB.get(unit) if unit is not None else None
            yield key, number * factor if factor is not None else number
        elif unit is None and rest[0] == "/":
            frac = _FRACTION.match(rest)
            if frac is None:
                continue
            yield key, number
            yield key + "_total", float(frac.group(1))
            if frac.group(2) is not None:
                yield key + "_pct", float(frac.group(2))
