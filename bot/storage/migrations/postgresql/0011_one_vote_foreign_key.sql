-- PostgreSQL's version of the SQLite migration of the same number.
-- A vote and a vote event each checked two foreign keys (the poll, the option) per row, and PostgreSQL runs
-- every check as a query of its own: most of a vote batch's time (bench/vote_ingest.py). One key on
-- (poll, option) does both at once, and more: the option must belong to that poll. Deleting a poll still
-- deletes its votes and events, through its options.
ALTER TABLE poll_options ADD CONSTRAINT poll_options_poll_option UNIQUE (poll_id, id);
ALTER TABLE votes
    DROP CONSTRAINT votes_poll_id_fkey,
    DROP CONSTRAINT votes_option_id_fkey,
    ADD CONSTRAINT votes_poll_option_fkey FOREIGN KEY (poll_id, option_id)
        REFERENCES poll_options (poll_id, id) ON DELETE CASCADE;
ALTER TABLE vote_events
    DROP CONSTRAINT vote_events_poll_id_fkey,
    DROP CONSTRAINT vote_events_option_id_fkey,
    ADD CONSTRAINT vote_events_poll_option_fkey FOREIGN KEY (poll_id, option_id)
        REFERENCES poll_options (poll_id, id) ON DELETE CASCADE;
