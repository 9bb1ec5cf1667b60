"""A run's config as the runs table needs it: model, environments, ``max_steps``.

`read_config(attempt)` reads the attempt's config folder (``configs/attempt_<n>``,
else ``configs/``): prime-rl writes ``rl.json`` / ``trainer.json`` /
``orchestrator.json`` (``.toml`` in older versions). The first file holding each
field wins, ``rl`` before ``orchestrator`` before ``trainer``. Tolerant: a file that
is missing, unreadable or not valid JSON/TOML gives nothing, never an error.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from prime_rl_logs.runs.find import Attempt

__all__ = ["CONFIG_NAMES", "RunConfig", "read_config"]

CONFIG_NAMES: Final = ("rl", "orchestrator", "trainer")
"""Config files looked at, in order (``.json``, then ``.toml``)."""


@dataclass(frozen=True, slots=True)
class RunConfig:
    """The fields of a run's config the runs table shows, and the files read."""

    model: str | None = None
    envs: tuple[str, ...] = ()
    max_steps: int | None = None
    files: tuple[Path, ...] = field(default=())


def _load(path: Path) -> dict[str, Any] | None:
    try:
        if path.suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
        else:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _envs(data: dict[str, Any]) -> list[str]:
    """Environment names: ``orchestrator.train.source[].name`` (or ``.env.taskset.id``),
    older ``orchestrator.env[].id`` / ``env[].id``, and the same without the
    ``orchestrator`` level in ``orchestrator.*`` files."""
    names: list[str] = []
    for root in (data.get("orchestrator"), data):
        if not isinstance(root, dict):
            continue
        for items in (_get(root, "train", "source"), root.get("env"), root.get("envs")):
            for item in items if isinstance(items, list) else []:
                if not isinstance(item, dict):
                    continue
                name = item.get("name") or item.get("id") or _get(item, "env", "taskset", "id")
                if isinstance(name, str) and name not in names:
                    names.append(name)
    return names


def read_config(attempt: Attempt) -> RunConfig:
    """The model, environments and ``max_steps`` of an attempt's config."""
    folder = attempt.configs
    if folder is None:
        return RunConfig()
    model: str | None = None
    envs: list[str] = []
    max_steps: int | None = None
    read: list[Path] = []
    for name in CONFIG_NAMES:
        for suffix in (".json", ".toml"):
            path = folder / f"{name}{suffix}"
            data = _load(path) if path.is_file() else None
            if data is None:
                continue
            read.append(path)
            if model is None:
                value = _get(data, "model", "name")
                model = value if isinstance(value, str) else None
            if max_steps is None:
                max_steps = _int(data.get("max_steps")) or _int(
                    _get(data, "orchestrator", "max_steps")
                )
            if not envs:
                envs = _envs(data)
            break
    return RunConfig(model, tuple(envs), max_steps, tuple(read))
