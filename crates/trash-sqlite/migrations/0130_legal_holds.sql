-- trashd SQLite schema: legal holds (issue 13).
--
-- `workspaces.hold_revision` counts the holds ever placed in the workspace.
-- A purge plan carries the revision its decision saw and the purge checks it
-- in its own (write-locked) transaction, so a hold placed after the decision
-- makes the purge conflict and be decided again.
--
-- A hold names its target by columns, without references: a hold placed on
-- an item just purged by a concurrent cleanup (the hold came too late) must
-- still be stored, and a purge must never fail on a hold. A training's
-- target also records its project and version, which never change.
ALTER TABLE workspaces ADD COLUMN hold_revision INTEGER NOT NULL DEFAULT 0;

CREATE TABLE holds (
    id          TEXT    NOT NULL PRIMARY KEY,
    workspace   TEXT    NOT NULL REFERENCES workspaces (slug),
    target_kind TEXT    NOT NULL
        CHECK (target_kind IN ('workspace', 'project', 'version', 'workflow', 'training')),
    project_id  TEXT,
    version     INTEGER,
    workflow_id TEXT,
    training_id TEXT,
    reason      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    actor_kind  TEXT    NOT NULL,
    actor_id    TEXT    NOT NULL,
    actor_name  TEXT    NOT NULL,
    CHECK (
        (target_kind = 'workspace' AND project_id IS NULL     AND version IS NULL     AND workflow_id IS NULL     AND training_id IS NULL) OR
        (target_kind = 'project'   AND project_id IS NOT NULL AND version IS NULL     AND workflow_id IS NULL     AND training_id IS NULL) OR
        (target_kind = 'version'   AND project_id IS NOT NULL AND version IS NOT NULL AND workflow_id IS NULL     AND training_id IS NULL) OR
        (target_kind = 'workflow'  AND project_id IS NULL     AND version IS NULL     AND workflow_id IS NOT NULL AND training_id IS NULL) OR
        (target_kind = 'training'  AND project_id IS NOT NULL AND version IS NOT NULL AND workflow_id IS NULL     AND training_id IS NOT NULL)
    )
) STRICT;
CREATE INDEX holds_workspace ON holds (workspace, created_at, id);
