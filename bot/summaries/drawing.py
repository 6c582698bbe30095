"""Drawing the charts with matplotlib: a poll (votes per option, votes over time) and an article.

Runs in the chart process (bot.summaries.charts), so the bot itself never imports matplotlib.
The object API on the Agg canvas, no pyplot (whose global figure state is not thread-safe).
Every chart is exactly WIDTH_PX x HEIGHT_PX pixels.
"""

from __future__ import annotations

import io
import logging
import threading
from datetime import date
from functools import cache

from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from matplotlib.ticker import MaxNLocator

from bot.limits import cut
from bot.summaries.charts import HEIGHT_PX, WIDTH_PX
from bot.summaries.figures import ArticleSummary, PollSummary, Timeline
from bot.summaries.text import format_percent, status_text

log = logging.getLogger(__name__)

DPI = 100
_FONT = "DejaVu Sans"
_COLOURS = ("#5865F2", "#57F287", "#FEE75C", "#EB459E", "#ED4245", "#3BA55C", "#FAA61A", "#9B59B6")
_TITLE_CHARS = 90
_LABEL_CHARS = 28

# matplotlib keeps caches (fonts, text layout) that are not documented as thread-safe; one
# chart at a time costs nothing at Agora's rate of a few charts per minute.
_render_lock = threading.Lock()


def render_poll_chart(summary: PollSummary, timeline: Timeline) -> bytes:
    """Bars of votes per option beside the cumulative votes over time."""
    with _render_lock:
        figure = _figure()
        bars, over_time = figure.subplots(1, 2, gridspec_kw={"width_ratios": (1, 1.2)})
        figure.suptitle(_title(f"Poll #{summary.poll_id}: {summary.question}"), fontsize=14)
        _draw_option_bars(bars, summary)
        _draw_timeline(over_time, summary, timeline)
        return _png(figure)


def render_article_chart(summary: ArticleSummary) -> bytes:
    """Replies per day beside the article's poll result."""
    with _render_lock:
        figure = _figure()
        replies, poll_axes = figure.subplots(1, 2)
        figure.suptitle(_title(f"Article #{summary.article_id}: {summary.title}"), fontsize=14)
        _draw_replies_per_day(replies, summary.discussion.per_day)
        if summary.poll is None:
            _blank(poll_axes, "Poll", "No poll for this article")
        else:
            _draw_option_bars(poll_axes, summary.poll)
        return _png(figure)


def _figure() -> Figure:
    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    # No bbox_inches="tight": it would crop the canvas and break the fixed pixel size.
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _draw_option_bars(axes: Axes, summary: PollSummary) -> None:
    options = summary.options
    axes.set_title(f"{status_text(summary)} · {summary.voters} voters", fontsize=11)
    if not options:
        _blank(axes, "", "No options")
        return
    positions = list(range(len(options)))
    counts = [option.votes for option in options]
    axes.barh(positions, counts, color=[_colour(k) for k in positions])
    axes.set_yticks(positions, [_label(option.label or option.emoji) for option in options])
    axes.invert_yaxis()  # first option on top, as in the poll message
    axes.set_xlabel("votes")
    axes.set_xlim(0, max(max(counts), 1) * 1.25)  # room for the figures right of each bar
    for k, option in enumerate(options):
        axes.text(option.votes, k, f"  {option.votes} ({format_percent(option.share)})", va="center")
    _whole_numbers(axes.xaxis)


def _whole_numbers(axis: Axis) -> None:
    """Ticks at whole numbers only: votes and replies are counted."""
    locator = axis.get_major_locator()
    assert isinstance(locator, MaxNLocator)  # a linear axis's default, AutoLocator, is one
    locator.set_params(integer=True)


def _draw_timeline(axes: Axes, summary: PollSummary, timeline: Timeline) -> None:
    if timeline.empty:
        _blank(axes, "Votes over time", "No votes yet")
        return
    axes.set_title("Votes over time", fontsize=11)
    for k, (option, series) in enumerate(zip(summary.options, timeline.counts, strict=True)):
        # matplotlib takes datetimes through its unit converters; its stubs list numbers only.
        axes.step(timeline.times, series, where="post", color=_colour(k), label=_label(option.label))  # type: ignore[arg-type]  # see above
    locator = AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    axes.set_ylabel("votes")
    axes.set_ylim(bottom=0)
    _whole_numbers(axes.yaxis)
    axes.legend(loc="upper left", fontsize=9)
    axes.grid(alpha=0.3)


def _draw_replies_per_day(axes: Axes, per_day: tuple[tuple[date, int], ...]) -> None:
    if not per_day:
        _blank(axes, "Replies per day", "No replies yet")
        return
    axes.set_title("Replies per day (UTC)", fontsize=11)
    days = [day for day, _ in per_day]
    axes.bar(days, [count for _, count in per_day], color=_COLOURS[0], width=0.8)  # type: ignore[arg-type]  # dates, as above
    locator = AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    axes.set_ylabel("replies")
    _whole_numbers(axes.yaxis)
    axes.grid(axis="y", alpha=0.3)


def _blank(axes: Axes, title: str, message: str) -> None:
    axes.set_title(title, fontsize=11)
    axes.text(0.5, 0.5, message, ha="center", va="center", fontsize=13, color="grey")
    axes.set_axis_off()


def _colour(k: int) -> str:
    return _COLOURS[k % len(_COLOURS)]


def _title(text: str) -> str:
    return cut(_drawable(text), _TITLE_CHARS)


def _label(text: str) -> str:
    return cut(_drawable(text), _LABEL_CHARS) or "?"


def _drawable(text: str) -> str:
    """The text without characters the chart font lacks (emoji, most scripts' glyphs).

    matplotlib would draw them as empty boxes and log a warning per glyph. `$` is escaped
    because matplotlib reads text between two dollars as mathematics.
    """
    glyphs = _glyphs()
    kept = "".join(ch for ch in text if ord(ch) in glyphs or ch.isspace())
    return " ".join(kept.split()).replace("$", r"\$")


@cache
def _glyphs() -> frozenset[int]:
    path = font_manager.findfont(font_manager.FontProperties(family=_FONT))
    return frozenset(FT2Font(path).get_charmap())
