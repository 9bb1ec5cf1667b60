"""`prime-logs serve [PATH]`: the dashboard in a browser, one app per tab.

`main` checks the options as ``watch`` does, opens the port (the next free one when
``--port`` is taken, said on stderr), prints the URL and the ``ssh -L`` line that
reaches it from a laptop, and serves ``prime-logs watch`` with the same PATH and
options (`watch_argv`: every option the ``watch`` parser holds, read from the parsed
namespace) through `prime_rl_logs.web`, until Ctrl+C. It binds to 127.0.0.1 unless
``--host`` says otherwise; a host other machines can reach gets a warning, as there
is no authentication. Without the optional ``textual-serve`` package (the ``web``
extra) it says in one line how to install it and exits 2.
"""

from __future__ import annotations

import argparse
import shlex
import socket
import sys

from prime_rl_logs.commands.watch import check_options
from prime_rl_logs.errors import UsageError
from prime_rl_logs.layout import safe_name

__all__ = ["INSTALL_HINT", "main", "watch_argv"]

INSTALL_HINT = "serve needs textual-serve: pip install 'prime-rl-logs[web]'"
SERVE_OPTIONS = frozenset({"host", "port", "public_url", "watch_parser", "help"})
"""The namespace fields that are serve's own, not passed to the served ``watch``."""


def watch_argv(args: argparse.Namespace, watch_parser: argparse.ArgumentParser) -> list[str]:
    """The arguments of ``prime-logs watch`` that repeat the parsed ``args``.

    Every option ``watch_parser`` defines and ``args`` holds with a value other than
    its default is written back in its long spelling; positionals in order.
    """
    positionals: list[str] = []
    options: list[str] = []
    for action in watch_parser._actions:
        dest = action.dest
        if dest in SERVE_OPTIONS or not hasattr(args, dest):
            continue
        value = getattr(args, dest)
        if not action.option_strings:
            if value is None:
                continue
            values = value if isinstance(value, list) else [value]
            positionals.extend(str(v) for v in values)
            continue
        if value is None or value == action.default:
            continue
        flag = max(action.option_strings, key=len)
        if action.nargs == 0:  # store_true / store_false / store_const
            options.append(flag)
        elif isinstance(value, list):
            for item in value:
                options.extend([flag, str(item)])
        else:
            options.extend([flag, str(value)])
    return [*options, "--", *positionals] if positionals else options


def main(args: argparse.Namespace) -> int:
    """Entry point of `prime-logs serve`; returns the exit code.

    Raises:
        UsageError: a bad option of ``watch``, a port that cannot be opened, or no
            ``textual-serve`` installed.
    """
    check_options(args)
    try:
        from prime_rl_logs import web
    except ImportError:
        raise UsageError(INSTALL_HINT) from None
    if getattr(args, "runs_screen", False):
        args.output_dir = args.runs  # each tab's watch opens on the runs screen
    if args.output_dir is not None:
        args.output_dir = args.output_dir.absolute()
    argv = [sys.executable, "-m", "prime_rl_logs", "watch", *watch_argv(args, args.watch_parser)]
    command = "exec " + shlex.join(argv)
    host: str = args.host
    try:
        sock = web.bind(host, args.port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{args.port}: {exc.strerror or exc}") from None
    port = sock.getsockname()[1]
    if port != args.port and args.port != 0:
        print(f"prime-logs: port {args.port} is in use; serving on {port}", file=sys.stderr)
    if not web.is_loopback(host):
        print(
            f"prime-logs: warning: listening on {host}, reachable from other machines; "
            "there is no authentication: anyone who opens the page reads the run's logs",
            file=sys.stderr,
        )
    name = safe_name(str(args.output_dir)) if args.output_dir is not None else "runs"
    public_url = args.public_url.rstrip("/") if args.public_url else None
    target = "localhost" if host in ("0.0.0.0", "::", "") or web.is_loopback(host) else host
    server = web.DashboardServer(command, sock, title=f"prime-logs {name}", public_url=public_url)
    server.take_signals()  # before the URL: whoever reads it may press Ctrl+C at once
    print(
        f"prime-logs: serving the dashboard of {name} at http://{_url_host(host)}:{port}",
        flush=True,
    )
    if public_url:
        print(f"prime-logs: the page is reached at {public_url}", flush=True)
    print(
        f"prime-logs: from a laptop: ssh -N -L {port}:{target}:{port} HOST "
        f"(HOST: this machine, {socket.gethostname()}), then open http://localhost:{port}",
        flush=True,
    )
    print("prime-logs: Ctrl+C stops the server and every tab's app", flush=True)
    server.serve()
    return 0


def _url_host(host: str) -> str:
    """The host part of a URL: IPv6 addresses go in brackets; a wildcard is localhost."""
    if host in ("0.0.0.0", "::", ""):
        return "localhost"
    return f"[{host}]" if ":" in host else host
