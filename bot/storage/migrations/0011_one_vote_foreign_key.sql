-- Nothing to change in SQLite: its PostgreSQL copy merges the two foreign keys of votes and vote_events
-- (poll, option) into one on (poll, option), because PostgreSQL checks each key with a query per row.
-- SQLite checks its keys cheaply, and changing them would mean rebuilding both tables.
SELECT 1;
