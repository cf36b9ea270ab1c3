-- Members added at runtime hold viewers as well as admins.
ALTER TABLE admins RENAME TO members;

-- One-time invite links (t.me/<bot>?start=<code>), each for one @username: created when an owner asks
-- for one (code still NULL while the bot waits for the addressee), usable once, until expires_at.
-- Only the code's SHA-256 is kept.
CREATE TABLE invites (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code_sha256   TEXT    UNIQUE,
    database_name TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'viewer')),
    username      TEXT,               -- lowercase, without @
    created_by    TEXT    NOT NULL,
    creator_id    BIGINT  NOT NULL,
    chat_id       BIGINT  NOT NULL,
    created_at    BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL,
    used_at       BIGINT,
    used_by       TEXT
);
CREATE INDEX invites_awaiting ON invites (creator_id, chat_id) WHERE code_sha256 IS NULL;

-- API tokens created by owners with /tokens: shown once, only their SHA-256 (hex) kept.
CREATE TABLE api_tokens (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    sha256      TEXT    NOT NULL UNIQUE,
    role        TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'viewer')),
    databases   TEXT,                 -- JSON array of names; NULL: every database
    created_by  TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    revoked_at  BIGINT,
    revoked_by  TEXT
);
