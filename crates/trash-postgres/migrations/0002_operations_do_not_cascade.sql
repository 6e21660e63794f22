-- A purge removes exactly the rows its plan names (the core decides what
-- goes with a purged operation, not the schema). An operation therefore no
-- longer disappears with its root through ON DELETE CASCADE: the purge
-- deletes it by id in the same statement as its root, and a plan that would
-- leave an operation behind whose root it removes fails on these keys
-- instead of losing the operation unasked.

ALTER TABLE trash_operations
    DROP CONSTRAINT trash_operations_project_fkey,
    DROP CONSTRAINT trash_operations_version_fkey,
    DROP CONSTRAINT trash_operations_training_fkey,
    DROP CONSTRAINT trash_operations_workflow_fkey,
    ADD CONSTRAINT trash_operations_project_fkey FOREIGN KEY (project_id)
        REFERENCES projects (id),
    ADD CONSTRAINT trash_operations_version_fkey FOREIGN KEY (project_id, version_number)
        REFERENCES versions (project_id, number),
    ADD CONSTRAINT trash_operations_training_fkey FOREIGN KEY (training_id)
        REFERENCES trainings (id),
    ADD CONSTRAINT trash_operations_workflow_fkey FOREIGN KEY (workflow_id)
        REFERENCES workflows (id);
