# SPDX-License-Identifier: Apache-2.0
"""The SQLite index: streams and channels, their tags, fragment headers and fragments."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: names fragment directories
    kind        TEXT    NOT NULL,                   -- 'stream' or 'channel'
    name        TEXT    NOT NULL,
    arn         TEXT    NOT NULL UNIQUE,
    version     TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    creation_ms INTEGER NOT NULL,
    attrs       TEXT    NOT NULL,                   -- JSON: every other attribute and configuration
    tags        TEXT    NOT NULL,                   -- JSON object
    next_seq    INTEGER NOT NULL DEFAULT 0,         -- fragment sequence, never goes back
    UNIQUE (kind, name)
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS headers (
    id        INTEGER PRIMARY KEY,
    stream_id INTEGER NOT NULL,
    digest    BLOB    NOT NULL,
    bytes     BLOB    NOT NULL,
    UNIQUE (stream_id, digest)
);
CREATE TABLE IF NOT EXISTS fragments (
    stream_id    INTEGER NOT NULL,
    seq          INTEGER NOT NULL,
    number       TEXT    NOT NULL,
    server_ms    INTEGER NOT NULL,
    producer_ms  INTEGER NOT NULL,
    duration_ms  INTEGER NOT NULL,
    timecode     INTEGER NOT NULL,  -- the Cluster Timestamp as the producer wrote it
    header_id    INTEGER NOT NULL,
    file_no      INTEGER NOT NULL,
    offset       INTEGER NOT NULL,
    cluster_size INTEGER NOT NULL,
    after_size   INTEGER NOT NULL,
    frames       BLOB    NOT NULL,  -- FRAME_DTYPE rows, offsets relative to the cluster
    PRIMARY KEY (stream_id, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS fragments_number ON fragments (stream_id, number);
CREATE INDEX IF NOT EXISTS fragments_server ON fragments (stream_id, server_ms);
CREATE INDEX IF NOT EXISTS fragments_producer ON fragments (stream_id, producer_ms);
"""

FRAGMENT_COLUMNS = ("stream_id", "seq", "number", "server_ms", "producer_ms", "duration_ms", "timecode", "header_id",
                    "file_no", "offset", "cluster_size", "after_size", "frames")
