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

from prime_rl_logs.diagnose.doctor import Doctor, diagnose
from prime_rl_logs.diagnose.model import Finding, Group, Report, Stall
from prime_rl_logs.diagnose.signatures import SIGNATURES, Signature

__all__ = ["SIGNATURES", "Doctor", "Finding", "Group", "Report", "Signature", "Stall", "diagnose"]
