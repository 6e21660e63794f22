-- trashd SQLite schema: outbound events (issue 11).
--
-- `outbox` holds the messages the trash writes in the same transaction as the
-- change each one reports. A row is available to the delivery worker when
-- `status = 'pending' AND available_at <= now`; a claim pushes `available_at`
-- to the end of the claim, a failed attempt to the retry time. `acked` is a
-- JSON array of the endpoint ids that answered 2xx (not sent to again).
CREATE TABLE outbox (
    id            TEXT    NOT NULL PRIMARY KEY,
    workspace     TEXT    NOT NULL,
    event_type    TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    due_at        INTEGER NOT NULL,
    operation_id  TEXT,
    status        TEXT    NOT NULL DEFAULT 'pending',
    attempts      INTEGER NOT NULL DEFAULT 0,
    acked         TEXT    NOT NULL DEFAULT '[]',
    last_error    TEXT,
    available_at  INTEGER NOT NULL,
    finished_at   INTEGER
) STRICT;
CREATE INDEX outbox_available ON outbox (available_at) WHERE status = 'pending';
CREATE INDEX outbox_workspace ON outbox (workspace, due_at);
CREATE INDEX outbox_notices ON outbox (operation_id) WHERE event_type = 'trash.item.purge_soon';

-- Webhook endpoints registered by operators, per workspace. The secrets are
-- kept as they are: they sign, so they cannot be hashed.
CREATE TABLE webhook_endpoints (
    id                   TEXT    NOT NULL PRIMARY KEY,
    workspace            TEXT    NOT NULL,
    url                  TEXT    NOT NULL,
    secret               TEXT    NOT NULL,
    previous_secret      TEXT,
    previous_until       INTEGER,
    events               TEXT,
    created_at           INTEGER NOT NULL
) STRICT;
CREATE INDEX webhook_endpoints_workspace ON webhook_endpoints (workspace, created_at);
