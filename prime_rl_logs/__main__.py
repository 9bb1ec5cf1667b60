"""`python -m prime_rl_logs` is `prime-logs`."""

from prime_rl_logs.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
