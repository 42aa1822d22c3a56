-- 011: the canonical URL as a second identity key of an article. A feed entry with a
-- trusted GUID gets a GUID id, the same page found by a backfill (archive, GDELT,
-- import) a URL id: two rows, yet one story. At insert a new article whose url_key
-- matches a stored article takes that article's story_id (newsintel.store.feeds), and
-- the near-duplicate grouping keeps them together (newsintel.feeds.dedupe.url_pairs).
-- url_key is newsintel.feeds.identity.canonical_url(url); rows stored before this
-- migration get their URL as stored (archive, GDELT and import rows stored it
-- canonical already; a feed URL with tracking parameters simply matches nothing).
-- No index: the insert joins by hash, and DuckDB cannot index a column updated in the
-- same transaction.

ALTER TABLE articles ADD COLUMN url_key VARCHAR;
UPDATE articles SET url_key = url WHERE url IS NOT NULL AND trim(url) <> '';
