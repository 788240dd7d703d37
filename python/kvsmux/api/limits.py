# SPDX-License-Identifier: Apache-2.0
"""KVS quotas (KVS-WIRE-FACTS §8): request rates, connections per stream and the
fragment-metadata / fragment-media point budgets. Exceeding one raises
ClientLimitExceededException or ConnectionLimitExceededException, which boto3 never
retries. ``Config(limits=False)`` switches all of them off; each one can be set or be
``None`` (no limit).
"""
from __future__ import annotations

import collections
import threading
from kvsmux.api.context import Clock, Config
from kvsmux.api.errors import KvsError
from kvsmux.api.spec import error_statuses

#: Per-session request rates of what HLS/DASH players fetch (KVS-WIRE-FACTS §8.2), by action.
SESSION_TPS = {"GetHLSMasterPlaylist": 5, "GetHLSMediaPlaylist": 5, "GetDASHManifest": 5, "GetMP4InitFragment": 5,
               "GetMP4MediaFragment": 20, "GetTSFragment": 20}
#: Session buckets kept (least recently used dropped first): a session that comes back
#: after being dropped starts with a full bucket.
MAX_SESSION_BUCKETS = 10_000


class _Bucket:
    """A token bucket refilled at ``rate`` per second, holding at most ``rate`` (one
    second of burst)."""

    def __init__(self, rate: float, now_ms: int) -> None:
        self.rate = rate
        self.tokens = rate
        self.at_ms = now_ms

    def take(self, amount: float, now_ms: int) -> bool:
        self.tokens = min(self.rate, self.tokens + (now_ms - self.at_ms) * self.rate / 1000)
        self.at_ms = now_ms
        if amount > self.tokens and not (amount > self.rate and self.tokens >= self.rate):
            return False
        self.tokens -= amount  # a request bigger than the whole bucket passes when it is full
        return True


class Limits:
    def __init__(self, config: Config, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self._buckets: dict[tuple, _Bucket] = {}
        self._connections: dict[tuple[str, str], int] = {}
        self._sessions: collections.OrderedDict[tuple[str, str], _Bucket] = collections.OrderedDict()
        self._lock = threading.Lock()

    def _take(self, key: tuple, rate: float | None, amount: float) -> bool:
        if not self.config.limits or rate is None:
            return True
        now = self.clock.now_ms()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None or bucket.rate != rate:
                bucket = self._buckets[key] = _Bucket(rate, now)
            return bucket.take(amount, now)

    def request(self, operation: str, stream: str | None, service: str) -> None:
        """One call of ``operation`` (on ``stream``, when it names one)."""
        c = self.config
        ok = self._take(("account", operation), c.account_tps.get(operation), 1)
        if ok and stream is not None:
            ok = self._take(("stream", operation, stream), c.stream_tps.get(operation), 1)
        if not ok:
            suffix = f" for resource '{stream}'" if stream is not None and operation in c.stream_tps else ""
            raise KvsError("ClientLimitExceededException",
                           f"Limit exceeded on number of requests for {operation} API{suffix}", service=service)

    def session_request(self, session: str, action: str, service: str) -> None:
        """One player request of ``action`` (a key of SESSION_TPS) in the streaming session
        ``session`` (any stable key of it); ClientLimitExceededException past its rate."""
        rate = SESSION_TPS.get(action)
        if not self.config.limits or rate is None:
            return
        now = self.clock.now_ms()
        with self._lock:
            bucket = self._sessions.pop((session, action), None) or _Bucket(rate, now)
            self._sessions[(session, action)] = bucket
            while len(self._sessions) > MAX_SESSION_BUCKETS:
                self._sessions.popitem(last=False)
            ok = bucket.take(1, now)
        if not ok:
            raise KvsError("ClientLimitExceededException",
                           f"Limit exceeded on number of requests for {action} API for this session", service=service)

    def fragment_points(self, kind: str, stream: str, points: float, service: str) -> None:
        """Fragment-based throttling: ``kind`` is 'metadata' or 'media'."""
        rate = self.config.fragment_metadata_points if kind == "metadata" else self.config.fragment_media_points
        if not self._take(("fragments", kind, stream), rate, points):
            raise KvsError("ClientLimitExceededException",
                           f"Limit exceeded on fragment {kind} consumption for stream '{stream}'", service=service)

    def open_connection(self, kind: str, stream: str, limit: int | None, service: str) -> "Lease":
        """Takes one of at most ``limit`` concurrent ``kind`` connections to ``stream``, or
        raises ConnectionLimitExceededException (ClientLimitExceededException for a service
        whose model lacks it, like archived media); the lease gives it back."""
        key = (kind, stream)
        with self._lock:
            held = self._connections.get(key, 0)
            if self.config.limits and limit is not None and held >= limit:
                code = "ConnectionLimitExceededException"
                if code not in error_statuses(service):
                    code = "ClientLimitExceededException"
                raise KvsError(code,
                               f"Limit exceeded on number of concurrent {kind} connections for stream "
                               f"'{stream}' ({limit})", service=service)
            self._connections[key] = held + 1
        return Lease(self, key)

    def _release(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._connections[key] -= 1
            if not self._connections[key]:
                del self._connections[key]


class Lease:
    """A held connection; ``release()`` is idempotent and also runs when it is collected."""

    def __init__(self, limits: Limits, key: tuple[str, str]) -> None:
        self._limits: Limits | None = limits
        self._key = key

    def release(self) -> None:
        limits, self._limits = self._limits, None
        if limits is not None:
            limits._release(self._key)

    def __del__(self) -> None:
        self.release()
