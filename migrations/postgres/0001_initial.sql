-- The service's own state. Times are Unix milliseconds (UTC) in both backends, so that one set of
-- queries serves SQLite and PostgreSQL alike.

-- Every webhook notification that brought at least one new alert, kept raw for audit.
CREATE TABLE notifications (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at BIGINT  NOT NULL,
    receiver    TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    group_key   TEXT    NOT NULL,
    alert_count BIGINT  NOT NULL,
    body        TEXT    NOT NULL
);

-- One row per alert occurrence: Alertmanager's (fingerprint, startsAt) pair.
CREATE TABLE incidents (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fingerprint     TEXT    NOT NULL,
    starts_at       BIGINT  NOT NULL,
    ends_at         BIGINT ,
    status          TEXT    NOT NULL CHECK (status IN ('firing', 'resolved')),
    database_name   TEXT,               -- NULL: matched no database, sent to the owners
    alertname       TEXT    NOT NULL,
    severity        TEXT    NOT NULL,
    labels          TEXT    NOT NULL,   -- JSON object
    annotations     TEXT    NOT NULL,   -- JSON object
    generator_url   TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    resolved_at     BIGINT ,
    acknowledged_by TEXT,
    acknowledged_at BIGINT ,
    silenced_by     TEXT,
    silence_id      TEXT,
    silenced_until  BIGINT ,
    UNIQUE (fingerprint, starts_at)
);
CREATE INDEX incidents_by_database ON incidents (database_name, id);
CREATE INDEX incidents_by_status ON incidents (status, id);

-- Which notification told us what about which incident. The unique key is the deduplication rule:
-- HA peers and retries repeat (fingerprint, status, startsAt), and a repeat changes nothing.
CREATE TABLE alert_receipts (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    notification_id BIGINT  NOT NULL REFERENCES notifications (id),
    incident_id     BIGINT  NOT NULL REFERENCES incidents (id),
    fingerprint     TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    starts_at       BIGINT  NOT NULL,
    UNIQUE (fingerprint, status, starts_at)
);
CREATE INDEX alert_receipts_by_incident ON alert_receipts (incident_id);

-- Delivery jobs (Telegram sends and edits, emails). A worker claims a job with a lease, performs it and
-- records the result; a crashed worker's lease expires and the job is claimed again.
CREATE TABLE outbox (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             TEXT    NOT NULL,
    incident_id      BIGINT  REFERENCES incidents (id),
    recipient        TEXT    NOT NULL,
    payload          TEXT    NOT NULL DEFAULT '{}',
    created_at       BIGINT  NOT NULL,
    attempts         BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT  NOT NULL,
    lease_owner      TEXT,
    lease_expires_at BIGINT ,
    done_at          BIGINT ,
    result           TEXT,
    last_error       TEXT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE done_at IS NULL;
CREATE INDEX outbox_by_incident ON outbox (incident_id);

-- Each Telegram message sent about an incident, so that acknowledgement and resolution can edit them all.
CREATE TABLE telegram_messages (
    incident_id BIGINT  NOT NULL REFERENCES incidents (id),
    chat_id     BIGINT  NOT NULL,
    message_id  BIGINT  NOT NULL,
    sent_at     BIGINT  NOT NULL,
    PRIMARY KEY (incident_id, chat_id)
);

-- Telegram users the bot has met: links config @usernames to ids.
CREATE TABLE telegram_users (
    user_id       BIGINT PRIMARY KEY,
    username      TEXT,
    first_seen_at BIGINT  NOT NULL,
    last_seen_at  BIGINT  NOT NULL
);
CREATE INDEX telegram_users_by_username ON telegram_users (username);

-- Database members added at runtime (the config's members are the baseline and are not stored here).
CREATE TABLE admins (
    database_name TEXT    NOT NULL,
    member        TEXT    NOT NULL,   -- user:<id> or username:<name>
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'viewer')),
    added_by      TEXT    NOT NULL,
    added_at      BIGINT  NOT NULL,
    PRIMARY KEY (database_name, member)
);

-- Who did what: acknowledgements, silences, runs, refusals, membership changes.
CREATE TABLE audit_log (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            BIGINT  NOT NULL,
    actor         TEXT    NOT NULL,
    action        TEXT    NOT NULL,
    database_name TEXT,
    detail        TEXT    NOT NULL DEFAULT '{}'
);
