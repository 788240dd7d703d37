# SPDX-License-Identifier: Apache-2.0
"""Retention 0: fragments kept only in memory, bounded in age and size, for GetMedia.

KVS API: CreateStream ("consumers can still read from a host buffer limited to 5 minutes
or 200 MB"). The buffer belongs to one process: a reader in another process sharing the
data directory does not see it.
"""
from __future__ import annotations

import collections
import dataclasses
import threading

from kvsmux.store.store import StoredFragment


@dataclasses.dataclass
class LiveFragment:
    fragment: StoredFragment
    header: bytes
    cluster: bytes
    after: bytes


class LiveBuffer:
    def __init__(self, max_seconds: float, max_bytes: int) -> None:
        self.max_ms = int(max_seconds * 1000)
        self.max_bytes = max_bytes
        self._streams: dict[int, collections.deque[LiveFragment]] = {}
        self._sizes: dict[int, int] = {}
        self._lock = threading.Lock()

    def add(self, item: LiveFragment, now_ms: int) -> None:
        with self._lock:
            q = self._streams.setdefault(item.fragment.stream_id, collections.deque())
            q.append(item)
            sid = item.fragment.stream_id
            self._sizes[sid] = self._sizes.get(sid, 0) + item.fragment.size
            self._trim(sid, now_ms)

    def _trim(self, sid: int, now_ms: int) -> None:
        q = self._streams[sid]
        while q and (now_ms - q[0].fragment.server_ms > self.max_ms or self._sizes[sid] > self.max_bytes):
            self._sizes[sid] -= q.popleft().fragment.size

    def fragments(self, stream_id: int, now_ms: int) -> list[LiveFragment]:
        with self._lock:
            if stream_id not in self._streams:
                return []
            self._trim(stream_id, now_ms)
            return list(self._streams[stream_id])

    def drop(self, stream_id: int) -> None:
        with self._lock:
            self._streams.pop(stream_id, None)
            self._sizes.pop(stream_id, None)
