-- 016: article_topics keeps the story assignments of the newest build of each window
-- kind and model only (the builds the app, `v_article_topics` and the next rebuild's
-- lineage read). Older builds keep their topic_builds row, their topics (sizes, labels,
-- centroids) and their lineage. Every `newsintel run` that embeds new stories rebuilds
-- topics, and each build stored one row per story: at 1M stories 16 MB a build, every
-- 30 minutes. New builds prune the same way (newsintel/store/topics.py: save_build).
DELETE FROM article_topics WHERE build_id NOT IN (
    SELECT build_id FROM topic_builds
    QUALIFY row_number() OVER (PARTITION BY time_window, model
                               ORDER BY created_at DESC, build_id DESC) = 1
);
