"""`prime-logs tmux OUTPUT_DIR [-s SESSION]`: the command line of `prime_rl_logs.tmux`."""

from __future__ import annotations

import argparse
from pathlib import Path

from prime_rl_logs.tmux import open_session


def main(args: argparse.Namespace) -> int:
    """``prime-logs tmux``: open (or find) the session, then attach or say how."""
    return open_session(Path(args.output_dir), args.session)
