-- Legal holds (issue 13).
--
-- `workspaces.hold_revision` counts the holds ever placed in the workspace.
-- Placing a hold updates it (a row lock on the workspace until commit); a
-- purge checks that it is still the revision its plan was decided at with
-- `SELECT … FOR SHARE` on the same row, in the purge's own transaction. The
-- two locks conflict, so a hold either commits before the purge's check
-- (which then waits for it, sees the new revision and refuses the purge) or
-- waits until the purge has committed (it came too late). Never half.
--
-- A hold names its target by columns, without references: a hold placed on
-- an item a concurrent cleanup just purged must still be stored, and a purge
-- must never fail on a hold. A training's target also records its project
-- and version, which never change.
ALTER TABLE workspaces ADD COLUMN hold_revision bigint NOT NULL DEFAULT 0;

CREATE TABLE holds (
    id             text COLLATE "C" NOT NULL,
    workspace      text COLLATE "C" NOT NULL,
    target_kind    text NOT NULL,
    project_id     text COLLATE "C",
    version_number integer,
    workflow_id    text COLLATE "C",
    training_id    text COLLATE "C",
    reason         text NOT NULL,
    created_at     timestamptz NOT NULL,
    actor_kind     text NOT NULL,
    actor_id       text NOT NULL,
    actor_name     text NOT NULL,
    CONSTRAINT holds_pkey PRIMARY KEY (id),
    CONSTRAINT holds_workspace_fkey FOREIGN KEY (workspace) REFERENCES workspaces (slug),
    CONSTRAINT holds_target_check CHECK (
        (target_kind = 'workspace' AND project_id IS NULL     AND version_number IS NULL     AND workflow_id IS NULL     AND training_id IS NULL) OR
        (target_kind = 'project'   AND project_id IS NOT NULL AND version_number IS NULL     AND workflow_id IS NULL     AND training_id IS NULL) OR
        (target_kind = 'version'   AND project_id IS NOT NULL AND version_number IS NOT NULL AND workflow_id IS NULL     AND training_id IS NULL) OR
        (target_kind = 'workflow'  AND project_id IS NULL     AND version_number IS NULL     AND workflow_id IS NOT NULL AND training_id IS NULL) OR
        (target_kind = 'training'  AND project_id IS NOT NULL AND version_number IS NOT NULL AND workflow_id IS NULL     AND training_id IS NOT NULL)
    )
);
CREATE INDEX holds_by_workspace ON holds (workspace, created_at, id);

-- The events of a workspace hold name the workspace itself.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_item_kind_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_item_kind_check
    CHECK (item_kind IN ('project', 'version', 'workflow', 'training', 'workspace'));
