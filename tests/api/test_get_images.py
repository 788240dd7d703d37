# SPDX-License-Identifier: Apache-2.0
"""GetImages: every image is the frame shown at its instant (checked against the frames
ffmpeg decodes from the source file), NO_MEDIA exactly in holes, MEDIA_ERROR where there
is no picture to take, the size and format rules, pagination and the errors."""
from __future__ import annotations

import base64
import functools
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from kvsmux.api.context import Config
from tests.api import mkv_build
from tests.conftest import DATA
from tests.crosscheck import tools

START_S = 1_700_000_000  # the producer start timestamp of the ingests below
START_MS = START_S * 1000
H264 = DATA / "valid" / "h264_aac.mkv"            # video from 21 ms, 21 + n * 33.3 ms, 60 frames
H265 = DATA / "valid" / "h265_aac.mkv"
GAP = DATA / "valid" / "h264_gap_1s.mkv"           # frames at 0..967 ms and 2000..2967 ms
BFRAMES = DATA / "valid" / "h264_bframes_time_clusters.mkv"  # clusters cut by time, not at key frames
JPEG_MAGIC, PNG_MAGIC = b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"
#: The largest mean absolute difference of an 8x8 block (0-255 RGB) between an image and
#: the frame it shows. JPEG q95 stays below ~2.5, PNG is exact; the test pattern's moving
#: parts make frames 100 ms apart differ by 4 or more.
BLOCK_TOLERANCE = 3.5


def ingest(api, name: str, path: Path, retention: int = 24) -> None:
    api.create_stream(name, retention)
    api.put_media(StreamName=name, Payload=path.read_bytes(), FragmentTimecodeType="RELATIVE",
                  ProducerStartTimestamp=START_S)


def request(name: str = "cam", start_s: float = START_S, end_s: float = START_S + 2, **kwargs) -> dict:
    params = dict(StreamName=name, ImageSelectorType="PRODUCER_TIMESTAMP", StartTimestamp=start_s,
                  EndTimestamp=end_s, SamplingInterval=200, Format="JPEG")
    params.update(kwargs)
    return {k: v for k, v in params.items() if v is not None}


def get_images(api, **kwargs) -> list[dict]:
    return api.archived.get_images(**request(**kwargs))["Images"]


def offset_ms(image: dict) -> int:
    """The image's instant, in ms after the producer start."""
    return round(image["TimeStamp"].timestamp() * 1000) - START_MS


def decode(image: dict) -> tuple[bytes, np.ndarray]:
    """The image file and its RGB pixels (PyAV)."""
    data = base64.b64decode(image["ImageContent"])
    codec = "png" if data.startswith(PNG_MAGIC) else "mjpeg"
    frames = av.CodecContext.create(codec, "r").decode(av.Packet(data))
    assert len(frames) == 1
    return data, frames[0].to_ndarray(format="rgb24").astype(np.int16)


@functools.cache
def reference(path: Path) -> tuple[np.ndarray, tuple[int, ...]]:
    """Every picture of the source's video as ffmpeg decodes it (RGB, presentation order),
    and their presentation times in ms (ffprobe)."""
    tools.require_tool("ffmpeg")
    raw = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-map", "0:v:0", "-fps_mode",
                          "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True, timeout=60).stdout
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "frame=pts_time", "-of", "csv=p=0", str(path)],
                           capture_output=True, check=True, timeout=60, text=True).stdout
    times = tuple(round(float(line.strip(",")) * 1000) for line in probe.split())
    frames = np.frombuffer(raw, np.uint8).reshape(len(times), 120, 160, 3).astype(np.int16)
    return frames, times


def shown_at(times: tuple[int, ...], t: int) -> int:
    """The index of the frame shown at ``t`` ms: the last one at or before it (the first
    frame before the video starts)."""
    return max([i for i, p in enumerate(times) if p <= t], default=0)


def block_difference(a: np.ndarray, b: np.ndarray, n: int = 8) -> float:
    d = np.abs(a - b).mean(axis=2)
    h, w = d.shape[0] // n * n, d.shape[1] // n * n
    return float(d[:h, :w].reshape(h // n, n, w // n, n).mean(axis=(1, 3)).max())


@pytest.mark.crosscheck
@pytest.mark.parametrize("path, fmt", [(H264, "JPEG"), (H265, "JPEG"), (H264, "PNG"), (BFRAMES, "PNG")],
                         ids=["h264-jpeg", "h265-jpeg", "h264-png", "bframes-png"])
def test_each_image_is_the_frame_shown_at_its_instant(api, path, fmt):
    frames, times = reference(path)
    ingest(api, "cam", path)
    images = get_images(api, Format=fmt, FormatConfig={"JPEGQuality": "95"} if fmt == "JPEG" else None)
    assert [offset_ms(i) for i in images] == list(range(0, 2001, 200))  # EndTimestamp is inclusive
    for image in images:
        t = offset_ms(image)
        data, pixels = decode(image)
        assert data.startswith(PNG_MAGIC if fmt == "PNG" else JPEG_MAGIC)
        assert pixels.shape == (120, 160, 3)
        right = frames[shown_at(times, t)]
        assert np.abs(pixels - right).mean() < (6 if fmt == "JPEG" else 0.01), t
        assert block_difference(pixels, right) < BLOCK_TOLERANCE, t
        # The comparison tells frames apart: the frame of a wrong instant (100 ms off) fails it.
        wrong = shown_at(times, t + 100 if t + 100 <= times[-1] else t - 100)
        assert wrong != shown_at(times, t)
        assert block_difference(pixels, frames[wrong]) > BLOCK_TOLERANCE, t


@pytest.mark.crosscheck
def test_no_media_exactly_inside_a_hole(api):
    frames, times = reference(GAP)
    ingest(api, "cam", GAP)
    images = get_images(api, end_s=START_S + 3, Format="PNG")
    errors = {offset_ms(i): i.get("Error") for i in images}
    hole = {1000, 1200, 1400, 1600, 1800, 3000}  # the last frame (2967 ms) ends at 3000
    assert errors == {t: ("NO_MEDIA" if t in hole else None) for t in range(0, 3001, 200)}
    for image in images:
        if "Error" not in image:
            assert "ImageContent" in image
            t = offset_ms(image)
            assert np.array_equal(decode(image)[1], frames[shown_at(times, t)]), t
        else:
            assert "ImageContent" not in image
    # Just before the hole the last frame (966.7 ms) is still shown.
    (image,) = get_images(api, start_s=START_S, end_s=START_S, SamplingInterval=None, Format="PNG")
    assert "Error" not in image


def test_sizes(api):
    ingest(api, "cam", H264)
    one = dict(end_s=START_S, SamplingInterval=None)
    assert decode(get_images(api, **one)[0])[1].shape == (120, 160, 3)
    assert decode(get_images(api, **one, HeightPixels=60)[0])[1].shape == (60, 80, 3)  # keeps the aspect ratio
    assert decode(get_images(api, **one, WidthPixels=100, HeightPixels=50)[0])[1].shape == (50, 100, 3)  # stretched
    assert decode(get_images(api, **one, WidthPixels=33, HeightPixels=17, Format="PNG")[0])[1].shape == (17, 33, 3)
    with pytest.raises(api.archived.exceptions.InvalidArgumentException):
        get_images(api, **one, WidthPixels=100)
    # A scaled image still shows the picture: close to the 2x2 block means of the source frame.
    frames, times = reference(H264)
    (image,) = get_images(api, start_s=START_S + 1, end_s=START_S + 1, SamplingInterval=None, HeightPixels=60,
                          Format="PNG")
    small = frames[shown_at(times, 1000)].reshape(60, 2, 80, 2, 3).mean(axis=(1, 3))
    assert np.abs(decode(image)[1] - small).mean() < 6


def test_formats_and_jpeg_quality(api):
    ingest(api, "cam", H264)

    def image(**kwargs) -> bytes:
        return decode(get_images(api, start_s=START_S + 1, end_s=START_S + 1, SamplingInterval=None, **kwargs)[0])[0]

    png, default = image(Format="PNG"), image()
    assert png.startswith(PNG_MAGIC) and default.startswith(JPEG_MAGIC)
    sizes = {q: len(image(FormatConfig={"JPEGQuality": str(q)})) for q in (1, 10, 50, 80, 95, 100)}
    assert sizes[10] < sizes[50] < sizes[80] < sizes[95] <= sizes[100]
    assert sizes[1] <= sizes[10]
    assert len(default) == sizes[80]  # the default quality is 80
    assert image(Format="PNG", FormatConfig={"JPEGQuality": "10"}) == png  # PNG ignores it


def test_pagination(api):
    ingest(api, "cam", H264)
    end = START_S + 12  # 61 instants: images for the first 2 s, NO_MEDIA after
    everything = list(range(0, 12_001, 200))
    first = api.archived.get_images(**request(end_s=end, MaxResults=10))
    assert [offset_ms(i) for i in first["Images"]] == everything[:10] and first["NextToken"]
    second = api.archived.get_images(**request(end_s=end, MaxResults=3, NextToken=first["NextToken"]))
    assert [offset_ms(i) for i in second["Images"]] == everything[10:13]
    assert len(api.archived.get_images(**request(end_s=end, MaxResults=100))["Images"]) == 25  # page cap
    assert len(api.archived.get_images(**request(end_s=end))["Images"]) == 25
    for page_size in (None, 7):
        config = {"PageSize": page_size} if page_size else {}
        pages = list(api.archived.get_paginator("get_images").paginate(**request(end_s=end),
                                                                      PaginationConfig=config))
        assert [offset_ms(i) for p in pages for i in p["Images"]] == everything
        assert all(len(p["Images"]) <= (page_size or 25) for p in pages) and "NextToken" not in pages[-1]
        assert sum("ImageContent" in i for p in pages for i in p["Images"]) == 11
    last = api.archived.get_images(**request(end_s=end, MaxResults=25, NextToken=first["NextToken"]))
    last = api.archived.get_images(**request(end_s=end, NextToken=last["NextToken"]))
    last = api.archived.get_images(**request(end_s=end, NextToken=last["NextToken"]))
    assert len(last["Images"]) == 1 and "NextToken" not in last
    # The token belongs to its request, and is tamper-proof.
    token = first["NextToken"]
    tampered = token[:8] + ("A" if token[8] != "A" else "B") + token[9:]
    bad = [request(end_s=end, NextToken=tampered), request(end_s=end, SamplingInterval=400, NextToken=token),
           request(end_s=end, Format="PNG", NextToken=token), request(end_s=end + 1, NextToken=token)]
    for params in bad:
        with pytest.raises(api.archived.exceptions.InvalidArgumentException):
            api.archived.get_images(**params)


def test_errors(api):
    ingest(api, "cam", H264)
    api.create_stream("nothing-kept", 0)
    errors = api.archived.exceptions
    assert len(get_images(api, end_s=START_S + 300)) == 25
    cases = [
        (errors.InvalidArgumentException, dict(end_s=START_S + 301)),          # more than 300 s
        (errors.InvalidArgumentException, dict(start_s=START_S + 5, end_s=START_S + 4)),
        (errors.InvalidArgumentException, dict(SamplingInterval=199)),
        (errors.InvalidArgumentException, dict(SamplingInterval=None)),          # needed for a range
        (errors.InvalidArgumentException, dict(FormatConfig={"JPEGQuality": "0"})),
        (errors.InvalidArgumentException, dict(FormatConfig={"JPEGQuality": "101"})),
        (errors.InvalidArgumentException, dict(FormatConfig={"JPEGQuality": "high"})),
        (errors.InvalidArgumentException, dict(FormatConfig={"JPEGQuality": ""})),
        (errors.InvalidArgumentException, dict(FormatConfig={"Quality": "50"})),
        (errors.InvalidArgumentException, dict(WidthPixels=320)),
        (errors.InvalidArgumentException, dict(ImageSelectorType="ARRIVAL")),
        (errors.InvalidArgumentException, dict(Format="GIF")),
        (errors.InvalidArgumentException, dict(WidthPixels=3841, HeightPixels=100)),
        (errors.ResourceNotFoundException, dict(name="nope")),
        (errors.NoDataRetentionException, dict(name="nothing-kept")),
    ]
    for error, kwargs in cases:
        with pytest.raises(error):
            get_images(api, **kwargs)
    assert len(get_images(api, end_s=START_S, SamplingInterval=None)) == 1


def test_media_error_where_no_picture_can_be_made(api):
    # A video track without codec private data and with junk frames, and an audio-only stream.
    api.create_stream("junk")
    api.put_media(StreamName="junk", Payload=mkv_build.synthetic([0, 500, 1000], frames=15),
                  FragmentTimecodeType="RELATIVE", ProducerStartTimestamp=START_S)
    assert {i.get("Error") for i in get_images(api, name="junk", end_s=START_S + 1)} == {"MEDIA_ERROR"}
    entry = mkv_build.element(mkv_build.TRACK_ENTRY, mkv_build.uint(mkv_build.TRACK_NUMBER, 1)
                              + mkv_build.uint(mkv_build.TRACK_UID, 1) + mkv_build.uint(mkv_build.TRACK_TYPE, 2)
                              + mkv_build.text(mkv_build.CODEC_ID, "A_MS/ACM"))
    header = (mkv_build.element(mkv_build.EBML, mkv_build.text(mkv_build.DOC_TYPE, "matroska"))
              + mkv_build.SEGMENT.to_bytes(4, "big") + mkv_build.UNKNOWN_SIZE
              + mkv_build.element(mkv_build.INFO, mkv_build.uint(mkv_build.TIMESTAMP_SCALE, 1_000_000))
              + mkv_build.element(mkv_build.TRACKS, entry))
    audio = header + b"".join(mkv_build.cluster(tc, [(1, k * 20, True, b"\xd5" * 160) for k in range(50)])
                              for tc in (0, 1000))
    api.create_stream("audio")
    api.put_media(StreamName="audio", Payload=audio, FragmentTimecodeType="RELATIVE", ProducerStartTimestamp=START_S)
    images = get_images(api, name="audio", end_s=START_S + 3)
    assert [i.get("Error") for i in images] == ["MEDIA_ERROR"] * 10 + ["NO_MEDIA"] * 6


def test_server_timestamps(api):
    ingest(api, "cam", H264)
    now_s = api.clock.now_ms() / 1000
    images = get_images(api, ImageSelectorType="SERVER_TIMESTAMP", start_s=now_s, end_s=now_s + 1)
    assert images and "ImageContent" in images[0]
    assert get_images(api, ImageSelectorType="SERVER_TIMESTAMP", start_s=now_s - 60,
                      end_s=now_s - 59)[0]["Error"] == "NO_MEDIA"


def test_fragment_points(make_api):
    api = make_api(config=Config(fragment_media_points=30))
    ingest(api, "cam", H264)
    assert len(get_images(api, MaxResults=25)) == 11  # 25 media points: the page size, not the images
    with pytest.raises(api.archived.exceptions.ClientLimitExceededException):
        get_images(api, MaxResults=25)
    assert len(get_images(api, MaxResults=5)) == 5


@pytest.mark.crosscheck
def test_a_stream_whose_codec_changes(api):
    """H.264 for 2 s, nothing for a second, then H.265 from another producer session: each
    part decodes with its own codec private data."""
    (h264, h264_times), (h265, h265_times) = reference(H264), reference(H265)
    ingest(api, "cam", H264)
    api.put_media(StreamName="cam", Payload=H265.read_bytes(), FragmentTimecodeType="RELATIVE",
                  ProducerStartTimestamp=START_S + 3)
    images = get_images(api, end_s=START_S + 5, SamplingInterval=500, Format="PNG")
    assert [i.get("Error") for i in images] == [None] * 5 + ["NO_MEDIA"] + [None] * 5
    for image in images:
        t = offset_ms(image)
        if "Error" not in image:
            frames, times, at = (h264, h264_times, t) if t < 3000 else (h265, h265_times, t - 3000)
            assert np.array_equal(decode(image)[1], frames[shown_at(times, at)]), t
