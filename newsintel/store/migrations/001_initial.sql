-- 001: the initial schema. Timestamps are TIMESTAMP values in UTC (naive by
-- convention, documented in docs/SCHEMA.md); dates are calendar dates.

CREATE TABLE sources (
    source_id            VARCHAR PRIMARY KEY,   -- slug of the feed name
    name                 VARCHAR NOT NULL,
    url                  VARCHAR NOT NULL,      -- URL fetched: configured, or where a permanent redirect led
    configured_url       VARCHAR NOT NULL,      -- http(s) URL or local file path as configured
    tags                 VARCHAR[] NOT NULL DEFAULT [],
    min_interval_minutes INTEGER NOT NULL DEFAULT 0,
    etag                 VARCHAR,
    last_modified        VARCHAR,
    last_status          VARCHAR,               -- ok | not_modified | failed
    last_error           VARCHAR,
    last_http_status     INTEGER,
    last_fetch_at        TIMESTAMP,
    last_success_at      TIMESTAMP,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    fetch_count          INTEGER NOT NULL DEFAULT 0,
    not_modified_count   INTEGER NOT NULL DEFAULT 0,
    next_check_at        TIMESTAMP,
    created_at           TIMESTAMP NOT NULL DEFAULT (now()::TIMESTAMP)
);

CREATE TABLE articles (
    article_id          VARCHAR PRIMARY KEY,   -- stable id: hash of GUID, canonical URL or content
    source_id           VARCHAR NOT NULL,
    story_id            VARCHAR NOT NULL,      -- duplicates of one story share it
    parent_id           VARCHAR,               -- newsletter issue a story was split from
    is_issue            BOOLEAN NOT NULL DEFAULT false, -- a newsletter issue: kept, not counted
    guid                VARCHAR,
    url                 VARCHAR,
    title               VARCHAR NOT NULL,
    text                VARCHAR NOT NULL,
    published_at        TIMESTAMP NOT NULL,    -- UTC
    published_estimated BOOLEAN NOT NULL DEFAULT false, -- true: no valid date, fetch time used
    fetched_at          TIMESTAMP NOT NULL,    -- UTC
    content_hash        VARCHAR NOT NULL
);
CREATE INDEX articles_published ON articles (published_at);

CREATE TABLE embeddings (
    article_id  VARCHAR NOT NULL,
    model       VARCHAR NOT NULL,
    dim         INTEGER NOT NULL,
    vector      FLOAT[] NOT NULL,
    created_at  TIMESTAMP NOT NULL DEFAULT (now()::TIMESTAMP),
    PRIMARY KEY (article_id, model)
);

CREATE TABLE themes (
    theme_id    VARCHAR PRIMARY KEY,           -- short name, e.g. world_models
    label       VARCHAR NOT NULL,
    description VARCHAR NOT NULL,
    examples    VARCHAR[] NOT NULL DEFAULT [],
    keywords    VARCHAR[] NOT NULL DEFAULT [],
    exclusions  VARCHAR[] NOT NULL DEFAULT [],
    threshold   DOUBLE NOT NULL,
    updated_at  TIMESTAMP NOT NULL DEFAULT (now()::TIMESTAMP)
);

CREATE TABLE article_themes (
    article_id  VARCHAR NOT NULL,
    theme_id    VARCHAR NOT NULL,
    method      VARCHAR NOT NULL,              -- e.g. embedding:<model>
    score       DOUBLE NOT NULL,               -- cosine similarity to the theme prototype
    is_member   BOOLEAN NOT NULL,              -- score >= the theme's threshold
    assigned_at TIMESTAMP NOT NULL DEFAULT (now()::TIMESTAMP),
    PRIMARY KEY (article_id, theme_id, method)
);

CREATE TABLE series (
    series_id   VARCHAR PRIMARY KEY,           -- name used as series:<name>
    kind        VARCHAR NOT NULL CHECK (kind IN ('price', 'attention')),
    unit        VARCHAR NOT NULL DEFAULT '',
    currency    VARCHAR NOT NULL DEFAULT '',
    origin      VARCHAR NOT NULL DEFAULT '',
    imported_at TIMESTAMP NOT NULL DEFAULT (now()::TIMESTAMP)
);

CREATE TABLE series_points (
    series_id VARCHAR NOT NULL,
    date      DATE NOT NULL,
    value     DOUBLE NOT NULL,
    PRIMARY KEY (series_id, date)
);

CREATE TABLE analysis_results (
    run_id       VARCHAR NOT NULL,
    created_at   TIMESTAMP NOT NULL DEFAULT (now()::TIMESTAMP),
    x            VARCHAR NOT NULL,             -- theme:<name> | series:<name>
    y            VARCHAR NOT NULL,
    freq         VARCHAR NOT NULL,             -- D | W | M
    test         VARCHAR NOT NULL,             -- ccf | granger | ...
    direction    VARCHAR NOT NULL DEFAULT '',  -- x->y | y->x | '' when not directional
    lag          INTEGER NOT NULL,             -- positive: x leads y by lag periods
    statistic    DOUBLE,
    p_value      DOUBLE,
    p_adj        DOUBLE,                       -- Benjamini-Hochberg within the run
    effect       DOUBLE,                       -- e.g. correlation r
    ci_low       DOUBLE,
    ci_high      DOUBLE,
    n_obs        INTEGER NOT NULL,
    window_start DATE,
    window_end   DATE,
    params       JSON,
    warnings     VARCHAR[] NOT NULL DEFAULT [],
    PRIMARY KEY (run_id, x, y, test, direction, lag)
);

CREATE TABLE digest_log (
    period       VARCHAR NOT NULL,             -- daily | weekly
    period_start DATE NOT NULL,
    recipient    VARCHAR NOT NULL,
    status       VARCHAR NOT NULL,             -- sent | failed
    message_id   VARCHAR,
    error        VARCHAR,
    attempted_at TIMESTAMP NOT NULL DEFAULT (now()::TIMESTAMP),
    PRIMARY KEY (period, period_start, recipient)
);

-- Views for people: stable names and columns for ad-hoc SQL.

CREATE VIEW v_articles AS
SELECT a.article_id, s.name AS source, a.url, a.title, a.published_at,
       a.published_estimated, a.fetched_at, a.story_id, a.parent_id, a.is_issue, a.text
FROM articles a
LEFT JOIN sources s USING (source_id);

CREATE VIEW v_article_themes AS
SELECT a.article_id, a.url, a.title, a.published_at, t.theme_id AS theme, t.score
FROM article_themes t
JOIN articles a USING (article_id)
WHERE t.is_member;

-- One row per theme per day with at least one story that day; article counts are
-- distinct stories so that syndicated copies count once.
CREATE VIEW v_theme_daily AS
WITH totals AS (
    SELECT published_at::DATE AS day, count(DISTINCT story_id) AS total_articles
    FROM articles WHERE NOT is_issue GROUP BY 1
), grid AS (
    SELECT d.day, d.total_articles, th.theme_id AS theme FROM totals d CROSS JOIN themes th
), hits AS (
    SELECT a.published_at::DATE AS day, t.theme_id AS theme,
           count(DISTINCT a.story_id) AS articles
    FROM article_themes t JOIN articles a USING (article_id)
    WHERE t.is_member AND NOT a.is_issue GROUP BY 1, 2
)
SELECT g.day, g.theme, coalesce(h.articles, 0) AS articles, g.total_articles,
       coalesce(h.articles, 0) / g.total_articles AS share
FROM grid g LEFT JOIN hits h USING (day, theme);

-- Weeks start on Monday (ISO weeks).
CREATE VIEW v_theme_weekly AS
WITH totals AS (
    SELECT date_trunc('week', published_at)::DATE AS week,
           count(DISTINCT story_id) AS total_articles
    FROM articles WHERE NOT is_issue GROUP BY 1
), grid AS (
    SELECT w.week, w.total_articles, th.theme_id AS theme FROM totals w CROSS JOIN themes th
), hits AS (
    SELECT date_trunc('week', a.published_at)::DATE AS week, t.theme_id AS theme,
           count(DISTINCT a.story_id) AS articles
    FROM article_themes t JOIN articles a USING (article_id)
    WHERE t.is_member AND NOT a.is_issue GROUP BY 1, 2
)
SELECT g.week, g.theme, coalesce(h.articles, 0) AS articles, g.total_articles,
       coalesce(h.articles, 0) / g.total_articles AS share
FROM grid g LEFT JOIN hits h USING (week, theme);

CREATE VIEW v_series_weekly AS
SELECT p.series_id AS series, date_trunc('week', p.date)::DATE AS week,
       avg(p.value) AS value_mean, arg_max(p.value, p.date) AS value_last,
       count(*) AS n_points, s.kind, s.unit, s.currency
FROM series_points p JOIN series s USING (series_id)
GROUP BY p.series_id, week, s.kind, s.unit, s.currency;

CREATE VIEW v_analysis_results AS
SELECT run_id, created_at, x, y, freq, test, direction, lag, n_obs, statistic,
       p_value, p_adj, effect, ci_low, ci_high, window_start, window_end, warnings
FROM analysis_results;

CREATE VIEW v_source_health AS
SELECT source_id, name, url, tags, last_status, last_error, last_http_status,
       last_fetch_at, last_success_at, consecutive_failures, next_check_at,
       fetch_count, not_modified_count,
       CASE WHEN fetch_count = 0 THEN NULL
            ELSE not_modified_count / fetch_count END AS not_modified_rate,
       (SELECT count(*) FROM articles a
        WHERE a.source_id = s.source_id AND NOT a.is_issue) AS articles
FROM sources s;
