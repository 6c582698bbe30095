-- PostgreSQL's version of the SQLite migration of the same number.
-- Poll rules per feed subscription and per articles-folder subscription (issue 15): the defaults of the polls
-- their articles open. Each NULL falls back to the server's default (poll_defaults); a minimum age of 0 means
-- no minimum for this subscription, whatever the server's default.
ALTER TABLE subscriptions ADD COLUMN poll_voter_role_ids TEXT COLLATE "C";
ALTER TABLE subscriptions ADD COLUMN poll_min_account_age_seconds BIGINT;
ALTER TABLE subscriptions ADD COLUMN poll_min_member_age_seconds BIGINT;
ALTER TABLE subscriptions ADD COLUMN poll_hide_totals BIGINT;
ALTER TABLE subscriptions ADD COLUMN poll_anonymous BIGINT;

ALTER TABLE folder_subscriptions ADD COLUMN poll_voter_role_ids TEXT COLLATE "C";
ALTER TABLE folder_subscriptions ADD COLUMN poll_min_account_age_seconds BIGINT;
ALTER TABLE folder_subscriptions ADD COLUMN poll_min_member_age_seconds BIGINT;
ALTER TABLE folder_subscriptions ADD COLUMN poll_hide_totals BIGINT;
ALTER TABLE folder_subscriptions ADD COLUMN poll_anonymous BIGINT;
