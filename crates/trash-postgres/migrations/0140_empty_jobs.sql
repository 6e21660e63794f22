-- "Empty Trash" as a persisted background job (issue 10).
--
-- One running job per workspace (the partial unique index); a worker holds
-- a job until `claimed_until` and stores its progress after each batch, so
-- a job whose worker stopped is claimed again and resumed.

CREATE TABLE empty_jobs (
    id            text COLLATE "C" NOT NULL,
    workspace     text COLLATE "C" NOT NULL,
    actor_kind    text NOT NULL,
    actor_id      text NOT NULL,
    actor_name    text NOT NULL,
    total         bigint NOT NULL,
    removed       bigint NOT NULL DEFAULT 0,
    failed        bigint NOT NULL DEFAULT 0,
    state         text NOT NULL,
    started_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    finished_at   timestamptz,
    claimed_until timestamptz,
    CONSTRAINT empty_jobs_pkey PRIMARY KEY (id),
    CONSTRAINT empty_jobs_workspace_fkey FOREIGN KEY (workspace) REFERENCES workspaces (slug),
    CONSTRAINT empty_jobs_state_check CHECK (state IN ('running', 'done'))
);
CREATE UNIQUE INDEX empty_jobs_one_running ON empty_jobs (workspace) WHERE state = 'running';
CREATE INDEX empty_jobs_by_workspace ON empty_jobs (workspace, started_at);
