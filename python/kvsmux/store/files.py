# SPDX-License-Identifier: Apache-2.0
"""Where fragment bytes live: append-only files in the data directory, or memory.

A fragment's bytes (its Cluster and what the producer sent after it) are appended to the
stream's current file and fsynced before its index row is written. Each writer session
starts a new file, so a record half-written by a crashed writer sits unreferenced at the
end of a file nobody appends to again, and disappears with that file.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import threading
from pathlib import Path


class DiskFiles:
    """``DIR/fragments/<stream id>/<file no>.kvsf`` plus one lock file per stream."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "fragments").mkdir(parents=True, exist_ok=True)
        (root / "locks").mkdir(parents=True, exist_ok=True)

    def _dir(self, stream_id: int) -> Path:
        return self.root / "fragments" / str(stream_id)

    def path(self, stream_id: int, file_no: int) -> Path:
        return self._dir(stream_id) / f"{file_no:08d}.kvsf"

    def existing(self, stream_id: int) -> list[int]:
        d = self._dir(stream_id)
        if not d.is_dir():
            return []
        return sorted(int(p.stem) for p in d.glob("*.kvsf") if p.stem.isdigit())

    def create(self, stream_id: int, file_no: int) -> "DiskAppender":
        d = self._dir(stream_id)
        new_dir = not d.is_dir()
        d.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path(stream_id, file_no), os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        # The new directory entry (and the new directory) must survive a crash too.
        _fsync_dir(d)
        if new_dir:
            _fsync_dir(d.parent)
        return DiskAppender(fd)

    def read(self, stream_id: int, file_no: int, offset: int, size: int) -> bytes:
        """Raises FileNotFoundError when retention removed the file meanwhile."""
        fd = os.open(self.path(stream_id, file_no), os.O_RDONLY | os.O_CLOEXEC)
        try:
            data = os.pread(fd, size, offset)
        finally:
            os.close(fd)
        if len(data) != size:
            raise OSError(f"fragment file {stream_id}/{file_no} is shorter than its index says")
        return data

    def delete(self, stream_id: int, file_no: int) -> None:
        try:
            self.path(stream_id, file_no).unlink()
        except FileNotFoundError:
            pass

    def delete_stream(self, stream_id: int) -> None:
        shutil.rmtree(self._dir(stream_id), ignore_errors=True)

    def lock(self, stream_id: int) -> "DiskLock | None":
        """The stream's writer lock, or None when another writer (any process) holds it."""
        fd = os.open(self.root / "locks" / f"{stream_id}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return DiskLock(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DiskAppender:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.size = os.fstat(fd).st_size

    def append(self, *parts: bytes | memoryview) -> int:
        """Writes the parts as one record and makes it durable; returns its offset."""
        offset = self.size
        total = sum(len(p) for p in parts)
        written = os.writev(self.fd, list(parts))
        while written < total:  # writev may write less; finish from where it stopped
            joined = b"".join(bytes(p) for p in parts)[written:]
            written += os.write(self.fd, joined)
        os.fsync(self.fd)
        self.size += total
        return offset

    def close(self) -> None:
        os.close(self.fd)


class DiskLock:
    def __init__(self, fd: int) -> None:
        self.fd = fd

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing the descriptor drops the flock
            self.fd = -1


class MemoryFiles:
    """The same interface over byte arrays, for ``Client()`` without a data directory."""

    def __init__(self) -> None:
        self._files: dict[tuple[int, int], bytearray] = {}
        self._locked: set[int] = set()
        self._mutex = threading.Lock()

    def existing(self, stream_id: int) -> list[int]:
        with self._mutex:
            return sorted(f for s, f in self._files if s == stream_id)

    def create(self, stream_id: int, file_no: int) -> "MemoryAppender":
        with self._mutex:
            buf = self._files.setdefault((stream_id, file_no), bytearray())
        return MemoryAppender(buf, self._mutex)

    def read(self, stream_id: int, file_no: int, offset: int, size: int) -> bytes:
        with self._mutex:
            buf = self._files.get((stream_id, file_no))
            if buf is None:
                raise FileNotFoundError(f"fragment file {stream_id}/{file_no}")
            return bytes(buf[offset:offset + size])

    def delete(self, stream_id: int, file_no: int) -> None:
        with self._mutex:
            self._files.pop((stream_id, file_no), None)

    def delete_stream(self, stream_id: int) -> None:
        with self._mutex:
            for key in [k for k in self._files if k[0] == stream_id]:
                del self._files[key]

    def lock(self, stream_id: int) -> "MemoryLock | None":
        with self._mutex:
            if stream_id in self._locked:
                return None
            self._locked.add(stream_id)
        return MemoryLock(self, stream_id)

    def _unlock(self, stream_id: int) -> None:
        with self._mutex:
            self._locked.discard(stream_id)


class MemoryAppender:
    def __init__(self, buf: bytearray, mutex: threading.Lock) -> None:
        self.buf = buf
        self.mutex = mutex

    @property
    def size(self) -> int:
        return len(self.buf)

    def append(self, *parts: bytes | memoryview) -> int:
        with self.mutex:
            offset = len(self.buf)
            for p in parts:
                self.buf += p
        return offset

    def close(self) -> None:
        pass


class MemoryLock:
    def __init__(self, files: MemoryFiles, stream_id: int) -> None:
        self.files = files
        self.stream_id: int | None = stream_id

    def release(self) -> None:
        if self.stream_id is not None:
            self.files._unlock(self.stream_id)
            self.stream_id = None
