"""PNG charts of polls and articles, drawn in a separate process so the event loop never waits.

A worker thread would not do: drawing holds the GIL, so a chart drawn in a thread holds the event loop
up for a large part of its drawing time, while one drawn in a process barely delays it (bench/summary.py,
"loop lag in chart"; figures in the README). The process starts with the first chart (mostly importing
matplotlib) and is reused; the bot itself never imports matplotlib, which is large.
The drawing is in bot.summaries.drawing.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from bot.summaries.figures import ArticleSummary, PollSummary, Timeline

log = logging.getLogger(__name__)

WIDTH_PX, HEIGHT_PX = 1200, 600

_pool: ProcessPoolExecutor | None = None


async def render_poll_chart_async(summary: PollSummary, timeline: Timeline) -> bytes:
    """Bars of votes per option beside the cumulative votes over time, as PNG bytes."""
    return await _in_worker("render_poll_chart", summary, timeline)


async def render_article_chart_async(summary: ArticleSummary) -> bytes:
    """Replies per day beside the article's poll result, as PNG bytes."""
    return await _in_worker("render_article_chart", summary)


async def shutdown() -> None:
    """Stop the chart process; the next chart starts a new one."""
    global _pool
    pool, _pool = _pool, None
    if pool is not None:
        await asyncio.to_thread(pool.shutdown)


async def _in_worker(drawing_function: str, *args: object) -> bytes:
    global _pool
    for attempt in (1, 2):
        if _pool is None:
            # spawn, not fork: forking a process that runs threads (aiosqlite's) can deadlock the child.
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        try:
            return await asyncio.get_running_loop().run_in_executor(_pool, _draw, drawing_function, *args)
        except BrokenProcessPool:
            # The process died (killed, out of memory): start a new one and try once more.
            log.warning("The chart process stopped unexpectedly (attempt %d)", attempt)
            _pool = None
    raise RuntimeError("The chart process keeps stopping; see the log.")


def _draw(drawing_function: str, *args: object) -> bytes:
    """Runs in the chart process; named by string so the bot process never imports the drawing."""
    from bot.summaries import drawing

    return getattr(drawing, drawing_function)(*args)
