"""Articles-folder subscriptions' SQL on both backends: their poll rules, and a server's list of them."""

from __future__ import annotations

from bot.storage.articles import ArticleStore, FolderSubscription
from bot.storage.polls import PollRulesRow

GUILD, CHANNEL, OTHER_CHANNEL = 1, 10, 11


async def test_a_folder_subscriptions_poll_rules_are_kept_and_replaced(db_on) -> None:
    store = ArticleStore(db_on)
    rules = PollRulesRow("42", None, 86_400, None, True)
    assert await store.add_folder_subscription(GUILD, CHANNEL, 5, ["a.txt:1"], rules)
    assert not await store.add_folder_subscription(GUILD, CHANNEL, 5, [], PollRulesRow())  # already subscribed
    assert await store.folder_poll_rules(CHANNEL) == rules  # the second subscribe changed nothing
    assert await store.add_folder_subscription(GUILD, OTHER_CHANNEL, 5, [])
    assert await store.folder_poll_rules(OTHER_CHANNEL) == PollRulesRow()
    assert await store.folder_poll_rules(999) is None
    assert await store.set_folder_poll_rules(CHANNEL, PollRulesRow(hide_totals=False))
    assert await store.folder_poll_rules(CHANNEL) == PollRulesRow(hide_totals=False)
    assert not await store.set_folder_poll_rules(999, PollRulesRow())


async def test_a_servers_folder_subscriptions_are_listed_with_their_poll_rules_and_no_other_servers(db_on) -> None:
    store = ArticleStore(db_on)
    rules = PollRulesRow("42", None, 86_400, None, True)
    assert await store.guild_folder_subscriptions(GUILD) == []
    assert await store.add_folder_subscription(GUILD, CHANNEL, 5, [], rules)
    assert await store.add_folder_subscription(2, 20, 5, [], PollRulesRow(hide_totals=True))  # another server
    assert await store.add_folder_subscription(GUILD, OTHER_CHANNEL, 5, [])
    assert await store.guild_folder_subscriptions(GUILD) == [
        FolderSubscription(CHANNEL, rules),
        FolderSubscription(OTHER_CHANNEL, PollRulesRow()),
    ]
    assert await store.guild_folder_subscriptions(2) == [FolderSubscription(20, PollRulesRow(hide_totals=True))]
    assert await store.remove_folder_subscription(CHANNEL)
    assert await store.guild_folder_subscriptions(GUILD) == [FolderSubscription(OTHER_CHANNEL, PollRulesRow())]
