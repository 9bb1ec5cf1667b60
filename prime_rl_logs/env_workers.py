"""Logging inside environment worker processes, and the ``verifiers`` library's logs.

The orchestrator runs each environment in worker subprocesses (several per
environment). With ``env_worker_logs = true`` every worker of one environment
appends to the shared ``logs/env_workers/{env_name}.log``, each line tagged
``[{env_name}_{worker_index}]``; the records of different workers never tear each
other because every record is one ``O_APPEND`` write (see `prime_rl_logs.logger`).
With ``false`` the worker writes no file of its own: a forked worker keeps the
logger it inherited from the orchestrator, a spawned one logs to its inherited
stdout.

``verifiers`` logs through the standard library; `intercept_verifiers_logging`
routes its ``logging.getLogger("verifiers")`` into our logger at ``vf_level``, each
message prefixed ``[verifiers] ``, and stops it from propagating to the root logger
(where it would be printed a second time, in another format).
"""

from __future__ import annotations

import logging
import os
from types import FrameType
from typing import TYPE_CHECKING, Final

from prime_rl_logs import layout, levels
from prime_rl_logs.config import LogConfig
from prime_rl_logs.logger import LoggerNotSetUp, get_logger, reset_logger, setup_logger

if TYPE_CHECKING:
    from loguru import Logger

__all__ = ["VerifiersHandler", "intercept_verifiers_logging", "setup_env_worker_logger"]

VERIFIERS: Final = "verifiers"


def setup_env_worker_logger(
    env_name: str,
    worker_index: int,
    output_dir: str | os.PathLike[str],
    config: LogConfig,
) -> Logger:
    """Set up logging in one environment worker process and return its logger.

    Call it first thing in the worker. With ``config.env_worker_logs`` any logger
    inherited through ``fork`` is dropped (its handlers would write into the
    orchestrator's file) and a new one appends to
    ``logs/env_workers/{env_name}.log`` only, tagged ``[{env_name}_{worker_index}]``.
    Without it a forked worker keeps the inherited logger and a spawned one gets a
    stdout-only logger with the same tag. Either way ``verifiers`` is routed in at
    ``config.vf_level``.

    Args:
        env_name: the environment's name: the file's name and the tag's first part.
        worker_index: this worker's index within the environment: the tag's second part.
        output_dir: the run's output folder (the file is under its ``logs/``).
        config: the orchestrator's `LogConfig` (``env_worker_logs``, ``level``,
            ``vf_level``, ``json_logging`` are read).

    Returns:
        The logger this worker logs with, also what `get_logger` returns.

    Raises:
        OSError: the shared file cannot be created or opened.
    """
    tag = f"{env_name}_{worker_index}"
    if config.env_worker_logs:
        reset_logger()
        logger = setup_logger(
            config.level,
            layout.env_worker_log(output_dir, env_name),
            append=True,  # shared by every worker of the environment
            tag=tag,
            json_logging=config.json_logging,
            console=False,
        )
    else:
        try:
            logger = get_logger()
        except LoggerNotSetUp:
            logger = setup_logger(config.level, tag=tag, json_logging=config.json_logging)
    intercept_verifiers_logging(config.vf_level)
    return logger


# (number, name) of the loguru levels a stdlib level number is rounded up to when
# loguru does not know its name. The stdlib has no SUCCESS, so a custom stdlib level
# between INFO and WARNING becomes WARNING.
_STDLIB_ROUNDING: Final = tuple(
    (number, name) for name, number in levels.LEVELS.items() if number != levels.SUCCESS
)


def _loguru_level(record: logging.LogRecord) -> str:
    name = record.levelname
    if name in levels.LEVELS:
        return name
    for number, loguru_name in _STDLIB_ROUNDING:
        if record.levelno <= number:
            return loguru_name
    return "CRITICAL"


class VerifiersHandler(logging.Handler):
    """A stdlib handler that re-emits records through our logger with ``[verifiers] ``.

    The logger is looked up at each record, so a handler installed before a fork
    writes through the child's logger. Before `setup_logger` (or after
    `reset_logger`) records go to stdlib's last-resort handler rather than vanish.
    """

    def emit(self, record: logging.LogRecord) -> None:
        """Write ``record`` through our logger at its level, or hand it to stdlib's
        last-resort handler when no logger is set up.

        Args:
            record: the stdlib record verifiers logged.
        """
        try:
            logger = get_logger()
        except LoggerNotSetUp:
            if logging.lastResort is not None:
                logging.lastResort.handle(record)
            return
        try:
            message = record.getMessage()
        except Exception:
            self.handleError(record)
            return
        # Point loguru's {file}/{line} at the code that called verifiers' logger.
        frame: FrameType | None = logging.currentframe()
        depth = 0
        while frame is not None and (
            frame.f_code.co_filename == logging.__file__ or frame.f_code.co_filename == __file__
        ):
            frame = frame.f_back
            depth += 1
        logger.opt(depth=depth, exception=record.exc_info).log(
            _loguru_level(record), "[verifiers] {}", message
        )


def intercept_verifiers_logging(level: str = "warn") -> None:
    """Route ``logging.getLogger("verifiers")`` into our logger at ``level``.

    Replaces the handlers already on that logger and turns propagation off, so each
    verifiers record is written once, in our format. Calling it again only changes
    the level.

    Args:
        level: the lowest level passed on, a loguru level name (``"warn"`` accepted).

    Raises:
        ValueError: ``level`` is not a log level.
    """
    vf_logger = logging.getLogger(VERIFIERS)
    for handler in list(vf_logger.handlers):
        vf_logger.removeHandler(handler)
    vf_logger.addHandler(VerifiersHandler())
    vf_logger.setLevel(levels.number(level))
    vf_logger.propagate = False
