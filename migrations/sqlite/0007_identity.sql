-- A username names the account that first claimed it with /start, and keeps naming it: another
-- account that later carries the same username is a stranger until an owner binds the name to it.
CREATE TABLE username_bindings (
    username     TEXT    PRIMARY KEY,   -- lowercase, without @
    user_id      INTEGER  NOT NULL,
    bound_at     INTEGER  NOT NULL,
    bound_by     TEXT    NOT NULL,
    contested_by INTEGER                 -- the last other account that claimed it (owners told once)
);
CREATE INDEX username_bindings_by_user ON username_bindings (user_id);

-- Existing deployments keep who they know: each username goes to the account first seen with it.
INSERT INTO username_bindings (username, user_id, bound_at, bound_by)
SELECT t.username, t.user_id, t.first_seen_at, 'upgrade' FROM telegram_users t
WHERE t.username IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM telegram_users o
    WHERE o.username = t.username
      AND (o.first_seen_at < t.first_seen_at OR (o.first_seen_at = t.first_seen_at AND o.user_id < t.user_id)));

-- When each person was last refused with a reply and an audit row: at most one a minute, so that
-- strangers neither fill the audit log nor spend the Telegram budget alerts need.
CREATE TABLE refusals (
    user_id    INTEGER PRIMARY KEY,
    refused_at INTEGER NOT NULL
);
