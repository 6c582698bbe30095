"""The state a feed subscription is in, as /feed list and `agora check` tell it.

Nothing stores it: it follows from the subscription's `paused` flag and its feed's failures in a row,
which are what the database keeps (and always has).
"""

from __future__ import annotations

from enum import StrEnum

from bot.storage.feeds import Feed, Subscription


class SubscriptionState(StrEnum):
    ACTIVE = "active"  # checked on schedule
    FAILING = "failing"  # checked on schedule, backing off; paused after FEED_MAX_FAILURES failures in a row
    PAUSED = "paused"  # not checked until a moderator resumes it


def subscription_state(subscription: Subscription, feed: Feed) -> SubscriptionState:
    if subscription.paused:
        return SubscriptionState.PAUSED
    if feed.consecutive_failures:
        return SubscriptionState.FAILING
    return SubscriptionState.ACTIVE
