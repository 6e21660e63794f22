-- "Empty Trash" as a persisted background job (issue 10).
--
-- One running job per workspace (the partial unique index); a worker holds
-- a job until `claimed_until` and stores its progress after each batch, so
-- a job whose worker stopped is claimed again and resumed.

CREATE TABLE empty_jobs (
    id            TEXT    NOT NULL PRIMARY KEY,
    workspace     TEXT    NOT NULL REFERENCES workspaces (slug),
    actor_kind    TEXT    NOT NULL,
    actor_id      TEXT    NOT NULL,
    actor_name    TEXT    NOT NULL,
    total         INTEGER NOT NULL,
    removed       INTEGER NOT NULL DEFAULT 0,
    failed        INTEGER NOT NULL DEFAULT 0,
    state         TEXT    NOT NULL CHECK (state IN ('running', 'done')),
    started_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    finished_at   INTEGER,
    claimed_until INTEGER
) STRICT;
CREATE UNIQUE INDEX empty_jobs_one_running ON empty_jobs (workspace) WHERE state = 'running';
CREATE INDEX empty_jobs_by_workspace ON empty_jobs (workspace, started_at);
