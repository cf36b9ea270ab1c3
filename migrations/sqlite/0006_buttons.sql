-- The inline buttons the bot put on each of its messages. Callback data is a short random token; what a
-- press means is read here by (chat, message, token), so a token is honoured only on the message it was
-- sent with, and forged or foreign data finds nothing. An edit replaces a message's buttons.
CREATE TABLE buttons (
    chat_id    INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    token      TEXT    NOT NULL,
    payload    TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (chat_id, message_id, token)
);

-- A dialogue started from an alert's button asks for confirmation whatever its action says: its
-- arguments were filled from the alert's labels, not by the person.
ALTER TABLE dialogues ADD COLUMN confirm INTEGER NOT NULL DEFAULT 0;
