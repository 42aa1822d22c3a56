-- 006: GDELT backfill (`newsintel backfill gdelt`).
-- gdelt_windows is the cursor: one row per (theme, mode, window) asked of the GDELT DOC
-- API, with the window's status. A row with done = true is never asked again, so a
-- re-run resumes where the last one stopped and adds nothing. Windows that failed
-- (rate_limited, error) or that end within a day of the fetch (GDELT still adds to
-- them) stay done = false and are asked again. An ArtList window that returned the
-- 250-article maximum is 'split' into halves, each with its own row.
-- gdelt_timeline keeps TimelineVolRaw per theme and day: matching articles and GDELT's
-- total monitored volume, behind the series gdelt:<theme> and gdelt:<theme>:share.

CREATE TABLE gdelt_windows (
    theme        VARCHAR NOT NULL,
    mode         VARCHAR NOT NULL,               -- ArtList | TimelineVolRaw
    window_start TIMESTAMP NOT NULL,             -- inclusive, UTC
    window_end   TIMESTAMP NOT NULL,             -- exclusive, UTC
    status       VARCHAR NOT NULL,               -- ok | empty | split | capped | rate_limited | error
    detail       VARCHAR NOT NULL DEFAULT '',    -- the reason of anything but ok
    n_rows       INTEGER NOT NULL DEFAULT 0,     -- articles listed or days served
    done         BOOLEAN NOT NULL,
    fetched_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (theme, mode, window_start, window_end)
);

CREATE TABLE gdelt_timeline (
    theme    VARCHAR NOT NULL,
    day      DATE NOT NULL,
    articles BIGINT NOT NULL,                    -- articles matching the theme's query
    total    BIGINT NOT NULL,                    -- every article GDELT monitored (norm)
    PRIMARY KEY (theme, day)
);
