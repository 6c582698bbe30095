-- Current votes per option and voters per poll, kept by the vote recorder in the same transaction as each
-- batch of votes, so a poll's current figures are a lookup per option instead of a count of its votes.
-- History at a past moment still reads the vote log.
ALTER TABLE poll_options ADD COLUMN votes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE polls ADD COLUMN voters INTEGER NOT NULL DEFAULT 0;
UPDATE poll_options SET votes = (
    SELECT COUNT(*) FROM votes v WHERE v.poll_id = poll_options.poll_id AND v.option_id = poll_options.id
);
UPDATE polls SET voters = (SELECT COUNT(DISTINCT v.voter_id) FROM votes v WHERE v.poll_id = polls.id);
