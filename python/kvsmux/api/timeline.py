# SPDX-License-Identifier: Apache-2.0
"""Which fragments a streaming session shows at a given moment (KVS API:
GetHLSStreamingSessionURL / GetDASHStreamingSessionURL, PlaybackMode; KVS-WIRE-FACTS §6.1).

- ON_DEMAND: the fragments whose selector timestamp lies in the range, oldest first, up
  to the session's maximum; the list never changes.
- LIVE_REPLAY: the same fragments (the range may be open-ended), revealed one at a time
  as the previous one's media duration elapses since the session began, in a sliding
  window.
- LIVE: the newest fragments, in a sliding window over what arrives; fragments that
  arrive late (older timestamps) are not inserted.

With PRODUCER_TIMESTAMP, fragments sharing a producer timestamp appear once: the one with
the highest fragment number. ``media_sequence`` numbers the first fragment shown, so that
it grows by one for each fragment that slides out of the window.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from kvsmux.api.errors import KvsError
from kvsmux.api.sessions import NO_FRAGMENTS, SERVICE, Session
from kvsmux.api.streams import NOT_FOUND, retention_cutoff_ms
from kvsmux.store import Resource, StoredFragment


@dataclasses.dataclass
class Timeline:
    stream: Resource
    fragments: list[StoredFragment]
    media_sequence: int
    ended: bool          # no fragment will be added (ON_DEMAND, or a finished LIVE_REPLAY)


def session_stream(kvs: Any, session: Session) -> Resource:
    """The session's stream; ResourceNotFoundException once it was deleted."""
    stream = kvs.store.resource("stream", arn=session.stream_arn)
    if stream is None:
        raise KvsError("ResourceNotFoundException", NOT_FOUND, service=SERVICE)
    return stream


def _ranged(kvs: Any, stream: Resource, session: Session) -> list[StoredFragment]:
    cutoff = retention_cutoff_ms(kvs, stream)
    fragments = kvs.store.fragments(stream.id, selector=session.column, start_ms=session.start_ms,
                                    end_ms=session.end_ms, min_server_ms=cutoff)
    if session.column == "producer":
        newest: dict[int, StoredFragment] = {}
        for f in fragments:  # sequence order: a later one with the same producer timestamp wins
            newest[f.producer_ms] = f
        fragments = sorted(newest.values(), key=lambda f: (f.producer_ms, f.seq))
    return fragments


def media_duration_ms(f: StoredFragment) -> int:
    """How long a fragment plays: its first to last frame, plus one frame interval
    (FragmentLengthInMilliseconds leaves the last frame's duration out). LIVE_REPLAY reveals
    the next fragment when this has elapsed, however fast the fragments were uploaded."""
    pts = f.frames["pts_ns"]
    if len(pts) < 2:
        return max(1, f.duration_ms)
    span_ns = int(pts.max() - pts.min())
    return max(1, round(span_ns * len(pts) / (len(pts) - 1) / 1_000_000))


def timeline(kvs: Any, session: Session) -> Timeline:
    stream = session_stream(kvs, session)
    if session.mode == "ON_DEMAND":
        fragments = _ranged(kvs, stream, session)[:session.max_fragments]
        return Timeline(stream, fragments, 0, True)
    if session.mode == "LIVE_REPLAY":
        fragments = _ranged(kvs, stream, session)
        elapsed = kvs.clock.now_ms() - session.created_ms
        visible, offset = [], 0
        for f in fragments:
            if offset > elapsed:
                break
            visible.append(f)
            offset += media_duration_ms(f)
        ended = session.end_ms is not None and len(visible) == len(fragments)
        window = visible[-session.max_fragments:]
        return Timeline(stream, window, len(visible) - len(window), ended)
    cutoff = retention_cutoff_ms(kvs, stream)
    fragments = kvs.store.fragments(stream.id, from_seq=session.base_seq, min_server_ms=cutoff)
    window = fragments[-session.max_fragments:]
    return Timeline(stream, window, len(fragments) - len(window), False)


def session_fragment(kvs: Any, session: Session, number: str) -> tuple[StoredFragment, tuple[Any, Any, Any]]:
    """A fragment of the session's stream by number, with its bytes; ResourceNotFound when
    it does not exist (or expired)."""
    stream = session_stream(kvs, session)
    cutoff = retention_cutoff_ms(kvs, stream)
    fragment = kvs.store.fragments_by_number(stream.id, [number]).get(number)
    parts = kvs.store.read(fragment) if fragment is not None and (cutoff is None or fragment.server_ms >= cutoff) \
        else None
    if parts is None:
        raise KvsError("ResourceNotFoundException", f"The requested fragment {number} was not found.", service=SERVICE)
    return fragment, parts


def require_fragments(t: Timeline) -> Timeline:
    if not t.fragments:
        raise KvsError("ResourceNotFoundException", NO_FRAGMENTS, service=SERVICE)
    return t
