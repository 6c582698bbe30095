-- Agora's first schema: articles and where they were posted, moderator settings,
-- article-folder subscriptions, feeds, polls with their vote log, and thread replies.
-- Times are ISO-8601 UTC text (bot.timeutil.to_db), which sorts and compares correctly as text.

CREATE TABLE guild_settings (
    guild_id          INTEGER PRIMARY KEY,
    moderator_role_id INTEGER
);

CREATE TABLE articles (
    id           INTEGER PRIMARY KEY,
    article_key  TEXT NOT NULL UNIQUE,   -- guid/link when the source has one, else hash of title+body
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    question     TEXT,                   -- the article's own question to readers, if any
    link         TEXT,
    source       TEXT NOT NULL,          -- 'upload', 'folder', or the feed URL
    published    TEXT,                   -- the date as the article gives it
    image_url    TEXT,
    created_at   TEXT NOT NULL
);

-- One row per article and channel: the unique key is what makes posting happen once.
-- The row is written as 'pending' before anything is sent, so a crash mid-post is
-- reconciled on start instead of posting again.
CREATE TABLE deliveries (
    id                 INTEGER PRIMARY KEY,
    article_id         INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    guild_id           INTEGER NOT NULL,
    channel_id         INTEGER NOT NULL,
    state              TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'posted', 'failed')),
    open_thread        INTEGER NOT NULL DEFAULT 1,
    open_poll          INTEGER NOT NULL DEFAULT 1,
    poll_spec          TEXT,             -- JSON of the poll to open, when it differs from the default
    message_id         INTEGER,
    thread_id          INTEGER,
    prompt_message_id  INTEGER,
    discussion_open    INTEGER NOT NULL DEFAULT 1,
    last_error         TEXT,
    created_at         TEXT NOT NULL,
    posted_at          TEXT,
    UNIQUE (article_id, channel_id)
);
CREATE INDEX deliveries_by_state ON deliveries (state);
CREATE INDEX deliveries_by_thread ON deliveries (thread_id);
CREATE INDEX deliveries_by_message ON deliveries (message_id);

CREATE TABLE folder_subscriptions (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    channel_id  INTEGER NOT NULL UNIQUE,
    created_by  INTEGER,
    created_at  TEXT NOT NULL
);

-- Files of ARTICLES_DIR already handled for a folder subscription (posted, or present when it began).
CREATE TABLE folder_seen_files (
    subscription_id INTEGER NOT NULL REFERENCES folder_subscriptions(id) ON DELETE CASCADE,
    file_key        TEXT NOT NULL,       -- file name + content hash
    seen_at         TEXT NOT NULL,
    PRIMARY KEY (subscription_id, file_key)
) WITHOUT ROWID;

-- One row per feed URL: several subscriptions on one URL share its fetch.
CREATE TABLE feeds (
    id                   INTEGER PRIMARY KEY,
    url                  TEXT NOT NULL UNIQUE,
    title                TEXT,
    etag                 TEXT,
    last_modified        TEXT,
    last_checked_at      TEXT,
    last_success_at      TEXT,
    last_new_item_at     TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_error           TEXT,
    next_check_at        TEXT
);

CREATE TABLE subscriptions (
    id                      INTEGER PRIMARY KEY,
    feed_id                 INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    guild_id                INTEGER NOT NULL,
    channel_id              INTEGER NOT NULL,
    open_thread             INTEGER NOT NULL DEFAULT 1,
    open_poll               INTEGER NOT NULL DEFAULT 1,
    poll_question_template  TEXT,
    poll_options            TEXT,        -- JSON list of [emoji, label]
    paused                  INTEGER NOT NULL DEFAULT 0,
    paused_reason           TEXT,
    created_by              INTEGER,
    created_at              TEXT NOT NULL,
    UNIQUE (feed_id, channel_id)
);
CREATE INDEX subscriptions_by_guild ON subscriptions (guild_id);

CREATE TABLE subscription_seen_items (
    subscription_id INTEGER NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    item_key        TEXT NOT NULL,
    seen_at         TEXT NOT NULL,
    PRIMARY KEY (subscription_id, item_key)
) WITHOUT ROWID;

CREATE TABLE polls (
    id             INTEGER PRIMARY KEY,
    guild_id       INTEGER NOT NULL,
    channel_id     INTEGER NOT NULL,
    message_id     INTEGER UNIQUE,       -- NULL only between recording and sending
    article_id     INTEGER REFERENCES articles(id) ON DELETE SET NULL,
    delivery_id    INTEGER REFERENCES deliveries(id) ON DELETE SET NULL,
    question       TEXT NOT NULL,
    multiple       INTEGER NOT NULL DEFAULT 0,
    status         TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    closed_reason  TEXT,                 -- 'manual', 'deadline', 'message_deleted'
    created_by     INTEGER,
    created_at     TEXT NOT NULL,
    deadline_at    TEXT,
    closed_at      TEXT
);
CREATE INDEX polls_by_guild_status ON polls (guild_id, status);
CREATE INDEX polls_open_deadline ON polls (status, deadline_at);

CREATE TABLE poll_options (
    id        INTEGER PRIMARY KEY,
    poll_id   INTEGER NOT NULL REFERENCES polls(id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    emoji     TEXT NOT NULL,             -- unicode emoji, or '<:name:id>' for a custom one
    label     TEXT NOT NULL,
    UNIQUE (poll_id, position),
    UNIQUE (poll_id, emoji)
);

-- Current votes: one row per voter and option.
CREATE TABLE votes (
    poll_id    INTEGER NOT NULL REFERENCES polls(id) ON DELETE CASCADE,
    option_id  INTEGER NOT NULL REFERENCES poll_options(id) ON DELETE CASCADE,
    voter_id   INTEGER NOT NULL,
    voted_at   TEXT NOT NULL,
    PRIMARY KEY (poll_id, option_id, voter_id)
) WITHOUT ROWID;
CREATE INDEX votes_by_voter ON votes (poll_id, voter_id);

-- Append-only history of every vote change.
CREATE TABLE vote_events (
    id         INTEGER PRIMARY KEY,
    poll_id    INTEGER NOT NULL REFERENCES polls(id) ON DELETE CASCADE,
    option_id  INTEGER NOT NULL REFERENCES poll_options(id) ON DELETE CASCADE,
    voter_id   INTEGER NOT NULL,
    action     TEXT NOT NULL CHECK (action IN ('added', 'removed')),
    source     TEXT NOT NULL CHECK (source IN ('live', 'reconciled')),
    at         TEXT NOT NULL
);
CREATE INDEX vote_events_by_poll_time ON vote_events (poll_id, at);

-- Replies in an article's discussion thread.
CREATE TABLE responses (
    message_id   INTEGER PRIMARY KEY,
    thread_id    INTEGER NOT NULL,
    article_id   INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    delivery_id  INTEGER REFERENCES deliveries(id) ON DELETE CASCADE,
    author_id    INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    edited_at    TEXT,
    length       INTEGER NOT NULL,
    content      TEXT                    -- only with the Message Content intent and STORE_RESPONSE_TEXT on
);
CREATE INDEX responses_by_article_time ON responses (article_id, created_at);
CREATE INDEX responses_by_article_author ON responses (article_id, author_id);
