-- 005: provenance. Every article records where it came from: 'feed' (RSS/Atom and web
-- newsletters read by ingest), 'archive' (an outlet's paged feed or sitemap, backfilled),
-- 'gdelt' (the GDELT DOC API), 'import' (an article list exported elsewhere) or 'mail'
-- (a newsletter read from a mailbox). Rows stored before this migration came from feeds.
-- title_derived marks a title made from the URL slug because the source gave none; the
-- app shows such titles muted. v_articles gains both columns, appended.
-- sources.kind tells configured feeds ('feed') from outlets known only through
-- backfilled articles ('outlet': a GDELT or imported story's site, never fetched as a
-- feed) and mailboxes ('mailbox'); v_source_health gains it, appended.

-- Nullable only because DuckDB cannot add a NOT NULL column to an indexed table;
-- every writer sets both, and rows stored before this migration get the defaults.
ALTER TABLE articles ADD COLUMN origin VARCHAR DEFAULT 'feed';
ALTER TABLE articles ADD COLUMN title_derived BOOLEAN DEFAULT false;
ALTER TABLE sources ADD COLUMN kind VARCHAR NOT NULL DEFAULT 'feed';

CREATE OR REPLACE VIEW v_articles AS
SELECT a.article_id, s.name AS source, a.url, a.title, a.published_at,
       a.published_estimated, a.fetched_at, a.story_id, a.parent_id, a.is_issue, a.text,
       a.origin, a.title_derived
FROM articles a
LEFT JOIN sources s USING (source_id);

CREATE OR REPLACE VIEW v_source_health AS
SELECT source_id, name, url, tags, last_status, last_error, last_http_status,
       last_fetch_at, last_success_at, consecutive_failures, next_check_at,
       fetch_count, not_modified_count,
       CASE WHEN fetch_count = 0 THEN NULL
            ELSE not_modified_count / fetch_count END AS not_modified_rate,
       (SELECT count(*) FROM articles a
        WHERE a.source_id = s.source_id AND NOT a.is_issue) AS articles,
       kind
FROM sources s;
