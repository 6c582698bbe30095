-- Poll rules per feed subscription and per articles-folder subscription (issue 15): the defaults of the polls
-- their articles open. Each NULL falls back to the server's default (poll_defaults); a minimum age of 0 means
-- no minimum for this subscription, whatever the server's default.
ALTER TABLE subscriptions ADD COLUMN poll_voter_role_ids TEXT;
ALTER TABLE subscriptions ADD COLUMN poll_min_account_age_seconds INTEGER;
ALTER TABLE subscriptions ADD COLUMN poll_min_member_age_seconds INTEGER;
ALTER TABLE subscriptions ADD COLUMN poll_hide_totals INTEGER;
ALTER TABLE subscriptions ADD COLUMN poll_anonymous INTEGER;

ALTER TABLE folder_subscriptions ADD COLUMN poll_voter_role_ids TEXT;
ALTER TABLE folder_subscriptions ADD COLUMN poll_min_account_age_seconds INTEGER;
ALTER TABLE folder_subscriptions ADD COLUMN poll_min_member_age_seconds INTEGER;
ALTER TABLE folder_subscriptions ADD COLUMN poll_hide_totals INTEGER;
ALTER TABLE folder_subscriptions ADD COLUMN poll_anonymous INTEGER;
