-- Delivery state: recipients Telegram refuses, group chats that became supergroups, storm digests.

-- A recipient Telegram answered 403 for (never pressed Start, or blocked the bot). Their alerts go to
-- email instead; the owners are told once.
CREATE TABLE unreachable_recipients (
    recipient   TEXT    PRIMARY KEY,
    reason      TEXT    NOT NULL,
    since       BIGINT  NOT NULL,
    owners_told BIGINT  NOT NULL DEFAULT 0
);

-- A group that became a supergroup answers with its new id once; every later message goes there.
CREATE TABLE chat_migrations (
    from_chat_id BIGINT  PRIMARY KEY,
    to_chat_id   BIGINT  NOT NULL,
    migrated_at  BIGINT  NOT NULL
);

-- The digest message that already told a chat about this job's alert during a storm.
ALTER TABLE outbox ADD COLUMN digest_message_id BIGINT ;
