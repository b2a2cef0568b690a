-- Postgres schema of the DEML reference app. Applied by `topo up` (bootstrap) on every start: idempotent.
CREATE TABLE IF NOT EXISTS tenants (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Domain rows: what a tenant did. Written in the same transaction as their outbox row.
CREATE TABLE IF NOT EXISTS actions (
    id           uuid PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants (id),
    aggregate_id text NOT NULL,
    kind         text NOT NULL,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Transactional outbox: the relay claims unpublished rows with FOR UPDATE SKIP LOCKED.
CREATE TABLE IF NOT EXISTS outbox (
    seq          bigserial PRIMARY KEY,
    event_id     uuid NOT NULL UNIQUE,
    tenant_id    text NOT NULL,
    aggregate_id text NOT NULL,
    type         text NOT NULL,
    payload      jsonb NOT NULL,
    occurred_at  timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    attempts     integer NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;
