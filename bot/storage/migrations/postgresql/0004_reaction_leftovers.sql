-- Superseded reactions still on a poll message: a single-choice voter's earlier reaction after a switch,
-- until it is seen taken off. Reconciliation after a restart tells them from new votes by this table.
-- Columns in primary-key order: SQLite 3.40's quick_check misreports a WITHOUT ROWID table otherwise.
CREATE TABLE reaction_leftovers (
    poll_id    BIGINT NOT NULL REFERENCES polls(id) ON DELETE CASCADE,
    voter_id   BIGINT NOT NULL,
    option_id  BIGINT NOT NULL REFERENCES poll_options(id) ON DELETE CASCADE,
    PRIMARY KEY (poll_id, voter_id, option_id)
);

-- The newest vote journal file whose rows are committed: a restart replays only newer files.
CREATE TABLE vote_journal (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    generation  BIGINT NOT NULL
);
INSERT INTO vote_journal (id, generation) VALUES (1, 0);
