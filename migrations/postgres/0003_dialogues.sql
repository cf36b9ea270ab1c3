-- A person's conversation with the bot about running a view or an action: which database and item,
-- the argument values given so far, and what the bot is waiting for. Kept here so that a restart
-- loses nothing; removed when the run starts or the person cancels.
CREATE TABLE dialogues (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    BIGINT  NOT NULL,
    chat_id    BIGINT  NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('view', 'action')),
    database_name TEXT NOT NULL,
    alias      TEXT    NOT NULL,
    arguments  TEXT    NOT NULL DEFAULT '{}',   -- JSON object of the values given, as typed
    awaiting   TEXT,                           -- the argument asked for next, if any
    choices    TEXT    NOT NULL DEFAULT '[]',  -- JSON array of values offered as buttons
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);
CREATE INDEX dialogues_by_chat ON dialogues (chat_id, user_id);
