"""`prime-logs metrics OUTPUT_DIR [--csv | --json]`: a run's metric series on stdout.

Checks that OUTPUT_DIR looks like a run, reads it with
`prime_rl_logs.metrics.scan_run`, warns on stderr about files it could not read,
about folders too deep to be read (both in the store's ``errors``) and (in one line)
about values skipped for a step beyond 64 bits, names escaped by
`layout.safe_name`, and writes CSV (one row per step) or JSON. A reader that goes
away (``| head``) ends the command quietly with exit code 0.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from prime_rl_logs import layout
from prime_rl_logs.errors import UsageError
from prime_rl_logs.metrics import scan_run
from prime_rl_logs.stdout import write_all


def main(args: argparse.Namespace) -> int:
    """``prime-logs metrics``."""
    out = Path(args.output_dir)
    if not out.is_dir():
        raise UsageError(f"{out} does not exist")
    if not layout.logs_dir(out).is_dir() and not layout.metrics_jsonl(out).is_file():
        raise UsageError(f"{out} has no logs/ folder and no metrics.jsonl: not a prime-rl run")
    store = scan_run(out, getattr(args, "logs", None))
    for error in store.errors:
        print(f"prime-logs: warning: {layout.safe_name(error)}", file=sys.stderr)
    if store.skipped:
        print(
            f"prime-logs: warning: {store.skipped} value(s) skipped: step beyond 64 bits",
            file=sys.stderr,
        )
    text = store.to_json() + "\n" if getattr(args, "json", False) else store.to_csv()
    write_all(text)  # a reader gone (`| head`) stops it quietly
    return 0
