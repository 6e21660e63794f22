-- Web sessions kept in the database (issue 10).
--
-- A session is stored by the SHA-256 of its token, never the token. A
-- user's sessions go with the user, and are removed by a role or password
-- change in the same transaction. `last_used_at` of API keys is written at
-- most once a minute per key, for `trashd admin list-keys`.

CREATE TABLE web_sessions (
    session_hash  text COLLATE "C" NOT NULL,
    user_id       text COLLATE "C" NOT NULL,
    created_at    timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    CONSTRAINT web_sessions_pkey PRIMARY KEY (session_hash),
    CONSTRAINT web_sessions_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX web_sessions_by_user ON web_sessions (user_id);
CREATE INDEX web_sessions_by_last_seen ON web_sessions (last_seen_at);
CREATE INDEX web_sessions_by_created ON web_sessions (created_at);

ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz;
