"""The app's side of the Metrics pane: `MetricsPane`.

The pane's widget (`tui.metrics_view.MetricsView`, with its plots) is no part of
the first screen: it is made, and mounted hidden under ``#main``, when first asked
for (`MetricsPane.view`), and its module is imported then. The run's metrics
(`metrics.LiveMetrics`, owned by the app) are read after the first frame in the
app's scanner process (`load`, `scanner.metrics_history`), which a worker thread
waits for; `refresh` redraws the header and the pane when the store's
version moved. `toggle` is ``m``: the pane in place of the log panes, or back.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from textual.containers import Vertical

from prime_rl_logs.scanner import ScannerClosed, metrics_history

if TYPE_CHECKING:
    from textual.widget import AwaitMount

    from prime_rl_logs.tui.app import PrimeLogsApp
    from prime_rl_logs.tui.metrics_view import MetricsView

__all__ = ["MetricsPane"]


class MetricsPane:
    """The Metrics pane of ``app``, made when first shown or first needed."""

    def __init__(self, app: PrimeLogsApp) -> None:
        self.app = app
        self._view: MetricsView | None = None
        self._mount: AwaitMount | None = None
        self.version = -1
        """The store version last drawn; -1 draws again (a new run)."""

    @property
    def view(self) -> MetricsView:
        """The widget, made and mounted (hidden) when first asked for."""
        view = self._view
        if view is None:
            from prime_rl_logs.tui.metrics_view import MetricsView

            view = self._view = MetricsView(id="metrics")
            view.display = False
            view.update_store(self.app.metrics.store)
            self._mount = self.app.query_one("#main", Vertical).mount(view)
        return view

    @property
    def showing(self) -> bool:
        """The pane is on screen (False before it was ever shown)."""
        return self._view is not None and self._view.display

    def hide(self) -> bool:
        """Take the pane off screen; whether it was on it."""
        if not self.showing:
            return False
        self.view.display = False
        return True

    def refresh(self) -> None:
        """Redraw the header and the pane when a value changed."""
        app = self.app
        store = app.metrics.store
        view = self._view
        if store.version == self.version or not (view or app.header).is_attached:
            return  # nothing new, or the app is closing (no plots may be mounted now)
        self.version = store.version
        app._update_header()
        if view is not None:
            view.update_store(store)

    def load(self) -> None:
        """Read the run's metrics history in a thread, then draw it."""
        self.version = -1
        self.app.run_worker(self._load(), exclusive=True, group="metrics")

    async def _load(self) -> None:
        metrics = self.app.metrics
        scanner = self.app.scanner
        try:
            history = await asyncio.to_thread(
                scanner.call, metrics_history, metrics.output_dir, metrics.logs
            )
        except ScannerClosed:  # the app is quitting
            return
        if metrics is self.app.metrics:  # not another run's by now
            metrics.adopt_history(history)
            self.refresh()

    async def toggle(self) -> None:
        """``m``: the pane in place of the log panes, or back to them."""
        app = self.app
        view = self.view
        if self._mount is not None:
            mounting, self._mount = self._mount, None
            await mounting  # the first time: its picker exists after this
        app.problems.hide()
        showing = not view.display
        view.display = showing
        app.panes[0].display = not showing
        app.panes[1].display = not showing and app._split
        if showing:
            self.refresh()
            view.picker.focus()
        else:
            app.panes[0].log_view.focus()
