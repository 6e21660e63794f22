-- trashd SQLite schema: web sessions kept in the database (issue 10).
--
-- A session is stored by the SHA-256 of its token, never the token. A
-- user's sessions are removed with the user, and by a role or password
-- change (in the same transaction). `last_used_at` of API keys is written
-- at most once a minute per key, for `trashd admin list-keys`.

CREATE TABLE web_sessions (
    hash         TEXT    NOT NULL PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
) STRICT;
CREATE INDEX web_sessions_user ON web_sessions (user_id);
CREATE INDEX web_sessions_last_seen ON web_sessions (last_seen_at);
CREATE INDEX web_sessions_created ON web_sessions (created_at);

ALTER TABLE api_keys ADD COLUMN last_used_at INTEGER;
