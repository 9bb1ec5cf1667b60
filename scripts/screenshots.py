#!/usr/bin/env python3
"""Screenshots of the real app on a demo run: SVG from Textual, PNG for the README.

    python scripts/screenshots.py [--out screenshots] [--steps 24] [--speed 1]
                                  [--renderer auto] [--run OUTPUT_DIR] [SCENE ...]

Writes a demo run with `prime-logs demo --no-ui --layout seed` into a folder named
``demo-run`` (the header shows it), then drives `PrimeLogsApp` with Textual's Pilot
through the main screens and saves each as ``NAME.svg`` and ``NAME.png``. The
`RUNS_SCENES` (runs screen, attempt picker, compare, config view) are shot on the
demo's folder of two runs (``--layout today``), written into ``outputs``.

PNG: headless Chromium (Debian's ``chromium``) draws Textual's SVG faithfully;
``rsvg-convert`` (librsvg2-bin) is the fallback, but it drops the leading spaces
of a text run, so loguru's right-aligned levels (``   INFO``) come out left-aligned
and columns look ragged. Install ``fonts-firacode`` for the font the SVG asks for.

The sidebar's clock is pinned to one second after the run's last write, so every
scene shows the run as a user watching it live would see it at its last step,
however long the shooting takes. Look at every PNG before committing it.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
import types
from collections.abc import Sequence
from pathlib import Path

from textual.pilot import Pilot

from prime_rl_logs.core.view import Filter
from prime_rl_logs.tui import sidebar
from prime_rl_logs.tui.app import PrimeLogsApp

SIZE = (160, 45)

# name -> (starting pane, split partner, filter, keys pressed once settled)
SCENES: dict[str, tuple[str, str | None, Filter, Sequence[str]]] = {
    "orchestrator": ("orchestrator", None, Filter(), ()),
    "trainer-all-ranks": ("trainer", None, Filter(), ()),
    "trainer-rank0": ("trainer", None, Filter(), ("0",)),
    "inference": ("inference", None, Filter(), ()),
    "env-workers": ("env", None, Filter(), ()),
    "all-merged": ("all", None, Filter(), ()),
    "level-warning": ("all", None, Filter(), ("w",)),
    "search": ("orchestrator", None, Filter(), ("slash", *"Reward", "enter")),
    "split": ("trainer", "orchestrator", Filter(ranks=frozenset({0})), ()),
    "metrics": ("orchestrator", None, Filter(), ("m",)),
    "help": ("orchestrator", None, Filter(), ("question_mark",)),
}

# Scenes on the demo's folder of runs (``--layout today``): name -> keys pressed on
# the runs screen once its table is filled (the live run is the top row).
RUNS_SCENES: dict[str, Sequence[str]] = {
    "runs-screen": (),
    "attempt-picker": ("enter", "a"),
    "compare": ("down", "space", "up", "enter", "m"),
    "config": ("enter", "C"),
    "problems": ("enter", "p"),  # --out docs: the README's "When something goes wrong"
}


def pin_sidebar_clock(run_dir: Path) -> None:
    """Make the sidebar's "age since last write" relative to the run's last write."""
    mtimes = [p.stat().st_mtime for p in (run_dir / "logs").rglob("*") if p.is_file()]
    now = max(mtimes, default=0.0) + 1.0
    sidebar.time = types.SimpleNamespace(time=lambda: now)  # type: ignore[assignment]


async def settle(pilot: Pilot[int], app: PrimeLogsApp) -> None:
    """Wait until every pane's history is built and the metrics are loaded."""
    for _ in range(500):
        await pilot.pause()
        done = all(p.view is None or p.view.complete for p in app.panes)
        if done and app.metrics.ready:
            break
        await asyncio.sleep(0.02)
    await pilot.pause(0.2)


async def shoot(run_dir: Path, out: Path, name: str) -> Path:
    pane, split, flt, keys = SCENES[name]
    app = PrimeLogsApp(run_dir, pane=pane, split=split, flt=flt)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        if keys:
            await pilot.press(*keys)
            await settle(pilot, app)
        svg = out / f"{name}.svg"
        app.save_screenshot(filename=svg.name, path=str(out))
    return svg


async def shoot_runs(folder: Path, out: Path, name: str) -> Path:
    """A scene of `RUNS_SCENES`: the app opened on the runs screen of ``folder``."""
    from prime_rl_logs.demo.runs import LIVE
    from prime_rl_logs.tui.runs_screen import RunsScreen

    app = PrimeLogsApp(folder / LIVE, runs=folder, runs_screen=True)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(500):
            await pilot.pause()
            screen = app.screen
            if isinstance(screen, RunsScreen) and screen.table.row_count:
                break
            await asyncio.sleep(0.02)
        for key in RUNS_SCENES[name]:
            await pilot.press(key)
            await settle(pilot, app)
        if name == "compare":
            for _ in range(500):  # the marked run is read in a thread
                plot = app.metrics_view.plot("orchestrator/reward")
                if plot is not None and plot.others:
                    break
                await asyncio.sleep(0.02)
            await pilot.pause(0.3)
        if name == "problems":
            for _ in range(500):  # the doctor runs in a thread
                if app.problems.report is not None and app.problems.view.option_count > 4:
                    break
                await asyncio.sleep(0.02)
            await pilot.pause(0.3)
        svg = out / f"{name}.svg"
        app.save_screenshot(filename=svg.name, path=str(out))
    return svg


def demo(folder: Path, layout: str, steps: int, speed: float) -> None:
    """``prime-logs demo FOLDER --no-ui`` in the given layout."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "prime_rl_logs",
            "demo",
            str(folder),
            "--layout",
            layout,
            "--no-ui",
            "--steps",
            str(steps),
            "--speed",
            str(speed),
        ],
        check=True,
    )


def svg_size(svg: Path) -> tuple[int, int]:
    """Width and height of Textual's SVG, from its viewBox."""
    match = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg.read_text(encoding="utf-8"))
    if match is None:
        return 1970, 1150
    return round(float(match[1])), round(float(match[2]))


def find_renderer(choice: str) -> str | None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    rsvg = shutil.which("rsvg-convert")
    if choice == "chromium":
        return chromium
    if choice == "rsvg":
        return rsvg
    return chromium or rsvg


def to_png(svg: Path, renderer: str) -> Path:
    png = svg.with_suffix(".png")
    if Path(renderer).name == "rsvg-convert":
        subprocess.run([renderer, "-o", str(png), str(svg)], check=True)
        return png
    width, height = svg_size(svg)
    subprocess.run(
        [
            renderer,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--window-size={width},{height}",
            f"--screenshot={png}",
            svg.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
    )
    return png


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument("--steps", type=int, default=24, help="demo steps (default 24)")
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="demo pace (default 1: a step every 2 s, so the clock and steps/min look real)",
    )
    parser.add_argument("--run", type=Path, help="use this run instead of a new demo run")
    parser.add_argument(
        "--renderer",
        choices=("auto", "chromium", "rsvg"),
        default="auto",
        help="SVG to PNG: auto prefers Chromium, then rsvg-convert",
    )
    every = [*SCENES, *RUNS_SCENES]
    parser.add_argument("scenes", nargs="*", metavar="SCENE", help=", ".join(every))
    args = parser.parse_args(argv)
    unknown = [name for name in args.scenes if name not in every]
    if unknown:
        parser.error(f"unknown scene(s): {', '.join(unknown)}; choose from {', '.join(every)}")
    scenes = args.scenes or every
    args.out.mkdir(parents=True, exist_ok=True)
    renderer = find_renderer(args.renderer)
    run_dir = args.run
    if run_dir is None and any(name in SCENES for name in scenes):
        run_dir = Path(tempfile.mkdtemp(prefix="prime-logs-shots-")) / "demo-run"
        demo(run_dir, "seed", args.steps, args.speed)
    folder = None
    if any(name in RUNS_SCENES for name in scenes):
        folder = Path(tempfile.mkdtemp(prefix="prime-logs-shots-")) / "outputs"
        demo(folder, "today", args.steps, args.speed)
    if run_dir is not None:
        pin_sidebar_clock(run_dir)
    for name in scenes:
        if name in RUNS_SCENES:
            assert folder is not None
            svg = asyncio.run(shoot_runs(folder, args.out, name))
        else:
            assert run_dir is not None
            svg = asyncio.run(shoot(run_dir, args.out, name))
        png = to_png(svg, renderer) if renderer else None
        print(f"{svg}" + (f"  {png}" if png else "  (no PNG renderer found)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
