-- 010: `newsintel mail import --resolve-links` asks click trackers where their opaque
-- links lead. Each answer is kept here, so a link is asked about once however many
-- issues carry it. resolved_url is the canonical URL the redirects end at, NULL when
-- they lead nowhere usable (error says why: a dead link, a loop). Answers that may
-- change (timeouts, 429, 5xx) are never stored, so a later run asks again.

CREATE TABLE IF NOT EXISTS link_redirects (
    url VARCHAR PRIMARY KEY,
    resolved_url VARCHAR,
    http_status INTEGER,
    hops INTEGER NOT NULL DEFAULT 0,
    error VARCHAR,
    resolved_at TIMESTAMP NOT NULL
);
