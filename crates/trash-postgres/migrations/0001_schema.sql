-- The trashd schema. See docs/postgres.md for the design and the locking rules.
--
-- Identifiers, slugs and keys use the "C" collation so that ordering and
-- comparison are byte-wise, exactly like Rust's `str` ordering in the core
-- (listing cursors compare operation ids).

CREATE TABLE workspaces (
    slug        text COLLATE "C" PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE api_keys (
    id          text COLLATE "C" NOT NULL,
    workspace   text COLLATE "C" NOT NULL,
    name        text NOT NULL,
    scopes      text NOT NULL,
    key_hash    text COLLATE "C" NOT NULL,
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    CONSTRAINT api_keys_pkey PRIMARY KEY (id),
    CONSTRAINT api_keys_hash_key UNIQUE (key_hash),
    CONSTRAINT api_keys_workspace_fkey FOREIGN KEY (workspace) REFERENCES workspaces (slug)
);
CREATE INDEX api_keys_by_workspace ON api_keys (workspace);

CREATE TABLE users (
    id             text COLLATE "C" NOT NULL,
    workspace      text COLLATE "C" NOT NULL,
    email          text COLLATE "C" NOT NULL,
    role           text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    password_hash  text NOT NULL,
    created_at     timestamptz NOT NULL,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_workspace_fkey FOREIGN KEY (workspace) REFERENCES workspaces (slug)
);
CREATE INDEX users_by_workspace ON users (workspace);

-- Trashable items record their state in two columns: `trash_op_id` (NULL
-- while active, else the trash operation that trashed the item) and
-- `trash_cascaded` (false for the root of that operation, true for an item
-- trashed along with it). The foreign keys to trash_operations are added
-- once that table exists.

CREATE TABLE projects (
    id              text COLLATE "C" NOT NULL,
    workspace       text COLLATE "C" NOT NULL,
    slug            text COLLATE "C" NOT NULL,
    name            text NOT NULL,
    created_at      timestamptz NOT NULL,
    -- The aggregate revision: guards every write to the project, its
    -- versions, its trainings, its image links and its operations.
    revision        bigint NOT NULL DEFAULT 1,
    next_version    integer NOT NULL DEFAULT 1 CHECK (next_version >= 1),
    trash_op_id     text COLLATE "C",
    trash_cascaded  boolean NOT NULL DEFAULT false,
    CONSTRAINT projects_pkey PRIMARY KEY (id),
    CONSTRAINT projects_workspace_fkey FOREIGN KEY (workspace) REFERENCES workspaces (slug),
    CONSTRAINT projects_state_check CHECK (trash_op_id IS NOT NULL OR NOT trash_cascaded)
);
-- Slugs are unique among active projects only; a trashed one frees its slug.
CREATE UNIQUE INDEX projects_active_slug ON projects (workspace, slug) WHERE trash_op_id IS NULL;
-- Every project with a slug, active or trashed (slug lookups fall back to the trash).
CREATE INDEX projects_by_slug ON projects (workspace, slug);
CREATE INDEX projects_by_operation ON projects (trash_op_id) WHERE trash_op_id IS NOT NULL;

CREATE TABLE versions (
    project_id      text COLLATE "C" NOT NULL,
    number          integer NOT NULL CHECK (number >= 1),
    name            text NOT NULL,
    created_at      timestamptz NOT NULL,
    trash_op_id     text COLLATE "C",
    trash_cascaded  boolean NOT NULL DEFAULT false,
    CONSTRAINT versions_pkey PRIMARY KEY (project_id, number),
    CONSTRAINT versions_project_fkey FOREIGN KEY (project_id) REFERENCES projects (id),
    CONSTRAINT versions_state_check CHECK (trash_op_id IS NOT NULL OR NOT trash_cascaded)
);
CREATE INDEX versions_by_operation ON versions (trash_op_id) WHERE trash_op_id IS NOT NULL;

CREATE TABLE trainings (
    id              text COLLATE "C" NOT NULL,
    project_id      text COLLATE "C" NOT NULL,
    version_number  integer NOT NULL,
    status          text NOT NULL
        CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'stopped', 'cancelled')),
    started_at      timestamptz NOT NULL,
    ended_at        timestamptz,
    trash_op_id     text COLLATE "C",
    trash_cascaded  boolean NOT NULL DEFAULT false,
    CONSTRAINT trainings_pkey PRIMARY KEY (id),
    CONSTRAINT trainings_version_fkey FOREIGN KEY (project_id, version_number)
        REFERENCES versions (project_id, number),
    CONSTRAINT trainings_state_check CHECK (trash_op_id IS NOT NULL OR NOT trash_cascaded)
);
CREATE INDEX trainings_by_version ON trainings (project_id, version_number);
CREATE INDEX trainings_by_operation ON trainings (trash_op_id) WHERE trash_op_id IS NOT NULL;

CREATE TABLE workflows (
    id              text COLLATE "C" NOT NULL,
    workspace       text COLLATE "C" NOT NULL,
    slug            text COLLATE "C" NOT NULL,
    name            text NOT NULL,
    created_at      timestamptz NOT NULL,
    revision        bigint NOT NULL DEFAULT 1,
    trash_op_id     text COLLATE "C",
    trash_cascaded  boolean NOT NULL DEFAULT false,
    CONSTRAINT workflows_pkey PRIMARY KEY (id),
    CONSTRAINT workflows_workspace_fkey FOREIGN KEY (workspace) REFERENCES workspaces (slug),
    CONSTRAINT workflows_state_check CHECK (trash_op_id IS NOT NULL OR NOT trash_cascaded)
);
CREATE UNIQUE INDEX workflows_active_slug ON workflows (workspace, slug) WHERE trash_op_id IS NULL;
CREATE INDEX workflows_by_slug ON workflows (workspace, slug);
CREATE INDEX workflows_by_operation ON workflows (trash_op_id) WHERE trash_op_id IS NOT NULL;

CREATE TABLE images (
    id          text COLLATE "C" NOT NULL,
    workspace   text COLLATE "C" NOT NULL,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL,
    CONSTRAINT images_pkey PRIMARY KEY (id),
    CONSTRAINT images_workspace_fkey FOREIGN KEY (workspace) REFERENCES workspaces (slug)
);

-- RESTRICT on both sides: a link never disappears as a side effect. A purge
-- deletes the project's links explicitly, then only images nobody links.
CREATE TABLE project_images (
    project_id  text COLLATE "C" NOT NULL,
    image_id    text COLLATE "C" NOT NULL,
    CONSTRAINT project_images_pkey PRIMARY KEY (project_id, image_id),
    CONSTRAINT project_images_project_fkey FOREIGN KEY (project_id)
        REFERENCES projects (id) ON DELETE RESTRICT,
    CONSTRAINT project_images_image_fkey FOREIGN KEY (image_id)
        REFERENCES images (id) ON DELETE RESTRICT
);
CREATE INDEX project_images_by_image ON project_images (image_id, project_id);

-- One "move to trash". The root is named by the columns of its kind; an
-- operation belongs to the aggregate of its root (project_id for project,
-- version and training roots; workflow_id for workflows) and is deleted
-- with its root (ON DELETE CASCADE), which is how a purge removes "every
-- operation rooted in a removed item".
CREATE TABLE trash_operations (
    id                     text COLLATE "C" NOT NULL,
    workspace              text COLLATE "C" NOT NULL,
    root_kind              text NOT NULL CHECK (root_kind IN ('project', 'version', 'workflow', 'training')),
    project_id             text COLLATE "C",
    version_number         integer,
    training_id            text COLLATE "C",
    workflow_id            text COLLATE "C",
    actor_kind             text NOT NULL CHECK (actor_kind IN ('api_key', 'web_user', 'system')),
    actor_id               text NOT NULL,
    actor_name             text NOT NULL,
    deleted_at             timestamptz NOT NULL,
    scheduled_cleanup_at   timestamptz NOT NULL,
    cleanup_delete_images  boolean NOT NULL,
    contains_versions      integer NOT NULL CHECK (contains_versions >= 0),
    contains_trainings     integer NOT NULL CHECK (contains_trainings >= 0),
    -- A cleanup worker holds the operation until then (NULL: never claimed).
    claimed_until          timestamptz,
    CONSTRAINT trash_operations_pkey PRIMARY KEY (id),
    CONSTRAINT trash_operations_workspace_fkey FOREIGN KEY (workspace) REFERENCES workspaces (slug),
    CONSTRAINT trash_operations_project_fkey FOREIGN KEY (project_id)
        REFERENCES projects (id) ON DELETE CASCADE,
    CONSTRAINT trash_operations_version_fkey FOREIGN KEY (project_id, version_number)
        REFERENCES versions (project_id, number) ON DELETE CASCADE,
    CONSTRAINT trash_operations_training_fkey FOREIGN KEY (training_id)
        REFERENCES trainings (id) ON DELETE CASCADE,
    CONSTRAINT trash_operations_workflow_fkey FOREIGN KEY (workflow_id)
        REFERENCES workflows (id) ON DELETE CASCADE,
    CONSTRAINT trash_operations_root_check CHECK (
        CASE root_kind
            WHEN 'project' THEN project_id IS NOT NULL AND version_number IS NULL
                AND training_id IS NULL AND workflow_id IS NULL
            WHEN 'version' THEN project_id IS NOT NULL AND version_number IS NOT NULL
                AND training_id IS NULL AND workflow_id IS NULL
            WHEN 'training' THEN project_id IS NOT NULL AND version_number IS NULL
                AND training_id IS NOT NULL AND workflow_id IS NULL
            WHEN 'workflow' THEN project_id IS NULL AND version_number IS NULL
                AND training_id IS NULL AND workflow_id IS NOT NULL
        END
    )
);
-- Keyset pagination of the listing: newest deleted_at first, then id
-- descending (a backward scan of these indexes), with and without a kind.
CREATE INDEX trash_operations_listing ON trash_operations (workspace, deleted_at, id);
CREATE INDEX trash_operations_listing_by_kind ON trash_operations (workspace, root_kind, deleted_at, id);
-- Cleanup claims: oldest schedule first.
CREATE INDEX trash_operations_due ON trash_operations (scheduled_cleanup_at, id);
CREATE INDEX trash_operations_by_project ON trash_operations (project_id) WHERE project_id IS NOT NULL;
CREATE INDEX trash_operations_by_training ON trash_operations (training_id) WHERE training_id IS NOT NULL;
CREATE INDEX trash_operations_by_workflow ON trash_operations (workflow_id) WHERE workflow_id IS NOT NULL;

ALTER TABLE projects ADD CONSTRAINT projects_operation_fkey
    FOREIGN KEY (trash_op_id) REFERENCES trash_operations (id);
ALTER TABLE versions ADD CONSTRAINT versions_operation_fkey
    FOREIGN KEY (trash_op_id) REFERENCES trash_operations (id);
ALTER TABLE trainings ADD CONSTRAINT trainings_operation_fkey
    FOREIGN KEY (trash_op_id) REFERENCES trash_operations (id);
ALTER TABLE workflows ADD CONSTRAINT workflows_operation_fkey
    FOREIGN KEY (trash_op_id) REFERENCES trash_operations (id);

-- Job cancellations not yet confirmed by the job canceller. Deliberately no
-- foreign key to trainings or operations: a cancellation outlives a restore
-- (restore never resumes a job) and a purge (the job may still run).
CREATE TABLE pending_cancellations (
    training_id    text COLLATE "C" NOT NULL,
    workspace      text COLLATE "C" NOT NULL,
    operation_id   text COLLATE "C" NOT NULL,
    attempts       integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    claimed_until  timestamptz NOT NULL,
    CONSTRAINT pending_cancellations_pkey PRIMARY KEY (training_id),
    CONSTRAINT pending_cancellations_workspace_fkey FOREIGN KEY (workspace) REFERENCES workspaces (slug)
);
CREATE INDEX pending_cancellations_due ON pending_cancellations (claimed_until, training_id);
CREATE INDEX pending_cancellations_by_workspace ON pending_cancellations (workspace, training_id);

-- The audit trail. It outlives what it describes, so items and operations
-- are recorded by value, without foreign keys. `seq` grows in commit order
-- within a workspace: writers take a per-workspace advisory lock before
-- drawing it (see docs/postgres.md).
CREATE TABLE audit_events (
    seq           bigint GENERATED ALWAYS AS IDENTITY,
    workspace     text COLLATE "C" NOT NULL,
    at            timestamptz NOT NULL,
    kind          text NOT NULL,
    actor_kind    text NOT NULL,
    actor_id      text NOT NULL,
    actor_name    text NOT NULL,
    item_kind     text NOT NULL CHECK (item_kind IN ('project', 'version', 'workflow', 'training')),
    item_id       text COLLATE "C" NOT NULL,
    item_version  integer,
    operation_id  text COLLATE "C",
    CONSTRAINT audit_events_pkey PRIMARY KEY (seq),
    CONSTRAINT audit_events_workspace_fkey FOREIGN KEY (workspace) REFERENCES workspaces (slug)
);
CREATE INDEX audit_events_by_workspace ON audit_events (workspace, seq);
