# SPDX-License-Identifier: Apache-2.0
"""Where fragments begin and end in a PutMedia byte stream, as the bytes arrive.

KVS acknowledges a fragment's first byte (BUFFERING, already carrying the Cluster
Timestamp) and persists fragment N when Cluster N+1 starts (KVS-WIRE-FACTS §4.2, §14).
The demuxer reports a Cluster only once it has ended, so this walker follows the element
headers alongside it: it reads IDs and sizes at Segment and Cluster level, skips element
data without keeping it, and reports cluster starts (with the Timestamp), cluster ends and
new EBML documents. It also keeps the bytes a producer sends between clusters (Tags,
Cues), which KVS returns after the cluster in GetMedia. The demuxer stays the judge of
validity: on input the walker cannot follow, it stops and the demuxer reports the error.
"""
from __future__ import annotations

import dataclasses

from kvsmux.errors import MediaError
from kvsmux.media.pure.ebml import ELEMENTS, ID, Reader, read_element_header, read_uint

_CLUSTER = ID["Cluster"]
_CLUSTER_CHILDREN = {spec.id for spec in ELEMENTS.values() if spec.parent_id == _CLUSTER or spec.is_global}
_TIMESTAMP = ID["Timestamp"]
_EBML = ID["EBML"]
_SEGMENT = ID["Segment"]


@dataclasses.dataclass
class ClusterStart:
    offset: int
    timecode: int | None  # None: the cluster ended before any Timestamp (invalid)


@dataclasses.dataclass
class ClusterEnd:
    offset: int
    end: int


@dataclasses.dataclass
class DocumentStart:
    offset: int


class BoundaryWalker:
    def __init__(self) -> None:
        self.received = 0
        self._raw = bytearray()
        self._base = 0            # absolute offset of _raw[0]; _raw ends at `received`
        self._pos = 0             # next element header to read
        self._in_cluster = False
        self._cluster_start = 0
        self._cluster_end: int | None = None
        self._timecode_seen = False
        self._segment_end: int | None = None
        self.stuck = False        # met input it cannot follow; the demuxer will say why

    def feed(self, chunk: bytes | memoryview) -> list:
        self._raw += chunk
        self.received += len(chunk)
        return self._walk()

    def close(self) -> list:
        """The input ended: an open unknown-size cluster ends here."""
        events = self._walk()
        if self._in_cluster and not self.stuck:
            if not self._timecode_seen:
                events.append(ClusterStart(self._cluster_start, None))
            events.append(self._end_cluster(self.received))
        return events

    def trim(self, keep_from: int | None = None) -> None:
        """Forgets the bytes before ``keep_from`` (default: all the walker has passed). Until
        this is called, every byte fed since the last call stays available to :meth:`bytes`."""
        floor = self._pos if keep_from is None else min(self._pos, keep_from)
        floor = min(floor, self.received)
        if floor > self._base:
            del self._raw[:floor - self._base]
            self._base = floor

    def bytes(self, start: int, end: int) -> bytes:
        """Bytes kept from [start, end)."""
        if start < self._base or end > self.received:
            raise ValueError(f"bytes {start}-{end} are not kept ({self._base}-{self.received})")
        return bytes(self._raw[start - self._base:end - self._base])

    def _end_cluster(self, end: int) -> ClusterEnd:
        self._in_cluster = False
        return ClusterEnd(self._cluster_start, end)

    def _walk(self) -> list:
        events: list = []
        while not self.stuck:
            if self._in_cluster and self._cluster_end is not None and self._pos >= self._cluster_end:
                if self._cluster_end > self.received:
                    break
                if not self._timecode_seen:
                    events.append(ClusterStart(self._cluster_start, None))
                events.append(self._end_cluster(self._cluster_end))
                continue
            if self._pos >= self.received:
                break
            reader = Reader(self._raw, self._pos - self._base, len(self._raw), self._pos)
            try:
                header = read_element_header(reader)
            except MediaError as e:
                if e.code != "truncated":
                    self.stuck = True
                break
            if self._in_cluster:
                if self._cluster_end is None and header.id not in _CLUSTER_CHILDREN:
                    if not self._timecode_seen:
                        events.append(ClusterStart(self._cluster_start, None))
                    events.append(self._end_cluster(self._pos))
                    continue
                if header.id == _TIMESTAMP and not self._timecode_seen:
                    if header.end() > self.received or header.size > 8:
                        self.stuck = header.size > 8
                        break
                    data = Reader(self._raw, header.data_offset() - self._base, header.end() - self._base,
                                  header.data_offset())
                    events.append(ClusterStart(self._cluster_start, read_uint(data)))
                    self._timecode_seen = True
                if header.unknown_size():
                    self.stuck = True
                    break
                self._pos = header.end()
                continue
            if self._segment_end is not None and self._pos >= self._segment_end:
                self._segment_end = None
            if header.id == _SEGMENT:
                self._segment_end = None if header.unknown_size() else header.end()
                self._pos = header.data_offset()
            elif header.id == _CLUSTER:
                self._in_cluster = True
                self._cluster_start = self._pos
                self._cluster_end = None if header.unknown_size() else header.end()
                self._timecode_seen = False
                self._pos = header.data_offset()
            elif header.unknown_size():
                self.stuck = True
            else:
                if header.id == _EBML:
                    events.append(DocumentStart(self._pos))
                self._pos = header.end()
        return events
