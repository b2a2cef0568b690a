-- ClickHouse schema of the DEML reference app. Applied by `topo up` (bootstrap): idempotent.
-- Kept to SQL that ClickHouse 18.16 (the OS package used as an offline stand-in) also accepts.
CREATE DATABASE IF NOT EXISTS deml;

-- Long-term event rows; duplicates of one event_id collapse (ReplacingMergeTree keeps the highest version).
CREATE TABLE IF NOT EXISTS deml.events (
    event_id    String,
    tenant_id   String,
    type        String,
    source      String,
    occurred_at DateTime,
    payload     String,
    version     UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, event_id);

-- Daily rollups computed by the workers service.
CREATE TABLE IF NOT EXISTS deml.tenant_daily (
    tenant_id   String,
    day         Date,
    events      UInt64,
    computed_at DateTime
) ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(day)
ORDER BY (tenant_id, day);
