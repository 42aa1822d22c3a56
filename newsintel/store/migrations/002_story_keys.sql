-- 002: title keys for grouping syndicated copies of one story at ingest.
-- title_key is the normalised title (newsintel.feeds.dedupe.title_key): lower-case,
-- no punctuation; NULL when the title is too short to identify a story, and for rows
-- stored before this migration (the grouping step after embedding covers those).

ALTER TABLE articles ADD COLUMN title_key VARCHAR;
CREATE INDEX articles_title_key ON articles (title_key);
