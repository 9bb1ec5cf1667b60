"""prime-logs: the logging library prime-rl processes use, and a live dashboard of their logs.

The library's face is three functions::

    from prime_rl_logs import setup_logger, get_logger, reset_logger

    setup_logger("info", log_file=Path("outputs/logs/orchestrator.log"))
    get_logger().success("Step 3 | Reward: 0.51")
"""

from prime_rl_logs.logger import get_logger, reset_logger, setup_logger

__all__ = ["get_logger", "reset_logger", "setup_logger"]
__version__ = "0.1.0"
