# SPDX-License-Identifier: Apache-2.0
"""PutMedia: MKV in, acknowledgements out, fragments into the archive (KVS-WIRE-FACTS §4).

:class:`IngestSession` is push-driven (``feed(chunk)``, ``finish()``, ``abort()``,
``idle_ack()``), so the HTTP server can run it over a full-duplex request;
:func:`put_media` drives it over bytes, a file or an iterable of chunks for the
in-process client.

A fragment is one Cluster. It gets its number and server timestamp when its first bytes
arrive (BUFFERING) and is finalized when the next Cluster or EBML document starts, when
the producer SDK's ``AWS_KINESISVIDEO_END_OF_FRAGMENT`` tag arrives, or when the body
ends: then it is checked, acknowledged RECEIVED, stored (fsync, index row) and
acknowledged PERSISTED (retention 0: kept in the in-memory buffer, never PERSISTED).
A fragment that breaks a rule gets an ERROR ack and is dropped; earlier fragments stay
stored. Input that cannot be parsed ends the session (the stream cannot be resynced).

Gaps: the per-stream 5 fragments/s and 12.5 MB/s quotas are not enforced; KMS errors
(4500-4506) cannot happen; the AWS_KINESISVIDEO_NOTIFICATION / IMAGE_GENERATION tags are
stored-and-stripped, not acted on.
"""
from __future__ import annotations

import dataclasses
import datetime
import decimal
import queue
import threading
import time
from typing import Any, Iterable, Iterator

import numpy as np

from kvsmux.api.acks import AckError, ack, error_ack
from kvsmux.api.boundaries import BoundaryWalker, ClusterEnd, ClusterStart, DocumentStart
from kvsmux.api.errors import KvsError
from kvsmux.api.metadata import fragment_metadata
from kvsmux.api.streams import find_stream
from kvsmux.api.validation import validation_problems
from kvsmux.errors import MediaError
from kvsmux.media import Demuxer, Fragment, Tags
from kvsmux.store import StoredFragment, StreamGone
from kvsmux.store.live import LiveFragment

SERVICE = "kinesis-video-media"
#: Tags in this namespace are KVS's own: the producer SDK's control tags (END_OF_FRAGMENT,
#: NOTIFICATION, IMAGE_GENERATION, IMAGE_PREFIX) and, in re-ingested GetMedia output, the
#: fragment number and timestamps. They are acted on or dropped, never stored; any other
#: name starting with "AWS" is refused as fragment metadata.
KVS_TAG_PREFIX = "AWS_KINESISVIDEO_"
END_OF_FRAGMENT = "AWS_KINESISVIDEO_END_OF_FRAGMENT"
CHUNK_BYTES = 64 * 1024
#: The latest producer timestamp a fragment can have, 9999-12-31T23:59:59.999Z (ms): what a
#: datetime (so botocore, reading ListFragments) can represent, well inside the store's integers.
MAX_PRODUCER_MS = 253_402_300_799_999


def _is_kvs_tags(tags: Tags) -> bool:
    return any(t.name.startswith(KVS_TAG_PREFIX) for t in tags.simple_tags)


def _without(data: bytes, start: int, tags: Iterable[Tags]) -> bytes:
    """``data`` (at absolute offset ``start``) without the Tags elements KVS writes or
    acts on: GetMedia adds its own, and control tags are not media."""
    cut = sorted((t.byte_range[0] - start, t.byte_range[0] - start + t.byte_range[1]) for t in tags
                 if _is_kvs_tags(t) and start <= t.byte_range[0] and sum(t.byte_range) <= start + len(data))
    if not cut:
        return data
    out, at = [], 0
    for a, b in cut:
        out.append(data[at:a])
        at = b
    out.append(data[at:])
    return b"".join(out)


def parse_start_timestamp(value: Any) -> int | None:
    """``x-amzn-producer-start-timestamp``: epoch seconds as a decimal number (a string
    from the header, a number or a datetime here), in ms."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:  # UTC, as botocore and the other timestamp parameters read it
            value = value.replace(tzinfo=datetime.timezone.utc)
        return round(value.timestamp() * 1000)
    try:
        seconds = decimal.Decimal(str(value).strip())
    except decimal.InvalidOperation:
        raise KvsError("InvalidArgumentException", f"ProducerStartTimestamp {value!r} is not a number of seconds.",
                       service=SERVICE) from None
    if not seconds.is_finite() or seconds < 0 or seconds * 1000 > MAX_PRODUCER_MS:
        raise KvsError("InvalidArgumentException", f"ProducerStartTimestamp {value!r} is not a valid time.",
                       service=SERVICE)
    return int(seconds * 1000)


@dataclasses.dataclass
class _Open:
    """A fragment whose Cluster has started."""
    start: int
    timecode: int | None
    seq: int
    number: str
    server_ms: int


@dataclasses.dataclass
class _Pending:
    """A fragment whose Cluster has ended; producer elements may still follow it."""
    open: _Open
    end: int


class IngestSession:
    """One PutMedia request on one stream; holds the stream's writer lock until closed."""

    def __init__(self, kvs: Any, stream: Any, writer: Any, *, timecode_type: str, start_ms: int | None) -> None:
        self.kvs = kvs
        self.stream = stream
        self.writer = writer
        self.relative = timecode_type == "RELATIVE"
        self.started_ms = kvs.clock.now_ms()
        self.start_ms = start_ms if start_ms is not None else self.started_ms
        self.keeps = bool(stream.attrs.get("DataRetentionInHours", 0))
        self.demuxer = Demuxer()
        self.walker = BoundaryWalker()
        self.open: _Open | None = None
        self.pending: _Pending | None = None
        self.completed: dict[int, Fragment] = {}   # demuxer fragments by cluster offset
        self.leading: bytes = b""                   # producer elements after an END_OF_FRAGMENT
        self.leading_start: int | None = None
        self.last_timecode_ns: int | None = None
        self.headers_seen = 0
        self._header_cache: dict[int, bytes] = {}
        self.done = False
        self.persisted: list[StoredFragment] = []
        self._expired_at: int | None = None
        self._last_fragment: Fragment | None = None  # the last one finalized (its tags_after)

    # -- the push interface ----------------------------------------------------------------

    def feed(self, chunk: bytes | memoryview) -> list[dict]:
        if self.done:
            return []
        acks: list[dict] = []
        if self.kvs.clock.now_ms() - self.started_ms > self.kvs.config.max_connection_seconds * 1000:
            # As when the producer goes away: a fragment whose cluster had ended is kept.
            acks = self._finalize(self.pending.end) if self._pending_complete() else []
            return acks if self.done else acks + self._fatal(AckError.CONNECTION_DURATION_REACHED)
        try:
            new = self.demuxer.feed(chunk)
        except MediaError:
            new = []
        for f in new:
            self.completed[f.byte_range[0]] = f
        acks += self._headers()
        if not self.done:
            acks += self._events(self.walker.feed(chunk))
        if not self.done and self.demuxer.error is not None:
            acks += self._media_error(self.demuxer.error)
        if not self.done and self.walker.stuck:  # never seen with input the demuxer accepts
            acks += self._fatal(AckError.INVALID_MKV_DATA)
        if not self.done and self.open is not None and \
                self.walker.received - self.open.start > self.kvs.config.max_fragment_bytes:
            acks += self._fatal(AckError.FRAGMENT_SIZE_REACHED)
        return acks

    def finish(self) -> list[dict]:
        """The body ended: the last fragment is complete."""
        if self.done:
            return []
        for f in self.demuxer.close():
            self.completed[f.byte_range[0]] = f
        acks = self._headers()
        if not self.done:
            acks += self._events(self.walker.close())
        if not self.done and self.demuxer.error is not None:
            acks += self._media_error(self.demuxer.error)
        if not self.done and self.walker.stuck:
            acks += self._fatal(AckError.INVALID_MKV_DATA)
        if not self.done and self.pending is not None:
            acks += self._finalize(self.walker.received)
        self.done = True
        return acks

    def abort(self) -> list[dict]:
        """The producer went away: a fragment whose cluster had ended is kept, the one in
        progress is dropped."""
        if self.done:
            return []
        acks = self._finalize(self.pending.end) if self.pending is not None else []
        self.done = True
        return acks

    def read_error(self) -> list[dict]:
        """Reading the body failed (ErrorId 4000)."""
        ids = self.open_ids() if not self.done else (None, None)
        acks = self.abort() if not self.done else []
        return acks + [error_ack(AckError.STREAM_READ_ERROR, *ids)]

    @staticmethod
    def idle_ack() -> dict:
        return ack("IDLE")

    def close(self) -> None:
        self.done = True
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    # -- internals ---------------------------------------------------------------------------

    def _fatal(self, code: AckError) -> list[dict]:
        acks = [error_ack(code, *self.open_ids())]
        self.done = True
        return acks

    def open_ids(self) -> tuple[int | None, str | None]:
        return (self.open.timecode, self.open.number) if self.open is not None else (None, None)

    def _pending_complete(self) -> bool:
        """The pending fragment's cluster was read whole (the input did not end inside it)."""
        fragment = self.completed.get(self.pending.open.start) if self.pending is not None else None
        return fragment is not None and not fragment.truncated

    @staticmethod
    def _media_error_code(error: MediaError) -> AckError:
        return AckError.TRACK_NUMBER_MISMATCH if error.code == "unknown_track" else AckError.INVALID_MKV_DATA

    def _media_error(self, error: MediaError) -> list[dict]:
        acks: list[dict] = []
        if self.pending is not None:
            if self._pending_complete():  # complete before the bad bytes
                acks = self._finalize(self.pending.end)
                if self.done:
                    return acks
            else:  # the bad bytes are in this cluster (or the input ended inside it): it fails
                self.open, self.pending = self.pending.open, None
        return acks + self._fatal(self._media_error_code(error))

    def _headers(self) -> list[dict]:
        headers = self.demuxer.headers
        while self.headers_seen < len(headers):
            header = headers[self.headers_seen]
            self.headers_seen += 1
            if len(header.tracks) > self.kvs.config.max_tracks:
                return self._fatal(AckError.MORE_THAN_ALLOWED_TRACKS_FOUND)
        return []

    def _events(self, events: list) -> list[dict]:
        acks: list[dict] = []
        for event in events:
            if isinstance(event, ClusterStart):
                acks += self._close_zone(event.offset)
                if self.done:  # that fragment's error ended the session
                    break
                seq = self.writer.next_seq()
                now = self.kvs.clock.now_ms()
                self.open = _Open(event.offset, event.timecode, seq, self.kvs.ids.fragment_number(seq, now), now)
                acks.append(ack("BUFFERING", event.timecode, self.open.number))
            elif isinstance(event, ClusterEnd):
                if self.open is not None:
                    self.pending = _Pending(self.open, event.end)
                    self.open = None
            elif isinstance(event, DocumentStart):  # a new producer timeline starts
                acks += self._close_zone(event.offset)
                self.leading, self.leading_start = b"", None
                self.last_timecode_ns = None
            acks += self._end_of_fragment()
            if self.done:
                break
        acks += self._end_of_fragment()
        # Keep only what a later finalize can still need: the pending fragment's after-zone.
        zone = self.pending.end if self.pending is not None else self.leading_start
        self.walker.trim(zone)
        return acks

    def _close_zone(self, offset: int) -> list[dict]:
        """Something new starts at ``offset``: the pending fragment (or the elements after an
        END_OF_FRAGMENT) ends there."""
        if self.pending is not None:
            return self._finalize(offset)
        if self.leading_start is not None:
            last = self._last_fragment.tags_after if self._last_fragment is not None else []
            self.leading = _without(self.walker.bytes(self.leading_start, offset), self.leading_start, last)
            self.leading_start = None
        return []

    def _end_of_fragment(self) -> list[dict]:
        """AWS_KINESISVIDEO_END_OF_FRAGMENT closes the pending fragment at once (the SDK
        waits for its PERSISTED before it ends the request)."""
        if self.pending is None:
            return []
        fragment = self.completed.get(self.pending.open.start)
        if fragment is None:
            return []
        for tags in fragment.tags_after:
            if any(t.name == END_OF_FRAGMENT for t in tags.simple_tags):
                end = sum(tags.byte_range)
                acks = self._finalize(end)
                self.leading_start = end
                return acks
        return []

    def _header_bytes(self, fragment: Fragment) -> bytes:
        """The producer's header for this fragment's document, without KVS's Tags."""
        header = fragment.header
        if header.index not in self._header_cache:
            tags_in_header = [t for t in fragment.tags_before]
            self._header_cache[header.index] = _without(bytes(header.bytes), header.byte_range[0], tags_in_header)
        return self._header_cache[header.index]

    def _finalize(self, after_end: int) -> list[dict]:
        pending, self.pending = self.pending, None
        opened = pending.open
        fragment = self.completed.pop(opened.start, None)
        if fragment is None:  # the demuxer never accepted this cluster
            if self.demuxer.error is not None:  # it stopped in this cluster: the session ends here
                self.done = True
                return [error_ack(self._media_error_code(self.demuxer.error), opened.timecode, opened.number)]
            return [error_ack(AckError.INVALID_MKV_DATA, opened.timecode, opened.number)]
        raw_after = self.walker.bytes(pending.end, after_end)
        after = _without(raw_after, pending.end, fragment.tags_after)
        self._last_fragment = fragment
        header = self._header_bytes(fragment) + self.leading
        self.leading = b""
        timecode = fragment.timestamp_ticks
        problem = self._check(fragment, after, raw_after)
        if problem is not None:
            if problem is AckError.FRAGMENT_SIZE_REACHED:  # as when found while the cluster arrives
                self.done = True
            return [error_ack(problem, timecode, opened.number)]
        self.last_timecode_ns = fragment.timestamp_ns
        frames = fragment.frames.copy()
        frames["offset"] -= fragment.byte_range[0]
        pts = frames["pts_ns"]
        duration_ms = int((pts.max() - pts.min()) // 1_000_000) if len(pts) else 0
        producer_ms = fragment.timestamp_ns // 1_000_000 + (self.start_ms if self.relative else 0)
        if not 0 <= producer_ms <= MAX_PRODUCER_MS:
            return [error_ack(AckError.INVALID_PRODUCER_TIMESTAMP, timecode, opened.number)]
        cluster = fragment.bytes
        acks = [ack("RECEIVED", timecode, opened.number)]
        fields = dict(seq=opened.seq, number=opened.number, server_ms=opened.server_ms, producer_ms=producer_ms,
                      duration_ms=duration_ms, timecode=timecode, frames=frames)
        gone = [error_ack(AckError.STREAM_NOT_ACTIVE, timecode, opened.number)]
        if not self.keeps:
            try:  # nothing is appended, but the sequence must still advance for the next session
                self.writer.advance_seq(opened.seq)
            except StreamGone:
                self.done = True
                return acks + gone
            stored = StoredFragment(stream_id=self.stream.id, header_id=-1, file_no=-1, offset=0,
                                    cluster_size=len(cluster), after_size=len(after), **fields)
            self.kvs.live.add(LiveFragment(stored, header, bytes(cluster), after), self.kvs.clock.now_ms())
            self.kvs.store._notify()
            return acks
        try:
            stored = self.writer.append(header=header, cluster=cluster, after=after, **fields)
        except StreamGone:
            self.done = True
            return acks + gone
        except OSError:
            return acks + [error_ack(AckError.ARCHIVAL_ERROR, timecode, opened.number)]
        self.persisted.append(stored)
        self._expire()
        return acks + [ack("PERSISTED", timecode, opened.number)]

    def _expire(self) -> None:
        """Retention: the writer drops what has expired, at most once a minute."""
        now = self.kvs.clock.now_ms()
        if self._expired_at is not None and now - self._expired_at < 60_000:
            return
        self._expired_at = now
        hours = self.stream.attrs.get("DataRetentionInHours", 0)
        current = self.kvs.store.resource("stream", id=self.stream.id)
        if current is not None:
            hours = current.attrs.get("DataRetentionInHours", hours)
        if hours:
            self.writer.expire(now - hours * 3_600_000)

    def _check(self, fragment: Fragment, after: bytes, raw_after: bytes) -> AckError | None:
        """The service's rules for one fragment (KVS-WIRE-FACTS §4.4)."""
        config = self.kvs.config
        frames = fragment.frames
        declared = {t.number for t in fragment.header.tracks}
        if not len(frames) or not declared <= set(np.unique(frames["track"]).tolist()):
            return AckError.FRAMES_MISSING_FOR_TRACK
        if self.last_timecode_ns is not None and fragment.timestamp_ns <= self.last_timecode_ns:
            return AckError.FRAGMENT_TIMECODE_NOT_MONOTONIC
        pts = frames["pts_ns"]
        if (pts.max() - pts.min()) // 1_000_000 > config.max_fragment_duration_ms:
            return AckError.FRAGMENT_DURATION_REACHED
        if fragment.byte_range[1] + len(after) > config.max_fragment_bytes:
            return AckError.FRAGMENT_SIZE_REACHED
        metadata = [(name, value) for name, value in fragment_metadata(raw_after)
                    if not name.startswith(KVS_TAG_PREFIX.encode())]  # control tags are not metadata
        if len(metadata) > config.max_fragment_metadata_tags or any(
                name.startswith(b"AWS") or len(name) > 128 or len(value or b"") > 256 for name, value in metadata):
            return AckError.FRAGMENT_METADATA_LIMIT_REACHED
        return None


def open_session(kvs: Any, *, StreamName: str | None = None, StreamARN: str | None = None,
                 FragmentTimecodeType: str = "ABSOLUTE", ProducerStartTimestamp: Any = None) -> IngestSession:
    """Checks a PutMedia request (the errors KVS answers before streaming) and takes the
    stream's single PutMedia connection."""
    if (StreamName is None) == (StreamARN is None):
        raise KvsError("InvalidArgumentException", "Specify either StreamName or StreamARN, but not both.",
                       service=SERVICE)
    # The stream name and ARN rules are GetMedia's (PutMedia is not in the models).
    problems = validation_problems(SERVICE, "GetMedia", {"StreamName": StreamName, "StreamARN": StreamARN,
                                                        "StartSelector": {"StartSelectorType": "NOW"}})
    if problems:
        raise KvsError("InvalidArgumentException", "; ".join(problems), service=SERVICE)
    if FragmentTimecodeType not in ("ABSOLUTE", "RELATIVE"):
        raise KvsError("InvalidArgumentException",
                       f"FragmentTimecodeType must be ABSOLUTE or RELATIVE, not {FragmentTimecodeType!r}.",
                       service=SERVICE)
    start_ms = parse_start_timestamp(ProducerStartTimestamp)
    params = {"StreamName": StreamName, "StreamARN": StreamARN}
    stream = find_stream(kvs, params, service=SERVICE)
    kvs.limits.request("PutMedia", stream.name, SERVICE)
    writer = kvs.store.writer(stream.id)
    if writer is None:
        raise KvsError("ConnectionLimitExceededException",
                       f"Limit exceeded on number of concurrent PutMedia connections for stream '{stream.name}' (1)",
                       service=SERVICE)
    return IngestSession(kvs, stream, writer, timecode_type=FragmentTimecodeType, start_ms=start_ms)


def put_media(kvs: Any, *, Payload: Any, **request: Any) -> Iterator[dict]:
    """Opens the session now (so request errors raise here) and returns the ack iterator."""
    session = open_session(kvs, **request)
    if isinstance(Payload, (bytes, bytearray, memoryview)):
        acks = _acks_from_buffer(session, memoryview(Payload).cast("B"))
    else:
        acks = _acks_from_source(session, Payload)
    primed = _primed(session, acks)
    next(primed)
    return primed


def _primed(session: IngestSession, acks: Iterator[dict]) -> Iterator[dict]:
    """Started at once, so that closing (or dropping) the iterator before its first ack
    still releases the stream."""
    try:
        yield {}
        yield from acks
    finally:
        session.close()


def _acks_from_buffer(session: IngestSession, data: memoryview) -> Iterator[dict]:
    try:
        for i in range(0, len(data), CHUNK_BYTES):
            yield from session.feed(data[i:i + CHUNK_BYTES])
            if session.done:
                return
        yield from session.finish()
    except GeneratorExit:
        session.abort()
        raise
    finally:
        session.close()


def _chunks(source: Any) -> Iterator[bytes]:
    if hasattr(source, "read"):
        while True:
            chunk = source.read(CHUNK_BYTES)
            if not chunk:
                return
            yield chunk
    else:
        yield from source


def _acks_from_source(session: IngestSession, source: Any) -> Iterator[dict]:
    """Reads the source on a thread so IDLE acks go out while the producer is quiet; after
    ``idle_timeout_seconds`` without data the service ends the request."""
    config = session.kvs.config
    chunks: queue.Queue = queue.Queue(maxsize=16)
    stop = threading.Event()

    def pump() -> None:
        try:
            for chunk in _chunks(source):
                while not stop.is_set():
                    try:
                        chunks.put(("data", chunk), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            chunks.put(("end", None))
        except Exception as e:  # the producer's stream failed: ErrorId 4000
            chunks.put(("error", e))

    reader = threading.Thread(target=pump, name="kvsmux-put-media-reader", daemon=True)
    reader.start()
    quiet_since = time.monotonic()
    try:
        while not session.done:
            try:
                kind, value = chunks.get(timeout=config.idle_ack_interval_seconds)
            except queue.Empty:
                if time.monotonic() - quiet_since >= config.idle_timeout_seconds:
                    yield from session.finish()
                    return
                yield session.idle_ack()
                continue
            quiet_since = time.monotonic()
            if kind == "data":
                yield from session.feed(value)
            elif kind == "end":
                yield from session.finish()
            else:
                yield from session.read_error()
    except GeneratorExit:
        session.abort()
        raise
    finally:
        stop.set()
        session.close()
