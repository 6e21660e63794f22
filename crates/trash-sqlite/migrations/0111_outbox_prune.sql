-- Pruning finished outbox messages (issue 11): the delivery worker deletes
-- delivered and failed messages once their retention has passed, oldest
-- first; this index finds them without reading the pending ones.
CREATE INDEX outbox_finished ON outbox (finished_at) WHERE status <> 'pending';
