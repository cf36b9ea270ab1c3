-- Replicas on one state store: one of them talks to Telegram (long-polls, sends), the holder of the lease `telegram`
-- (renewed while it lives; another takes it once it expires). Every update is handled once, whichever
-- replica receives it: its id is recorded before it is handled, and pruned after a day.
CREATE TABLE service_leases (
    name       TEXT   PRIMARY KEY,
    owner      TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE handled_updates (
    update_id  BIGINT PRIMARY KEY,
    handled_at BIGINT NOT NULL
);
CREATE INDEX handled_updates_by_age ON handled_updates (handled_at);
