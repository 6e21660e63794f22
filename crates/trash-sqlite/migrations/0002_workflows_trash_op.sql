-- trashd SQLite schema, version 2.
--
-- Workflows get the partial index on `trash_op_id` that the other trashable
-- items have: removing an operation checks that no item still records it,
-- and restoring one updates the items recording it. Without the index both
-- read every workflow of the database.

CREATE INDEX workflows_trash_op ON workflows (trash_op_id) WHERE trash_op_id IS NOT NULL;
