-- Fair polls (issue 15): who may vote, hidden totals, anonymous polls, and refused reactions.

-- One row per poll that has any fairness setting; a poll without a row is open to everyone.
CREATE TABLE poll_fairness (
    poll_id                  INTEGER PRIMARY KEY REFERENCES polls(id) ON DELETE CASCADE,
    voter_role_ids           TEXT NOT NULL DEFAULT '',   -- space-separated role ids; empty: any role
    min_account_age_seconds  INTEGER,
    min_member_age_seconds   INTEGER,
    hide_totals              INTEGER NOT NULL DEFAULT 0,
    anonymous                INTEGER NOT NULL DEFAULT 0
);

-- Reactions that were not counted because the member may not vote: once per member, option and reason.
-- Kept apart from vote_events, whose 'added'/'removed' rows replay exactly to the stored votes.
CREATE TABLE vote_refusals (
    poll_id    INTEGER NOT NULL REFERENCES polls(id) ON DELETE CASCADE,
    option_id  INTEGER NOT NULL REFERENCES poll_options(id) ON DELETE CASCADE,
    voter_id   INTEGER NOT NULL,
    reason     TEXT NOT NULL CHECK (reason IN ('account_too_new', 'member_too_recent', 'missing_role', 'unknown')),
    source     TEXT NOT NULL CHECK (source IN ('live', 'reconciled')),
    at         TEXT NOT NULL,
    PRIMARY KEY (poll_id, option_id, voter_id, reason)
) WITHOUT ROWID;

-- Server-wide defaults for new polls (/agora poll-defaults).
CREATE TABLE poll_defaults (
    guild_id                 INTEGER PRIMARY KEY,
    voter_role_ids           TEXT NOT NULL DEFAULT '',
    min_account_age_seconds  INTEGER,
    min_member_age_seconds   INTEGER,
    hide_totals              INTEGER NOT NULL DEFAULT 0,
    anonymous                INTEGER NOT NULL DEFAULT 0
);

-- The secret behind anonymous polls' per-poll pseudonyms in exports; generated once.
CREATE TABLE pseudonym_secret (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    secret  BLOB NOT NULL
);
