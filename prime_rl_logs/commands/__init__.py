"""The command entry points of `prime-logs`: one module per command, `main(args) -> int`."""
