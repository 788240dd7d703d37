# SPDX-License-Identifier: Apache-2.0
"""What HLS and DASH players fetch besides playlists and manifests (KVS API:
GetMP4InitFragment, GetMP4MediaFragment, GetTSFragment; KVS-WIRE-FACTS §6.2, §7, §8.2, §8.3).

Every request names its session by the SessionToken the player sent (``token``); it is
checked (NotAuthorizedException: missing, altered, foreign or expired), counted against the
session's request rate (ClientLimitExceededException), and then served from the stored
fragments:

- init fragment: ``ftyp`` + ``moov`` of one track, from the codec private of one fragment
  header (the first fragment's of the session's current timeline, or the one the playlist
  named with ``SequenceNumber``); cached per (stream, header) in a small LRU;
- MP4 media fragment: ``styp`` + ``moof`` + ``mdat`` of one KVS fragment and one track; the
  ``mfhd`` sequence number is the fragment's position in the stream (so it grows);
- TS fragment: one KVS fragment, every track, PAT and PMT first.

Media time. HLS sessions place a fragment's media at its *producer timestamp* (the cluster
timestamp is rewritten to the producer timestamp before packaging, sub-millisecond part
kept), so ``baseMediaDecodeTime`` and TS PTS run on continuously across the fragments of one
producer session, also across PutMedia requests with RELATIVE timecodes (which restart at
0), and match EXT-X-PROGRAM-DATE-TIME. DASH sessions keep the producer's Matroska time,
because :mod:`kvsmux.api.dash` computes ``S@t`` from it (switching DASH over means changing
both together). With ABSOLUTE timecodes (the SDKs' default) the two are the same.

Gaps:
- A track with no frame in a fragment (audio missing from one fragment) gives
  ResourceNotFoundException for that fragment and track, not an empty segment.
- The last sample of each segment lasts the track's default frame duration (the packager
  sees one fragment at a time), so consecutive segments can overlap or leave a hole of
  under a millisecond where the producer's timestamps are rounded to milliseconds.
- TS continuity counters restart in every fragment.
- A fragment belongs to a session when its selector timestamp is in the session's range
  (LIVE: received since the session began); the playlist window itself is not checked.
"""
from __future__ import annotations

import collections
import dataclasses
import hashlib
import threading
import weakref
from typing import Any

from kvsmux.api.clip import media_error
from kvsmux.api.errors import KvsError
from kvsmux.api.reader import EMPTY_CLUSTER, fragment_chunk
from kvsmux.api.sessions import NO_FRAGMENTS, SERVICE, Session, decode_token
from kvsmux.api.timeline import session_fragment, session_stream, timeline
from kvsmux.errors import MediaError
from kvsmux.media import demux, getmedia_chunk, to_fmp4, to_ts
from kvsmux.media.model import Track
from kvsmux.store import StoredFragment

MP4 = "video/mp4"
TS = "video/mp2t"
#: How many fragment headers' packaged inits are kept.
INIT_CACHE_SIZE = 32
_CLUSTER_ID, _TIMESTAMP_ID, _CRC32_ID = b"\x1f\x43\xb6\x75", b"\xe7", b"\xbf"


@dataclasses.dataclass
class PlayerResource:
    """A player response: a read-only buffer (``bytes(body)``, ``len(body)``, and
    ``body.parts()`` for zero-copy writes) and its Content-Type."""

    body: Any
    content_type: str

    def parts(self) -> list[memoryview]:
        parts = getattr(self.body, "parts", None)
        return list(parts()) if parts is not None else [memoryview(self.body).cast("B")]

    def __bytes__(self) -> bytes:
        return bytes(self.body)

    def __len__(self) -> int:
        return len(self.body)


def open_session(kvs: Any, token: str | None, action: str, kind: str | None = None) -> Session:
    """The session of a player request, counted against its ``action`` rate. ``kind`` ("HLS"
    or "DASH") given: the token must be a session of that kind."""
    session = decode_token(kvs, token)
    if kind is not None and session.kind != kind:
        raise KvsError("NotAuthorizedException", f"The SessionToken is not valid for {kind}.", service=SERVICE)
    kvs.limits.session_request(hashlib.sha256(str(token).encode()).hexdigest()[:32], action, SERVICE)
    return session


# -- fragment headers: tracks, codecs and inits ---------------------------------------------

@dataclasses.dataclass
class HeaderInfo:
    """One stored fragment header (EBML header .. Tracks): its tracks and packaged inits."""

    header: bytes
    tracks: list[Track]
    timestamp_scale_ns: int
    codecs: dict[int, str]                    # track number -> RFC 6381 codec string
    inits: dict[int, Any] = dataclasses.field(default_factory=dict)  # track -> init Segment

    def track(self, number: int) -> Track | None:
        return next((t for t in self.tracks if t.number == number), None)


#: Per store (stream and header ids are only unique within one), an LRU of HeaderInfo.
_caches: weakref.WeakKeyDictionary[Any, collections.OrderedDict] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def _header_document(header: bytes) -> Any:
    """The header as a complete Matroska document with no frames (unknown-size Segment)."""
    return getmedia_chunk(header, EMPTY_CLUSTER, [], fragment_number="0", server_timestamp_ms=0,
                          producer_timestamp_ms=0)


def header_info(kvs: Any, stream_id: int, header_id: int) -> HeaderInfo:
    """The header ``header_id`` of stream ``stream_id``, from the LRU or packaged now."""
    key = (stream_id, header_id)
    with _cache_lock:
        cache = _caches.setdefault(kvs.store, collections.OrderedDict())
        info = cache.get(key)
        if info is not None:
            cache.move_to_end(key)
            return info
    header = kvs.store.header(header_id)
    if header is None:
        raise KvsError("ResourceNotFoundException", NO_FRAGMENTS, service=SERVICE)
    document = _header_document(bytes(header))
    parsed = demux(document)
    try:
        parsed.raise_if_error()
        package = to_fmp4(document)
    except MediaError as e:
        raise media_error(e) from None
    info = HeaderInfo(bytes(header), parsed.tracks, parsed.headers[0].timestamp_scale_ns,
                      dict(zip(package.tracks, package.codecs)))
    with _cache_lock:
        cache[key] = info
        while len(cache) > INIT_CACHE_SIZE:
            cache.popitem(last=False)
    return info


def track_init(info: HeaderInfo, track: int) -> Any:
    """The init segment (ftyp + moov) of one track of a header."""
    init = info.inits.get(track)
    if init is None:
        if info.track(track) is None:
            raise KvsError("ResourceNotFoundException", f"The stream has no track {track}.", service=SERVICE)
        try:
            init = to_fmp4(_header_document(info.header), track=track).init
        except MediaError as e:
            raise media_error(e) from None
        info.inits[track] = init  # a benign race: two threads may package the same init
    return init


def init_fragment(kvs: Any, token: str | None, track: int = 1, sequence: int | None = None,
                  kind: str | None = None) -> PlayerResource:
    """KVS API: GetMP4InitFragment. ``sequence`` is the playlist's ``SequenceNumber``: the
    header whose init it names; without it, the header of the timeline's first fragment."""
    session = open_session(kvs, token, "GetMP4InitFragment", kind)
    t = timeline(kvs, session)
    if not t.fragments:
        raise KvsError("ResourceNotFoundException", NO_FRAGMENTS, service=SERVICE)
    header_id = t.fragments[0].header_id
    if sequence is not None:
        if sequence not in {f.header_id for f in t.fragments}:
            raise KvsError("ResourceNotFoundException", f"The session has no init fragment {sequence}.",
                           service=SERVICE)
        header_id = sequence
    return PlayerResource(track_init(header_info(kvs, t.stream.id, header_id), track), MP4)


# -- media fragments -------------------------------------------------------------------------

def _in_session(session: Session, f: StoredFragment) -> bool:
    if session.mode == "LIVE":
        return f.seq >= session.base_seq
    ts = f.producer_ms if session.column == "producer" else f.server_ms
    return (session.start_ms is None or ts >= session.start_ms) and (session.end_ms is None or ts <= session.end_ms)


def _fragment(kvs: Any, session: Session, number: str | None) -> tuple[StoredFragment, Any, HeaderInfo]:
    if not number or not number.isdigit() or len(number) > 128:
        raise KvsError("InvalidArgumentException", "FragmentNumber must be 1 to 128 digits.", service=SERVICE)
    stream = session_stream(kvs, session)
    fragment, parts = session_fragment(kvs, session, number)
    if not _in_session(session, fragment):
        raise KvsError("ResourceNotFoundException", f"The requested fragment {number} was not found.",
                       service=SERVICE)
    kvs.limits.fragment_points("media", stream.name, 1, SERVICE)
    info = header_info(kvs, stream.id, fragment.header_id)
    header, cluster, after = parts
    cluster = rebased_cluster(cluster, info.timestamp_scale_ns, fragment.producer_ms)
    return fragment, fragment_chunk(fragment, (header, cluster, after)), info


def media_fragment(kvs: Any, token: str | None, number: str | None, track: int = 1,
                   kind: str | None = None) -> PlayerResource:
    """KVS API: GetMP4MediaFragment: moof + mdat of one fragment and one track."""
    session = open_session(kvs, token, "GetMP4MediaFragment", kind)
    fragment, chunk, info = _fragment(kvs, session, number)
    if info.track(track) is None:
        raise KvsError("ResourceNotFoundException", f"The stream has no track {track}.", service=SERVICE)
    try:
        package = to_fmp4(chunk, track=track, first_sequence_number=fragment.seq + 1)
    except MediaError as e:
        raise media_error(e) from None
    if not package.segments:
        raise KvsError("ResourceNotFoundException", f"Fragment {number} has no frames of track {track}.",
                       service=SERVICE)
    return PlayerResource(package.segments[0].output, MP4)


def ts_fragment(kvs: Any, token: str | None, number: str | None, kind: str | None = None) -> PlayerResource:
    """KVS API: GetTSFragment: one fragment, all tracks, as MPEG-TS (PAT, PMT, PES)."""
    session = open_session(kvs, token, "GetTSFragment", kind)
    _, chunk, _ = _fragment(kvs, session, number)
    try:
        package = to_ts(chunk)
    except MediaError as e:
        raise media_error(e) from None
    if not package.segments:
        raise KvsError("ResourceNotFoundException", f"Fragment {number} has no frames.", service=SERVICE)
    return PlayerResource(package.segments[0].output, TS)


# -- media time ------------------------------------------------------------------------------

def _vint(data: memoryview, pos: int, keep_marker: bool) -> tuple[int, int, bool]:
    """An EBML variable-size integer at ``pos`` (RFC 8794 §4): (value, length, all ones)."""
    first = data[pos]
    length = 9 - first.bit_length() if first else 0
    if not 1 <= length <= 8 or pos + length > len(data):
        raise ValueError("bad vint")
    value = first if keep_marker else first & (0xFF >> length)
    ones = value == (0xFF >> length)
    for b in data[pos + 1:pos + length]:
        value = (value << 8) | b
        ones = ones and b == 0xFF
    return value, length, ones and not keep_marker


def media_timestamp(timecode: int, timestamp_scale_ns: int, producer_ms: int) -> int:
    """Where a cluster with Timestamp ``timecode`` is placed: at its producer timestamp,
    keeping what the producer had below the millisecond."""
    below_ms = timecode * timestamp_scale_ns % 1_000_000
    return (producer_ms * 1_000_000 + below_ms) // timestamp_scale_ns


def rebased_cluster(cluster: Any, timestamp_scale_ns: int, producer_ms: int) -> Any:
    """The Cluster element with its Timestamp (RFC 9559 §5.1.3.1) moved to the producer
    timestamp (see the module docstring); the cluster itself when nothing moves or it cannot
    be read (the packager then reports what is wrong with it)."""
    data = memoryview(cluster).cast("B")
    try:
        if bytes(data[:4]) != _CLUSTER_ID:
            return cluster
        size, size_len, unknown = _vint(data, 4, False)
        start = 4 + size_len
        end = len(data) if unknown else min(len(data), start + size)
        pos, kept = start, []
        while pos < end:
            _, id_len, _ = _vint(data, pos, True)
            child_size, child_len, _ = _vint(data, pos + id_len, False)
            child_end = pos + id_len + child_len + child_size
            element_id = bytes(data[pos:pos + id_len])
            if element_id == _TIMESTAMP_ID:
                old = int.from_bytes(data[pos + id_len + child_len:child_end], "big")
                new = media_timestamp(old, timestamp_scale_ns, producer_ms)
                if new == old or new < 0:
                    return cluster
                body = b"".join(kept) + _TIMESTAMP_ID + b"\x88" + new.to_bytes(8, "big")
                size_field = (b"\x01\xff\xff\xff\xff\xff\xff\xff" if unknown
                              else (0x01 << 56 | (len(body) + end - child_end)).to_bytes(8, "big"))
                return b"".join((_CLUSTER_ID, size_field, body, data[child_end:end]))
            if element_id != _CRC32_ID:  # the content changes, so its CRC-32 would be wrong
                kept.append(bytes(data[pos:child_end]))
            pos = child_end
    except (ValueError, IndexError):
        pass
    return cluster
