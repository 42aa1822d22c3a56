-- 004: discovered topics. Every `newsintel topics build` is one row of topic_builds;
-- topics, article assignments and lineage events hang off its build_id. Topic ids
-- persist across builds while a topic continues (see newsintel/topics/lineage.py).

CREATE TABLE topic_builds (
    build_id      VARCHAR PRIMARY KEY,        -- sortable: starts with its UTC time
    created_at    TIMESTAMP NOT NULL DEFAULT (now()::TIMESTAMP),
    model         VARCHAR NOT NULL,           -- embedding model the vectors came from
    seed          INTEGER NOT NULL,
    time_window   VARCHAR NOT NULL,           -- all | month | quarter
    params        JSON NOT NULL,              -- clustering and lineage parameters, diagnostics
    n_articles    INTEGER NOT NULL,
    n_topics      INTEGER NOT NULL,
    outlier_share DOUBLE NOT NULL,            -- share of stories left without a topic
    seconds       DOUBLE
);

CREATE TABLE topics (
    build_id      VARCHAR NOT NULL,
    topic_id      VARCHAR NOT NULL,           -- stable across builds while the topic continues
    time_window   VARCHAR NOT NULL,           -- all, 2026-03 (month) or 2026Q1 (quarter)
    label         VARCHAR NOT NULL,
    top_words     VARCHAR[] NOT NULL,         -- 10 most distinctive words (class-based TF-IDF)
    size          INTEGER NOT NULL,
    centroid      FLOAT[] NOT NULL,           -- unit length
    first_seen    TIMESTAMP,
    last_seen     TIMESTAMP,
    representative_ids VARCHAR[] NOT NULL,    -- the 3 articles closest to the centroid
    params        JSON,
    PRIMARY KEY (build_id, time_window, topic_id)
);

CREATE TABLE article_topics (
    article_id    VARCHAR NOT NULL,
    build_id      VARCHAR NOT NULL,
    topic_id      VARCHAR NOT NULL,
    time_window   VARCHAR NOT NULL,
    distance      DOUBLE NOT NULL,            -- cosine distance to the topic centroid
    PRIMARY KEY (build_id, article_id)
);

CREATE TABLE topic_lineage (
    build_id        VARCHAR NOT NULL,
    from_build_id   VARCHAR,                  -- the earlier build, for rebuild edges
    window_from     VARCHAR,                  -- null for births
    window_to       VARCHAR NOT NULL,
    parent_topic_id VARCHAR,                  -- null for births
    child_topic_id  VARCHAR,                  -- null for deaths
    event           VARCHAR NOT NULL CHECK (event IN ('birth', 'continue', 'merge', 'split', 'death')),
    similarity      DOUBLE
);

CREATE VIEW v_article_topics AS
WITH latest AS (
    SELECT build_id FROM topic_builds ORDER BY created_at DESC, build_id DESC LIMIT 1
)
SELECT a.article_id, a.url, a.title, a.published_at, m.topic_id, t.label AS topic_label,
       m.time_window, m.distance
FROM article_topics m
JOIN latest USING (build_id)
JOIN articles a USING (article_id)
JOIN topics t ON t.build_id = m.build_id AND t.topic_id = m.topic_id
             AND t.time_window = m.time_window;
