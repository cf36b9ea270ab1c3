-- Alerts reach Telegram recipients through one feed per recipient instead of one outbox job per alert
-- per recipient: a storm of 10,000 alerts to 100 admins writes 10,000 incidents and 100 feed rows, not a
-- million jobs. Individual sends are queued in the outbox from the feed, a few at a time.

-- The distinct sets of Telegram recipients alerts were routed to (most alerts of a database share one).
CREATE TABLE recipient_sets (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipients TEXT    NOT NULL UNIQUE  -- the set's stored recipients, sorted, one per line
);
CREATE TABLE recipient_set_members (
    set_id    BIGINT  NOT NULL REFERENCES recipient_sets (id),
    recipient TEXT    NOT NULL,
    PRIMARY KEY (recipient, set_id)
);

-- The recipients a new incident is for; NULL for incidents stored before feeds and for those sent
-- nowhere on Telegram.
ALTER TABLE incidents ADD COLUMN recipient_set BIGINT  REFERENCES recipient_sets (id);
CREATE INDEX incidents_by_recipient_set ON incidents (recipient_set, id) WHERE recipient_set IS NOT NULL;

-- Where each recipient stands in the incidents routed to them (incident ids only grow, and ingest
-- commits them in order). Everything up to `told_upto` has been told (one by one or in a digest);
-- sends are queued up to `queued_upto`. `bumps` counts ingests that added work, so that a worker
-- finishing a step knows whether more arrived meanwhile. A feed is claimed with a lease, like a job.
CREATE TABLE telegram_feeds (
    recipient        TEXT    PRIMARY KEY,
    told_upto        BIGINT  NOT NULL,
    queued_upto      BIGINT  NOT NULL,
    bumps            BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT ,           -- NULL: nothing to do
    lease_owner      TEXT,
    lease_expires_at BIGINT
);
CREATE INDEX telegram_feeds_due ON telegram_feeds (next_attempt_at) WHERE next_attempt_at IS NOT NULL;

