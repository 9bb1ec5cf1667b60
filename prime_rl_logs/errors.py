"""The errors a user can cause, shared by every command.

`UsageError` is bad input from the user (a path that is not a run, an option
out of range): the command line prints ``str(exc)`` as one line on stderr and
exits 2, never with a traceback. Domain modules raise it (or `ValueError`);
they never import the command line that dispatches to them.
"""

from __future__ import annotations

__all__ = ["UsageError"]


class UsageError(Exception):
    """Bad input from the user: shown as one line, exit code 2, no traceback."""
