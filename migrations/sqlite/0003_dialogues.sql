-- A person's conversation with the bot about running a view or an action: which database and item,
-- the argument values given so far, and what the bot is waiting for. Kept here so that a restart
-- loses nothing; removed when the run starts or the person cancels.
CREATE TABLE dialogues (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL,
    chat_id    INTEGER NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('view', 'action')),
    database_name TEXT NOT NULL,
    alias      TEXT    NOT NULL,
    arguments  TEXT    NOT NULL DEFAULT '{}',   -- JSON object of the values given, as typed
    awaiting   TEXT,                           -- the argument asked for next, if any
    choices    TEXT    NOT NULL DEFAULT '[]',  -- JSON array of values offered as buttons
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX dialogues_by_chat ON dialogues (chat_id, user_id);
