-- PostgreSQL's version of the SQLite migration of the same number.
-- Fair polls (issue 15): who may vote, hidden totals, anonymous polls, and refused reactions.

-- One row per poll that has any fairness setting; a poll without a row is open to everyone.
CREATE TABLE poll_fairness (
    poll_id                  BIGINT PRIMARY KEY REFERENCES polls(id) ON DELETE CASCADE,
    voter_role_ids           TEXT COLLATE "C" NOT NULL DEFAULT '',   -- space-separated role ids; empty: any role
    min_account_age_seconds  BIGINT,
    min_member_age_seconds   BIGINT,
    hide_totals              BIGINT NOT NULL DEFAULT 0,
    anonymous                BIGINT NOT NULL DEFAULT 0
);

-- Reactions that were not counted because the member may not vote: once per member, option and reason.
-- Kept apart from vote_events, whose 'added'/'removed' rows replay exactly to the stored votes.
CREATE TABLE vote_refusals (
    poll_id    BIGINT NOT NULL REFERENCES polls(id) ON DELETE CASCADE,
    option_id  BIGINT NOT NULL REFERENCES poll_options(id) ON DELETE CASCADE,
    voter_id   BIGINT NOT NULL,
    reason     TEXT COLLATE "C" NOT NULL CHECK (reason IN ('account_too_new', 'member_too_recent', 'missing_role', 'unknown')),
    source     TEXT COLLATE "C" NOT NULL CHECK (source IN ('live', 'reconciled')),
    at         TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (poll_id, option_id, voter_id, reason)
);

-- Server-wide defaults for new polls (/agora poll-defaults).
CREATE TABLE poll_defaults (
    guild_id                 BIGINT PRIMARY KEY,
    voter_role_ids           TEXT COLLATE "C" NOT NULL DEFAULT '',
    min_account_age_seconds  BIGINT,
    min_member_age_seconds   BIGINT,
    hide_totals              BIGINT NOT NULL DEFAULT 0,
    anonymous                BIGINT NOT NULL DEFAULT 0
);

-- The secret behind anonymous polls' per-poll pseudonyms in exports; generated once.
CREATE TABLE pseudonym_secret (
    id      BIGINT PRIMARY KEY CHECK (id = 1),
    secret  BYTEA NOT NULL
);
