-- 008: newsletters from email. One mail_state row per configured IMAP mailbox (its
-- sources row has kind = 'mailbox'): the folder's UIDVALIDITY and the highest UID read,
-- so each run fetches only new messages; a changed UIDVALIDITY means the server
-- renumbered the folder, and the mailbox is read again from the start (stories keep
-- their Message-ID based ids, so nothing is stored twice). v_mailbox_health joins it
-- with the fetch status kept in sources for the Sources page and `newsintel sql`.

CREATE TABLE IF NOT EXISTS mail_state (
    source_id VARCHAR PRIMARY KEY,
    uidvalidity BIGINT,
    last_uid BIGINT NOT NULL DEFAULT 0,
    last_message_at TIMESTAMP,
    messages_read BIGINT NOT NULL DEFAULT 0,
    messages_skipped BIGINT NOT NULL DEFAULT 0,
    last_skipped VARCHAR,
    resyncs INTEGER NOT NULL DEFAULT 0
);

CREATE VIEW v_mailbox_health AS
SELECT s.source_id, s.name, s.url, s.last_status, s.last_error, s.last_fetch_at,
       s.last_success_at, s.consecutive_failures, m.uidvalidity, m.last_uid,
       m.last_message_at, m.messages_read, m.messages_skipped, m.last_skipped, m.resyncs
FROM sources s
LEFT JOIN mail_state m USING (source_id)
WHERE s.kind = 'mailbox';
