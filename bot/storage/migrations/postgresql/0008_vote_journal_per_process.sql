-- A row per vote journal instead of one: each process of a sharded cluster keeps its own journal files and
-- records which of them are committed under its own name ('' for an unsharded process, which keeps its row).
CREATE TABLE vote_journal_by_name (
    name        TEXT PRIMARY KEY,
    generation  BIGINT NOT NULL
);
INSERT INTO vote_journal_by_name (name, generation) SELECT '', generation FROM vote_journal;
DROP TABLE vote_journal;
ALTER TABLE vote_journal_by_name RENAME TO vote_journal;
