-- Seen items keep the date their feed gave them. Pruning forgets only items dated before the retention
-- horizon, and the check cycle never posts an unseen item dated before it, so a forgotten item that comes
-- back is refused by its date (bot/feeds/service.py). Rows from before this migration have no date and are
-- kept: nothing proves they are safe to forget.
ALTER TABLE subscription_seen_items ADD COLUMN published_at TEXT COLLATE "C";

-- An item Discord refuses is retried for a few cycles, then skipped so later items flow; the refusal is
-- kept for /feed list. Delivery stops at the first refusal, so one item per subscription is enough.
ALTER TABLE subscriptions ADD COLUMN refused_item_key TEXT COLLATE "C";
ALTER TABLE subscriptions ADD COLUMN refused_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN last_error TEXT COLLATE "C";
ALTER TABLE subscriptions ADD COLUMN last_error_at TEXT COLLATE "C";
