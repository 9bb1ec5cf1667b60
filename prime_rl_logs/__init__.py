"""prime-logs: the logging library prime-rl processes use, and a live dashboard of their logs.

The library's face is three functions::

    from prime_rl_logs import setup_logger, get_logger, reset_logger

    setup_logger("info", log_file=Path("outputs/logs/orchestrator.log"))
    get_logger().success("Step 3 | Reward: 0.51")

Misuse raises `LoggerAlreadySetUp` (a second `setup_logger`) or `LoggerNotSetUp`
(`get_logger` first), both `RuntimeError`. They are imported on first use, so the
dashboard (which never logs through loguru) does not pay for loguru at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prime_rl_logs.logger import (
        LoggerAlreadySetUp,
        LoggerNotSetUp,
        get_logger,
        reset_logger,
        setup_logger,
    )

__all__ = ["LoggerAlreadySetUp", "LoggerNotSetUp", "get_logger", "reset_logger", "setup_logger"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in __all__:
        from prime_rl_logs import logger

        return getattr(logger, name)
    raise AttributeError(f"module 'prime_rl_logs' has no attribute {name!r}")
