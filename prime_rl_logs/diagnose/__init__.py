"""The doctor: what went wrong in a run, where, and first; which rank stalled.

UI-free (no Textual, no rich), over `core` and `runs`; shared by ``prime-logs
doctor``, the dashboard's Problems pane and the alerts.

* `diagnose(run_dir, attempts=None, now=None) -> Report`: once.
* `Doctor(run_dir, attempts=None)`: ``update() -> bool`` (reads only what was
  appended) and ``report(now=None) -> Report``, for a worker thread.
* `Report`, `Finding`, `Group`, `Stall` (`diagnose.model`): the data, with
  ``to_json`` (docs/doctor.md).
* `SIGNATURES` (`diagnose.signatures`): the known failures, as data.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prime_rl_logs.diagnose.doctor import Doctor, diagnose
    from prime_rl_logs.diagnose.model import Finding, Group, Report, Stall
    from prime_rl_logs.diagnose.signatures import SIGNATURES, Signature

__all__ = ["SIGNATURES", "Doctor", "Finding", "Group", "Report", "Signature", "Stall", "diagnose"]

_HOME = {
    "Doctor": "doctor",
    "diagnose": "doctor",
    "Finding": "model",
    "Group": "model",
    "Report": "model",
    "Stall": "model",
    "SIGNATURES": "signatures",
    "Signature": "signatures",
}


def __getattr__(name: str) -> Any:
    """The names above, imported when first asked for: the dashboard imports
    `diagnose.model` for its first screen, and the doctor (with the runs model it
    reads statuses from) only when its worker first runs."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
