# SPDX-License-Identifier: Apache-2.0
"""GetDASHManifest: the MPEG-DASH manifest (ISO/IEC 23009-1 MPD) of a session made by
GetDASHStreamingSessionURL (KVS-WIRE-FACTS §6.1, §7, §8.2-§8.3).

>>> manifest(kvs, decode_token(kvs, token), token=token)   # '<?xml ... <MPD ...'

Shape: one Period; one AdaptationSet per track (track 1 video or AAC alone, optional
track 2 audio), each with one Representation whose ``SegmentList`` has the init fragment
(``Initialization``), a ``SegmentTimeline`` with one ``S`` per KVS fragment, and one
``SegmentURL`` per ``S`` naming the fragment by its KVS number::

    getMP4InitFragment.mp4?SessionToken=T&TrackNumber=N
    getMP4MediaFragment.mp4?FragmentNumber=F&SessionToken=T&TrackNumber=N

KVS fragment numbers are 47-digit and not consecutive, so no ``SegmentTemplate``
(``$Number$``/``$Time$``) can name them; SegmentList + SegmentTimeline is allowed by
ISO/IEC 23009-1 (MultipleSegmentBaseType) and read by dash.js (TimelineSegmentsGetter
takes the i-th SegmentURL for the i-th S) and ffmpeg (dashdec). No ``startNumber``: ffmpeg
indexes the SegmentURL list with it. A long relative ``BaseURL`` ("./" repeated, the
manifest's own directory) keeps ffmpeg from cutting the SegmentURLs (:data:`_BASE_URL`).

Times. The timescale is the one of the init fragment the player serves, by the packager's
own rule (``timescale_for``: 90 kHz video, the sample rate for audio). ``S@t`` is exactly the ``tfdt`` of the media fragment
the URL names: the track's first decode time in that fragment packaged alone, at the media
time :mod:`kvsmux.api.player` places it (:data:`MEDIA_AT_PRODUCER_TIME`), from the stored
frame table. The timeline is continuous: ``S@d`` runs to the next fragment's
``t``, so a gap between fragments is absorbed by the fragment before it, and the last
``d`` is the media duration (the sum of the trun sample durations). ``presentationTimeOffset``
is the start of the session's first fragment (one instant for every track), so
presentation time 0 is where the session starts and audio/video stay aligned.

Modes follow :func:`kvsmux.api.timeline.timeline`: ON_DEMAND and a finished LIVE_REPLAY are
``type="static"`` with ``mediaPresentationDuration``; LIVE and LIVE_REPLAY are
``type="dynamic"`` (availabilityStartTime, publishTime, minimumUpdatePeriod PT1S as the
docs recommend, timeShiftBufferDepth = the window, suggestedPresentationDelay = the last
three fragments) and tell the server's time in a ``UTCTiming`` element (``direct`` scheme),
so players sync their clock to kvsmux's instead of an internet time server (dash.js asks
time.akamai.com otherwise). Each call consumes MaxManifestFragmentResults fragment-metadata points.

Guesses (UNCONFIRMED on the wire):
- the ``kvs:`` namespace URI (:data:`KVS_NS`); ``kvs:ts`` as ISO-8601 UTC with milliseconds
  (like HLS's PROGRAM-DATE-TIME); ``kvs:fn`` the plain fragment number;
- SegmentList instead of KVS's (unknown) addressing; the profile ``isoff-main``;
- the UTCTiming element (KVS's own manifests are not documented to carry one);
- availabilityStartTime: LIVE = the server timestamp of the session's first fragment;
  LIVE_REPLAY = the session's creation minus the first fragment's duration (LIVE_REPLAY
  reveals a fragment when its start is due, so it is complete by then).

Gaps:
- Where the media time goes backwards, ``t`` goes on from the previous end and no longer
  equals the media's tfdt: players placing media by tfdt may stall there. Media is placed
  at the producer timestamps (as for HLS), so that happens only where producer clocks go
  back, not when a RELATIVE producer reconnects and its timecodes restart at 0.
- Gaps are absorbed in ``d`` rather than cut out of the media (KVS rewrites the media time).
- The per-session GetDASHManifest rate (5 TPS) is the caller's (``player.open_session``).
- A fragment holding no frame of a track is left out of that track's list.
- Without ``token`` every manifest names a fresh (equivalent) token in its URLs.
"""
from __future__ import annotations

import dataclasses
import fractions
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

from kvsmux.api.context import iso_ms
from kvsmux.api.errors import KvsError
from kvsmux.api.player import header_info, media_timestamp
from kvsmux.api.sessions import NO_FRAGMENTS, SERVICE, Session, encode_token
from kvsmux.api.streams import retention_cutoff_ms
from kvsmux.api.timeline import _ranged, require_fragments, timeline
from kvsmux.media import Track
from kvsmux.media.pure.samples import ns_to_timescale, timescale_for, track_samples
from kvsmux.store import StoredFragment

MPD_NS = "urn:mpeg:dash:schema:mpd:2011"
#: The namespace of the kvs:fn / kvs:ts attributes: a guess (KVS's is not published).
KVS_NS = "urn:aws:kinesisvideo:dash:2017"
PROFILE = "urn:mpeg:dash:profile:isoff-main:2011"
CHANNELS_SCHEME = "urn:mpeg:dash:23003:3:audio_channel_configuration:2011"
#: ISO/IEC 23009-1 Annex H: the time is in the element's value.
UTC_DIRECT = "urn:mpeg:dash:utc:direct:2014"
CONTENT_TYPE = "application/dash+xml"
#: The docs recommend players fetch a LIVE manifest every second.
UPDATE_PERIOD_MS = 1000
#: The manifest's own directory, spelled long: ffmpeg's dashdec sizes its URL buffers from
#: the manifest URL plus the BaseURL texts, and cuts SegmentURLs longer than that (a
#: 47-digit FragmentNumber makes them ~80 characters longer than the manifest URL).
_BASE_URL = "./" * 48
_VIDEO, _AUDIO = 1, 2
#: Whether the player places DASH media at the producer timestamp (the cluster moved there,
#: :func:`kvsmux.api.player.rebased_cluster`) or at the producer's Matroska time; must say
#: what kvsmux.api.player does for DASH sessions (tests/api/test_dash.py compares).
MEDIA_AT_PRODUCER_TIME = True


@dataclasses.dataclass
class _Track:
    media: Track
    timescale: int
    codec: str


@dataclasses.dataclass
class _Segment:
    fragment: StoredFragment
    frames: np.ndarray   # the fragment's frames, at their media time
    t: int
    d: int


def manifest(kvs: Any, session: Session, *, token: str | None = None) -> str:
    """The MPD for ``session`` now. ``token`` is put in the URLs as the player sent it
    (a fresh token for the same session otherwise)."""
    shown = require_fragments(timeline(kvs, session))
    kvs.limits.fragment_points("metadata", shown.stream.name, session.max_fragments, SERVICE)
    token = token if token is not None else encode_token(kvs, session)
    stream_id = shown.stream.id
    placed = [(f, _media_frames(kvs, stream_id, f)) for f in shown.fragments]
    origin = _origin(kvs, session, shown)
    origin_frames = _media_frames(kvs, stream_id, origin)
    tracks = _tracks(kvs, stream_id, shown.fragments[0])
    now = kvs.clock.now_ms()
    static = shown.ended
    lists = [(track, _segments(track, placed)) for track in tracks]
    lists = [(track, segs) for track, segs in lists if segs]
    if not lists:  # fragments without a single audio or video frame
        raise KvsError("ResourceNotFoundException", NO_FRAGMENTS, service=SERVICE)
    origin_ns = max(0, int(origin_frames["pts_ns"].min())) if len(origin_frames) else 0
    offsets = {track.media.number: min(ns_to_timescale(origin_ns, track.timescale), segs[0].t)
               for track, segs in lists}

    def seconds(track: _Track, ticks: int) -> float:
        return ticks / track.timescale

    ends = [seconds(tr, segs[-1].t + segs[-1].d - offsets[tr.media.number]) for tr, segs in lists]
    longest = max(seconds(tr, s.d) for tr, segs in lists for s in segs)
    attrs: dict[str, Any] = {"xmlns": MPD_NS}
    if session.display_number == "ALWAYS" or session.display_timestamp == "ALWAYS":
        attrs["xmlns:kvs"] = KVS_NS
    attrs.update(profiles=PROFILE, type="static" if static else "dynamic")
    if static:
        attrs["mediaPresentationDuration"] = _duration(max(ends))
    else:
        first_tr, first_segs = lists[0]
        window = sum(seconds(first_tr, s.d) for s in first_segs)
        delay = sum(seconds(first_tr, s.d) for s in first_segs[-3:])
        anchor = origin.server_ms if session.mode == "LIVE" else session.created_ms - origin.duration_ms
        attrs.update(availabilityStartTime=iso_ms(anchor), publishTime=iso_ms(now),
                     minimumUpdatePeriod=_duration(UPDATE_PERIOD_MS / 1000), timeShiftBufferDepth=_duration(window),
                     suggestedPresentationDelay=_duration(delay))
    attrs["minBufferTime"] = _duration(max(1.0, longest))
    sets = [_adaptation_set(session, token, tr, segs, offsets[tr.media.number]) for tr, segs in lists]
    children = [_element("BaseURL", {}, text=_BASE_URL), _element("Period", {"id": "0", "start": "PT0S"}, sets)]
    if not static:  # after Period, as the MPD schema orders it
        children.append(_element("UTCTiming", {"schemeIdUri": UTC_DIRECT, "value": iso_ms(now)}))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + "\n".join(_element("MPD", attrs, children)) + "\n"


# -- what is shown ---------------------------------------------------------------------------

def _origin(kvs: Any, session: Session, shown: Any) -> StoredFragment:
    """The session's first fragment: where presentation time 0 is, the same on every refresh
    (when it has expired, the first one still kept)."""
    if shown.media_sequence == 0 or session.mode == "ON_DEMAND":
        return shown.fragments[0]
    if session.mode == "LIVE_REPLAY":
        first = _ranged(kvs, shown.stream, session)[:1]
    else:
        first = kvs.store.fragments(shown.stream.id, from_seq=session.base_seq,
                                    min_server_ms=retention_cutoff_ms(kvs, shown.stream), limit=1)
    return first[0] if first else shown.fragments[0]


def _tracks(kvs: Any, stream_id: int, fragment: StoredFragment) -> list[_Track]:
    """The video and audio tracks of the fragment's header (the player's cached
    :func:`player.header_info`), with the timescale and RFC 6381 codec of their init fragment."""
    info = header_info(kvs, stream_id, fragment.header_id)
    return [_Track(track, timescale_for(track), info.codecs[track.number])
            for track in info.tracks if track.type in (_VIDEO, _AUDIO)]


def _media_frames(kvs: Any, stream_id: int, fragment: StoredFragment) -> np.ndarray:
    """The fragment's frame table at the media time the player packages it at
    (:data:`MEDIA_AT_PRODUCER_TIME`)."""
    if not MEDIA_AT_PRODUCER_TIME:
        return fragment.frames
    scale = header_info(kvs, stream_id, fragment.header_id).timestamp_scale_ns
    moved = media_timestamp(fragment.timecode, scale, fragment.producer_ms)
    if moved == fragment.timecode or moved < 0:
        return fragment.frames
    frames = fragment.frames.copy()
    frames["pts_ns"] += (moved - fragment.timecode) * scale
    return frames


def _segments(track: _Track, placed: list[tuple[StoredFragment, np.ndarray]]) -> list[_Segment]:
    """One segment per fragment holding frames of the track: t = the packager's tfdt, d = up
    to the next t (the media duration for the last one, or where the media time goes back)."""
    out: list[_Segment] = []
    for f, frames in placed:
        frames = frames[frames["track"] == track.media.number]
        if not len(frames):
            continue
        start = max(0, ns_to_timescale(int(frames["pts_ns"].min()), track.timescale))
        if out:
            prev = out[-1]
            if start > prev.t:
                prev.d = start - prev.t
            else:
                prev.d = _media_duration(track, prev.frames)
                start = prev.t + prev.d
        out.append(_Segment(f, frames, start, 0))
    if out:
        out[-1].d = _media_duration(track, out[-1].frames)
    return out


def _media_duration(track: _Track, frames: np.ndarray) -> int:
    """The sum of the sample durations the packager writes for the track's frames of one
    fragment packaged alone (the last sample gets the track's default duration)."""
    samples = track_samples(frames, track.media, track.timescale, None)
    return max(1, sum(s.duration for s in samples))


# -- XML -----------------------------------------------------------------------------------

def _adaptation_set(session: Session, token: str, track: _Track, segments: list[_Segment], offset: int) -> list[str]:
    t, number = track.media, track.media.number
    codec = t.codec or {}
    video = t.type == _VIDEO
    total = sum(s.d for s in segments) / track.timescale
    size = sum(int(s.frames["size"].sum()) for s in segments)
    bandwidth = max(1, round(size * 8 / total)) if total > 0 else 1
    attrs: dict[str, Any] = {"id": number, "contentType": "video" if video else "audio",
                             "mimeType": "video/mp4" if video else "audio/mp4", "codecs": track.codec}
    if video:
        attrs.update(width=codec.get("width") or t.pixel_width, height=codec.get("height") or t.pixel_height,
                     frameRate=_frame_rate(track, segments))
    else:
        attrs["audioSamplingRate"] = codec.get("sample_rate") or round(t.sampling_frequency) or track.timescale
    attrs.update(segmentAlignment="true", startWithSAP=1)
    children = []
    if not video:
        channels = codec.get("channels") or t.channels or 1
        children.append(_element("AudioChannelConfiguration", {"schemeIdUri": CHANNELS_SCHEME, "value": channels}))
    init = f"getMP4InitFragment.mp4?SessionToken={token}&TrackNumber={number}"
    timeline_items = []
    for s in segments:
        s_attrs: dict[str, Any] = {"t": s.t, "d": s.d}
        if session.display_number == "ALWAYS":
            s_attrs["kvs:fn"] = s.fragment.number
        if session.display_timestamp == "ALWAYS":
            s_attrs["kvs:ts"] = iso_ms(s.fragment.producer_ms if session.column == "producer" else s.fragment.server_ms)
        timeline_items.append(_element("S", s_attrs))
    urls = [_element("SegmentURL", {"media": f"getMP4MediaFragment.mp4?FragmentNumber={s.fragment.number}"
                                             f"&SessionToken={token}&TrackNumber={number}"}) for s in segments]
    segment_list = _element("SegmentList", {"timescale": track.timescale, "presentationTimeOffset": offset},
                            [_element("Initialization", {"sourceURL": init}),
                             _element("SegmentTimeline", {}, timeline_items), *urls])
    representation = _element("Representation", {"id": number, "bandwidth": bandwidth, "codecs": track.codec},
                              [segment_list])
    return _element("AdaptationSet", attrs, [*children, representation])


def _frame_rate(track: _Track, segments: list[_Segment]) -> str:
    """FrameRateType (``30``, ``30000/1001``): from the track's DefaultDuration, or measured."""
    if 0 < track.media.default_duration_ns < 10**12:
        rate = fractions.Fraction(1_000_000_000, track.media.default_duration_ns).limit_denominator(1001)
    else:
        frames = sum(len(s.frames) for s in segments)
        ticks = sum(s.d for s in segments)
        rate = fractions.Fraction(round(frames * track.timescale * 100 / ticks) if ticks else 0, 100)
    return str(rate.numerator) if rate.denominator == 1 else f"{rate.numerator}/{rate.denominator}"


def _element(name: str, attrs: dict[str, Any], children: list[list[str]] | None = None, *,
             text: str | None = None) -> list[str]:
    """An element as indented lines; attribute values and text escaped (``&`` → ``&amp;``)."""
    head = name + "".join(f' {k}="{escape(str(v), {chr(34): "&quot;"})}"' for k, v in attrs.items() if v is not None)
    if text is not None:
        return [f"<{head}>{escape(text)}</{name}>"]
    if not children:
        return [f"<{head}/>"]
    return [f"<{head}>", *("  " + line for child in children for line in child), f"</{name}>"]


def _duration(seconds: float) -> str:
    """xs:duration in seconds with at most millisecond precision: ``PT2.011S``, ``PT1S``."""
    text = f"{max(0.0, seconds):.3f}".rstrip("0").rstrip(".")
    return f"PT{text}S"
