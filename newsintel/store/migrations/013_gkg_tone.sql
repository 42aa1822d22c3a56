-- 012: what GDELT's Global Knowledge Graph says about each story `newsintel backfill
-- gkg` stored: the GKG row's average tone and its GKG theme codes, which the stories
-- table has no place for. One row per article (the first GKG row of that article id,
-- in file order, wins: a re-run or a later file naming the same page adds nothing).
-- Written in the transaction that stores the file's stories, so it agrees with
-- gkg_files. Stories stored by `backfill gkg` before this migration have no row.
CREATE TABLE gkg_articles (
    article_id VARCHAR PRIMARY KEY,
    tone DOUBLE,                -- V2Tone's first field: positive minus negative words, % of words
    gkg_themes VARCHAR[] NOT NULL, -- the row's GKG theme codes (Themes, then V2Themes), each once
    themes VARCHAR[] NOT NULL,  -- the tracked themes whose keywords or codes kept the row
    file VARCHAR NOT NULL,      -- the GKG file it came from (YYYYMMDDHHMMSS.gkg.csv.zip)
    stored_at TIMESTAMP NOT NULL
);

CREATE VIEW v_gkg_articles AS
SELECT a.article_id, a.story_id, s.name AS source, a.url, a.title, a.published_at,
       g.tone, g.gkg_themes, g.themes, g.file
FROM gkg_articles g
JOIN articles a USING (article_id)
LEFT JOIN sources s ON s.source_id = a.source_id;
