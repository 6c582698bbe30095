"""Poll and article figures over a real SQLite database."""

import random
from datetime import date, timedelta

import pytest

from bot.summaries.figures import article_summary, poll_list, poll_summary, poll_timeline
from bot.summaries.moments import InvalidMoment
from tests.summaries.factories import GUILD, OTHER_GUILD, START, at


def counts(summary):
    return [option.votes for option in summary.options]


async def test_unknown_poll_has_no_summary(store):
    assert await poll_summary(store, 404) is None


async def test_poll_without_votes_has_zero_figures_and_empty_timeline(seed, store):
    poll = await seed.poll()
    summary = await poll_summary(store, poll.id)
    assert counts(summary) == [0, 0]
    assert summary.voters == 0 and summary.total_votes == 0
    assert [option.share for option in summary.options] == [0.0, 0.0]
    timeline = await poll_timeline(store, summary)
    assert timeline.empty
    assert timeline.counts == ((0,), (0,))


async def test_one_voter_is_all_of_the_vote(seed, store):
    poll = await seed.poll()
    await seed.vote(poll, 1, voter=7, minute=3)
    summary = await poll_summary(store, poll.id)
    assert counts(summary) == [0, 1]
    assert summary.voters == 1
    assert [option.percent for option in summary.options] == [0.0, 100.0]


async def test_options_come_in_position_order_with_their_emoji_and_label(seed, store):
    poll = await seed.poll(options=(("🅰️", "First"), ("🅱️", "Second"), ("<:custom:123>", "Third")))
    summary = await poll_summary(store, poll.id)
    assert [(o.position, o.emoji, o.label) for o in summary.options] == [
        (0, "🅰️", "First"),
        (1, "🅱️", "Second"),
        (2, "<:custom:123>", "Third"),
    ]


async def test_switched_vote_counts_once_for_the_new_option(seed, store):
    poll = await seed.poll()
    await seed.vote(poll, 0, voter=7, minute=1)
    await seed.vote(poll, 0, voter=8, minute=2)
    await seed.switch(poll, 0, 1, voter=7, minute=10)
    summary = await poll_summary(store, poll.id)
    assert counts(summary) == [1, 1]
    assert summary.voters == 2
    timeline = await poll_timeline(store, summary, buckets=10)
    assert max(timeline.counts[0]) == 2  # both had voted Yes before the switch
    assert [series[-1] for series in timeline.counts] == counts(summary)


async def test_removed_vote_leaves_no_voter(seed, store):
    poll = await seed.poll()
    await seed.vote(poll, 0, voter=7, minute=1)
    await seed.unvote(poll, 0, voter=7, minute=5)
    summary = await poll_summary(store, poll.id)
    assert counts(summary) == [0, 0] and summary.voters == 0
    timeline = await poll_timeline(store, summary, buckets=4)
    assert timeline.counts[0][-1] == 0 and max(timeline.counts[0]) == 1


async def test_multiple_choice_percentages_are_of_voters(seed, store):
    poll = await seed.poll(multiple=True, options=(("1️⃣", "A"), ("2️⃣", "B"), ("3️⃣", "C")))
    await seed.vote(poll, 0, voter=7, minute=1)
    await seed.vote(poll, 1, voter=7, minute=1)
    await seed.vote(poll, 0, voter=8, minute=2)
    summary = await poll_summary(store, poll.id)
    assert counts(summary) == [2, 1, 0]
    assert summary.voters == 2 and summary.total_votes == 3
    assert [option.percent for option in summary.options] == [100.0, 50.0, 0.0]


async def test_poll_closed_early_keeps_its_votes_and_both_times(seed, store):
    poll = await seed.poll(deadline=at(60 * 24), closed=at(90), closed_reason="manual")
    await seed.vote(poll, 0, voter=7, minute=20)
    summary = await poll_summary(store, poll.id)
    assert summary.status == "closed" and summary.closed_reason == "manual"
    assert summary.closed_early
    assert summary.opened_at == START and summary.closed_at == at(90) and summary.deadline_at == at(60 * 24)
    timeline = await poll_timeline(store, summary, buckets=3)  # buckets of 30 minutes
    assert timeline.times[-1] == at(90)  # drawn until the poll closed, not until the last vote
    assert timeline.counts[0] == (0, 1, 1, 1)


async def test_poll_closed_at_its_deadline_is_not_early(seed, store):
    poll = await seed.poll(deadline=at(60), closed=at(60), closed_reason="deadline")
    assert not (await poll_summary(store, poll.id)).closed_early


async def test_timeline_buckets_events_by_time(seed, store):
    poll = await seed.poll()
    await seed.vote(poll, 0, voter=1, minute=0)
    await seed.vote(poll, 0, voter=2, minute=25)
    await seed.vote(poll, 1, voter=3, minute=99)
    await seed.vote(poll, 1, voter=4, minute=100)
    summary = await poll_summary(store, poll.id)
    timeline = await poll_timeline(store, summary, buckets=4)  # four buckets of 25 minutes
    assert timeline.times == tuple(at(25 * i) for i in range(5))
    assert timeline.counts == ((0, 1, 2, 2, 2), (0, 0, 0, 0, 2))


async def test_timeline_ends_where_the_current_votes_are(seed, store):
    """A random history of adds, switches and removals: the event log and the votes table agree."""
    rng = random.Random(5)
    poll = await seed.poll(options=(("1️⃣", "A"), ("2️⃣", "B"), ("3️⃣", "C")))
    holding: dict[int, int] = {}
    for minute in range(300):
        voter = rng.randrange(40)
        if voter not in holding:
            holding[voter] = rng.randrange(3)
            await seed.vote(poll, holding[voter], voter, minute)
        elif rng.random() < 0.5:
            await seed.unvote(poll, holding.pop(voter), voter, minute)
        else:
            new = (holding[voter] + 1) % 3
            await seed.switch(poll, holding[voter], new, voter, minute)
            holding[voter] = new
    summary = await poll_summary(store, poll.id)
    assert counts(summary) == [list(holding.values()).count(k) for k in range(3)]
    assert summary.voters == len(holding)
    timeline = await poll_timeline(store, summary, buckets=7)
    assert [series[-1] for series in timeline.counts] == counts(summary)


async def test_poll_list_is_the_guilds_newest_first_with_voters(seed, store):
    first = await seed.poll(question="First?")
    second = await seed.poll(question="Second?", deadline=at(60), closed=at(30), closed_reason="manual")
    await seed.poll(question="Elsewhere?", guild_id=OTHER_GUILD)
    await seed.vote(first, 0, voter=7, minute=1)
    await seed.vote(first, 1, voter=8, minute=1)
    entries = await poll_list(store, GUILD)
    assert [(e.id, e.question, e.status, e.voters) for e in entries] == [
        (second.id, "Second?", "closed", 0),
        (first.id, "First?", "open", 2),
    ]
    assert entries[0].deadline_at == at(60)
    assert [e.id for e in await poll_list(store, GUILD, "open")] == [first.id]
    assert [e.id for e in await poll_list(store, GUILD, "closed")] == [second.id]


@pytest.fixture
async def discussed(seed):
    """An article posted in two guilds; guild 1's thread has replies over three days."""
    article = await seed.article()
    delivery = await seed.delivery(article)
    elsewhere = await seed.delivery(article, guild_id=OTHER_GUILD, channel_id=20, thread_id=21)
    poll = await seed.poll(article_id=article, delivery_id=delivery)
    await seed.vote(poll, 0, voter=7, minute=1)
    day = 24 * 60
    for author, minute in [(100, 5), (101, 6), (100, 7), (102, day + 1), (100, 2 * day + 30), (101, 2 * day + 31)]:
        await seed.reply(article, delivery, author, minute)
    await seed.reply(article, elsewhere, 999, 3, thread_id=21)
    return article, poll


async def test_article_summary_has_discussion_figures(store, discussed):
    article, poll = discussed
    summary = await article_summary(store, article, GUILD)
    assert (summary.title, summary.link, summary.posted_at) == ("Bike lanes", "https://news.example/bikes", START)
    figures = summary.discussion
    assert figures.replies == 6 and figures.participants == 3
    assert figures.first_reply_at == at(5) and figures.last_reply_at == at(2 * 24 * 60 + 31)
    assert figures.per_day == ((date(2026, 11, 1), 3), (date(2026, 11, 2), 1), (date(2026, 11, 3), 2))
    assert figures.days_spanned == 3 and figures.replies_per_day == 2.0
    assert figures.top_participants == ((100, 3), (101, 2), (102, 1))
    assert figures.thread_open is True
    assert summary.poll.poll_id == poll.id and summary.poll.voters == 1


async def test_article_summary_counts_only_the_guilds_replies(store, discussed):
    article, _ = discussed
    other = await article_summary(store, article, OTHER_GUILD)
    assert other.discussion.replies == 1 and other.discussion.top_participants == ((999, 1),)
    assert other.polls == ()
    everywhere = await article_summary(store, article)
    assert everywhere.discussion.replies == 7 and everywhere.discussion.participants == 4


async def test_top_participants_ties_go_to_who_spoke_first(seed, store):
    article = await seed.article()
    delivery = await seed.delivery(article)
    for author, minute in [(300, 5), (200, 1), (300, 9), (200, 8)]:
        await seed.reply(article, delivery, author, minute)
    figures = (await article_summary(store, article, GUILD, top=1)).discussion
    assert figures.top_participants == ((200, 2),)


async def test_article_without_replies_or_poll(seed, store):
    article = await seed.article(link=None)
    summary = await article_summary(store, article, GUILD)
    assert summary.poll is None and summary.posted_at is None
    figures = summary.discussion
    assert (figures.replies, figures.participants, figures.days_spanned, figures.replies_per_day) == (0, 0, 0, 0.0)
    assert figures.first_reply_at is None and figures.per_day == () and figures.thread_open is None


async def test_deleted_thread_shows_as_closed_discussion(seed, store, db):
    article = await seed.article()
    await seed.delivery(article, thread_id=11)
    async with db.transaction() as connection:
        await connection.execute("UPDATE deliveries SET discussion_open = 0 WHERE thread_id = 11")
    assert (await article_summary(store, article, GUILD)).discussion.thread_open is False


async def test_unknown_article_has_no_summary(store):
    assert await article_summary(store, 404) is None


async def test_replies_per_day_counts_calendar_days_between_first_and_last(seed, store):
    article = await seed.article()
    delivery = await seed.delivery(article)
    await seed.reply(article, delivery, 1, 0)
    await seed.reply(article, delivery, 1, int(timedelta(days=9).total_seconds() // 60))
    figures = (await article_summary(store, article, GUILD)).discussion
    assert figures.days_spanned == 10 and figures.replies_per_day == pytest.approx(0.2)


# --- figures at a past moment ---------------------------------------------------------------------------


@pytest.fixture
async def switched_poll(seed):
    """Yes 2, then voter 7 switches to No at minute 10 and voter 8 withdraws at minute 20."""
    poll = await seed.poll()
    await seed.vote(poll, 0, voter=7, minute=1)
    await seed.vote(poll, 0, voter=8, minute=2)
    await seed.vote(poll, 1, voter=9, minute=3)
    await seed.switch(poll, 0, 1, voter=7, minute=10)
    await seed.unvote(poll, 0, voter=8, minute=20)
    return poll


@pytest.mark.parametrize(
    ("minute", "expected", "voters", "percents"),
    [
        (0.5, [0, 0], 0, [0.0, 0.0]),
        (2, [2, 0], 2, [100.0, 0.0]),
        (5, [2, 1], 3, [66.7, 33.3]),
        (10, [1, 2], 3, [33.3, 66.7]),  # the switch's own moment counts
        (30, [0, 2], 2, [0.0, 100.0]),
    ],
)
async def test_figures_at_a_past_moment_are_the_votes_held_then(
    store, switched_poll, minute, expected, voters, percents
):
    summary = await poll_summary(store, switched_poll.id, at(minute))
    assert (counts(summary), summary.voters, summary.as_of) == (expected, voters, at(minute))
    assert [option.percent for option in summary.options] == percents


async def test_figures_at_the_last_event_are_the_current_ones(store, switched_poll):
    now = await poll_summary(store, switched_poll.id)
    then = await poll_summary(store, switched_poll.id, at(20))
    assert (then.options, then.voters) == (now.options, now.voters) and now.as_of is None


async def test_multiple_choice_voters_at_a_moment_are_people_not_votes(seed, store):
    poll = await seed.poll(multiple=True, options=(("1️⃣", "A"), ("2️⃣", "B"), ("3️⃣", "C")))
    for option in (0, 1, 2):
        await seed.vote(poll, option, voter=7, minute=1)
    await seed.vote(poll, 1, voter=8, minute=2)
    await seed.unvote(poll, 1, voter=8, minute=3)
    summary = await poll_summary(store, poll.id, at(2))
    assert (counts(summary), summary.voters) == ([1, 2, 1], 2)
    assert [round(option.percent) for option in summary.options] == [50, 100, 50]
    assert (await poll_summary(store, poll.id, at(3))).voters == 1


@pytest.mark.parametrize(
    ("moment", "message"),
    [(START - timedelta(seconds=1), "opened at 2026-11-01 12:00:00 UTC"), (at(61), "is in the future")],
)
async def test_a_moment_before_opening_or_after_now_is_refused(store, switched_poll, moment, message):
    with pytest.raises(InvalidMoment, match=message):
        await poll_summary(store, switched_poll.id, moment, now=at(60))


async def test_timeline_at_a_moment_ends_at_that_moments_counts(store, switched_poll):
    summary = await poll_summary(store, switched_poll.id, at(10))
    timeline = await poll_timeline(store, summary, buckets=7)
    assert abs(timeline.times[-1] - at(10)) < timedelta(milliseconds=1)  # buckets of equal width, rounded
    assert [series[-1] for series in timeline.counts] == counts(summary) == [1, 2]
    assert max(timeline.counts[0]) == 2
