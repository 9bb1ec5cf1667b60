"""The command entry points of ``prime-logs``: one module per subcommand.

Each module has ``main(args: argparse.Namespace) -> int``, and holds everything that
knows about argparse for its command: option checks, and turning the parsed
``Namespace`` into the options of the domain module that does the work (`tail`,
`metrics`, `demo`, `tmux`, the dashboard in `tui`). Bad input raises
`prime_rl_logs.errors.UsageError`; `prime_rl_logs.cli` prints it as one line and
exits 2. `cli` imports these modules only when their command runs, so
``prime-logs tail`` never imports Textual. Nothing outside `cli` and this package
imports from here.
"""
