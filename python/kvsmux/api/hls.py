# SPDX-License-Identifier: Apache-2.0
"""HLS playlists (KVS API: GetHLSMasterPlaylist, GetHLSMediaPlaylist; KVS-WIRE-FACTS §6).

Both take the SessionToken as the player sent it (``token``) and put it, unchanged, in the
relative URIs they list. The shapes follow the real playlists of KVS-WIRE-FACTS §6.3:

- master: ``#EXT-X-VERSION:1``; for FRAGMENTED_MP4 with audio, an ``#EXT-X-MEDIA`` audio
  rendition (its own media playlist, TrackNumber=2) and ``AUDIO="audio"`` on the stream;
  for MPEG_TS one media playlist with every track. CODECS are the packager's RFC 6381
  strings, RESOLUTION the coded size, FRAME-RATE (2 decimals) counted from the stored
  frames, BANDWIDTH the peak of fragment size over segment duration.
- media: VERSION 7 (fMP4) or 3 (TS), PLAYLIST-TYPE:VOD (ON_DEMAND), TARGETDURATION (the
  largest EXTINF rounded up), MEDIA-SEQUENCE, INDEPENDENT-SEGMENTS, then per segment
  DISCONTINUITY / MAP / PROGRAM-DATE-TIME / EXTINF / URI, and ENDLIST for ON_DEMAND and a
  LIVE_REPLAY whose range has been played out.

Segment durations (EXTINF, ≤3 decimals) and gaps are measured on producer timestamps,
the media time of the segments (see :mod:`kvsmux.api.player`): a segment lasts until the
next fragment starts when that is within 50 ms of where its frames end, otherwise as long
as its frames (last frame included). DiscontinuityMode ALWAYS wraps every segment in
``EXT-X-DISCONTINUITY`` (before each, and after the last, as KVS does); ON_DISCONTINUITY
marks a gap or overlap of more than 50 ms, or a change of codec private data; NEVER marks
nothing. ``EXT-X-MAP`` is repeated where a track's init segment changes; its URI carries
``SequenceNumber``, naming the fragment header the init comes from.

Gaps:
- ``EXT-X-DISCONTINUITY-SEQUENCE`` is written for ALWAYS only (it is the media sequence);
  with ON_DISCONTINUITY the discontinuities that slid out of a LIVE window are not counted.
- TARGETDURATION is recomputed on every LIVE refresh, so it can change between refreshes.
- Audio playlists use the fragments' durations, not the audio track's own.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from kvsmux.api.context import iso_ms
from kvsmux.api.errors import KvsError
from kvsmux.api.player import HeaderInfo, header_info, open_session, track_init
from kvsmux.api.sessions import SERVICE, Session
from kvsmux.api.timeline import Timeline, require_fragments, timeline
from kvsmux.store import StoredFragment

CONTENT_TYPE = "application/vnd.apple.mpegurl"
#: A gap or overlap larger than this between fragments is a discontinuity (KVS-WIRE-FACTS §6.1).
DISCONTINUITY_MS = 50
MEDIA_PLAYLIST = "getHLSMediaPlaylist.m3u8"


@dataclasses.dataclass
class Entry:
    """One segment of a playlist."""

    fragment: StoredFragment
    duration_ms: int       # EXTINF
    gap_before: bool       # more than DISCONTINUITY_MS away from where the previous one ended


def _frame_interval_ns(f: StoredFragment, info: HeaderInfo) -> float:
    """The mean frame step of track 1 in a fragment (its default duration for one frame)."""
    pts = np.sort(f.frames["pts_ns"][f.frames["track"] == 1])
    if len(pts) >= 2:
        return float(pts[-1] - pts[0]) / (len(pts) - 1)
    track = info.track(1)
    if track is not None and track.default_duration_ns and track.default_duration_ns < 1 << 62:
        return float(track.default_duration_ns)
    if track is not None and track.codec and track.codec.get("sample_rate"):
        return 1024e9 / track.codec["sample_rate"]
    return 0.0


def _first_frame_ms(f: StoredFragment, info: HeaderInfo) -> int:
    """When a fragment's first frame is presented, at producer time. Usually its Cluster
    Timestamp; earlier when a producer cuts clusters by time and reorders frames (B-frames)."""
    pts = f.frames["pts_ns"]
    if not len(pts):
        return f.producer_ms
    return f.producer_ms + (int(pts.min()) - f.timecode * info.timestamp_scale_ns) // 1_000_000


def entries(kvs: Any, t: Timeline) -> list[Entry]:
    """The timeline's fragments with their EXTINF and whether a gap precedes them: the gap
    is measured from where the previous fragment's frames end to this one's first frame."""
    out: list[Entry] = []
    frags = t.fragments
    previous_end_ms = None
    for i, f in enumerate(frags):
        info = header_info(kvs, t.stream.id, f.header_id)
        media_ms = round(f.duration_ms + _frame_interval_ns(f, info) / 1e6)
        duration = media_ms
        start_ms = _first_frame_ms(f, info)
        if i + 1 < len(frags):
            following = frags[i + 1]
            delta = _first_frame_ms(following, header_info(kvs, t.stream.id, following.header_id)) - start_ms
            if abs(delta - media_ms) <= DISCONTINUITY_MS:
                duration = delta
        gap = previous_end_ms is not None and abs(start_ms - previous_end_ms) > DISCONTINUITY_MS
        previous_end_ms = start_ms + media_ms
        out.append(Entry(f, max(1, duration), gap))
    return out


def extinf(duration_ms: int) -> str:
    """Seconds with at most 3 decimals, trailing zeros dropped (``1.01``, ``0.998``, ``2``)."""
    return f"{duration_ms // 1000}.{duration_ms % 1000:03d}".rstrip("0").rstrip(".")


def _session(kvs: Any, token: str | None, action: str) -> tuple[Session, Timeline]:
    session = open_session(kvs, token, action, "HLS")
    return session, require_fragments(timeline(kvs, session))


def _signature(info: HeaderInfo) -> tuple:
    return tuple((t.number, t.codec_id, bytes(t.codec_private)) for t in info.tracks)


# -- master playlist -------------------------------------------------------------------------

def _frame_rate(t: Timeline) -> float | None:
    frames = steps = 0
    for f in t.fragments:
        pts = f.frames["pts_ns"][f.frames["track"] == 1]
        if len(pts) >= 2:
            frames += len(pts) - 1
            steps += int(pts.max() - pts.min())
    return frames * 1e9 / steps if steps else None


def master_playlist(kvs: Any, token: str | None) -> str:
    """KVS API: GetHLSMasterPlaylist."""
    session, t = _session(kvs, token, "GetHLSMasterPlaylist")
    info = header_info(kvs, t.stream.id, t.fragments[0].header_id)
    video = info.track(1)
    audio = info.track(2)
    bandwidth = max(-(-e.fragment.size * 8000 // e.duration_ms) for e in entries(kvs, t))
    attrs = [f'CODECS="{",".join(info.codecs[n] for n in sorted(info.codecs))}"']
    if video is not None and video.type == 1:
        width = (video.codec or {}).get("width") or video.pixel_width
        height = (video.codec or {}).get("height") or video.pixel_height
        if width and height:
            attrs.append(f"RESOLUTION={width}x{height}")
        rate = _frame_rate(t)
        if rate is None and video.default_duration_ns:
            rate = 1e9 / video.default_duration_ns
        if rate:
            attrs.append(f"FRAME-RATE={rate:.2f}")
    attrs.append(f"BANDWIDTH={bandwidth}")
    lines = ["#EXTM3U", "#EXT-X-VERSION:1"]
    if session.container == "FRAGMENTED_MP4":
        if audio is not None:
            lines.append(f'#EXT-X-MEDIA:AUTOSELECT=YES,FORCED=NO,TYPE=AUDIO,URI="{MEDIA_PLAYLIST}?SessionToken='
                         f'{token}&TrackNumber=2",GROUP-ID="audio",DEFAULT=NO,NAME="audio"')
            attrs.append('AUDIO="audio"')
        lines += [f"#EXT-X-STREAM-INF:{','.join(attrs)}", f"{MEDIA_PLAYLIST}?SessionToken={token}&TrackNumber=1"]
    else:
        lines += [f"#EXT-X-STREAM-INF:{','.join(attrs)}", f"{MEDIA_PLAYLIST}?SessionToken={token}"]
    return "\n".join(lines) + "\n"


# -- media playlist --------------------------------------------------------------------------

def media_playlist(kvs: Any, token: str | None, track: int = 1) -> str:
    """KVS API: GetHLSMediaPlaylist. Consumes the session's MaxMediaPlaylistFragmentResults
    fragment-metadata points (KVS-WIRE-FACTS §8.3)."""
    session, t = _session(kvs, token, "GetHLSMediaPlaylist")
    kvs.limits.fragment_points("metadata", t.stream.name, session.max_fragments, SERVICE)
    mp4 = session.container == "FRAGMENTED_MP4"
    first = header_info(kvs, t.stream.id, t.fragments[0].header_id)
    if not mp4 and track != 1:
        raise KvsError("InvalidArgumentException", "An MPEG_TS session has one media playlist, TrackNumber 1.",
                       service=SERVICE)
    if first.track(track) is None:
        raise KvsError("ResourceNotFoundException", f"The stream has no track {track}.", service=SERVICE)
    items = entries(kvs, t)
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{7 if mp4 else 3}"]
    if session.mode == "ON_DEMAND":
        lines.append("#EXT-X-PLAYLIST-TYPE:VOD")
    lines += [f"#EXT-X-TARGETDURATION:{max(1, -(-max(e.duration_ms for e in items) // 1000))}",
              f"#EXT-X-MEDIA-SEQUENCE:{t.media_sequence}"]
    always, on_gap = session.discontinuity == "ALWAYS", session.discontinuity == "ON_DISCONTINUITY"
    if always and t.media_sequence:
        lines.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{t.media_sequence}")
    lines.append("#EXT-X-INDEPENDENT-SEGMENTS")
    header_id = init = signature = None
    for e in items:
        f = e.fragment
        changed = False
        if f.header_id != header_id:  # another header: maybe other codec private data
            info = header_info(kvs, t.stream.id, f.header_id)
            changed = signature is not None and _signature(info) != signature
            new_init = bytes(track_init(info, track)) if mp4 else None
            header_id, signature = f.header_id, _signature(info)
        if always or (on_gap and (e.gap_before or changed)):
            lines.append("#EXT-X-DISCONTINUITY")
        if mp4 and new_init != init:
            lines.append(f'#EXT-X-MAP:URI="getMP4InitFragment.mp4?SessionToken={token}&TrackNumber={track}'
                         f'&SequenceNumber={f.header_id}"')
            init = new_init
        if session.display_timestamp == "ALWAYS":
            shown_ms = f.producer_ms if session.column == "producer" else f.server_ms
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{iso_ms(shown_ms)}")
        lines.append(f"#EXTINF:{extinf(e.duration_ms)},")
        lines.append(f"getMP4MediaFragment.mp4?FragmentNumber={f.number}&SessionToken={token}&TrackNumber={track}"
                     if mp4 else f"getTSFragment.ts?FragmentNumber={f.number}&SessionToken={token}")
    if always:
        lines.append("#EXT-X-DISCONTINUITY")
    if t.ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"
