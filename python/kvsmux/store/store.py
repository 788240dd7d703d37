# SPDX-License-Identifier: Apache-2.0
"""The Store: SQLite index + fragment files (see the package docstring)."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from kvsmux.media.model import FRAME_DTYPE
from kvsmux.store.files import DiskFiles, MemoryFiles
from kvsmux.store.schema import FRAGMENT_COLUMNS, SCHEMA

#: A new fragment file is started when the current one passes this size.
FILE_ROTATE_BYTES = 256 * 1024 * 1024


class StreamGone(Exception):
    """The stream was deleted while a writer was appending to it."""


@dataclasses.dataclass
class Resource:
    """A stream or a signaling channel. ``attrs`` holds everything else, JSON-serializable."""

    id: int
    kind: str
    name: str
    arn: str
    version: str
    status: str
    creation_ms: int
    attrs: dict
    tags: dict
    next_seq: int = 0


@dataclasses.dataclass
class StoredFragment:
    """One persisted fragment's index row."""

    stream_id: int
    seq: int
    number: str
    server_ms: int
    producer_ms: int
    duration_ms: int
    timecode: int
    header_id: int
    file_no: int
    offset: int
    cluster_size: int
    after_size: int
    frames: np.ndarray  # FRAME_DTYPE, offsets relative to the cluster's first byte

    @property
    def size(self) -> int:
        """FragmentSizeInBytes: the cluster and the producer's elements that followed it."""
        return self.cluster_size + self.after_size


def _fragment(row: Sequence[Any]) -> StoredFragment:
    values = dict(zip(FRAGMENT_COLUMNS, row))
    frames = np.frombuffer(values["frames"], dtype=FRAME_DTYPE)
    return StoredFragment(**{**values, "frames": frames})


def _resource(row: Sequence[Any]) -> Resource:
    rid, kind, name, arn, version, status, creation_ms, attrs, tags, next_seq = row
    return Resource(rid, kind, name, arn, version, status, creation_ms, json.loads(attrs), json.loads(tags), next_seq)


_RESOURCE_COLUMNS = "id, kind, name, arn, version, status, creation_ms, attrs, tags, next_seq"


class Store:
    """Open (or create) the archive in ``data_dir``; ``None`` keeps it in memory."""

    def __init__(self, data_dir: str | Path | None = None) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else None
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self.files: DiskFiles | MemoryFiles = DiskFiles(self.data_dir)
            self._db = sqlite3.connect(self.data_dir / "index.sqlite3", isolation_level=None,
                                       check_same_thread=False, timeout=30.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
        else:
            self.files = MemoryFiles()
            self._db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout=30000")
        self._lock = threading.RLock()
        self._changed = threading.Condition()
        self._generation = 0
        with self._lock:
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- transactions -------------------------------------------------------------------

    def _read(self, sql: str, args: Iterable[Any] = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    def transaction(self) -> "_Transaction":
        """``with store.transaction() as db:`` runs statements atomically (BEGIN IMMEDIATE)."""
        return _Transaction(self)

    def secret(self) -> bytes:
        """A random key kept with the store (signs pagination tokens, so that every process
        sharing the directory, and a restarted one, accepts them)."""
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('secret', ?)", (os.urandom(32),))
            (value,) = db.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()
        return value

    # -- streams and channels ------------------------------------------------------------

    def insert_resource(self, kind: str, name: str, arn: str, version: str, status: str, creation_ms: int,
                        attrs: dict, tags: dict, *, limit: int | None = None) -> Resource | None:
        """Adds a resource; None if the name is taken. Raises LimitReached past ``limit``."""
        with self.transaction() as db:
            if limit is not None:
                (count,) = db.execute("SELECT count(*) FROM resources WHERE kind = ?", (kind,)).fetchone()
                if count >= limit:
                    raise LimitReached(kind)
            try:
                cur = db.execute(
                    "INSERT INTO resources (kind, name, arn, version, status, creation_ms, attrs, tags) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (kind, name, arn, version, status, creation_ms, json.dumps(attrs), json.dumps(tags)))
            except sqlite3.IntegrityError:
                return None
            return Resource(cur.lastrowid, kind, name, arn, version, status, creation_ms, attrs, tags)

    def resource(self, kind: str, *, name: str | None = None, arn: str | None = None,
                 id: int | None = None) -> Resource | None:
        if id is not None:
            rows = self._read(f"SELECT {_RESOURCE_COLUMNS} FROM resources WHERE kind = ? AND id = ?", (kind, id))
        elif arn is not None:
            rows = self._read(f"SELECT {_RESOURCE_COLUMNS} FROM resources WHERE kind = ? AND arn = ?", (kind, arn))
        else:
            rows = self._read(f"SELECT {_RESOURCE_COLUMNS} FROM resources WHERE kind = ? AND name = ?", (kind, name))
        return _resource(rows[0]) if rows else None

    def resources(self, kind: str, *, prefix: str = "", after_name: str | None = None,
                  limit: int | None = None) -> list[Resource]:
        """Resources in name order, starting after ``after_name``, whose names begin with ``prefix``."""
        sql = f"SELECT {_RESOURCE_COLUMNS} FROM resources WHERE kind = ? AND substr(name, 1, ?) = ?"
        args: list[Any] = [kind, len(prefix), prefix]
        if after_name is not None:
            sql += " AND name > ?"
            args.append(after_name)
        sql += " ORDER BY name"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return [_resource(r) for r in self._read(sql, args)]

    def update_resource(self, resource: Resource, *, expect_version: str | None = None, **changes: Any) -> bool:
        """Writes ``changes`` (version, status, attrs, tags) if the stored version is still
        ``expect_version`` (default: the one ``resource`` was read with). False otherwise."""
        expect = resource.version if expect_version is None else expect_version
        columns = {k: (json.dumps(v) if k in ("attrs", "tags") else v) for k, v in changes.items()}
        assert set(columns) <= {"version", "status", "attrs", "tags"}, columns
        sets = ", ".join(f"{k} = ?" for k in columns)
        with self.transaction() as db:
            cur = db.execute(f"UPDATE resources SET {sets} WHERE id = ? AND version = ?",
                             (*columns.values(), resource.id, expect))
            ok = cur.rowcount == 1
        if ok:
            for k, v in changes.items():
                setattr(resource, k, v)
        return ok

    def delete_resource(self, resource: Resource, *, expect_version: str | None = None) -> bool:
        """Removes a resource and, for a stream, its fragments and files."""
        expect = resource.version if expect_version is None else expect_version
        with self.transaction() as db:
            cur = db.execute("DELETE FROM resources WHERE id = ? AND version = ?", (resource.id, expect))
            if cur.rowcount != 1:
                return False
            db.execute("DELETE FROM fragments WHERE stream_id = ?", (resource.id,))
            db.execute("DELETE FROM headers WHERE stream_id = ?", (resource.id,))
        if resource.kind == "stream":
            self.files.delete_stream(resource.id)
        self._notify()
        return True

    # -- fragments -----------------------------------------------------------------------

    def writer(self, stream_id: int) -> "FragmentWriter | None":
        """The stream's single writer, or None while another one (any process) is open."""
        lock = self.files.lock(stream_id)
        if lock is None:
            return None
        return FragmentWriter(self, stream_id, lock)

    def fragments(self, stream_id: int, *, selector: str = "server", start_ms: int | None = None,
                  end_ms: int | None = None, min_server_ms: int | None = None, after_seq: int | None = None,
                  from_seq: int | None = None, limit: int | None = None, newest_first: bool = False
                  ) -> list[StoredFragment]:
        """Fragments in sequence order, filtered on the ``selector`` timestamp ('server' or
        'producer', both bounds inclusive), on the retention cut-off ``min_server_ms`` and
        on the sequence."""
        column = {"server": "server_ms", "producer": "producer_ms"}[selector]
        sql = f"SELECT {', '.join(FRAGMENT_COLUMNS)} FROM fragments WHERE stream_id = ?"
        args: list[Any] = [stream_id]
        for cond, value in ((f"{column} >= ?", start_ms), (f"{column} <= ?", end_ms),
                            ("server_ms >= ?", min_server_ms), ("seq > ?", after_seq), ("seq >= ?", from_seq)):
            if value is not None:
                sql += f" AND {cond}"
                args.append(value)
        sql += " ORDER BY seq DESC" if newest_first else " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return [_fragment(r) for r in self._read(sql, args)]

    def fragments_by_number(self, stream_id: int, numbers: Iterable[str]) -> dict[str, StoredFragment]:
        numbers = list(dict.fromkeys(numbers))
        found: dict[str, StoredFragment] = {}
        for i in range(0, len(numbers), 500):
            batch = numbers[i:i + 500]
            sql = (f"SELECT {', '.join(FRAGMENT_COLUMNS)} FROM fragments WHERE stream_id = ? "
                   f"AND number IN ({', '.join('?' * len(batch))})")
            for row in self._read(sql, [stream_id, *batch]):
                f = _fragment(row)
                found[f.number] = f
        return found

    def header(self, header_id: int) -> bytes | None:
        rows = self._read("SELECT bytes FROM headers WHERE id = ?", (header_id,))
        return rows[0][0] if rows else None

    def read(self, fragment: StoredFragment) -> tuple[bytes, memoryview, memoryview] | None:
        """(header, cluster, after) bytes of a fragment; None if retention or deletion took it."""
        header = self.header(fragment.header_id)
        if header is None:
            return None
        try:
            data = self.files.read(fragment.stream_id, fragment.file_no, fragment.offset, fragment.size)
        except FileNotFoundError:
            return None
        view = memoryview(data)
        return header, view[:fragment.cluster_size], view[fragment.cluster_size:]

    def expire(self, stream_id: int, cutoff_server_ms: int) -> int:
        """Deletes the fragments received before ``cutoff_server_ms``; returns how many.
        Files are reclaimed by whoever can take the stream's writer lock (a writer reclaims
        its own stream's files), so no file a writer may still reference is removed."""
        with self.transaction() as db:
            cur = db.execute("DELETE FROM fragments WHERE stream_id = ? AND server_ms < ?", (stream_id, cutoff_server_ms))
            removed = cur.rowcount
        if removed:
            lock = self.files.lock(stream_id)
            if lock is not None:
                try:
                    self._reclaim_files(stream_id, keep=None)
                finally:
                    lock.release()
            self._notify()
        return removed

    def _reclaim_files(self, stream_id: int, keep: int | None) -> None:
        used = {r[0] for r in self._read("SELECT DISTINCT file_no FROM fragments WHERE stream_id = ?", (stream_id,))}
        for file_no in self.files.existing(stream_id):
            if file_no not in used and file_no != keep:
                self.files.delete(stream_id, file_no)

    # -- change notification ---------------------------------------------------------------

    def _notify(self) -> None:
        with self._changed:
            self._generation += 1
            self._changed.notify_all()

    def wait_for_change(self, timeout: float) -> None:
        """Blocks until a fragment is added or removed in this process, or ``timeout``
        passes (other processes' changes are seen by asking again after the timeout)."""
        with self._changed:
            start = self._generation
            self._changed.wait_for(lambda: self._generation != start, timeout=timeout)


class LimitReached(Exception):
    """More resources of one kind than the account allows."""


class _Transaction:
    def __init__(self, store: Store) -> None:
        self.store = store

    def __enter__(self) -> sqlite3.Connection:
        self.store._lock.acquire()
        try:
            self.store._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.store._lock.release()
            raise
        return self.store._db

    def __exit__(self, kind, value, tb) -> None:
        try:
            self.store._db.execute("COMMIT" if kind is None else "ROLLBACK")
        finally:
            self.store._lock.release()


class FragmentWriter:
    """Appends one stream's fragments: bytes first (fsynced), then the index row."""

    def __init__(self, store: Store, stream_id: int, lock: Any) -> None:
        self.store = store
        self.stream_id = stream_id
        self._lock = lock
        existing = store.files.existing(stream_id)
        rows = store._read("SELECT max(file_no) FROM fragments WHERE stream_id = ?", (stream_id,))
        self.file_no = max([*existing, rows[0][0] or 0]) + 1
        self._appender = None
        self._header_ids: dict[bytes, int] = {}
        store._reclaim_files(stream_id, keep=None)  # leftovers of writers that died
        rows = store._read("SELECT next_seq FROM resources WHERE id = ?", (stream_id,))
        self._next_seq = rows[0][0] if rows else 0

    def next_seq(self) -> int:
        """Reserves the next sequence number (a fragment that fails leaves a gap)."""
        seq = self._next_seq
        self._next_seq += 1
        return seq

    def _header_id(self, header: bytes) -> int:
        digest = hashlib.sha256(header).digest()
        if digest in self._header_ids:
            return self._header_ids[digest]
        with self.store.transaction() as db:
            db.execute("INSERT OR IGNORE INTO headers (stream_id, digest, bytes) VALUES (?, ?, ?)",
                       (self.stream_id, digest, header))
            (hid,) = db.execute("SELECT id FROM headers WHERE stream_id = ? AND digest = ?",
                                (self.stream_id, digest)).fetchone()
        self._header_ids[digest] = hid
        return hid

    def append(self, *, seq: int, number: str, header: bytes, cluster: bytes | memoryview,
               after: bytes | memoryview, server_ms: int, producer_ms: int, duration_ms: int, timecode: int,
               frames: np.ndarray) -> StoredFragment:
        """Persists a fragment; when this returns, it survives a crash. Raises StreamGone
        if the stream was deleted."""
        header_id = self._header_id(bytes(header))
        if self._appender is None or self._appender.size >= FILE_ROTATE_BYTES:
            if self._appender is not None:
                self._appender.close()
                self.file_no += 1
            self._appender = self.store.files.create(self.stream_id, self.file_no)
        offset = self._appender.append(cluster, after)
        frames = np.ascontiguousarray(frames, dtype=FRAME_DTYPE)
        row = (self.stream_id, seq, number, server_ms, producer_ms, duration_ms, timecode, header_id, self.file_no,
               offset, len(cluster), len(after), frames.tobytes())
        with self.store.transaction() as db:
            self._advance_seq(db, seq)
            db.execute(f"INSERT INTO fragments ({', '.join(FRAGMENT_COLUMNS)}) "
                       f"VALUES ({', '.join('?' * len(FRAGMENT_COLUMNS))})", row)
        self.store._notify()
        return _fragment(row)

    def _advance_seq(self, db: sqlite3.Connection, seq: int) -> None:
        cur = db.execute("UPDATE resources SET next_seq = max(next_seq, ?) WHERE id = ? AND kind = 'stream'",
                         (seq + 1, self.stream_id))
        if cur.rowcount != 1:
            raise StreamGone(self.stream_id)

    def advance_seq(self, seq: int) -> None:
        """Records that ``seq`` is used without storing a fragment (retention 0), so the
        next session's numbers stay higher. Raises StreamGone if the stream was deleted."""
        with self.store.transaction() as db:
            self._advance_seq(db, seq)

    def expire(self, cutoff_server_ms: int) -> int:
        """Deletes this stream's fragments received before the cut-off and the files no
        fragment uses any more (not the one being appended to)."""
        with self.store.transaction() as db:
            removed = db.execute("DELETE FROM fragments WHERE stream_id = ? AND server_ms < ?",
                                 (self.stream_id, cutoff_server_ms)).rowcount
        if removed:
            self.store._reclaim_files(self.stream_id, keep=self.file_no if self._appender is not None else None)
            self.store._notify()
        return removed

    def close(self) -> None:
        if self._appender is not None:
            self._appender.close()
            self._appender = None
        self._lock.release()

    def __enter__(self) -> "FragmentWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
