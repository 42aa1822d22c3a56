-- 017: stories placed into a build after it was made. Between rebuilds `newsintel run`
-- puts each new story in the topic of the newest `all` build whose centroid is nearest
-- (newsintel/topics/place.py): one article_topics row in that build, the topic's size,
-- first_seen and last_seen updated, and `placed` counting them. n_articles stays the
-- number of stories the build clustered.
ALTER TABLE topic_builds ADD COLUMN placed INTEGER DEFAULT 0;
