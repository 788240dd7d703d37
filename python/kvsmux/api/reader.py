# SPDX-License-Identifier: Apache-2.0
"""GetMedia (KVS API: kinesis-video-media GetMedia), and what every reader of fragment
media shares: where a stream's fragments are (the archive, or the in-memory buffer of a
retention-0 stream), turning one into a chunk (KVS-WIRE-FACTS §5.2), and a payload that
holds a connection lease until it is exhausted, closed or collected.

Gaps:
- GetMedia sends as fast as the consumer reads: the 5 fragments/s and 25 MB/s pacing of
  the service is not applied.
- A fragment that retention removes while a response is about to send it is skipped; KVS
  would send an error chunk (AWS_KINESISVIDEO_ERROR_ID 4000) instead.
- No error chunks at all (KMS errors 4500-4506, 3002, 5000 cannot happen here).
- The response is not ended after the ~45-minute session lifetime consumers observe.
- The retention-0 buffer belongs to this process: a GetMedia served by another process
  sharing the data directory does not see it.
"""
from __future__ import annotations

import collections
import threading
import time
from typing import Any

from kvsmux.api.errors import KvsError
from kvsmux.api.registry import operation
from kvsmux.api.context import to_ms
from kvsmux.api.streams import find_stream, retention_cutoff_ms
from kvsmux.media import DemuxResult, demux, getmedia_chunk
from kvsmux.store import Resource, StoredFragment

SERVICE = "kinesis-video-media"
CONTENT_TYPE = "video/webm"  # what KVS sends (KVS-WIRE-FACTS §5.1), though the model's pattern refuses it
#: Fragments fetched from the index at a time while streaming.
_BATCH = 64
#: How often a waiting GetMedia asks the index again (changes made by other processes are
#: only seen this way; this process's own changes wake it at once).
_POLL_SECONDS = 0.2

_TIMESTAMP_FIELD = {"SERVER_TIMESTAMP": "server", "PRODUCER_TIMESTAMP": "producer"}
#: The StartSelector member each StartSelectorType needs (the model marks none required).
_SELECTOR_FIELD = {"FRAGMENT_NUMBER": "AfterFragmentNumber", "SERVER_TIMESTAMP": "StartTimestamp",
                   "PRODUCER_TIMESTAMP": "StartTimestamp", "CONTINUATION_TOKEN": "ContinuationToken"}


# -- where fragments are -------------------------------------------------------------------

class _LiveIndex:
    """The retention-0 buffer (``kvs.live``) behind the archive's query interface
    (``fragments``, ``fragments_by_number``, ``read``), so a reader is written once."""

    def __init__(self, kvs: Any) -> None:
        self._kvs = kvs
        self._bytes: dict[int, Any] = {}  # seq -> LiveFragment, for what was listed and not read yet

    def fragments(self, stream_id: int, *, selector: str = "server", start_ms: int | None = None,
                  end_ms: int | None = None, min_server_ms: int | None = None, after_seq: int | None = None,
                  from_seq: int | None = None, limit: int | None = None, newest_first: bool = False
                  ) -> list[StoredFragment]:
        key = {"server": "server_ms", "producer": "producer_ms"}[selector]
        items = [item for item in self._kvs.live.fragments(stream_id, self._kvs.clock.now_ms())
                 if _within(item.fragment, key, start_ms, end_ms, min_server_ms, after_seq, from_seq)]
        items.sort(key=lambda item: item.fragment.seq, reverse=newest_first)
        items = items[:limit] if limit is not None else items
        self._bytes.update((item.fragment.seq, item) for item in items)
        return [item.fragment for item in items]

    def fragments_by_number(self, stream_id: int, numbers: Any) -> dict[str, StoredFragment]:
        wanted = set(numbers)
        found = {item.fragment.number: item for item in self._kvs.live.fragments(stream_id, self._kvs.clock.now_ms())
                 if item.fragment.number in wanted}
        self._bytes.update((item.fragment.seq, item) for item in found.values())
        return {number: item.fragment for number, item in found.items()}

    def read(self, fragment: StoredFragment) -> tuple[bytes, Any, Any] | None:
        item = self._bytes.pop(fragment.seq, None)
        return None if item is None else (item.header, item.cluster, item.after)


def _within(f: StoredFragment, key: str, start_ms: int | None, end_ms: int | None, min_server_ms: int | None,
            after_seq: int | None, from_seq: int | None) -> bool:
    ts = getattr(f, key)
    return ((start_ms is None or ts >= start_ms) and (end_ms is None or ts <= end_ms)
            and (min_server_ms is None or f.server_ms >= min_server_ms)
            and (after_seq is None or f.seq > after_seq) and (from_seq is None or f.seq >= from_seq))


def fragment_source(kvs: Any, stream: Resource) -> Any:
    """Where a reader finds ``stream``'s fragments: the archive, or for a retention-0
    stream the in-memory buffer (KVS API: CreateStream, DataRetentionInHours 0)."""
    return kvs.store if stream.attrs.get("DataRetentionInHours", 0) else _LiveIndex(kvs)


def available_by_number(kvs: Any, source: Any, stream: Resource, numbers: Any) -> dict[str, StoredFragment]:
    """The fragments among ``numbers`` that exist and have not expired."""
    cutoff = retention_cutoff_ms(kvs, stream)
    found = source.fragments_by_number(stream.id, numbers)
    return {n: f for n, f in found.items() if cutoff is None or f.server_ms >= cutoff}


def fragment_not_found(number: str, service: str) -> KvsError:
    return KvsError("ResourceNotFoundException", f"The requested fragment {number} was not found.", service=service)


# -- chunks and payloads ---------------------------------------------------------------------

#: A Cluster of size 0: after a stored header, it makes a complete document with no frames.
EMPTY_CLUSTER = b"\x1f\x43\xb6\x75\x80"


def demux_header(header: bytes) -> DemuxResult:
    """A stored fragment header (EBML header .. Tracks) demuxed as a document with no frames."""
    return demux(bytes(header) + EMPTY_CLUSTER)


def fragment_chunk(fragment: StoredFragment, parts: tuple[Any, Any, Any], *, now_ms: int | None = None) -> Any:
    """One fragment as KVS sends it (KVS-WIRE-FACTS §5.2). ``now_ms`` given: a GetMedia
    chunk, with MILLIS_BEHIND_NOW and CONTINUATION_TOKEN (the fragment number, so a resume
    is exclusive); otherwise a GetMediaForFragmentList chunk, without them."""
    header, cluster, after = parts
    tags_after = [after] if len(after) else []
    if now_ms is None:
        return getmedia_chunk(header, cluster, tags_after, fragment_number=fragment.number,
                              server_timestamp_ms=fragment.server_ms, producer_timestamp_ms=fragment.producer_ms)
    return getmedia_chunk(header, cluster, tags_after, fragment_number=fragment.number,
                          server_timestamp_ms=fragment.server_ms, producer_timestamp_ms=fragment.producer_ms,
                          millis_behind_now=max(0, now_ms - fragment.server_ms), continuation_token=fragment.number)


class LeasedPayload:
    """A streaming ``Payload``: an iterator of chunks that gives its connection lease back
    when it is exhausted, fails, is closed, or is garbage-collected without ever being
    iterated. ``close()`` may come from another thread while ``__next__`` waits.
    Subclasses implement ``_next_chunk()`` (None when the payload ends)."""

    def __init__(self, lease: Any) -> None:
        self._lease = lease
        self._closed = False
        self._close_lock = threading.Lock()

    def __iter__(self) -> "LeasedPayload":
        return self

    def __next__(self) -> Any:
        if self._closed:
            raise StopIteration
        try:
            chunk = self._next_chunk()
        except BaseException:
            self.close()
            raise
        if chunk is None or self._closed:
            self.close()
            raise StopIteration
        return chunk

    def _next_chunk(self) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        self._closed = True
        with self._close_lock:  # Lease.release is idempotent, but not atomic
            lease, self._lease = self._lease, None
        if lease is not None:
            lease.release()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: nothing left to give back to
            pass


# -- GetMedia --------------------------------------------------------------------------------

class _GetMediaPayload(LeasedPayload):
    """Chunks of the fragments after ``after_seq``, then of every fragment persisted while
    the response lasts; ends when the stream is deleted, or when it has caught up and no
    fragment came for ``get_media_idle_timeout_seconds`` (real time, not the service clock)."""

    def __init__(self, kvs: Any, stream: Resource, after_seq: int, lease: Any,
                 not_before: tuple[str, int] | None = None) -> None:
        super().__init__(lease)
        self._kvs = kvs
        self._stream_id = stream.id
        self._source = fragment_source(kvs, stream)
        self._after_seq = after_seq
        self._not_before = not_before  # a start timestamp no fragment has reached yet
        self._pending: collections.deque[StoredFragment] = collections.deque()

    def _next_chunk(self) -> Any:
        while not self._closed:
            if not self._pending and not self._refill():
                return None
            while self._pending:
                fragment = self._pending.popleft()
                parts = self._source.read(fragment)
                if parts is not None:
                    return fragment_chunk(fragment, parts, now_ms=self._kvs.clock.now_ms())
        return None

    def _refill(self) -> bool:
        """Waits for fragments after the position; False when the response should end."""
        caught_up_at: float | None = None
        timeout = self._kvs.config.get_media_idle_timeout_seconds
        while not self._closed:
            stream = self._kvs.store.resource("stream", id=self._stream_id)
            if stream is None:
                return False  # deleted: its data became inaccessible at once
            live = not stream.attrs.get("DataRetentionInHours", 0)
            if live != isinstance(self._source, _LiveIndex):  # retention changed to or from 0
                self._source = fragment_source(self._kvs, stream)
            batch = self._source.fragments(stream.id, min_server_ms=retention_cutoff_ms(self._kvs, stream),
                                           after_seq=self._after_seq, limit=_BATCH)
            if batch:
                self._after_seq = batch[-1].seq
                if self._not_before is not None:  # skip what ends before it
                    batch = _from_reaching(batch, *self._not_before)
                    if batch:
                        self._not_before = None
                self._pending.extend(batch)
                if batch:
                    return True
                continue
            now = time.monotonic()
            caught_up_at = now if caught_up_at is None else caught_up_at
            remaining = timeout - (now - caught_up_at)
            if remaining <= 0:
                return False
            self._kvs.store.wait_for_change(min(_POLL_SECONDS, remaining))
        return False


def _reaches(f: StoredFragment, key: str, t_ms: int) -> bool:
    """Whether fragment ``f`` contains the instant ``t_ms`` of its ``key`` timestamp, or
    starts after it."""
    start = f.server_ms if key == "server" else f.producer_ms
    return start >= t_ms or t_ms < start + f.duration_ms


def _from_reaching(batch: list[StoredFragment], key: str, t_ms: int) -> list[StoredFragment]:
    for i, f in enumerate(batch):
        if _reaches(f, key, t_ms):
            return batch[i:]
    return []


def _check_selector(selector: dict) -> None:
    kind = selector["StartSelectorType"]
    field = _SELECTOR_FIELD.get(kind)
    if field is not None and selector.get(field) is None:
        raise KvsError("InvalidArgumentException",
                       f"StartSelector.{field} is required when StartSelectorType is {kind}.", service=SERVICE)


def _start(kvs: Any, stream: Resource, selector: dict) -> tuple[int, tuple[str, int] | None]:
    """Where a GetMedia starts: it sends the fragments with a sequence above the first
    value; when the second, (timestamp kind, ms), is set, it first skips the fragments that
    end before that instant."""
    kind = selector["StartSelectorType"]
    source = fragment_source(kvs, stream)
    cutoff = retention_cutoff_ms(kvs, stream)
    if kind == "EARLIEST":
        return -1, None
    if kind == "NOW":
        newest = source.fragments(stream.id, newest_first=True, limit=1)
        return (newest[0].seq if newest else -1), None
    if kind == "FRAGMENT_NUMBER":
        number = selector["AfterFragmentNumber"]
        fragment = available_by_number(kvs, source, stream, [number]).get(number)
        if fragment is None:
            raise fragment_not_found(number, SERVICE)
        # KVS-WIRE-FACTS §5.1: "after" in the reference, inclusive in AWS's own samples.
        return (fragment.seq - 1 if kvs.config.get_media_after_fragment_inclusive else fragment.seq), None
    if kind == "CONTINUATION_TOKEN":
        token = selector["ContinuationToken"]
        fragment = available_by_number(kvs, source, stream, [token]).get(token)
        if fragment is not None:
            return fragment.seq, None
        # The token is the last fragment sent. If it has expired since, everything after it
        # that is left starts at the earliest fragment (fragment numbers grow with the sequence).
        oldest = source.fragments(stream.id, min_server_ms=cutoff, limit=1)
        if token.isdigit() and oldest and int(token) < int(oldest[0].number):
            return -1, None
        raise KvsError("ResourceNotFoundException", f"The continuation token {token} was not found.",
                       service=SERVICE)
    key = _TIMESTAMP_FIELD[kind]
    t_ms = to_ms(selector["StartTimestamp"])
    before = source.fragments(stream.id, selector=key, end_ms=t_ms, min_server_ms=cutoff, newest_first=True, limit=1)
    if before and _reaches(before[0], key, t_ms):
        return before[0].seq - 1, None
    after = source.fragments(stream.id, selector=key, start_ms=t_ms, min_server_ms=cutoff, limit=1)
    if after:
        return after[0].seq - 1, None
    newest = source.fragments(stream.id, newest_first=True, limit=1)
    return (newest[0].seq if newest else -1), (key, t_ms)


@operation(SERVICE, "GetMedia")
def get_media(kvs: Any, p: dict) -> dict:
    """KVS API: GetMedia. The chunks of the fragments from the StartSelector on, in
    sequence (fragment number) order, each with MILLIS_BEHIND_NOW and CONTINUATION_TOKEN,
    then every fragment persisted while the response lasts (see the module gaps).

    NOW starts after the newest fragment at request time. A StartTimestamp that no stored
    fragment contains or precedes waits for the first new fragment that does. A
    CONTINUATION_TOKEN whose fragment has expired resumes at the earliest fragment."""
    selector = p["StartSelector"]
    _check_selector(selector)
    stream = find_stream(kvs, p, SERVICE)
    after_seq, not_before = _start(kvs, stream, selector)
    lease = kvs.limits.open_connection("GetMedia", stream.name, kvs.config.get_media_connections, SERVICE)
    return {"ContentType": CONTENT_TYPE, "Payload": _GetMediaPayload(kvs, stream, after_seq, lease, not_before)}
