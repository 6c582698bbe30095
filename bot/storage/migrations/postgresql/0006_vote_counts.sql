-- PostgreSQL's version of the SQLite migration of the same number.
-- Current votes per option and voters per poll, kept by the vote recorder in the same transaction as each
-- batch of votes, so a poll's current figures are a lookup per option instead of a count of its votes.
ALTER TABLE poll_options ADD COLUMN votes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE polls ADD COLUMN voters BIGINT NOT NULL DEFAULT 0;
UPDATE poll_options SET votes = (
    SELECT COUNT(*) FROM votes v WHERE v.poll_id = poll_options.poll_id AND v.option_id = poll_options.id
);
UPDATE polls SET voters = (SELECT COUNT(DISTINCT v.voter_id) FROM votes v WHERE v.poll_id = polls.id);
