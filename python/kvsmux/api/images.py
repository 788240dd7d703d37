# SPDX-License-Identifier: Apache-2.0
"""GetImages (KVS API: kinesis-video-archived-media GetImages): still images of a stream's
video at evenly spaced instants, as base64 JPEG or PNG (KVS-WIRE-FACTS §3.1, §8.2, §8.3).

Instants are StartTimestamp, StartTimestamp + SamplingInterval, ... up to EndTimestamp
**inclusive** (the model calls the range "inclusive"; a range shorter than the interval
gives the one image at StartTimestamp), on the producer or server timestamps of the
fragments. A frame's time is its fragment's timestamp plus the frame's offset from the
fragment's cluster timecode. For each instant:

- the fragment that covers it is the latest one starting at or before it whose media
  (any track, up to the end of its last frame) reaches past it; none: ``NO_MEDIA``;
- the image is the video frame shown at the instant: the latest one whose time is at or
  before it in that fragment, else the previous fragment's last frame while it still
  lasts, else (the instant falls before the fragment's first video frame, as at the very
  start of a stream) the fragment's first video frame;
- a fragment without an H.264/H.265 video track (audio only, another codec, no or bad
  codec private data), or a frame that does not decode: ``MEDIA_ERROR`` (the model's
  Image.Error text: "the media is audio only, or the incorrect media has been ingested").

Frames are decoded with PyAV from the nearest preceding key frame (across fragments with
the same codec configuration), each key frame's run once per request; each decoded
picture is encoded at once, so at most one raw picture is held. WidthPixels without
HeightPixels is refused (the WidthPixels doc: ValidationException, so
InvalidArgumentException); HeightPixels alone keeps the picture's aspect ratio (the
HeightPixels doc). MaxResults is the page size (the model's note: above 25 it is 25, the
rest is paginated); the default is 25; pages run through every instant of the range.
Each call consumes 400 + page-size fragment-metadata points and page-size fragment-media
points. SamplingInterval (optional in the model) is required unless Start == End, and at
least 200 ms; a PNG request accepts and ignores JPEGQuality.

Gaps:
- Pixels come from FFmpeg's decoders and swscale (area-averaging scaling), JPEG from FFmpeg's
  MJPEG encoder: JPEGQuality is mapped to its quantizer scale (IJG scaling of the standard
  tables, approximated), so qualities below ~22 all give the coarsest (31).
- The picture's pixel aspect ratio is ignored when HeightPixels alone is given.
- A page is cut where its images would pass 100 MB (the rest follows via NextToken); an
  image whose base64 text would pass the model's 6 MiB is a MEDIA_ERROR.
- A key-frame search stops at a change of codec configuration (MEDIA_ERROR before the
  next key frame) and looks back one fragment-duration limit at most.
- KVS's observed quirk of never returning the first image (boto/boto3#3712) is not copied.
"""
from __future__ import annotations

import base64
import bisect
import dataclasses
import fractions
import math
import re
from typing import Any

import av
import numpy as np

from kvsmux.api.clip import select_fragments
from kvsmux.api.context import to_datetime, to_ms
from kvsmux.api.errors import KvsError
from kvsmux.api.reader import demux_header
from kvsmux.api.registry import operation
from kvsmux.api.streams import find_stream, retention_cutoff_ms
from kvsmux.errors import MediaError
from kvsmux.store import StoredFragment

SERVICE = "kinesis-video-archived-media"
MAX_RANGE_MS = 300_000
MIN_SAMPLING_MS = 200
PAGE_SIZE = 25
DEFAULT_JPEG_QUALITY = 80
MAX_PAGE_BYTES = 100 * 1024 * 1024
MAX_IMAGE_CHARS = 6_291_456  # the model's Image.ImageContent max length
MAX_WIDTH = 3840
#: GetImages consumes 400 + max images fragment-metadata points (KVS-WIRE-FACTS §8.3).
METADATA_POINTS_BASE = 400
#: Matroska codec ID -> FFmpeg decoder: the codecs KVS makes images of.
DECODERS = {"V_MPEG4/ISO/AVC": "h264", "V_MPEGH/ISO/HEVC": "hevc"}
#: FFmpeg's MJPEG quantizer scale 1 is the MPEG-1 intra matrix / 8; the IJG luminance table
#: is ~13x that matrix / 8 on average (arithmetic and geometric means of the AC terms).
_IJG_TO_QSCALE = 13.0
_EPS = 1e-6


def _invalid(message: str) -> KvsError:
    return KvsError("InvalidArgumentException", message, service=SERVICE)


@dataclasses.dataclass(frozen=True)
class _Request:
    kind: str
    start_ms: int
    end_ms: int
    interval_ms: int
    format: str
    quality: int
    width: int | None
    height: int | None

    @property
    def count(self) -> int:
        return (self.end_ms - self.start_ms) // self.interval_ms + 1


def _parse(p: dict) -> _Request:
    start, end = to_ms(p["StartTimestamp"]), to_ms(p["EndTimestamp"])
    if end < start:
        raise _invalid("The EndTimestamp must not be earlier than the StartTimestamp.")
    if end - start > MAX_RANGE_MS:
        raise _invalid("The EndTimestamp must be at most 300 seconds after the StartTimestamp.")
    interval = p.get("SamplingInterval")
    if interval is None:
        if end != start:
            raise _invalid("SamplingInterval is required when EndTimestamp is after StartTimestamp.")
        interval = MIN_SAMPLING_MS
    elif interval < MIN_SAMPLING_MS:
        raise _invalid(f"The SamplingInterval must be at least {MIN_SAMPLING_MS} ms.")
    quality = DEFAULT_JPEG_QUALITY
    for key, value in (p.get("FormatConfig") or {}).items():
        if key != "JPEGQuality":
            raise _invalid(f"Unknown FormatConfig key {key!r}: the only key is JPEGQuality.")
        if not (isinstance(value, str) and re.fullmatch(r"[0-9]{1,3}", value) and 1 <= int(value) <= 100):
            raise _invalid(f"The JPEGQuality {value!r} is not an integer from 1 to 100.")
        quality = int(value)
    width, height = p.get("WidthPixels"), p.get("HeightPixels")
    if width is not None and height is None:
        raise _invalid("WidthPixels needs HeightPixels (HeightPixels alone keeps the aspect ratio).")
    return _Request(p["ImageSelectorType"], start, end, interval, p["Format"], quality, width, height)


@operation(SERVICE, "GetImages")
def get_images(kvs: Any, p: dict) -> dict:
    """KVS API: GetImages (see the module docstring for the semantics)."""
    req = _parse(p)
    stream = find_stream(kvs, p, SERVICE)
    if retention_cutoff_ms(kvs, stream) is None:
        raise KvsError("NoDataRetentionException", f"The stream {stream.name} does not retain data.", service=SERVICE)
    # Bound to the request with its timestamps in ms, whatever form they came in.
    binding = {**p, "StartTimestamp": req.start_ms, "EndTimestamp": req.end_ms}
    first = 0
    if p.get("NextToken") is not None:
        position = kvs.tokens.decode("GetImages", binding, p["NextToken"], SERVICE)
        if not (isinstance(position, dict) and position.get("stream") == stream.id
                and isinstance(position.get("next"), int) and 0 < position["next"] < req.count):
            raise _invalid("The NextToken was issued for another stream or request.")
        first = position["next"]
    page = min(p.get("MaxResults") or PAGE_SIZE, PAGE_SIZE)
    kvs.limits.fragment_points("metadata", stream.name, METADATA_POINTS_BASE + page, SERVICE)
    kvs.limits.fragment_points("media", stream.name, page, SERVICE)
    instants = [req.start_ms + i * req.interval_ms for i in range(first, min(req.count, first + page))]
    images, total = [], 0
    for image in _Renderer(kvs, stream, req).render(instants):
        size = len(image.get("ImageContent", ""))
        if images and total + size > MAX_PAGE_BYTES:
            break
        images.append(image)
        total += size
    result: dict = {"Images": images}
    following = first + len(images)
    if following < req.count:
        result["NextToken"] = kvs.tokens.encode("GetImages", binding, {"stream": stream.id, "next": following})
    return result


# -- the timeline of one page ------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class _Source:
    """What one stored header says about decoding video."""

    scale_ns: int
    track: int | None       # the video track number; None: no video track
    decoder: str | None     # None: nothing to decode (see ``config``)
    extradata: bytes = b""

    @property
    def config(self) -> tuple | None:
        return (self.decoder, self.track, self.extradata) if self.decoder else None


@dataclasses.dataclass
class _Frag:
    fragment: StoredFragment
    source: _Source
    start: float            # ms on the selector's timeline
    end: float
    rows: np.ndarray        # the video frames' rows in ``fragment.frames``, storage (decode) order
    times: np.ndarray       # their times, ms
    durations: np.ndarray   # ms


def _durations(times: np.ndarray, given: np.ndarray) -> np.ndarray:
    """Frame durations (ms): the stored ones, or the usual frame step where none is stored."""
    if len(given) and (given > 0).all():
        return given
    steps = np.diff(np.sort(times))
    steps = steps[steps > 0]
    step = float(np.median(steps)) if len(steps) else 0.0
    return np.where(given > 0, given, step)


class _Renderer:
    def __init__(self, kvs: Any, stream: Any, req: _Request) -> None:
        self.kvs, self.stream, self.req = kvs, stream, req
        self.sources: dict[int, _Source] = {}
        self.frags: list[_Frag] = []
        self.offsets: list[int] = []   # global id of each fragment's first video frame
        self.clusters: dict[int, Any] = {}  # fragment index -> cluster bytes

    def _source(self, header_id: int) -> _Source:
        if header_id not in self.sources:
            header = self.kvs.store.header(header_id) or b""
            try:
                parsed = demux_header(header).headers
            except MediaError:
                parsed = []
            if not parsed:
                self.sources[header_id] = _Source(1_000_000, None, None)
            else:
                h = parsed[0]
                track = next((t for t in h.tracks if t.type == 1), None)
                decoder = DECODERS.get(track.codec_id) if track is not None else None
                if track is None or decoder is None or track.codec_error is not None or not track.codec_private:
                    self.sources[header_id] = _Source(h.timestamp_scale_ns, track and track.number, None)
                else:
                    self.sources[header_id] = _Source(h.timestamp_scale_ns, track.number, decoder,
                                                      bytes(track.codec_private))
        return self.sources[header_id]

    def _load(self, first_ms: int, last_ms: int) -> None:
        lookback = self.kvs.config.max_fragment_duration_ms + 1000
        producer = self.req.kind == "PRODUCER_TIMESTAMP"
        for f in select_fragments(self.kvs, self.stream, self.req.kind, first_ms - lookback, last_ms):
            src = self._source(f.header_id)
            base = f.producer_ms if producer else f.server_ms
            cluster_ns = f.timecode * src.scale_ns
            frames = f.frames
            pts = (frames["pts_ns"].astype(np.float64) - cluster_ns) / 1e6
            span = float((pts + _durations(pts, frames["duration_ns"] / 1e6)).max()) if len(frames) else 0.0
            rows = np.nonzero(frames["track"] == src.track)[0] if src.track is not None else np.zeros(0, np.int64)
            times = base + pts[rows]
            durations = _durations(times, frames["duration_ns"][rows] / 1e6)
            self.offsets.append(self.offsets[-1] + len(self.frags[-1].rows) if self.frags else 0)
            # Whole ms, as KVS timestamps are: the end of a last frame at 966.67 + 33.33 ms is 1000.
            end = base + math.floor(max(span, f.duration_ms) + _EPS)
            self.frags.append(_Frag(f, src, base, end, rows, times, durations))

    def render(self, instants: list[int]) -> list[dict]:
        if not instants:
            return []
        self._load(instants[0], instants[-1])
        targets = [self._target(t) for t in instants]
        content = self._decode({g for g in targets if isinstance(g, int)})
        images = []
        for t, target in zip(instants, targets):
            image = {"TimeStamp": to_datetime(t)}
            value = content.get(target, "MEDIA_ERROR") if isinstance(target, int) else target
            if value in ("NO_MEDIA", "MEDIA_ERROR"):
                image["Error"] = value
            else:
                image["ImageContent"] = value
            images.append(image)
        return images

    def _target(self, t: float) -> int | str:
        """The global id of the frame shown at ``t``, or the Image.Error for it."""
        covering = [i for i, f in enumerate(self.frags) if f.start <= t + _EPS and t < f.end - _EPS]
        if not covering:
            return "NO_MEDIA"
        i = max(covering, key=lambda k: (self.frags[k].start, k))
        frag = self.frags[i]
        if frag.source.config is None or not len(frag.times):
            return "MEDIA_ERROR"
        before = np.nonzero(frag.times <= t + _EPS)[0]
        if len(before):
            return self.offsets[i] + int(before[np.argmax(frag.times[before])])
        prev = self.frags[i - 1] if i else None
        if prev is not None and len(prev.times) and prev.source.config == frag.source.config:
            last = int(np.argmax(prev.times))
            if prev.times[last] <= t + _EPS and t < math.floor(prev.times[last] + prev.durations[last] + _EPS):
                return self.offsets[i - 1] + last
        return self.offsets[i] + int(np.argmin(frag.times))

    # -- decoding ------------------------------------------------------------------------------

    def _locate(self, gid: int) -> tuple[int, int]:
        """(fragment index, position among its video frames) of a global frame id."""
        i = bisect.bisect_right(self.offsets, gid) - 1  # the last of the fragments starting there has frames
        return i, gid - self.offsets[i]

    def _key_before(self, gid: int) -> int | None:
        """The nearest key frame at or before ``gid`` (storage order) with the same codec
        configuration, frames in between included."""
        config = self.frags[self._locate(gid)[0]].source.config
        for g in range(gid, -1, -1):
            i, pos = self._locate(g)
            frag = self.frags[i]
            if frag.source.config != config:
                return None
            if frag.fragment.frames["key"][frag.rows[pos]]:
                return g
        return None

    def _payload(self, i: int, pos: int) -> bytes:
        frag = self.frags[i]
        if i not in self.clusters:
            parts = self.kvs.store.read(frag.fragment)
            if parts is None:
                raise LookupError("the fragment has expired")
            self.clusters[i] = parts[1]
        row = frag.fragment.frames[frag.rows[pos]]
        return bytes(self.clusters[i][int(row["offset"]):int(row["offset"]) + int(row["size"])])

    def _decode(self, wanted: set[int]) -> dict[int, str]:
        """Encoded image (base64) or Image.Error for every wanted frame."""
        runs: dict[int | None, set[int]] = {}
        for gid in wanted:
            runs.setdefault(self._key_before(gid), set()).add(gid)
        content: dict[int, str] = {g: "MEDIA_ERROR" for g in runs.pop(None, set())}
        for start in sorted(runs):
            first = self._locate(start)[0]
            self.clusters = {i: c for i, c in self.clusters.items() if i >= first}  # runs go forward
            try:
                self._run(start, runs[start], content)
            except LookupError:
                content.update((g, "NO_MEDIA") for g in runs[start] if g not in content)
            except (av.error.FFmpegError, ValueError):
                pass
            content.update((g, "MEDIA_ERROR") for g in runs[start] if g not in content)
        self.clusters = {}
        return content

    def _run(self, start: int, targets: set[int], content: dict[int, str]) -> None:
        source = self.frags[self._locate(start)[0]].source
        ctx = av.CodecContext.create(source.decoder, "r")
        ctx.extradata = source.extradata
        left = set(targets)

        def take(frames: list) -> None:
            for frame in frames:
                if frame.pts in left:
                    left.discard(frame.pts)
                    content[frame.pts] = self._encode(frame)

        for gid in range(start, max(targets) + 1):
            packet = av.Packet(self._payload(*self._locate(gid)))
            packet.pts = packet.dts = gid
            take(ctx.decode(packet))
            if not left:
                return
        take(ctx.decode(None))

    def _encode(self, frame: av.VideoFrame) -> str:
        req = self.req
        width, height = frame.width, frame.height
        if req.height is not None:
            width = req.width or max(1, min(MAX_WIDTH, round(req.height * frame.width / frame.height)))
            height = req.height
        if req.format == "PNG":
            ctx = av.CodecContext.create("png", "w")
            ctx.pix_fmt = "rgb24"
        else:
            ctx = av.CodecContext.create("mjpeg", "w")
            ctx.pix_fmt = "yuvj420p"
            q = req.quality
            scale = (5000 / q if q < 50 else 200 - 2 * q) / 100  # the IJG quality scaling
            ctx.qmin = ctx.qmax = max(1, min(31, round(scale * _IJG_TO_QSCALE)))
        ctx.width, ctx.height = width, height
        ctx.time_base = fractions.Fraction(1, 25)
        picture = frame.reformat(width=width, height=height, format=ctx.pix_fmt, interpolation="AREA")
        picture.pts = 0
        data = b"".join(bytes(p) for p in ctx.encode(picture) + ctx.encode(None))
        text = base64.b64encode(data).decode("ascii")
        return text if data and len(text) <= MAX_IMAGE_CHARS else "MEDIA_ERROR"
