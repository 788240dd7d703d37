# SPDX-License-Identifier: Apache-2.0
"""GetClip (KVS API: kinesis-video-archived-media GetClip): one progressive MP4 of the
fragments whose start timestamp lies in a range, cut to the first 200 fragments or
100 MB, whichever comes first (KVS-WIRE-FACTS §3.1, §8.2).

The clip is the packaging core's MP4 writer over the fragments' GetMedia chunks, so a
clip holds the stored frames unchanged. Media errors map to the model's error shapes
(one table, :data:`MEDIA_ERRORS`).

Gaps: a clip ends early where the codec private data or the tracks change (a new
producer session with other parameters), where KVS would return an error; SERVER_TIMESTAMP
ranges that end in the future are accepted.
"""
from __future__ import annotations

from typing import Any

from kvsmux.api.context import to_ms
from kvsmux.api.errors import KvsError
from kvsmux.api.reader import demux_header, fragment_chunk
from kvsmux.api.registry import operation
from kvsmux.api.streams import find_stream, retention_cutoff_ms
from kvsmux.errors import MediaError
from kvsmux.media import to_mp4
from kvsmux.store import StoredFragment

SERVICE = "kinesis-video-archived-media"
MAX_CLIP_FRAGMENTS = 200
MAX_CLIP_BYTES = 100 * 1024 * 1024
MAX_RANGE_MS = 24 * 3_600_000
CONTENT_TYPE = "video/mp4"

#: Media error code -> (AWS error, message) at the service edge (STYLE §7).
MEDIA_ERRORS = {
    "unsupported_codec": ("UnsupportedStreamMediaTypeException",
                          "The stream's codecs cannot be packaged (H.264 or H.265 video, AAC or G.711 audio)."),
    "missing_codec_private": ("MissingCodecPrivateDataException", "A track of the stream has no codec private data."),
    "invalid_codec_private": ("InvalidCodecPrivateDataException",
                              "The codec private data of a track is not valid for its codec."),
}
_OTHER_MEDIA_ERROR = ("InvalidMediaFrameException", "A frame of the stream could not be parsed for its codec.")


def media_error(error: MediaError, service: str = SERVICE) -> KvsError:
    code, message = MEDIA_ERRORS.get(error.code, _OTHER_MEDIA_ERROR)
    return KvsError(code, f"{message} ({error.code}: {error.detail})", service=service)


def _track_signature(header: bytes) -> tuple:
    """What must stay the same for fragments to share one MP4: tracks, codecs, codec private."""
    return tuple((t.number, t.codec_id, bytes(t.codec_private)) for t in demux_header(header).tracks)


def select_fragments(kvs: Any, stream: Any, kind: str, start_ms: int, end_ms: int) -> list[StoredFragment]:
    """Fragments starting in [start, end], in timeline order; for PRODUCER_TIMESTAMP one
    per producer timestamp (the first ingested)."""
    cutoff = retention_cutoff_ms(kvs, stream)
    selector = "producer" if kind == "PRODUCER_TIMESTAMP" else "server"
    fragments = kvs.store.fragments(stream.id, selector=selector, start_ms=start_ms, end_ms=end_ms,
                                    min_server_ms=cutoff)
    if selector == "producer":
        seen: set[int] = set()
        ordered = sorted(fragments, key=lambda f: (f.producer_ms, f.seq))
        fragments = [f for f in ordered if not (f.producer_ms in seen or seen.add(f.producer_ms))]
    return fragments


@operation(SERVICE, "GetClip")
def get_clip(kvs: Any, p: dict) -> dict:
    selector = p["ClipFragmentSelector"]
    start_ms = to_ms(selector["TimestampRange"]["StartTimestamp"])
    end_ms = to_ms(selector["TimestampRange"]["EndTimestamp"])
    if end_ms <= start_ms:
        raise KvsError("InvalidArgumentException", "The EndTimestamp must be later than the StartTimestamp.",
                       service=SERVICE)
    if end_ms - start_ms > MAX_RANGE_MS:
        raise KvsError("InvalidArgumentException", "The clip range must not be longer than 24 hours.", service=SERVICE)
    stream = find_stream(kvs, p, SERVICE)
    if retention_cutoff_ms(kvs, stream) is None:
        raise KvsError("NoDataRetentionException", f"The stream {stream.name} does not retain data.", service=SERVICE)
    fragments = select_fragments(kvs, stream, selector["FragmentSelectorType"], start_ms, end_ms)
    chunks, total, signature = [], 0, None
    for fragment in fragments[:MAX_CLIP_FRAGMENTS]:
        parts = kvs.store.read(fragment)
        if parts is None:  # expired since it was listed
            continue
        if total and total + fragment.size > MAX_CLIP_BYTES:
            break
        current = _track_signature(parts[0])
        if signature is not None and current != signature:
            break
        signature = current
        chunks.append(bytes(fragment_chunk(fragment, parts)))
        total += fragment.size
    if not chunks:
        raise KvsError("ResourceNotFoundException", "No fragments found in the stream for the clip request.",
                       service=SERVICE)
    kvs.limits.fragment_points("metadata", stream.name, len(chunks), SERVICE)
    kvs.limits.fragment_points("media", stream.name, len(chunks), SERVICE)
    try:
        clip = to_mp4(b"".join(chunks))
    except MediaError as e:
        raise media_error(e) from None
    return {"ContentType": CONTENT_TYPE, "Payload": iter(clip.segments[0].parts())}
