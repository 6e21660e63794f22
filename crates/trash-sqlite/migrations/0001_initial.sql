-- trashd SQLite schema, version 1.
--
-- Timestamps are INTEGER Unix milliseconds (the core's precision).
-- A trashable item (project, version, workflow, training) is active when
-- `trash_op_id` is NULL; otherwise it was trashed by that operation, as its
-- root (`trash_cascaded` = 0) or along with the root (`trash_cascaded` = 1).
-- Aggregates (a project with its versions, trainings and operations; a
-- workflow with its operation) carry a `revision` bumped by every guarded write.
--
-- The references from items to their operation are DEFERRABLE: an operation
-- and the items recording it point at each other, and a purge removes both in
-- one transaction. So is the one from image links to images. Every other
-- reference is checked immediately.

CREATE TABLE workspaces (
    slug       TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
    id         TEXT    NOT NULL PRIMARY KEY,
    workspace  TEXT    NOT NULL REFERENCES workspaces (slug),
    name       TEXT    NOT NULL,
    scopes     TEXT    NOT NULL,
    hash       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;
CREATE INDEX api_keys_workspace ON api_keys (workspace);

CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    workspace     TEXT    NOT NULL REFERENCES workspaces (slug),
    email         TEXT    NOT NULL UNIQUE,
    role          TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX users_workspace ON users (workspace);

CREATE TABLE projects (
    id             TEXT    NOT NULL PRIMARY KEY,
    workspace      TEXT    NOT NULL REFERENCES workspaces (slug),
    slug           TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    trash_op_id    TEXT REFERENCES operations (id) DEFERRABLE INITIALLY DEFERRED,
    trash_cascaded INTEGER NOT NULL DEFAULT 0 CHECK (trash_cascaded IN (0, 1)),
    revision       INTEGER NOT NULL DEFAULT 1,
    next_version   INTEGER NOT NULL DEFAULT 1,
    CHECK (trash_op_id IS NOT NULL OR trash_cascaded = 0)
) STRICT;
-- Slugs are unique among the workspace's active projects only.
CREATE UNIQUE INDEX projects_active_slug ON projects (workspace, slug) WHERE trash_op_id IS NULL;
-- Lookups by slug that may find trashed projects too.
CREATE INDEX projects_slug ON projects (workspace, slug);
CREATE INDEX projects_trash_op ON projects (trash_op_id) WHERE trash_op_id IS NOT NULL;

CREATE TABLE versions (
    project_id     TEXT    NOT NULL REFERENCES projects (id),
    number         INTEGER NOT NULL CHECK (number >= 1),
    name           TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    trash_op_id    TEXT REFERENCES operations (id) DEFERRABLE INITIALLY DEFERRED,
    trash_cascaded INTEGER NOT NULL DEFAULT 0 CHECK (trash_cascaded IN (0, 1)),
    PRIMARY KEY (project_id, number),
    CHECK (trash_op_id IS NOT NULL OR trash_cascaded = 0)
) STRICT, WITHOUT ROWID;
CREATE INDEX versions_trash_op ON versions (trash_op_id) WHERE trash_op_id IS NOT NULL;

CREATE TABLE trainings (
    id             TEXT    NOT NULL PRIMARY KEY,
    project_id     TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'stopped', 'cancelled')),
    started_at     INTEGER NOT NULL,
    ended_at       INTEGER,
    trash_op_id    TEXT REFERENCES operations (id) DEFERRABLE INITIALLY DEFERRED,
    trash_cascaded INTEGER NOT NULL DEFAULT 0 CHECK (trash_cascaded IN (0, 1)),
    FOREIGN KEY (project_id, version) REFERENCES versions (project_id, number),
    CHECK (trash_op_id IS NOT NULL OR trash_cascaded = 0)
) STRICT;
CREATE INDEX trainings_version ON trainings (project_id, version);
CREATE INDEX trainings_trash_op ON trainings (trash_op_id) WHERE trash_op_id IS NOT NULL;

CREATE TABLE workflows (
    id             TEXT    NOT NULL PRIMARY KEY,
    workspace      TEXT    NOT NULL REFERENCES workspaces (slug),
    slug           TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    trash_op_id    TEXT REFERENCES operations (id) DEFERRABLE INITIALLY DEFERRED,
    trash_cascaded INTEGER NOT NULL DEFAULT 0 CHECK (trash_cascaded IN (0, 1)),
    revision       INTEGER NOT NULL DEFAULT 1,
    CHECK (trash_op_id IS NOT NULL OR trash_cascaded = 0)
) STRICT;
CREATE UNIQUE INDEX workflows_active_slug ON workflows (workspace, slug) WHERE trash_op_id IS NULL;
CREATE INDEX workflows_slug ON workflows (workspace, slug);

-- One live trash operation. Its root is (root_kind, project_id, version,
-- training_id, workflow_id); `project_id` is set for every root that lives in
-- a project (the project itself, a version, a training), so the operations of
-- a project aggregate are exactly `WHERE project_id = ?`.
CREATE TABLE operations (
    id                    TEXT    NOT NULL PRIMARY KEY,
    workspace             TEXT    NOT NULL REFERENCES workspaces (slug),
    root_kind             TEXT    NOT NULL,
    project_id            TEXT REFERENCES projects (id),
    version               INTEGER,
    training_id           TEXT REFERENCES trainings (id),
    workflow_id           TEXT REFERENCES workflows (id),
    actor_kind            TEXT    NOT NULL,
    actor_id              TEXT    NOT NULL,
    actor_name            TEXT    NOT NULL,
    deleted_at            INTEGER NOT NULL,
    scheduled_cleanup_at  INTEGER NOT NULL,
    cleanup_delete_images INTEGER NOT NULL CHECK (cleanup_delete_images IN (0, 1)),
    contains_versions     INTEGER NOT NULL DEFAULT 0,
    contains_trainings    INTEGER NOT NULL DEFAULT 0,
    -- A cleanup worker holds the operation until then (NULL: never claimed).
    claimed_until         INTEGER,
    CHECK (
        (root_kind = 'project'  AND project_id IS NOT NULL AND version IS NULL     AND training_id IS NULL     AND workflow_id IS NULL) OR
        (root_kind = 'version'  AND project_id IS NOT NULL AND version IS NOT NULL AND training_id IS NULL     AND workflow_id IS NULL) OR
        (root_kind = 'training' AND project_id IS NOT NULL AND version IS NULL     AND training_id IS NOT NULL AND workflow_id IS NULL) OR
        (root_kind = 'workflow' AND project_id IS NULL     AND version IS NULL     AND training_id IS NULL     AND workflow_id IS NOT NULL)
    )
) STRICT;
-- Keyset pagination of the listing, newest first, with and without a kind filter.
CREATE INDEX operations_listing ON operations (workspace, deleted_at DESC, id DESC);
CREATE INDEX operations_listing_kind ON operations (workspace, root_kind, deleted_at DESC, id DESC);
-- Claiming due operations, oldest schedule first.
CREATE INDEX operations_due ON operations (scheduled_cleanup_at, id);
CREATE INDEX operations_project ON operations (project_id) WHERE project_id IS NOT NULL;
CREATE INDEX operations_training ON operations (training_id) WHERE training_id IS NOT NULL;
CREATE INDEX operations_workflow ON operations (workflow_id) WHERE workflow_id IS NOT NULL;

CREATE TABLE images (
    id         TEXT    NOT NULL PRIMARY KEY,
    workspace  TEXT    NOT NULL REFERENCES workspaces (slug),
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE image_links (
    project_id TEXT NOT NULL REFERENCES projects (id),
    -- Deferred so that a purge can delete a project's exclusive images first
    -- (deciding exclusivity from the links) and the links right after.
    image_id   TEXT NOT NULL REFERENCES images (id) DEFERRABLE INITIALLY DEFERRED,
    PRIMARY KEY (project_id, image_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX image_links_image ON image_links (image_id, project_id);

-- Job cancellations not yet confirmed by the job canceller. They outlive the
-- training's record on purpose: a purged training's job may still be running,
-- so its cancellation is still delivered (as the reference store does).
CREATE TABLE cancellations (
    training_id   TEXT    NOT NULL PRIMARY KEY,
    workspace     TEXT    NOT NULL REFERENCES workspaces (slug),
    operation_id  TEXT    NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    claimed_until INTEGER NOT NULL
) STRICT;
CREATE INDEX cancellations_due ON cancellations (claimed_until, training_id);
CREATE INDEX cancellations_workspace ON cancellations (workspace, training_id);

-- The audit trail. Rows outlive the items they name, so nothing references them.
CREATE TABLE audit_events (
    seq          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    workspace    TEXT    NOT NULL,
    at           INTEGER NOT NULL,
    kind         TEXT    NOT NULL,
    actor_kind   TEXT    NOT NULL,
    actor_id     TEXT    NOT NULL,
    actor_name   TEXT    NOT NULL,
    item_kind    TEXT    NOT NULL,
    -- The project, workflow or training id; for a version, its project's id.
    item_id      TEXT    NOT NULL,
    item_version INTEGER,
    operation_id TEXT
) STRICT;
CREATE INDEX audit_events_workspace ON audit_events (workspace, seq);
