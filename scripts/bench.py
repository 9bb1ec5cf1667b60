"""Benchmarks (not tests): ``python scripts/bench.py NAME [options]``.

Each subcommand lives in ``scripts/bench_<name>.py`` with a ``main(argv) -> int``;
this file only dispatches, loading the module by path so ``scripts/`` needs no
``__init__.py``. Figures and the commands that produced them go in
``docs/benchmarks.md``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCHMARKS = ("logger", "core", "metrics", "tui", "runs", "serve", "doctor", "memory")
HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in BENCHMARKS:
        print(
            f"usage: python scripts/bench.py {{{','.join(BENCHMARKS)}}} [options]", file=sys.stderr
        )
        return 2
    name, rest = argv[0], argv[1:]
    path = HERE / f"bench_{name}.py"
    if not path.is_file():
        print(f"bench.py: {path.name} does not exist yet", file=sys.stderr)
        return 2
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    result: int = module.main(rest)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
