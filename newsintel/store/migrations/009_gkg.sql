-- 009: GDELT GKG backfill state, one row per GKG file a `newsintel backfill gkg` run
-- dealt with. A row with status 'stored' is written in the same transaction as the
-- file's stories, so after a crash (kill -9 of the driver included) every stored file
-- has its row and no file without one was stored: a re-run reads exactly the files
-- that are not yet stored. Other statuses (retried by the next run, listed by --json):
-- 'not_found' (HTTP 404), 'http_error', 'md5_mismatch' (the bytes differ from the
-- master list), 'bad_zip' (truncated or not a zip), 'bad_columns' (no row has GKG 2.1's
-- 27 columns) and 'died' (the worker processing it was killed twice).
CREATE TABLE gkg_files (
    url VARCHAR PRIMARY KEY,
    stamp TIMESTAMP NOT NULL,
    status VARCHAR NOT NULL,
    error VARCHAR,
    bytes BIGINT NOT NULL DEFAULT 0,
    rows_read BIGINT NOT NULL DEFAULT 0,
    rows_bad BIGINT NOT NULL DEFAULT 0,
    rows_kept BIGINT NOT NULL DEFAULT 0,
    stories_added BIGINT NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMP NOT NULL
);
