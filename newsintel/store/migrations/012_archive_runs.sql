-- 012: one row per outlet-archive backfill asked for (outlet and window), so that the
-- app can say while one is unfinished and name the command that resumes it, as it does
-- for GDELT (gdelt_windows). started_at is written before the first fetch, finished_at
-- when the run ends normally: NULL means still running, or stopped before the end
-- (Ctrl-C, kill, a crash). A re-run of the same window starts the row again. feed is the
-- FEED argument as given (a feed name or a URL), so the resume command is the one typed.
CREATE TABLE archive_runs (
    source_id VARCHAR NOT NULL,
    since DATE NOT NULL,
    until DATE NOT NULL,
    feed VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    PRIMARY KEY (source_id, since, until)
);
