-- Work shared by the processes of a cluster (bot/leases.py). A feed is fetched by the one process holding
-- its claim, a lease that expires unless renewed, so a dead process's feeds are fetched again soon by
-- another. The fetched document is kept while a subscription has not been given it yet: each process posts
-- into its own servers' channels, from the kept copy, without fetching the feed again.
ALTER TABLE feeds ADD COLUMN claim_holder TEXT;
ALTER TABLE feeds ADD COLUMN claim_expires_at TEXT;
ALTER TABLE feeds ADD COLUMN content BLOB;
ALTER TABLE feeds ADD COLUMN content_type TEXT;
ALTER TABLE feeds ADD COLUMN content_url TEXT;
ALTER TABLE feeds ADD COLUMN content_version INTEGER NOT NULL DEFAULT 0;
-- The content_version of its feed this subscription has been given in full.
ALTER TABLE subscriptions ADD COLUMN delivered_version INTEGER NOT NULL DEFAULT 0;

-- How many times Discord refused a file of the articles folder in a channel (given up at MAX_REFUSALS).
CREATE TABLE folder_refusals (
    subscription_id INTEGER NOT NULL REFERENCES folder_subscriptions(id) ON DELETE CASCADE,
    file_key        TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    PRIMARY KEY (subscription_id, file_key)
) WITHOUT ROWID;
