"""`LogConfig` and the ``[orchestrator.log]`` table of a prime-rl TOML config.

A prime-rl config names its logging options per component::

    [log]                      # shared by every component (optional)
    level = "info"

    [orchestrator.log]         # overrides [log] for the orchestrator
    level = "debug"
    vf_level = "info"
    env_worker_logs = true

`load_log_config(path, table="orchestrator")` reads ``[log]`` first, then
``[orchestrator.log]`` on top of it (``table="trainer"`` reads ``[trainer.log]``,
``table=None`` only ``[log]``). Anything wrong with the file raises `ConfigError`,
a `ValueError` whose text is one line naming the file, the key and what is allowed,
so a command can print it as is instead of a traceback.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Final

from prime_rl_logs import levels

# Kept for callers of the 0.1 names; the table lives in `prime_rl_logs.levels`.
LEVEL_NUMBERS: Final = levels.LEVELS
LEVEL_ALIASES: Final = levels.ALIASES
ALLOWED_LEVELS: Final = levels.ALLOWED

TABLES: Final = ("orchestrator", "trainer")


class ConfigError(ValueError):
    """Bad logging configuration; ``str(exc)`` is one line fit to show a user."""


def normalize_level(name: str) -> str:
    """A level name as loguru spells it: ``"warn"`` -> ``"WARNING"`` (`levels.normalize`).

    Args:
        name: a level name in any case, or a stdlib alias (``warn``, ``fatal``).

    Raises:
        ValueError: one line listing the allowed names, for anything else.
    """
    return levels.normalize(name)


def level_number(name: str) -> int:
    """The number of a level name (``"warn"`` -> 30), for the stdlib ``logging`` side.

    Args:
        name: a level name, as `normalize_level` takes it.

    Raises:
        ValueError: as `normalize_level`.
    """
    return levels.number(name)


@dataclass(frozen=True)
class LogConfig:
    """How a process logs. Field names and defaults match prime-rl's ``LogConfig``."""

    level: str = "info"
    """Level of this process's logger."""
    vf_level: str = "warn"
    """Level at which the ``verifiers`` library's stdlib logger is routed into ours."""
    env_worker_logs: bool = False
    """Environment workers append to ``logs/env_workers/{env_name}.log``."""
    file: bool = True
    """Write the component's log file as well as stdout."""
    json_logging: bool = False
    """One JSON object per line instead of the coloured text format."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type in ("bool", bool):
                if not isinstance(value, bool):
                    raise ValueError(
                        f"{f.name} must be true or false, got {value!r} ({_type_name(value)})"
                    )
            elif not isinstance(value, str):
                raise ValueError(
                    f"{f.name} must be a level name ({ALLOWED_LEVELS}), "
                    f"got {value!r} ({_type_name(value)})"
                )
            else:
                try:
                    normalize_level(value)
                except ValueError as exc:
                    raise ValueError(f"{f.name} = {exc}") from None


def _type_name(value: object) -> str:
    return {
        bool: "boolean",
        int: "integer",
        float: "float",
        str: "string",
        list: "array",
        dict: "table",
    }.get(type(value), type(value).__name__)


KEYS: Final = tuple(f.name for f in fields(LogConfig))


def _table(doc: dict[str, Any], dotted: str, where: str) -> dict[str, Any] | None:
    node: Any = doc
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    if not isinstance(node, dict):
        raise ConfigError(f"{where}: [{dotted}] must be a table, got {_type_name(node)}")
    return node


def load_log_config(path: str | os.PathLike[str], table: str | None = "orchestrator") -> LogConfig:
    """Read the logging options of one component from a TOML file.

    Values come from ``[log]`` (shared) overridden by ``[{table}.log]``; keys absent
    from both keep `LogConfig`'s defaults, and a file with neither table gives the
    defaults.

    Args:
        path: the TOML file.
        table: the component whose ``[{table}.log]`` is read over ``[log]``
            (``"orchestrator"`` or ``"trainer"``); None reads ``[log]`` only.

    Returns:
        The component's `LogConfig`.

    Raises:
        ConfigError: an unreadable file, invalid TOML, an unknown key, a level that
            is not a loguru level, or a value of the wrong type (one line naming the
            file and the key).
        ValueError: ``table`` is not one of `TABLES` or None.
    """
    where = str(path)
    if table is not None and table not in TABLES:
        raise ValueError(f"table must be one of {', '.join(TABLES)} or None, got {table!r}")
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read config: {exc.strerror or exc}") from None
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where}: invalid TOML: not UTF-8 ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: invalid TOML: {exc}") from None

    names = ["log"] if table is None else ["log", f"{table}.log"]
    values: dict[str, Any] = {}
    for name in names:
        found = _table(doc, name, where)
        if found is None:
            continue
        for key, value in found.items():
            if key not in KEYS:
                raise ConfigError(
                    f"{where}: [{name}] unknown key {key!r}; allowed keys: {', '.join(KEYS)}"
                )
            try:
                LogConfig(**{key: value})
            except ValueError as exc:
                raise ConfigError(f"{where}: [{name}] {exc}") from None
            values[key] = value
    return LogConfig(**values)
