# SPDX-License-Identifier: Apache-2.0
"""HLS and DASH streaming sessions (KVS API: GetHLSStreamingSessionURL,
GetDASHStreamingSessionURL; KVS-WIRE-FACTS §6.1, §7).

A session is the validated request, frozen into an encrypted, authenticated, URL-safe
token (``cryptography``'s Fernet: AES-128-CBC + HMAC-SHA256, keyed from the store's
secret, so every process sharing the data directory accepts it). The token binds the
stream (its ARN, which carries the creation time: a re-created stream is another one),
the mode, the selector and range, the options and the expiry. Player requests carry
only the token.
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from kvsmux.api.context import to_ms
from kvsmux.api.errors import KvsError
from kvsmux.api.reader import demux_header
from kvsmux.api.registry import operation
from kvsmux.api.streams import find_stream, retention_cutoff_ms

SERVICE = "kinesis-video-archived-media"
NO_FRAGMENTS = "No fragments found in the stream for the streaming request."
MAX_RANGE_MS = 24 * 3_600_000
#: LIVE sessions need a fragment received this recently (KVS-WIRE-FACTS §6.1).
LIVE_RECENT_MS = 30_000
_VIDEO = {"V_MPEG4/ISO/AVC", "V_MPEGH/ISO/HEVC"}
_AUDIO = {"HLS": {"A_AAC"}, "DASH": {"A_AAC", "A_MS/ACM"}}


@dataclasses.dataclass(frozen=True)
class Session:
    """Everything a player request needs, as the token holds it."""

    kind: str                 # "HLS" or "DASH"
    stream_arn: str
    mode: str                 # LIVE | LIVE_REPLAY | ON_DEMAND
    selector: str             # SERVER_TIMESTAMP | PRODUCER_TIMESTAMP
    start_ms: int | None
    end_ms: int | None
    max_fragments: int
    created_ms: int
    expires_ms: int
    container: str = "FRAGMENTED_MP4"      # HLS only
    discontinuity: str = "ALWAYS"          # HLS only
    display_timestamp: str = "NEVER"
    display_number: str = "NEVER"          # DASH only
    base_seq: int = 0                      # LIVE: where the session's media sequence counts from

    @property
    def column(self) -> str:
        return "producer" if self.selector == "PRODUCER_TIMESTAMP" else "server"


def _fernet(kvs: Any) -> Fernet:
    key = hashlib.sha256(kvs.store.secret() + b"kvsmux streaming sessions").digest()
    return Fernet(base64.urlsafe_b64encode(key))


def encode_token(kvs: Any, session: Session) -> str:
    """URL-safe (base64url; the padding is dropped), encrypted and authenticated."""
    values = dataclasses.astuple(session)  # positional: half the size of named fields
    raw = _fernet(kvs).encrypt(json.dumps(values, separators=(",", ":")).encode())
    return raw.decode().rstrip("=")


def decode_token(kvs: Any, token: str | None) -> Session:
    """The session a player request names; KvsError NotAuthorizedException (403 at the
    HTTP edge) when the token is missing, altered, foreign or expired."""
    if not token:
        raise KvsError("NotAuthorizedException", "The SessionToken is missing.", service=SERVICE)
    try:
        padded = token + "=" * (-len(token) % 4)
        session = Session(*json.loads(_fernet(kvs).decrypt(padded.encode())))
    except (InvalidToken, ValueError, TypeError):
        raise KvsError("NotAuthorizedException", "The SessionToken is not valid.", service=SERVICE) from None
    if kvs.clock.now_ms() >= session.expires_ms:
        raise KvsError("NotAuthorizedException", "Streaming session token is expired", service=SERVICE)
    return session


def _invalid(message: str) -> KvsError:
    return KvsError("InvalidArgumentException", message, service=SERVICE)


def check_codecs(header: bytes, kind: str) -> None:
    """KVS's preconditions on the first fragment's tracks: track 1 H.264/H.265 (or AAC alone),
    optional track 2 audio, codec private present and valid."""
    tracks = demux_header(header).tracks
    codecs = [t.codec_id for t in tracks]
    audio = _AUDIO[kind]
    supported = (len(tracks) in (1, 2) and (codecs[0] in _VIDEO or (codecs[0] in audio and len(tracks) == 1))
                 and (len(tracks) == 1 or codecs[1] in audio))
    if not supported:
        raise KvsError("UnsupportedStreamMediaTypeException", f"The stream's tracks ({', '.join(codecs) or 'none'}) "
                       f"cannot be played: {kind} needs H.264 or H.265 video on track 1 and optionally "
                       f"{' or '.join(sorted(audio))} audio on track 2.", service=SERVICE)
    for t in tracks:
        if not t.codec_private:
            raise KvsError("MissingCodecPrivateDataException", f"Track {t.number} ({t.codec_id}) has no codec private "
                           "data.", service=SERVICE)
        if t.codec_error is not None and t.codec_id != "A_MS/ACM":
            raise KvsError("InvalidCodecPrivateDataException", f"The codec private data of track {t.number} "
                           f"({t.codec_id}) is not valid: {t.codec_error.detail}", service=SERVICE)


def _selector(p: dict, name: str, mode: str) -> tuple[str, int | None, int | None]:
    selector = p.get(name) or {}
    kind = selector.get("FragmentSelectorType") or "SERVER_TIMESTAMP"
    rng = selector.get("TimestampRange")
    if mode == "LIVE":
        if rng is not None:
            raise _invalid("A TimestampRange cannot be given when PlaybackMode is LIVE.")
        return kind, None, None
    if rng is None or rng.get("StartTimestamp") is None:
        raise _invalid(f"{name}.TimestampRange.StartTimestamp is required when PlaybackMode is {mode}.")
    start = to_ms(rng["StartTimestamp"])
    end = to_ms(rng["EndTimestamp"]) if rng.get("EndTimestamp") is not None else None
    if end is None and mode == "ON_DEMAND":
        raise _invalid(f"{name}.TimestampRange.EndTimestamp is required when PlaybackMode is ON_DEMAND.")
    if end is not None and end <= start:
        raise _invalid("The EndTimestamp must be later than the StartTimestamp.")
    if end is not None and end - start > MAX_RANGE_MS:
        raise _invalid("The TimestampRange must not span more than 24 hours.")
    return kind, start, end


def _create(kvs: Any, p: dict, kind: str) -> Session:
    mode = p.get("PlaybackMode") or "LIVE"
    selector, start, end = _selector(p, "HLSFragmentSelector" if kind == "HLS" else "DASHFragmentSelector", mode)
    stream = find_stream(kvs, p, SERVICE)
    cutoff = retention_cutoff_ms(kvs, stream)
    if cutoff is None:
        raise KvsError("NoDataRetentionException", f"The stream {stream.name} does not retain data.", service=SERVICE)
    now = kvs.clock.now_ms()
    column = "producer" if selector == "PRODUCER_TIMESTAMP" else "server"
    if mode == "LIVE":
        newest = kvs.store.fragments(stream.id, min_server_ms=max(cutoff, now - LIVE_RECENT_MS), newest_first=True,
                                     limit=1)
        first = newest
    else:
        first = kvs.store.fragments(stream.id, selector=column, start_ms=start, end_ms=end, min_server_ms=cutoff,
                                    limit=1)
    if not first:
        raise KvsError("ResourceNotFoundException", NO_FRAGMENTS, service=SERVICE)
    parts = kvs.store.read(first[0])
    if parts is None:
        raise KvsError("ResourceNotFoundException", NO_FRAGMENTS, service=SERVICE)
    check_codecs(parts[0], kind)
    default_max = 1000 if mode == "ON_DEMAND" else 5
    max_name = "MaxMediaPlaylistFragmentResults" if kind == "HLS" else "MaxManifestFragmentResults"
    base_seq = 0
    if mode == "LIVE":
        window = kvs.store.fragments(stream.id, min_server_ms=cutoff, newest_first=True,
                                     limit=p.get(max_name) or default_max)
        base_seq = window[-1].seq
    return Session(kind=kind, stream_arn=stream.arn, mode=mode, selector=selector, start_ms=start, end_ms=end,
                   max_fragments=p.get(max_name) or default_max, created_ms=now,
                   expires_ms=now + (p.get("Expires") or 300) * 1000,
                   container=p.get("ContainerFormat") or "FRAGMENTED_MP4",
                   discontinuity=p.get("DiscontinuityMode") or ("NEVER" if selector == "PRODUCER_TIMESTAMP" else "ALWAYS"),
                   display_timestamp=p.get("DisplayFragmentTimestamp") or "NEVER",
                   display_number=p.get("DisplayFragmentNumber") or "NEVER", base_seq=base_seq)


@operation(SERVICE, "GetHLSStreamingSessionURL")
def get_hls_streaming_session_url(kvs: Any, p: dict) -> dict:
    session = _create(kvs, p, "HLS")
    url = f"{kvs.config.endpoint_url}/hls/v1/getHLSMasterPlaylist.m3u8?SessionToken={encode_token(kvs, session)}"
    return {"HLSStreamingSessionURL": url}


@operation(SERVICE, "GetDASHStreamingSessionURL")
def get_dash_streaming_session_url(kvs: Any, p: dict) -> dict:
    session = _create(kvs, p, "DASH")
    url = f"{kvs.config.endpoint_url}/dash/v1/getDASHManifest.mpd?SessionToken={encode_token(kvs, session)}"
    return {"DASHStreamingSessionURL": url}
