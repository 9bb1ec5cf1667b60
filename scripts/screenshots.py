#!/usr/bin/env python3
"""Screenshots of the real app on a demo run: SVG from Textual, PNG for the README.

    python scripts/screenshots.py [--out screenshots] [--steps 14]

Writes a demo run with `prime-logs demo --no-ui`, then drives `PrimeLogsApp` with
Textual's Pilot through the main screens and saves each as ``NAME.svg`` and, when
``rsvg-convert`` (Debian's librsvg2-bin) or Chromium is on PATH, ``NAME.png``.
Look at every PNG before committing it.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from prime_rl_logs.tui.app import Filters, PrimeLogsApp

SIZE = (170, 46)

# name -> (starting pane, split partner, filters, keys pressed after start)
SCENES: dict[str, tuple[str, str | None, Filters, Sequence[str]]] = {
    "orchestrator": ("orchestrator", None, Filters(), ()),
    "trainer-all-ranks": ("trainer", None, Filters(), ()),
    "trainer-rank0": ("trainer", None, Filters(), ("0",)),
    "inference": ("inference", None, Filters(), ()),
    "env-workers": ("env", None, Filters(), ()),
    "all-merged": ("all", None, Filters(), ()),
    "level-warning": ("all", None, Filters(), ("w",)),
    "search": ("orchestrator", None, Filters(), ("slash", *"Reward", "enter")),
    "split": ("trainer", "orchestrator", Filters(ranks=frozenset({0})), ()),
    "metrics": ("orchestrator", None, Filters(), ("m",)),
    "help": ("orchestrator", None, Filters(), ("question_mark",)),
}


async def shoot(run_dir: Path, out: Path, name: str) -> Path:
    pane, split, filters, keys = SCENES[name]
    app = PrimeLogsApp(run_dir, pane=pane, split=split, filters=filters)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(100):
            await pilot.pause()
            done = all(p.view is None or p.view.complete for p in app.panes)
            if done and app.metrics.ready:
                break
            await asyncio.sleep(0.02)
        for key in keys:
            await pilot.press(key)
        await pilot.pause(0.3)
        svg = out / f"{name}.svg"
        app.save_screenshot(filename=svg.name, path=str(out))
    return svg


def to_png(svg: Path) -> Path | None:
    png = svg.with_suffix(".png")
    if shutil.which("rsvg-convert"):
        subprocess.run(["rsvg-convert", "-z", "1.2", "-o", str(png), str(svg)], check=True)
        return png
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium:
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                f"--screenshot={png}",
                "--window-size=1720,1180",
                svg.as_uri(),
            ],
            check=True,
            capture_output=True,
        )
        return png
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument("--steps", type=int, default=14)
    parser.add_argument("--run", type=Path, help="use this run instead of a new demo run")
    parser.add_argument("scenes", nargs="*", default=list(SCENES))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    run_dir = args.run
    if run_dir is None:
        run_dir = Path(tempfile.mkdtemp(prefix="prime-logs-shots-")) / "demo-run"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "prime_rl_logs",
                "demo",
                str(run_dir),
                "--no-ui",
                "--steps",
                str(args.steps),
                "--speed",
                "8",
            ],
            check=True,
        )
    for name in args.scenes:
        svg = asyncio.run(shoot(run_dir, args.out, name))
        png = to_png(svg)
        print(f"{svg}" + (f"  {png}" if png else "  (no PNG converter found)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
