-- The service's own state. Times are Unix milliseconds (UTC) in both backends, so that one set of
-- queries serves SQLite and PostgreSQL alike.

-- Every webhook notification that brought at least one new alert, kept raw for audit.
CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at INTEGER NOT NULL,
    receiver    TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    group_key   TEXT    NOT NULL,
    alert_count INTEGER NOT NULL,
    body        TEXT    NOT NULL
);

-- One row per alert occurrence: Alertmanager's (fingerprint, startsAt) pair.
CREATE TABLE incidents (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint     TEXT    NOT NULL,
    starts_at       INTEGER NOT NULL,
    ends_at         INTEGER,
    status          TEXT    NOT NULL CHECK (status IN ('firing', 'resolved')),
    database_name   TEXT,               -- NULL: matched no database, sent to the owners
    alertname       TEXT    NOT NULL,
    severity        TEXT    NOT NULL,
    labels          TEXT    NOT NULL,   -- JSON object
    annotations     TEXT    NOT NULL,   -- JSON object
    generator_url   TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    resolved_at     INTEGER,
    acknowledged_by TEXT,
    acknowledged_at INTEGER,
    silenced_by     TEXT,
    silence_id      TEXT,
    silenced_until  INTEGER,
    UNIQUE (fingerprint, starts_at)
);
CREATE INDEX incidents_by_database ON incidents (database_name, id);
CREATE INDEX incidents_by_status ON incidents (status, id);

-- Which notification told us what about which incident. The unique key is the deduplication rule:
-- HA peers and retries repeat (fingerprint, status, startsAt), and a repeat changes nothing.
CREATE TABLE alert_receipts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    notification_id INTEGER NOT NULL REFERENCES notifications (id),
    incident_id     INTEGER NOT NULL REFERENCES incidents (id),
    fingerprint     TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    starts_at       INTEGER NOT NULL,
    UNIQUE (fingerprint, status, starts_at)
);
CREATE INDEX alert_receipts_by_incident ON alert_receipts (incident_id);

-- Delivery jobs (Telegram sends and edits, emails). A worker claims a job with a lease, performs it and
-- records the result; a crashed worker's lease expires and the job is claimed again.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT    NOT NULL,
    incident_id      INTEGER REFERENCES incidents (id),
    recipient        TEXT    NOT NULL,
    payload          TEXT    NOT NULL DEFAULT '{}',
    created_at       INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    done_at          INTEGER,
    result           TEXT,
    last_error       TEXT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE done_at IS NULL;
CREATE INDEX outbox_by_incident ON outbox (incident_id);

-- Each Telegram message sent about an incident, so that acknowledgement and resolution can edit them all.
CREATE TABLE telegram_messages (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    chat_id     INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    sent_at     INTEGER NOT NULL,
    PRIMARY KEY (incident_id, chat_id)
);

-- Telegram users the bot has met: links config @usernames to ids.
CREATE TABLE telegram_users (
    user_id       INTEGER PRIMARY KEY,
    username      TEXT,
    first_seen_at INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL
);
CREATE INDEX telegram_users_by_username ON telegram_users (username);

-- Database members added at runtime (the config's members are the baseline and are not stored here).
CREATE TABLE admins (
    database_name TEXT    NOT NULL,
    member        TEXT    NOT NULL,   -- user:<id> or username:<name>
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'viewer')),
    added_by      TEXT    NOT NULL,
    added_at      INTEGER NOT NULL,
    PRIMARY KEY (database_name, member)
);

-- Who did what: acknowledgements, silences, runs, refusals, membership changes.
CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            INTEGER NOT NULL,
    actor         TEXT    NOT NULL,
    action        TEXT    NOT NULL,
    database_name TEXT,
    detail        TEXT    NOT NULL DEFAULT '{}'
);
