-- Votes-over-time charts count each option's events per time bucket; this covering index turns
-- those counts into index range scans (1 M votes: 120 ms instead of 870 ms, bench/summary.py).
CREATE INDEX vote_events_timeline ON vote_events (poll_id, option_id, at, action);
