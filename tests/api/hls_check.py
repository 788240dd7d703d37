# SPDX-License-Identifier: Apache-2.0
"""Golden-free checks of kvsmux HLS playlists and player resources against the stored
fragments (``api.kvs.store.fragments(...)``).

Two independent readings of every playlist: our own strict line grammar (:func:`parse_media`,
:func:`parse_master`: every line known, tags in KVS's order, number formats exact) and the
``m3u8`` package from PyPI (:func:`m3u8_view`; a warning says so when it is not installed); both
must agree. :func:`check_media` then compares the playlist with the fragments it should list:

- header tags in order: VERSION (7 fMP4 / 3 TS), PLAYLIST-TYPE:VOD only for ON_DEMAND,
  TARGETDURATION (ceil of the longest EXTINF, so >= every EXTINF rounded), MEDIA-SEQUENCE,
  DISCONTINUITY-SEQUENCE (ALWAYS only, when not 0), INDEPENDENT-SEGMENTS;
- one segment per fragment, in order, URIs relative with the exact token and track;
- EXTINF: ≤3 decimals without trailing zeros; the distance to the next fragment's producer
  timestamp where they are continuous, else the fragment's own frames (last one included);
- EXT-X-DISCONTINUITY per mode (ALWAYS: before every segment and after the last; NEVER:
  none; ON_DISCONTINUITY: exactly where the producer timestamps jump or overlap by more
  than 50 ms, computed here from the frames);
- EXT-X-MAP before the first segment for fMP4 (with the exact token and track), none for TS;
- PROGRAM-DATE-TIME equal to the selector's fragment timestamps when asked for;
- ENDLIST as expected for the mode.

:func:`check_fmp4` and :func:`check_ts` read the init and media fragments with the strict
media validators of tests/media: one track per init, samples equal to the stored frames,
``mfhd`` sequence numbers increasing, ``tfdt`` continuous (to a millisecond) where the
producer timestamps are.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import math
import re
import urllib.error
import urllib.parse
import urllib.request
import warnings
from typing import Any

import numpy as np

from kvsmux.media import demux
from tests.media import fmp4_validate, ts_validate

GAP_MS = 50
_EXTINF = re.compile(r"#EXTINF:(0|[1-9][0-9]*)(\.[0-9]{0,2}[1-9])?,")
_PDT = re.compile(r"#EXT-X-PROGRAM-DATE-TIME:(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z")
_MEDIA_URI = re.compile(r"getMP4MediaFragment\.mp4\?FragmentNumber=([0-9]+)&SessionToken=([A-Za-z0-9_-]+)"
                        r"&TrackNumber=([0-9]+)")
_TS_URI = re.compile(r"getTSFragment\.ts\?FragmentNumber=([0-9]+)&SessionToken=([A-Za-z0-9_-]+)")
_MAP = re.compile(r'#EXT-X-MAP:URI="(getMP4InitFragment\.mp4\?SessionToken=([A-Za-z0-9_-]+)&TrackNumber=([0-9]+)'
                  r'(?:&SequenceNumber=[0-9]+)?)"')


@dataclasses.dataclass
class Seg:
    uri: str
    number: str
    token: str
    track: int | None
    duration_ms: int
    extinf: str
    discontinuity: bool
    map_uri: str | None
    pdt_ms: int | None


@dataclasses.dataclass
class MediaPlaylist:
    version: int
    playlist_type: str | None
    target_duration: int
    media_sequence: int
    discontinuity_sequence: int | None
    segments: list[Seg]
    trailing_discontinuity: bool
    endlist: bool


def _lines(text: str) -> list[str]:
    assert text.endswith("\n") and "\r" not in text, "LF line ends, ending with one"
    lines = text[:-1].split("\n")
    assert lines[0] == "#EXTM3U", lines[0]
    assert all(line and line == line.strip() for line in lines), "no blank lines or stray spaces"
    return lines


def _tag(lines: list[str], i: int, prefix: str) -> str | None:
    """The value of tag ``prefix`` on line i (``""`` for a tag without one), else None."""
    if i >= len(lines) or not lines[i].startswith(prefix):
        return None
    value = lines[i][len(prefix):]
    return value if prefix.endswith(":") or not value else None


def parse_media(text: str) -> MediaPlaylist:
    """Our strict reading: every line known, in KVS's order."""
    lines, i = _lines(text), 1

    def take(prefix: str, required: bool = True) -> str | None:
        nonlocal i
        value = _tag(lines, i, prefix)
        assert value is not None or not required, f"line {i + 1}: expected {prefix}, got {lines[i:i + 1]}"
        i += value is not None
        return value

    version = int(take("#EXT-X-VERSION:"))
    playlist_type = take("#EXT-X-PLAYLIST-TYPE:", False)
    target = take("#EXT-X-TARGETDURATION:")
    assert re.fullmatch(r"[1-9][0-9]*", target), target
    sequence = take("#EXT-X-MEDIA-SEQUENCE:")
    assert re.fullmatch(r"0|[1-9][0-9]*", sequence), sequence
    dseq = take("#EXT-X-DISCONTINUITY-SEQUENCE:", False)
    assert take("#EXT-X-INDEPENDENT-SEGMENTS", False) == ""
    segments, trailing, endlist = [], False, False
    while i < len(lines):
        disc = take("#EXT-X-DISCONTINUITY", False) == ""
        map_line = lines[i] if i < len(lines) and lines[i].startswith("#EXT-X-MAP:") else None
        if map_line is not None:
            m = _MAP.fullmatch(map_line)
            assert m, map_line
            i += 1
        if i == len(lines) or lines[i] == "#EXT-X-ENDLIST":
            assert map_line is None, "EXT-X-MAP without a segment"
            trailing = disc
            endlist = i < len(lines)
            assert i + endlist == len(lines), f"lines after EXT-X-ENDLIST: {lines[i + 1:]}"
            break
        pdt = None
        if lines[i].startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            m = _PDT.fullmatch(lines[i])
            assert m, lines[i]
            moment = datetime.datetime.fromisoformat(m.group(1)).replace(tzinfo=datetime.timezone.utc)
            pdt = round(moment.timestamp() * 1000)
            i += 1
        m = _EXTINF.fullmatch(lines[i])
        assert m, f"line {i + 1}: {lines[i]!r} is not an EXTINF with ≤3 decimals and no trailing zero"
        extinf = lines[i][8:-1]
        duration = round(float(extinf) * 1000)
        uri = lines[i + 1]
        assert not uri.startswith("#") and "://" not in uri and not uri.startswith("/"), f"relative URI: {uri}"
        um = _MEDIA_URI.fullmatch(uri) or _TS_URI.fullmatch(uri)
        assert um, uri
        track = int(um.group(3)) if um.re is _MEDIA_URI else None
        segments.append(Seg(uri, um.group(1), um.group(2), track, duration, extinf, disc,
                            _MAP.fullmatch(map_line).group(1) if map_line else None, pdt))
        i += 2
    return MediaPlaylist(version, playlist_type, int(target), int(sequence), int(dseq) if dseq else None, segments,
                         trailing, endlist)


def parse_master(text: str) -> dict[str, Any]:
    """{'version', 'media': {attrs} or None, 'stream': {attrs}, 'uri'}."""
    lines = _lines(text)
    assert lines[1] == "#EXT-X-VERSION:1", lines[1]
    out: dict[str, Any] = {"version": 1, "media": None}
    rest = lines[2:]
    if rest[0].startswith("#EXT-X-MEDIA:"):
        out["media"] = _attributes(rest[0][len("#EXT-X-MEDIA:"):])
        rest = rest[1:]
    assert len(rest) == 2 and rest[0].startswith("#EXT-X-STREAM-INF:"), rest
    out["stream"] = _attributes(rest[0][len("#EXT-X-STREAM-INF:"):])
    out["uri"] = rest[1]
    return out


def _attributes(text: str) -> dict[str, str]:
    pairs = re.findall(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)(?:,|$)', text)
    assert ",".join(f"{k}={v}" for k, v in pairs) == text, text
    return {k: v.strip('"') for k, v in pairs}


def m3u8_view(text: str) -> Any:
    """The m3u8 package's reading, or None (with a warning; our own checks still run)."""
    try:
        import m3u8
    except ImportError:
        warnings.warn("NOT VERIFIED with the m3u8 package (pip install m3u8): only kvsmux's own playlist checks ran")
        return None
    return m3u8.loads(text)


# -- expectations from the stored fragments --------------------------------------------------

def _track1_ns(f: Any) -> np.ndarray:
    return np.sort(f.frames["pts_ns"][f.frames["track"] == 1]).astype(np.int64)


def media_start_ms(f: Any) -> float:
    """When a fragment's first frame is shown in producer time: the cluster's producer
    timestamp moved by how far the earliest frame precedes the cluster timestamp (B-frames
    in clusters cut by time). The fixtures' TimestampScale is 1 ms."""
    pts = f.frames["pts_ns"]
    return f.producer_ms + ((int(pts.min()) - f.timecode * 1_000_000) // 1_000_000 if len(pts) else 0)


def media_end_ms(f: Any) -> float:
    """Where a fragment's frames end in producer time: its last frame plus one frame step."""
    pts = _track1_ns(f)
    step = (pts[-1] - pts[0]) / (len(pts) - 1) if len(pts) > 1 else 0
    return media_start_ms(f) + f.duration_ms + step / 1e6


def breaks(fragments: list[Any]) -> list[bool]:
    """Whether a gap or overlap of more than 50 ms precedes each fragment (from where the
    previous one's frames end to this one's first frame)."""
    return [i > 0 and abs(media_start_ms(f) - media_end_ms(fragments[i - 1])) > GAP_MS + 1
            for i, f in enumerate(fragments)]


def check_media(text: str, *, token: str, fragments: list[Any], track: int = 1, container: str = "FRAGMENTED_MP4",
                mode: str = "ON_DEMAND", discontinuity: str = "ALWAYS", display_timestamp: str = "NEVER",
                selector: str = "SERVER_TIMESTAMP", media_sequence: int | None = None,
                ended: bool | None = None, init_changes: tuple[int, ...] = ()) -> MediaPlaylist:
    """``init_changes``: the segments (besides the first) whose init segment differs from the
    previous one's: EXT-X-MAP again there, and for ON_DISCONTINUITY a discontinuity."""
    p = parse_media(text)
    mp4 = container == "FRAGMENTED_MP4"
    assert p.version == (7 if mp4 else 3)
    assert p.playlist_type == ("VOD" if mode == "ON_DEMAND" else None)
    assert [s.number for s in p.segments] == [f.number for f in fragments], "one segment per fragment, in order"
    assert all(s.token == token for s in p.segments), "the token exactly as the player sent it"
    assert all(s.track == (track if mp4 else None) for s in p.segments)
    assert p.target_duration == max(1, math.ceil(max(s.duration_ms for s in p.segments) / 1000))
    assert all(round(s.duration_ms / 1000) <= p.target_duration for s in p.segments)
    if media_sequence is not None:
        assert p.media_sequence == media_sequence
    gaps = breaks(fragments)
    for i, (s, f) in enumerate(zip(p.segments, fragments)):
        continuous = i + 1 < len(fragments) and not gaps[i + 1]
        if continuous:  # first frame to the next fragment's first frame
            assert s.duration_ms == media_start_ms(fragments[i + 1]) - media_start_ms(f), (i, s.extinf)
        else:
            assert abs(s.duration_ms - (media_end_ms(f) - media_start_ms(f))) <= 1, (i, s.extinf)
    if discontinuity == "ALWAYS":
        assert all(s.discontinuity for s in p.segments) and p.trailing_discontinuity
        assert p.discontinuity_sequence == (p.media_sequence or None)
    elif discontinuity == "NEVER":
        assert not any(s.discontinuity for s in p.segments) and not p.trailing_discontinuity
    else:
        expected = [g or i in init_changes for i, g in enumerate(gaps)]
        assert [s.discontinuity for s in p.segments] == expected and not p.trailing_discontinuity
    if mp4:
        assert [i for i, s in enumerate(p.segments) if s.map_uri] == [0, *init_changes], "EXT-X-MAP where inits change"
        assert all(f"SessionToken={token}&TrackNumber={track}&" in s.map_uri for s in p.segments if s.map_uri)
    else:
        assert all(s.map_uri is None for s in p.segments)
    if display_timestamp == "ALWAYS":
        key = "producer_ms" if selector == "PRODUCER_TIMESTAMP" else "server_ms"
        assert [s.pdt_ms for s in p.segments] == [getattr(f, key) for f in fragments]
    else:
        assert all(s.pdt_ms is None for s in p.segments)
    assert p.endlist == (mode == "ON_DEMAND" if ended is None else ended)
    _agrees_with_m3u8(text, p)
    return p


def _agrees_with_m3u8(text: str, p: MediaPlaylist) -> None:
    pl = m3u8_view(text)
    if pl is None:
        return
    assert pl.version == p.version and pl.target_duration == p.target_duration
    assert pl.media_sequence == p.media_sequence and pl.is_endlist == p.endlist
    assert (pl.playlist_type or None) == (p.playlist_type.lower() if p.playlist_type else None)
    assert pl.is_independent_segments
    assert [s.uri for s in pl.segments] == [s.uri for s in p.segments]
    assert [round(s.duration * 1000) for s in pl.segments] == [s.duration_ms for s in p.segments]
    assert [bool(s.discontinuity) for s in pl.segments] == [s.discontinuity for s in p.segments]
    assert [round(s.program_date_time.timestamp() * 1000) if s.program_date_time else None
            for s in pl.segments] == [s.pdt_ms for s in p.segments]
    maps = [s.init_section.uri if s.init_section else None for s in pl.segments]
    assert maps[0] == p.segments[0].map_uri


def check_master(text: str, *, token: str, container: str, codecs: str, resolution: str | None,
                 audio: bool) -> dict[str, Any]:
    m = parse_master(text)
    stream = m["stream"]
    assert stream["CODECS"] == codecs
    assert stream.get("RESOLUTION") == resolution
    assert int(stream["BANDWIDTH"]) > 0
    if resolution is not None:
        assert re.fullmatch(r"[0-9]+\.[0-9]{2}", stream["FRAME-RATE"]), stream["FRAME-RATE"]
    with_audio = audio and container == "FRAGMENTED_MP4"
    assert (m["media"] is not None) == with_audio and ("AUDIO" in stream) == with_audio
    if with_audio:
        assert m["media"] == {"AUTOSELECT": "YES", "FORCED": "NO", "TYPE": "AUDIO", "GROUP-ID": "audio",
                              "DEFAULT": "NO", "NAME": "audio",
                              "URI": f"getHLSMediaPlaylist.m3u8?SessionToken={token}&TrackNumber=2"}
        assert stream["AUDIO"] == "audio"
    assert m["uri"] == f"getHLSMediaPlaylist.m3u8?SessionToken={token}" + (
        "&TrackNumber=1" if container == "FRAGMENTED_MP4" else "")
    pl = m3u8_view(text)
    if pl is None:
        return m
    assert pl.is_variant and len(pl.playlists) == 1 and pl.playlists[0].uri == m["uri"]
    info = pl.playlists[0].stream_info
    assert info.codecs == codecs and info.bandwidth == int(stream["BANDWIDTH"])
    assert len(pl.media) == with_audio
    return m


def query(uri: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(uri).query))


def fetch(url: str, method: str = "GET", headers: dict | None = None) -> tuple[int, dict, bytes]:
    """An unsigned request, as a player makes it: (status, lower-case headers, body)."""
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def error(result: tuple[int, dict, bytes]) -> tuple[int, str]:
    """(status, x-amzn-ErrorType) of a JSON error answer."""
    status, headers, body = result
    assert headers["content-type"] == "application/json" and "Message" in json.loads(body), (status, body[:200])
    assert headers["access-control-allow-origin"] == "*"
    return status, headers["x-amzn-errortype"]


# -- player resources ------------------------------------------------------------------------

def stored_frames(kvs: Any, fragment: Any, track: int) -> tuple[list[bytes], float]:
    """The frame payloads of one track of a stored fragment (storage order), and where the
    track's first frame lies after the cluster timestamp, in ms."""
    header, cluster, _ = kvs.store.read(fragment)
    f = demux(bytes(header) + bytes(cluster)).fragments[0]
    mine = [i for i in range(len(f.frames)) if int(f.frames[i]["track"]) == track]
    offset_ms = (min(int(f.frames[i]["pts_ns"]) for i in mine) - f.timestamp_ns) / 1e6 if mine else 0.0
    return [bytes(f.payload(i)) for i in mine], offset_ms


def check_fmp4(kvs: Any, init: bytes, segments: list[bytes], fragments: list[Any], track: int) -> None:
    """One track per init; per segment: the stored frames as samples, placed at the
    fragment's producer timestamp, its mfhd sequence number above the previous one, tfdt
    continuous (to a millisecond) where the producer timestamps are."""
    info = fmp4_validate.read_init(init)
    assert info.track_ids == [track]
    scale = info.timescales[track]
    gaps = breaks(fragments)
    previous = None  # (sequence, where the previous segment's samples end)
    for k, (seg, f) in enumerate(zip(segments, fragments)):
        at = seg.index(b"mfhd")
        sequence = int.from_bytes(seg[at + 8:at + 12], "big")
        _, per_track = fmp4_validate.validate(init, [seg], first_sequence_number=sequence)
        [(tfdt, samples)] = per_track[track]
        frames, offset_ms = stored_frames(kvs, f, track)
        assert sorted(s.data for s in samples) == sorted(frames), f"segment {k}: not the stored frames"
        first_ms = min(s.pts for s in samples) * 1000 / scale
        assert abs(first_ms - (f.producer_ms + offset_ms)) <= 1, (
            f"segment {k}: media time {first_ms} ms is not at the producer timestamp {f.producer_ms} + {offset_ms}")
        if previous is not None:
            assert sequence > previous[0], f"segment {k}: mfhd sequence {sequence} after {previous[0]}"
            if not gaps[k]:
                assert abs(tfdt - previous[1]) <= scale // 1000 + 1, f"segment {k}: tfdt {tfdt} vs {previous[1]}"
        previous = (sequence, tfdt + sum(s.duration for s in samples))


def check_ts(kvs: Any, segments: list[bytes], fragments: list[Any], tracks: list[int]) -> None:
    """Each segment: strict TS (PAT and PMT first, CRCs, PCR, PES), one PES per stored frame
    of every track. Continuity counters restart per fragment (a known gap), so each segment
    is validated on its own."""
    for k, (seg, f) in enumerate(zip(segments, fragments)):
        parsed = ts_validate.SessionValidator().segment(seg)
        assert parsed.packets[0].pid == 0
        per_pid: dict[int, int] = {}
        for pes in parsed.pes:
            per_pid[pes.pid] = per_pid.get(pes.pid, 0) + 1
        expected = sorted(len(stored_frames(kvs, f, t)[0]) for t in tracks)
        assert sorted(per_pid.values()) == expected, f"segment {k}: {per_pid} vs {expected}"
