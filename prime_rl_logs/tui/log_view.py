"""The log pane: a Line-API `ScrollView` over a `core.view.View`.

Only the rows on screen are rendered: `render_line(y)` asks the view for row
``scroll_y + y``, turns its display text (colours kept, every other control
sequence already removed by the core) into a `Strip`, and caches it. The widget
never opens a log file; a 1 GB file scrolls like a small one.

Following: the pane sticks to the end while ``following`` is set. Scrolling up
pauses it (the status line counts "N new lines"); scrolling back to the end, `G`
or `space` resumes it. Every change of following, unseen rows or cursor posts
`LogView.StatusChanged`, which names the log view (``control``) and coalesces with
a pending one of the same view; the enclosing `tui.pane.LogPane` handles it.

Strips are cached per row identity (`StripKey`) in a `textual.cache.LRUCache`.
Private Textual names are used in three places, each said where: `LogView._update_scrollbars`,
`LogView._size_updated` (a following pane is at its end before its first frame) and
`LogView.vertical_scrollbar` (a `ThumbScrollBar`, repainted only when its thumb moves).
"""

from __future__ import annotations

import re
from contextlib import suppress
from math import ceil
from typing import TYPE_CHECKING, TypeAlias, cast

from rich.console import RenderableType
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import Reactive, reactive
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.strip import Strip

from prime_rl_logs.core.user_regex import RegexTooSlow, UserRegex

if TYPE_CHECKING:
    from prime_rl_logs.core.view import View, ViewDelta

TAG_WIDTH_MAX = 16
BAR_CACHE_SIZE = 16
"""Scrollbars kept, drawn: one per thumb position (and colours) seen lately."""
STRIP_CACHE_SIZE = 1024
"""Rows whose strips are kept: the screens of both panes and of the kept views."""

StripKey: TypeAlias = tuple[int, int, int, bool, int]
"""A cached strip's row identity: ``(id(file), generation, byte offset, selected,
tag width)``. A truncated or replaced file starts again at offset 0 with a new
generation. Nothing of the view is in it, so the strips outlive a pane switch
(a pane shown again paints from the cache); they are dropped with the `Run`."""

Fit: TypeAlias = tuple[int, int, Style, int, Style]
"""Where a row's strip was cut and on what: ``(scroll x, width, base style, box
width, box style)``. The box is the text's width and the vertical scrollbar's
column under it, padded with the pane's background as Textual pads a line."""

CachedRow: TypeAlias = tuple[Fit, tuple[list[Segment], int], Strip]
"""A row's segments with their width, and its strip as last fitted to the pane."""

# Colours for source tags, picked by a stable hash of the tag so r3 is always the
# same colour in every pane.
TAG_COLOURS = (
    "cyan",
    "magenta",
    "green",
    "yellow",
    "bright_blue",
    "bright_red",
    "bright_cyan",
    "bright_magenta",
    "bright_green",
    "dark_orange",
    "orchid",
    "steel_blue1",
)


class ThumbScrollBar(ScrollBar):
    """A vertical scrollbar that repaints only when its thumb moves on screen.

    Textual's repaints on every change of the scroll position or the number of rows,
    and a following pane changes both with every batch of lines: its 45 rows were
    rendered again on every frame, a quarter of the frame's time, although the thumb
    of a pane of a million rows moves an eighth of a cell (the finest step it draws)
    every few thousand rows. The geometry is `ScrollBarRender.render_bar`'s.
    """

    window_virtual_size: Reactive[int] = Reactive(100, repaint=False)
    window_size: Reactive[int] = Reactive(0, repaint=False)
    position: Reactive[float] = Reactive(0, repaint=False)

    def __init__(self, *, thickness: int = 1) -> None:
        super().__init__(vertical=True, name="vertical", thickness=thickness)
        self._drawn: tuple[int, ...] = ()
        self._looking = False
        self._bars: LRUCache[tuple[object, ...], list[Strip]] = LRUCache(BAR_CACHE_SIZE)

    def _style(self) -> Style:
        """`ScrollBar.render`'s colours: grabbed, hovered or at rest, over the pane."""
        assert self.parent is not None
        styles = self.parent.styles
        if self.grabbed:
            background, color = styles.scrollbar_background_active, styles.scrollbar_color_active
        elif self.mouse_over:
            background, color = styles.scrollbar_background_hover, styles.scrollbar_color_hover
        else:
            background, color = styles.scrollbar_background, styles.scrollbar_color
        if background.a < 1:
            background = self.parent.background_colors[0] + background
        color = background + color
        return Style.from_color(color.rich_color, background.rich_color)

    def render(self) -> RenderableType:
        if self.screen.styles.scrollbar_color.a == 0:
            return self.renderer(vertical=True, style=self._style())
        return self._render_bar(self._style())

    def render_lines(self, crop: Region) -> list[Strip]:
        # A pane switch repaints the bar, and the thumbs of a few panes come back
        # again and again (at the bottom, the same cells): 45 rows of Textual's
        # rendering were a quarter of a switch's frame.
        key = (
            crop,
            self.thumb(),
            self._style(),
            self.background_colors,  # (under the thumb's ends: the pane's, tinted when focused)
            self.screen.styles.scrollbar_color.a,
            *self.get_line_filters(),
        )
        lines = self._bars.get(key)
        if lines is None:
            lines = super().render_lines(crop)
            self._bars.set(key, lines)
        return lines

    def thumb(self) -> tuple[int, ...]:
        """What the bar draws: its height and the thumb's ends in eighths of a cell."""
        size = self.size.height
        virtual = ceil(self.window_virtual_size)
        window = ceil(self.window_size if self.window_size < self.window_virtual_size else 0)
        if not (window and size and virtual and size != virtual):
            return (size,)
        eighths = len(ScrollBarRender.VERTICAL_BARS)
        thumb = max(1, window / (virtual / size))
        start = int((size - thumb) * (self.position / (virtual - window)) * eighths)
        return (size, start, start + ceil(thumb * eighths))

    def _changed(self) -> None:
        # Looked at once the handler at hand is done: it sets the row count, then the
        # position, and the thumb between the two is not where it ends up.
        if not self._looking:
            self._looking = True
            self.call_later(self._look)

    def _look(self) -> None:
        self._looking = False
        thumb = self.thumb()
        if thumb != self._drawn:
            self._drawn = thumb
            self.refresh()

    def watch_window_virtual_size(self) -> None:
        self._changed()

    def watch_window_size(self) -> None:
        self._changed()

    def watch_position(self) -> None:
        self._changed()

    def on_resize(self) -> None:
        self._drawn = self.thumb()  # (a resize repaints it anyway)


def tag_style(tag: str) -> Style:
    colour = TAG_COLOURS[sum(tag.encode()) % len(TAG_COLOURS)]
    return Style(color=colour, bold=True)


class LogView(ScrollView, can_focus=True):
    """Rows of one `View`, rendered on demand."""

    DEFAULT_CSS = """
    LogView {
        background: $surface;
        scrollbar-size-vertical: 1;
    }
    LogView:focus {
        background-tint: $foreground 3%;
    }
    """

    following: reactive[bool] = reactive(True)
    """Stick to the end as rows arrive."""

    cursor: reactive[int | None] = reactive(None)
    """The selected row (for copy, jumps and search), or None."""

    class StatusChanged(Message):
        """Following, the count of unseen rows or the cursor changed.

        A burst (one per history slice or live batch) coalesces: a pending message
        of the same log view is replaced by the newer one.
        """

        def __init__(self, log_view: LogView) -> None:
            super().__init__()
            self.log_view = log_view
            """The log view whose status changed."""

        @property
        def control(self) -> LogView:
            """Alias for ``log_view`` (as `Input.Changed.control`), for `on` selectors."""
            return self.log_view

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, LogView.StatusChanged) and message.log_view is self.log_view

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: View | None = None
        self.tag_width = 0  # 0: a single-source pane, no tags
        self.search: re.Pattern[str] | UserRegex | None = None
        self.unseen = 0
        self._strips: LRUCache[StripKey, CachedRow] = LRUCache(STRIP_CACHE_SIZE)
        self._max_width = 0
        self._frame: tuple[int, Fit] | None = None

    # -- data -------------------------------------------------------------

    def set_view(self, view: View, *, tag_width: int) -> None:
        """Show another view (a new pane or new filters) from its end.

        ``tag_width`` is the width of the source-tag column (the longest tag of the
        pane's files), 0 for a pane of one file.
        """
        if self.view is None or self.view.run is not view.run:
            self._clear_cache()  # (`StripKey` holds the file's id: another run's may match)
        self.view = view
        self.tag_width = min(tag_width, TAG_WIDTH_MAX)
        self.unseen = 0
        self.cursor = None
        self.following = True
        self._max_width = 0
        self._resize_virtual()
        self.scroll_to(0, self.max_scroll_y, animate=False, immediate=True)
        self.refresh()
        self.post_message(self.StatusChanged(self))

    def drop_view(self) -> None:
        """Show nothing (a hidden pane keeps no view alive)."""
        self.view = None
        self.unseen = 0
        self.cursor = None
        self._clear_cache()
        self._resize_virtual()
        self.refresh()

    def on_delta(self, delta: ViewDelta) -> None:
        """Rows were added at the front (history) or the end (live)."""
        if not (delta.prepended or delta.appended or delta.reset):
            return
        if delta.prepended:
            if self.cursor is not None:
                self.cursor += delta.prepended
            if not self.following:
                # Keep the same rows on screen while history fills in above them.
                self._resize_virtual()
                self.set_scroll(None, self.scroll_y + delta.prepended)
        if delta.appended and not self.following:
            self.unseen += delta.appended
        self._resize_virtual()
        if self.following:
            self.scroll_to(None, self.max_scroll_y, animate=False, immediate=True)
        self.refresh()
        self.post_message(self.StatusChanged(self))

    def on_resize(self) -> None:
        self._resize_virtual()
        if self.following:
            self.scroll_to(None, self.max_scroll_y, animate=False, immediate=True)

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        """The layout gave the widget a size: a following pane goes to its end now.

        Overrides `Widget._size_updated`, a private Textual method (checked against
        Textual 8.2.8), called in the layout pass itself, before the frame is
        painted. `on_resize` comes after that frame: a view set before the first
        layout (the first pane at start-up: its size was 0, so there was nowhere to
        scroll) drew the top of the file on the first frames, then jumped to its end.
        """
        resized = super()._size_updated(size, virtual_size, container_size, layout)
        if self.following and self.view is not None:
            self._resize_virtual()
            self.scroll_to(None, self.max_scroll_y, animate=False, immediate=True)
        return resized

    def set_tag_width(self, tag_width: int) -> None:
        tag_width = min(tag_width, TAG_WIDTH_MAX)
        if tag_width != self.tag_width:
            self.tag_width = tag_width
            self._clear_cache()
            self.refresh()

    def _resize_virtual(self) -> None:
        rows = len(self.view) if self.view is not None else 0
        size = Size(max(self._max_width, self.scrollable_content_region.width), rows)
        if size == self.virtual_size:
            return
        # Rows arrive many times a second: update the scrollable size and scrollbars
        # without asking the whole screen for a layout pass (what assigning the
        # `virtual_size` reactive would do); the widget's own size does not change.
        self.set_reactive(LogView.virtual_size, size)
        self._update_scrollbars(size)
        if self.following:
            # A horizontal scrollbar that just appeared takes a row: stay at the end.
            self.scroll_to(None, self.max_scroll_y, animate=False, immediate=True)

    @property
    def vertical_scrollbar(self) -> ScrollBar:
        """The vertical scrollbar: a `ThumbScrollBar`, made when first asked for.

        Overrides `Widget.vertical_scrollbar` with its body (checked against Textual
        8.2.8), which uses the private ``_vertical_scrollbar`` and
        ``App._start_widget``, to make a `ThumbScrollBar` instead of a `ScrollBar`.
        """
        bar = self._vertical_scrollbar
        if bar is None:
            bar = self._vertical_scrollbar = ThumbScrollBar(thickness=self.scrollbar_size_vertical)
            bar.display = False
            self.app._start_widget(self, bar)
        return bar

    def _update_scrollbars(self, size: Size) -> None:
        """Resize the scrollbars to a new virtual size and clamp the scroll offsets.

        `Widget._scroll_update` (Textual 8.2.8) less its repaint of the vertical
        scrollbar, which repaints itself when its thumb moves (`ThumbScrollBar`); it
        uses `Widget._refresh_scrollbars`, a private Textual method. The public
        route, assigning ``virtual_size``, also lays out the whole screen, which is
        what `_resize_virtual` avoids.
        """
        self._refresh_scrollbars()  # which scrollbars show
        width, height = self.container_size
        if self.show_vertical_scrollbar and self.styles.scrollbar_size_vertical:
            vertical = self.vertical_scrollbar
            vertical.window_virtual_size = size.height
            vertical.window_size = height - self.scrollbar_size_horizontal
        if self.show_horizontal_scrollbar and self.styles.scrollbar_size_horizontal:
            horizontal = self.horizontal_scrollbar
            horizontal.window_virtual_size = size.width
            horizontal.window_size = width - self.scrollbar_size_vertical
            horizontal.refresh()
        self.scroll_x = self.validate_scroll_x(self.scroll_x)
        self.scroll_y = self.validate_scroll_y(self.scroll_y)

    def _clear_cache(self) -> None:
        self._strips.clear()

    def set_search(self, pattern: re.Pattern[str] | UserRegex | None) -> None:
        self.search = pattern
        self._clear_cache()
        self.refresh()

    # -- following --------------------------------------------------------

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        at_end = round(new) >= self.max_scroll_y
        if at_end and not self.following:
            self.following = True
        elif not at_end and self.following and round(new) < round(old):
            self.following = False

    def watch_following(self, following: bool) -> None:
        if following:
            self.unseen = 0
            self.scroll_to(None, self.max_scroll_y, animate=False, immediate=True)
        self.post_message(self.StatusChanged(self))

    def toggle_follow(self) -> None:
        self.following = not self.following

    def go_end(self) -> None:
        self.following = True
        self.scroll_to(None, self.max_scroll_y, animate=False, immediate=True)

    def go_home(self) -> None:
        self.following = False
        self.scroll_to(None, 0, animate=False, immediate=True)

    # -- cursor -----------------------------------------------------------

    def watch_cursor(self, old: int | None, new: int | None) -> None:
        # `old` may be a row of the previous view (`set_view`, `drop_view`), whose
        # strips are already dropped with the whole cache.
        rows = len(self.view) if self.view is not None else 0
        for row in (old, new):
            if row is not None and row < rows:
                self._strips.discard(self._key(row, True))
                self._strips.discard(self._key(row, False))
        self.refresh()
        self.post_message(self.StatusChanged(self))

    def show_row(self, row: int) -> None:
        """Select `row` and scroll so it is on screen, pausing follow if needed."""
        self.cursor = row
        height = self.scrollable_content_region.height
        top = self.scroll_y
        if row < top or row >= top + height:
            target = max(0, row - height // 2)
            if target < self.max_scroll_y:
                self.following = False
            self.scroll_to(None, target, animate=False, immediate=True)

    def anchor_row(self) -> int:
        """Where a search or jump starts: the cursor while it is on screen, else the
        bottom row on screen (after ``G`` or scrolling away, an old selection off
        screen is not where the user is looking)."""
        rows = len(self.view) if self.view is not None else 0
        top = round(self.scroll_y)
        bottom = min(rows - 1, top + self.scrollable_content_region.height - 1)
        if self.cursor is not None and top <= self.cursor <= bottom:
            return self.cursor
        return bottom

    # -- rendering --------------------------------------------------------

    def _key(self, row: int, selected: bool) -> StripKey:
        """A row's identity: its file, the file's generation and its byte offset."""
        assert self.view is not None
        r = self.view.row(row)
        return (id(r.file), r.generation, r.offset, selected, self.tag_width)

    def render_lines(self, crop: Region) -> list[Strip]:
        # Looked up once per frame, not once per line: `rich_style` walks the DOM.
        self._frame = self._fit()
        try:
            if not self._bare():
                return super().render_lines(crop)
            # Textual's `StylesCache` would make a new strip of each row on every
            # frame (the pane scrolls: every row is dirty) for a box that adds
            # nothing to it; a following pane's frame was a third that (issue 12).
            # The row strips are kept, and so are their filtered copies (`Strip`).
            background = self.background_colors[1]
            filters = self.get_line_filters()
            strips = []
            for y in crop.line_range:
                strip = self.render_line(y)
                for line_filter in filters:
                    strip = strip.apply_filter(line_filter, background)
                strips.append(strip)
            box_width = self._frame[1][3]
            if crop.column_span != (0, box_width):
                strips = [strip.crop(*crop.column_span) for strip in strips]
            return strips
        finally:
            self._frame = None

    def _bare(self) -> bool:
        """No border, padding, outline, tint, hatch or opacity: a frame's lines are the
        rows' strips as they are (what `StylesCache` would make of them)."""
        styles = self.styles
        return (
            not any(edge for edge, _ in styles.border)
            and not any(edge for edge, _ in styles.outline)
            and not any(styles.padding)
            and not styles.tint.a
            and self.opacity == 1.0
            and styles.text_opacity == 1.0
            and not styles.has_rule("hatch")
            and self._border_title is None
            and self._border_subtitle is None
        )

    def _fit(self) -> tuple[int, Fit]:
        """The scroll offset's row, and how rows are cut (`Fit`) on this frame."""
        scroll_x, scroll_y = self.scroll_offset
        under, background = self.background_colors
        box = Style(bgcolor=(under + background).rich_color)
        fit = (scroll_x, self.scrollable_content_region.width, self.rich_style)
        return scroll_y, (*fit, self.content_region.width, box)

    def render_line(self, y: int) -> Strip:
        scroll_y, fit = self._frame or self._fit()
        scroll_x, width, base, box_width, box = fit
        row = scroll_y + y
        if self.view is None or row >= len(self.view):
            return Strip.blank(width, base).extend_cell_length(box_width, box)
        key = self._key(row, row == self.cursor)
        cached = self._strips.get(key)
        if cached is not None and cached[0] == fit:
            return cached[2]
        segments, length = cached[1] if cached is not None else self._row_segments(row)
        # The pane's background under the text where the line sets none of its own,
        # cut or padded to the pane's width. Only this last strip is kept: each strip
        # keeps the ones made from it, and thousands of them made every full garbage
        # collection of the process take 100 ms (issue 12).
        strip = Strip(Segment.apply_style(segments, base), length)
        strip = strip.crop_extend(scroll_x, scroll_x + width, base)
        strip = strip.extend_cell_length(box_width, box)
        self._strips.set(key, (fit, (segments, length), strip))
        return strip

    def _row_segments(self, row: int) -> tuple[list[Segment], int]:
        """The segments of a row's text (selected: on a grey ground) and their width."""
        segments = self._plain_segments(row)
        if segments is None:
            text = self.row_text(row)
            if row == self.cursor:
                text.stylize(Style(bgcolor="grey23"))
            segments = [s for s in text.render(self.app.console) if s.text != "\n"]
        length = Segment.get_line_length(segments)
        if length > self._max_width:
            self._max_width = length
            if self._max_width > self.virtual_size.width:
                self.call_later(self._resize_virtual)
        return segments or [Segment("")], length

    def _plain_segments(self, row: int) -> list[Segment] | None:
        """`row_text`'s segments without a rich Text, for a row with no colour, tab,
        match or selection (nearly all): a new screen of them is most of a pane
        switch's frame (issue 12). None for any other row."""
        assert self.view is not None
        r = self.view.row(row)
        line = r.shown
        if row == self.cursor or self.search is not None or "\x1b" in line or "\t" in line:
            return None
        segments = [Segment(line)] if line else []
        if self.tag_width:
            segments.insert(0, Segment(*self._tag_cell(r.tag)))
        return segments

    def _tag_cell(self, tag: str) -> tuple[str, Style]:
        """A row's source tag as shown: cut or padded to the tag column, its colour."""
        return f"{tag[: self.tag_width]:<{self.tag_width}} ", tag_style(tag)

    def row_text(self, row: int) -> Text:
        """The rich Text of a row: source tag, then the line with its own colours."""
        assert self.view is not None
        r = self.view.row(row)
        line = Text.from_ansi(r.shown, no_wrap=True, end="")
        if "\t" in line.plain:
            # A tab left in a strip moves the terminal's cursor over stale cells.
            line.expand_tabs(8)
        if self.search is not None:
            with suppress(RegexTooSlow):  # the search said so once (`core.user_regex`)
                # Rich calls only ``finditer``, which a UserRegex has.
                line.highlight_regex(
                    cast("re.Pattern[str]", self.search), style=Style(reverse=True, bold=True)
                )
        if not self.tag_width:
            return line
        out = Text(end="", no_wrap=True)
        out.append(*self._tag_cell(r.tag))
        out.append_text(line)
        return out

    def record_text(self, row: int) -> str:
        """The plain text of the record holding `row`: its first line and continuations."""
        view = self.view
        assert view is not None
        return "\n".join(Text.from_ansi(view.row(i).shown).plain for i in view.record_span(row))
