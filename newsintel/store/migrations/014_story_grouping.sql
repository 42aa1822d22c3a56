-- 014: which articles the near-duplicate grouping has seen, and how. One row per
-- grouped article: the model, threshold and window it was grouped with, and whether
-- its vector existed then. A run then groups only what changed (articles without a row,
-- or grouped before their vector existed) against its neighbourhood, instead of every
-- stored story again; a different model, threshold or window regroups everything.
CREATE TABLE story_grouping (
    article_id VARCHAR PRIMARY KEY,
    model VARCHAR NOT NULL,
    threshold DOUBLE NOT NULL,
    window_days INTEGER NOT NULL,
    with_vector BOOLEAN NOT NULL
);
