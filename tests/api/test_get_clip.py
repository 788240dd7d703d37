# SPDX-License-Identifier: Apache-2.0
"""GetClip: one MP4 of a range's fragments, decoding to exactly the ingested frames, with
the documented limits (200 fragments / 100 MB) and errors."""
from __future__ import annotations

import subprocess

import pytest

from kvsmux.api import clip
from kvsmux.media import demux
from tests.api import mkv_build
from tests.conftest import DATA, require_shared_media
from tests.crosscheck import tools

START_S = 1_700_000_000  # the producer start timestamp of the ingests below


def ingest(api, name: str, data: bytes, start_s: int = START_S, retention: int = 24) -> list[dict]:
    try:
        api.create_stream(name, retention)
    except api.video.exceptions.ResourceInUseException:
        pass
    return api.put_media(StreamName=name, Payload=data, FragmentTimecodeType="RELATIVE", ProducerStartTimestamp=start_s)


def get_clip(api, name: str, start_s: float, end_s: float, kind: str = "PRODUCER_TIMESTAMP") -> bytes:
    response = api.archived.get_clip(StreamName=name, ClipFragmentSelector={
        "FragmentSelectorType": kind, "TimestampRange": {"StartTimestamp": start_s, "EndTimestamp": end_s}})
    assert response["ContentType"] == "video/mp4"
    return response["Payload"].read()


def frame_counts(path) -> dict[str, int]:
    run = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries",
                          "stream=codec_name,nb_read_frames", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and not run.stderr.strip(), run.stderr
    return {line.split(",")[0]: int(line.split(",")[1]) for line in run.stdout.split()}


@pytest.mark.crosscheck
def test_a_clip_decodes_to_exactly_the_ingested_frames(api, tmp_path):
    tools.require_tool("ffmpeg")
    source = DATA / "valid" / "h264_aac.mkv"
    ingest(api, "cam", source.read_bytes())
    path = tmp_path / "clip.mp4"
    path.write_bytes(get_clip(api, "cam", START_S, START_S + 3600))
    assert frame_counts(path) == frame_counts(source)
    assert tools.decoded_video_md5s(path) == tools.decoded_video_md5s(source)


def test_a_clip_starts_at_the_fragment_that_starts_in_the_range(api, tmp_path):
    """Start is inclusive on fragment start times. boto3 sends whole seconds, so the starts
    tried are the fragments that begin on a whole second (0 s and 1 s of 0.5 s fragments)."""
    tools.require_tool("ffprobe")
    data = (DATA / "valid" / "h264_160x120_30fps_gop15.mkv").read_bytes()
    fragments = demux(data).fragments
    ingest(api, "cam", data)
    whole = [i for i, f in enumerate(fragments) if f.timestamp_ns % 1_000_000_000 == 0]
    assert len(whole) >= 2
    for first in whole:
        path = tmp_path / f"from{first}.mp4"
        path.write_bytes(get_clip(api, "cam", START_S + fragments[first].timestamp_ns // 10**9, START_S + 3600))
        assert frame_counts(path) == {"h264": sum(len(f.frames) for f in fragments[first:])}


def test_server_timestamp_selector_and_range_errors(api):
    ingest(api, "cam", (DATA / "valid" / "h264_aac.mkv").read_bytes())
    now_s = api.clock.now_ms() / 1000
    assert get_clip(api, "cam", now_s - 60, now_s + 60, "SERVER_TIMESTAMP")[4:8] == b"ftyp"
    with pytest.raises(api.archived.exceptions.InvalidArgumentException):
        get_clip(api, "cam", START_S + 10, START_S + 5)
    with pytest.raises(api.archived.exceptions.InvalidArgumentException):
        get_clip(api, "cam", START_S, START_S + 24 * 3600 + 1)
    with pytest.raises(api.archived.exceptions.ResourceNotFoundException) as e:
        get_clip(api, "cam", START_S - 7200, START_S - 3600)
    assert "No fragments" in e.value.response["Error"]["Message"]
    with pytest.raises(api.archived.exceptions.ResourceNotFoundException):
        get_clip(api, "nope", START_S, START_S + 60)


def test_no_data_retention(api):
    ingest(api, "zero", (DATA / "valid" / "h264_aac.mkv").read_bytes(), retention=0)
    with pytest.raises(api.archived.exceptions.NoDataRetentionException):
        get_clip(api, "zero", START_S, START_S + 60)


def test_unsupported_missing_and_invalid_codec_private(api):
    ingest(api, "noprivate", mkv_build.synthetic([0, 1000, 2000]))
    with pytest.raises(api.archived.exceptions.MissingCodecPrivateDataException):
        get_clip(api, "noprivate", START_S, START_S + 60)
    ingest(api, "badprivate", mkv_build.synthetic([0, 1000, 2000], codec_private=b"\x01\x64\x00"))
    with pytest.raises(api.archived.exceptions.InvalidCodecPrivateDataException):
        get_clip(api, "badprivate", START_S, START_S + 60)
    vp9 = require_shared_media() / "libwebm-testdata/bbb_480p_vp9_opus_1second.webm"
    ingest(api, "vp9", vp9.read_bytes())
    with pytest.raises(api.archived.exceptions.UnsupportedStreamMediaTypeException):
        get_clip(api, "vp9", START_S, START_S + 60)


def test_equal_producer_timestamps_are_clipped_once(api, tmp_path):
    tools.require_tool("ffprobe")
    source = DATA / "valid" / "h264_160x120_30fps_gop15.mkv"
    ingest(api, "cam", source.read_bytes())
    ingest(api, "cam", source.read_bytes())  # the same producer timestamps again
    path = tmp_path / "clip.mp4"
    path.write_bytes(get_clip(api, "cam", START_S, START_S + 3600))
    assert frame_counts(path) == frame_counts(source)


@pytest.fixture(scope="module")
def many_fragments(tmp_path_factory):
    """205 one-frame-GOP fragments (ffmpeg; the command is the recipe)."""
    tools.require_tool("ffmpeg")
    path = tmp_path_factory.mktemp("clip") / "many.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-t",
                    "41", "-c:v", "libx264", "-preset", "ultrafast", "-g", "2", "-keyint_min", "2", "-sc_threshold",
                    "0", "-cluster_time_limit", "100", "-f", "matroska", str(path)], check=True, timeout=120)
    data = path.read_bytes()
    assert len(demux(data).fragments) >= 205
    return data


@pytest.mark.crosscheck
def test_a_clip_stops_after_200_fragments(api, tmp_path, many_fragments):
    fragments = demux(many_fragments).fragments
    ingest(api, "many", many_fragments)
    path = tmp_path / "clip.mp4"
    path.write_bytes(get_clip(api, "many", START_S, START_S + 3600))
    assert frame_counts(path) == {"h264": sum(len(f.frames) for f in fragments[:200])}


@pytest.mark.crosscheck
def test_a_clip_stops_at_the_size_limit(api, tmp_path, many_fragments, monkeypatch):
    fragments = demux(many_fragments).fragments
    ingest(api, "many", many_fragments)
    stored = api.kvs.store.fragments(api.kvs.store.resource("stream", name="many").id)
    limit = sum(f.size for f in stored[:10])
    monkeypatch.setattr(clip, "MAX_CLIP_BYTES", limit)
    path = tmp_path / "clip.mp4"
    path.write_bytes(get_clip(api, "many", START_S, START_S + 3600))
    assert frame_counts(path) == {"h264": sum(len(f.frames) for f in fragments[:10])}
