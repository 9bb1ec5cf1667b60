"""The Metrics pane: picker, plots of the picked series, live updates, layout."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import App, ComposeResult
from textual.geometry import Region

from prime_rl_logs.metrics import MetricsStore
from prime_rl_logs.tui.metrics_view import (
    EMPTY_MESSAGE,
    MetricsView,
    SeriesPlot,
    default_selected,
    series_order,
)

REWARDS = (0.5123, 0.5530, 0.5391, 0.5832)


def orchestrator_line(step: int, reward: float) -> str:
    return (
        f"Step {step} | Time: 13.87s | Reward: {reward:.4f} | Throughput: 1520.3 tokens/s | "
        "Seq. Length: 412.5 tokens/sample | Async Level: 1 | Max. Off-Policy Level: 2"
    )


def trainer_line(step: int) -> str:
    return (
        f"Step {step} | Time: 8.03s | Loss: {0.0012 / step:.5f} | Entropy: 0.5121 | "
        f"Mismatch KL: 0.0011 | Grad. Norm: {0.18 + step / 100:.4f} | LR: 3.00e-06 | "
        "Throughput: 3120 tokens/s | MFU: 4.1% | Peak Mem.: 18.2 GiB"
    )


def fixture_store() -> MetricsStore:
    """Steps 1-4 of a run: orchestrator, per-env, trainer and one eval line."""
    store = MetricsStore()
    for step, reward in enumerate(REWARDS, start=1):
        store.feed("orchestrator", orchestrator_line(step, reward), source="orchestrator.log")
        store.feed(
            "orchestrator",
            f"\t\t ╰─ gsm8k | Ratio 50.0% | Reward {reward + 0.1:.4f}",
            source="orchestrator.log",
        )
        store.feed("trainer", trainer_line(step), rank=0)
    store.feed("orchestrator", "Evaluated gsm8k (Step 2) | Time: 5.20s | Reward 0.7100")
    return store


class Host(App[None]):
    """A bare app with the Metrics pane and nothing else."""

    def __init__(self, store: MetricsStore) -> None:
        super().__init__()
        self.store = store

    def compose(self) -> ComposeResult:
        yield MetricsView(id="metrics")

    def on_mount(self) -> None:
        self.query_one(MetricsView).update_store(self.store)


def screen_text(widget: SeriesPlot) -> list[str]:
    """The lines the plot paints, as on screen (padding included)."""
    return [strip.text for strip in widget.render_lines(Region(0, 0, *widget.region.size))]


def picker_values(view: MetricsView) -> list[str]:
    """The series in the picker, top to bottom."""
    return [view.picker.get_option_at_index(i).value for i in range(view.picker.option_count)]


def plot_of(app: App[None], series: str) -> SeriesPlot:
    plot = app.query_one(MetricsView).plot(series)
    assert plot is not None, f"{series} is not plotted"
    return plot


async def test_reward_plot_shows_last_value_and_step_range() -> None:
    app = Host(fixture_store())
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        plot = plot_of(app, "orchestrator/reward")
        assert plot.region.width > 40 and plot.region.height == 12  # on screen, full size
        lines = screen_text(plot)
        assert lines[0].split()[:4] == ["orchestrator/reward", "0.5832", "step", "4"]
        assert lines[1].split()[0] == "0.5832"  # max, top
        assert lines[-2].split()[0] == "0.5123"  # min, bottom
        assert lines[-1].split() == ["1", "4"]  # steps 1..4
        assert any(0x2800 < ord(ch) <= 0x28FF for line in lines for ch in line)


async def test_default_selection_and_order() -> None:
    app = Host(fixture_store())
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        view = app.query_one(MetricsView)
        assert view.shown == [
            "orchestrator/reward",
            "env/gsm8k/reward",
            "eval/gsm8k/reward",
            "trainer/loss",
            "trainer/entropy",
            "trainer/grad_norm",
            "trainer/throughput",
            "orchestrator/throughput",
            "trainer/mfu",
            "trainer/peak_mem",
            "trainer/step_time",
            "orchestrator/step_time",
        ]
        # Every series is in the picker, the unpicked ones after the watched ones.
        picker_names = picker_values(view)
        assert sorted(picker_names) == sorted(app.store.names())
        assert picker_names[: len(view.shown)] == view.shown
        assert "trainer/lr" in picker_names and "trainer/lr" not in view.shown


async def test_space_in_the_picker_toggles_a_plot() -> None:
    app = Host(fixture_store())
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        view = app.query_one(MetricsView)
        view.picker.focus()
        view.picker.highlighted = 0
        assert picker_values(view)[0] == "orchestrator/reward"
        await pilot.press("space")
        await pilot.pause()
        assert view.plot("orchestrator/reward") is None
        assert "orchestrator/reward" not in [p.series for p in app.query(SeriesPlot)]
        assert view.shown[0] == "env/gsm8k/reward"
        # On again: back in first place.
        await pilot.press("space")
        await pilot.pause()
        assert view.shown[0] == "orchestrator/reward"
        # Picking one that was off adds it in its place.
        view.picker.highlighted = picker_values(view).index("trainer/lr")
        await pilot.press("space")
        await pilot.pause()
        assert "trainer/lr" in view.shown
        assert view.shown.index("trainer/lr") > view.shown.index("orchestrator/step_time")


async def test_a_new_step_line_updates_the_plot() -> None:
    store = fixture_store()
    app = Host(store)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        view = app.query_one(MetricsView)
        store.feed("orchestrator", orchestrator_line(5, 0.6104), source="orchestrator.log")
        view.update_store(store)
        await pilot.pause()
        lines = screen_text(plot_of(app, "orchestrator/reward"))
        assert lines[0].split()[:4] == ["orchestrator/reward", "0.6104", "step", "5"]
        assert lines[1].split()[0] == "0.6104"
        assert lines[-1].split() == ["1", "5"]


async def test_new_series_join_the_picker_and_keep_the_users_picks() -> None:
    store = fixture_store()
    app = Host(store)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        view = app.query_one(MetricsView)
        view.picker.deselect("trainer/loss")
        view.picker.select("trainer/lr")
        await pilot.pause()
        store.feed("orchestrator", "Evaluated math500 (Step 4) | Time: 9.1s | Reward 0.4400")
        store.feed(
            "inference",
            "Avg prompt throughput: 812.3 tokens/s, Avg generation throughput: 2210.9 "
            "tokens/s, Running: 12 reqs, Swapped: 0 reqs, Pending: 3 reqs, "
            "GPU KV cache usage: 37.5%, CPU KV cache usage: 0.0%",
        )
        view.update_store(store)
        await pilot.pause()
        picker_names = set(picker_values(view))
        assert {"eval/math500/reward", "inference/kv_cache", "inference/running"} <= picker_names
        shown = view.shown
        assert "trainer/loss" not in shown  # still off
        assert "trainer/lr" in shown  # still on
        assert "eval/math500/reward" in shown and "inference/kv_cache" in shown  # watched
        assert "inference/running" not in shown
        assert shown.index("eval/math500/reward") == shown.index("eval/gsm8k/reward") + 1


async def test_update_store_does_nothing_when_the_version_did_not_move() -> None:
    store = fixture_store()
    app = Host(store)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        view = app.query_one(MetricsView)
        calls: list[str] = []
        values = store.values

        def counting_values(name: str) -> tuple[list[int], list[float]]:
            calls.append(name)
            return values(name)

        store.values = counting_values  # type: ignore[method-assign]
        view.update_store(store)
        assert calls == []
        store.feed("trainer", trainer_line(5), rank=0)
        view.update_store(store)
        assert "trainer/loss" in calls


async def test_empty_store_says_no_step_lines_yet() -> None:
    store = MetricsStore()
    app = Host(store)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        view = app.query_one(MetricsView)
        message = view.query_one("#metrics-empty")
        assert message.display and message.region.width > 0
        assert "No step lines yet" in str(message.render())
        assert not app.query(SeriesPlot)
        # The first step line brings the plots.
        store.feed("orchestrator", orchestrator_line(1, 0.5), source="orchestrator.log")
        view.update_store(store)
        await pilot.pause()
        assert not message.display
        assert plot_of(app, "orchestrator/reward").region.height == 12
        assert EMPTY_MESSAGE.startswith("No step lines yet")


async def test_nothing_picked_says_how_to_pick() -> None:
    app = Host(fixture_store())
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        view = app.query_one(MetricsView)
        view.picker.deselect_all()
        await pilot.pause()
        message = view.query_one("#metrics-empty")
        assert message.display and "No series selected" in str(message.render())
        assert view.picker.display


async def test_two_columns_when_wide_one_when_narrow_and_plots_fit_their_cell() -> None:
    app = Host(fixture_store())
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        first = plot_of(app, "orchestrator/reward")
        second = plot_of(app, "env/gsm8k/reward")
        assert first.region.y == second.region.y and first.region.x < second.region.x
        wide = screen_text(first)
        await pilot.resize_terminal(100, 40)
        await pilot.pause()
        assert second.region.y > first.region.y and first.region.x == second.region.x
        narrow = screen_text(first)
        # Redrawn to the new width: the last step label sits at the right edge.
        assert len(narrow[-1]) == first.region.width > len(wide[-1])
        assert narrow[-1].rstrip().endswith("4") and len(narrow[-1].rstrip()) >= len(narrow[-1]) - 1


async def test_a_store_given_before_mounting_is_shown_and_names_are_not_markup() -> None:
    store = fixture_store()
    store.feed("orchestrator", "Step 5 | Reward 0.6", source="o")
    store.feed("orchestrator", "\t\t ╰─ math[bold] | Reward 0.3000", source="o")

    class EarlyHost(App[None]):
        def compose(self) -> ComposeResult:
            view = MetricsView()
            view.update_store(store)
            yield view

    app = EarlyHost()
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        view = app.query_one(MetricsView)
        assert "env/math[bold]/reward" in view.shown
        index = picker_values(view).index("env/math[bold]/reward")
        assert str(view.picker.get_option_at_index(index).prompt) == "env/math[bold]/reward"
        assert screen_text(plot_of(app, "orchestrator/reward"))[0].split()[1] == "0.6000"


def test_series_order_and_default_selection() -> None:
    names = [
        "trainer/lr",
        "inference/kv_cache",
        "eval/gsm8k/reward",
        "trainer/loss",
        "env/math/reward",
        "orchestrator/reward",
        "env/gsm8k/reward",
        "trainer/step_time",
        "inference/generation_throughput",
        "trainer/throughput",
        "orchestrator/seq_length",
    ]
    assert sorted(names, key=series_order) == [
        "orchestrator/reward",
        "env/gsm8k/reward",
        "env/math/reward",
        "eval/gsm8k/reward",
        "trainer/loss",
        "trainer/throughput",
        "inference/generation_throughput",
        "trainer/step_time",
        "inference/kv_cache",
        "trainer/lr",
        "orchestrator/seq_length",
    ]
    assert [n for n in names if default_selected(n)] == [
        "inference/kv_cache",
        "eval/gsm8k/reward",
        "trainer/loss",
        "env/math/reward",
        "orchestrator/reward",
        "env/gsm8k/reward",
        "trainer/step_time",
        "trainer/throughput",
    ]


def test_snapshot(snap_compare: Callable[..., bool]) -> None:
    assert snap_compare(Host(fixture_store()), terminal_size=(140, 36))
