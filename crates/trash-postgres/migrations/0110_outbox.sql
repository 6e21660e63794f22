-- Outbound events (issue 11).
--
-- `outbox` holds the messages the trash writes in the same transaction as the
-- change each one reports. A row is available to the delivery worker when
-- `status = 'pending' AND available_at <= now`; a claim (`FOR UPDATE SKIP
-- LOCKED`) pushes `available_at` to the end of the claim, a failed attempt to
-- the retry time. `acked` lists the endpoint ids that answered 2xx.
CREATE TABLE outbox (
    id            text        PRIMARY KEY,
    seq           bigserial   NOT NULL,
    workspace     text        NOT NULL,
    event_type    text        NOT NULL,
    body          text        NOT NULL,
    due_at        timestamptz NOT NULL,
    operation_id  text,
    status        text        NOT NULL DEFAULT 'pending',
    attempts      integer     NOT NULL DEFAULT 0,
    acked         text[]      NOT NULL DEFAULT '{}',
    last_error    text,
    available_at  timestamptz NOT NULL,
    finished_at   timestamptz
);
CREATE INDEX outbox_available ON outbox (available_at, seq) WHERE status = 'pending';
CREATE INDEX outbox_workspace ON outbox (workspace, due_at);
CREATE INDEX outbox_notices ON outbox (operation_id) WHERE event_type = 'trash.item.purge_soon';

-- Webhook endpoints registered by operators, per workspace. The secrets are
-- kept as they are: they sign, so they cannot be hashed.
CREATE TABLE webhook_endpoints (
    id               text        PRIMARY KEY,
    workspace        text        NOT NULL,
    url              text        NOT NULL,
    secret           text        NOT NULL,
    previous_secret  text,
    previous_until   timestamptz,
    events           text[],
    created_at       timestamptz NOT NULL
);
CREATE INDEX webhook_endpoints_workspace ON webhook_endpoints (workspace, created_at);
