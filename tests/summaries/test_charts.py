"""Charts are PNG files of the fixed size, whatever the poll or article holds."""

import struct

import pytest

from bot.summaries import charts, drawing
from bot.summaries.figures import article_summary, poll_summary, poll_timeline
from tests.summaries.factories import GUILD


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert data.endswith(b"IEND\xaeB`\x82")
    return width, height


async def poll_chart(store, poll_id):
    summary = await poll_summary(store, poll_id)
    return await charts.render_poll_chart_async(summary, await poll_timeline(store, summary))


async def test_poll_chart_with_votes(seed, store):
    poll = await seed.poll()
    await seed.vote(poll, 0, voter=1, minute=1)
    await seed.vote(poll, 1, voter=2, minute=50)
    await seed.switch(poll, 1, 0, voter=2, minute=70)
    assert png_size(await poll_chart(store, poll.id)) == (charts.WIDTH_PX, charts.HEIGHT_PX)


async def test_poll_chart_without_votes(seed, store):
    poll = await seed.poll()
    assert png_size(await poll_chart(store, poll.id)) == (charts.WIDTH_PX, charts.HEIGHT_PX)


async def test_poll_chart_with_awkward_text(seed, store, recwarn):
    """Dollars (mathtext), emoji and scripts the font lacks, and very long labels draw without error."""
    poll = await seed.poll(
        question="Is $5 or $10 fair? 🚲 " + "very " * 40 + "long",
        options=(("🚲", "$5"), ("🛴", "😀"), ("🛵", "中文 " + "x" * 200)),
    )
    await seed.vote(poll, 2, voter=1, minute=1)
    assert png_size(await poll_chart(store, poll.id)) == (charts.WIDTH_PX, charts.HEIGHT_PX)
    assert not [w for w in recwarn if "Glyph" in str(w.message)]


async def test_article_chart_with_and_without_discussion(seed, store):
    article = await seed.article()
    delivery = await seed.delivery(article)
    empty = await article_summary(store, article, GUILD)
    assert png_size(await charts.render_article_chart_async(empty)) == (charts.WIDTH_PX, charts.HEIGHT_PX)
    poll = await seed.poll(article_id=article, delivery_id=delivery)
    await seed.vote(poll, 0, voter=1, minute=1)
    for minute in (1, 2, 3000):
        await seed.reply(article, delivery, 5, minute)
    full = await article_summary(store, article, GUILD)
    assert png_size(await charts.render_article_chart_async(full)) == (charts.WIDTH_PX, charts.HEIGHT_PX)


@pytest.mark.parametrize(("text", "drawn"), [("Plain", "Plain"), ("$5", r"\$5"), ("Go 🚲 go", "Go go"), ("中文", "")])
def test_text_the_font_cannot_draw_is_dropped(text, drawn):
    assert drawing._drawable(text) == drawn
