-- 007: outlet-archive backfill state, so that `newsintel backfill archive` resumes.
-- archive_urls holds one row per article page a backfill has dealt with. A row with
-- status 'stored' is written in the same transaction as its article, so after a crash
-- every stored page has its row and no page without one was stored: a re-run fetches
-- exactly the pages that are not yet done. Other statuses: 'out_of_range' (the page's
-- date lies outside the requested window; published_at says when), 'non_html',
-- 'empty' (no text could be extracted), 'denied' (robots.txt forbids it) and 'failed'
-- (retried once next_try_at has passed, with the ingest backoff).
-- archive_pages holds one row per page of a paged feed (?paged=N or /page/N/) whose
-- articles were stored, with the newest and oldest entry dates and a fingerprint of its
-- entry ids: a re-run skips pages already done and still applies the stop rules.
CREATE TABLE archive_urls (
    source_id VARCHAR NOT NULL,
    url VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    http_status INTEGER,
    error VARCHAR,
    article_id VARCHAR,
    published_at TIMESTAMP,
    attempts INTEGER NOT NULL DEFAULT 1,
    next_try_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (source_id, url)
);

CREATE TABLE archive_pages (
    source_id VARCHAR NOT NULL,
    feed_url VARCHAR NOT NULL,
    page INTEGER NOT NULL,
    page_url VARCHAR NOT NULL,
    style VARCHAR NOT NULL,
    entries INTEGER NOT NULL,
    newest_at TIMESTAMP,
    oldest_at TIMESTAMP,
    fingerprint VARCHAR NOT NULL,
    fetched_at TIMESTAMP NOT NULL,
    PRIMARY KEY (source_id, feed_url, page)
);
