-- Per-subscription settings (/feed edit). An age limit of 0 turns the date check off; words are JSON lists.
ALTER TABLE subscriptions ADD COLUMN max_age_days INTEGER NOT NULL DEFAULT 90;
ALTER TABLE subscriptions ADD COLUMN include_words TEXT;
ALTER TABLE subscriptions ADD COLUMN exclude_words TEXT;
ALTER TABLE subscriptions ADD COLUMN identity TEXT NOT NULL DEFAULT 'auto'
    CHECK (identity IN ('auto', 'guid', 'link', 'title'));

-- Every item a subscription did not post, and why, for /feed list and /feed check. Rows older than a week are
-- pruned (bot/feeds/service.py); a cycle writes a bounded number per subscription, the rest as one row
-- with their count.
CREATE TABLE feed_item_skips (
    id              INTEGER PRIMARY KEY,
    subscription_id INTEGER NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    reason          TEXT NOT NULL CHECK (reason IN ('too_old', 'filtered', 'already_seen', 'refused', 'too_large')),
    detail          TEXT NOT NULL,
    item_title      TEXT,
    item_count      INTEGER NOT NULL DEFAULT 1,
    skipped_at      TEXT NOT NULL
);
CREATE INDEX feed_item_skips_by_subscription ON feed_item_skips (subscription_id, skipped_at);
CREATE INDEX feed_item_skips_by_time ON feed_item_skips (skipped_at);
