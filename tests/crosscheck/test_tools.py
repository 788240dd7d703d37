# SPDX-License-Identifier: Apache-2.0
"""Tests of the cross-check helpers themselves, on the generated fixtures in tests/data/valid.

Each number below follows from how make_fixtures.sh made the file (2 s at 30 fps = 60 video
frames; 95 AAC frames of 1024 samples at 48 kHz, priming included; 100 G.711/PCM frames of
20 ms). It is checked against ffprobe, against mkvinfo, and against our own lacing read
(tools.lacing_counts), so the fixture README's claims stay true when the fixtures are
regenerated. A missing tool skips, loudly.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.crosscheck import tools

MS = 1_000_000
VIDEO_FRAMES, AAC_FRAMES, PCM8K_FRAMES = 60, 95, 100


def _fixture(name: str) -> Path:
    path = tools.VALID_DIR / name
    if not path.is_file():
        pytest.fail(f"{path} is missing: run tests/data/make_fixtures.sh")
    return path


# name -> expected facts. packets/keys: per TrackNumber (ffprobe; laces split into frames).
# mkvinfo: clusters (unknown-size ones), segments of unknown size, SimpleBlocks, BlockGroups,
# ReferenceBlocks, BlockDurations, blocks holding > 1 frame. lacing: tools.lacing_counts.
AV = {1: VIDEO_FRAMES, 2: AAC_FRAMES}
V = {1: VIDEO_FRAMES}
AAC_MKVMERGE_LACING = {("SimpleBlock", "none"): 61, ("SimpleBlock", "ebml"): 11, ("SimpleBlock", "xiph"): 1}
EXPECTED: dict[str, dict] = {
    "h264_160x120_30fps_gop15.mkv": dict(
        codecs=["V_MPEG4/ISO/AVC"], packets=V, keys={1: 4},
        mkvinfo=dict(clusters=4, clusters_unknown_size=0, segments_unknown_size=0, simple_blocks=60,
                     block_groups=0, laced_blocks=0),
        lacing={("SimpleBlock", "none"): 60}),
    "h264_bframes_time_clusters.mkv": dict(
        codecs=["V_MPEG4/ISO/AVC"], packets=V, keys={1: 4},
        mkvinfo=dict(clusters=3, clusters_unknown_size=0, simple_blocks=60, block_groups=0,
                     blocks_before_cluster_timestamp=4),
        lacing={("SimpleBlock", "none"): 60}),
    "h264_aac.mkv": dict(
        codecs=["V_MPEG4/ISO/AVC", "A_AAC"], packets=AV, keys={1: 4, 2: AAC_FRAMES},
        mkvinfo=dict(clusters=4, clusters_unknown_size=0, segments_unknown_size=0, simple_blocks=155,
                     block_groups=0, laced_blocks=0),
        lacing={("SimpleBlock", "none"): 155}),
    "h265_160x120_30fps_gop15.mkv": dict(
        codecs=["V_MPEGH/ISO/HEVC"], packets=V, keys={1: 4},
        mkvinfo=dict(clusters=4, simple_blocks=60, block_groups=0),
        lacing={("SimpleBlock", "none"): 60}),
    "h265_aac.mkv": dict(
        codecs=["V_MPEGH/ISO/HEVC", "A_AAC"], packets=AV, keys={1: 4, 2: AAC_FRAMES},
        mkvinfo=dict(clusters=4, simple_blocks=155, block_groups=0),
        lacing={("SimpleBlock", "none"): 155}),
    "h264_aac_live_unknown_segment.mkv": dict(
        codecs=["V_MPEG4/ISO/AVC", "A_AAC"], packets=AV, keys={1: 4, 2: AAC_FRAMES},
        mkvinfo=dict(clusters=4, clusters_unknown_size=0, segments=1, segments_unknown_size=1,
                     simple_blocks=155),
        lacing={("SimpleBlock", "none"): 155}),
    "h264_aac_gst_unknown_clusters.mkv": dict(
        codecs=["V_MPEG4/ISO/AVC", "A_AAC"], packets=AV, keys={1: 4, 2: AAC_FRAMES},
        mkvinfo=dict(clusters=4, clusters_unknown_size=4, segments=1, segments_unknown_size=1,
                     simple_blocks=155, key_blocks_per_track={1: 4}),     # AAC blocks: no key flag
        lacing={("SimpleBlock", "none"): 155}),
    "h264_aac_mkvmerge_lacing_auto.mkv": dict(
        codecs=["V_MPEG4/ISO/AVC", "A_AAC"], packets=AV, keys={1: 4, 2: AAC_FRAMES},
        mkvinfo=dict(clusters=4, simple_blocks=73, block_groups=0, laced_blocks=12),
        lacing=AAC_MKVMERGE_LACING),
    "h264_aac_mkvmerge_lacing_xiph.mkv": dict(
        codecs=["V_MPEG4/ISO/AVC", "A_AAC"], packets=AV, keys={1: 4, 2: AAC_FRAMES},
        mkvinfo=dict(clusters=4, simple_blocks=73, block_groups=0, laced_blocks=12),
        lacing={("SimpleBlock", "none"): 61, ("SimpleBlock", "xiph"): 12}),
    "h264_aac_mkvmerge_lacing_ebml.mkv": dict(
        codecs=["V_MPEG4/ISO/AVC", "A_AAC"], packets=AV, keys={1: 4, 2: AAC_FRAMES},
        mkvinfo=dict(clusters=4, simple_blocks=73, block_groups=0, laced_blocks=12),
        lacing={("SimpleBlock", "none"): 61, ("SimpleBlock", "ebml"): 12}),
    "h264_pcm_mkvmerge_lacing_fixed.mkv": dict(
        codecs=["V_MPEG4/ISO/AVC", "A_PCM/INT/LIT"], packets={1: VIDEO_FRAMES, 2: PCM8K_FRAMES},
        keys={1: 4, 2: PCM8K_FRAMES},
        mkvinfo=dict(clusters=4, simple_blocks=76, block_groups=0, laced_blocks=12),
        lacing={("SimpleBlock", "none"): 64, ("SimpleBlock", "fixed"): 12}),
    "h264_aac_mkvmerge_blockgroups.mkv": dict(
        codecs=["V_MPEG4/ISO/AVC", "A_AAC"], packets=AV, keys={1: 4, 2: AAC_FRAMES},
        mkvinfo=dict(clusters=4, simple_blocks=0, block_groups=73, blocks=73, laced_blocks=12,
                     reference_blocks=56, block_durations=1),
        lacing={("Block", "none"): 61, ("Block", "ebml"): 11, ("Block", "xiph"): 1}),
    "h264_alaw.mkv": dict(
        codecs=["V_MPEG4/ISO/AVC", "A_MS/ACM"], packets={1: VIDEO_FRAMES, 2: PCM8K_FRAMES},
        keys={1: 4, 2: PCM8K_FRAMES},
        mkvinfo=dict(clusters=4, simple_blocks=160, block_groups=0, laced_blocks=0),
        lacing={("SimpleBlock", "none"): 160}),
    "h264_mulaw.mkv": dict(
        codecs=["V_MPEG4/ISO/AVC", "A_MS/ACM"], packets={1: VIDEO_FRAMES, 2: PCM8K_FRAMES},
        keys={1: 4, 2: PCM8K_FRAMES},
        mkvinfo=dict(clusters=4, simple_blocks=160, block_groups=0, laced_blocks=0),
        lacing={("SimpleBlock", "none"): 160}),
    "h264_gap_1s.mkv": dict(
        codecs=["V_MPEG4/ISO/AVC"], packets=V, keys={1: 4},
        mkvinfo=dict(clusters=4, simple_blocks=60, block_groups=0),
        lacing={("SimpleBlock", "none"): 60}),
}
NAMES = sorted(EXPECTED)


# --- the fixture folder ------------------------------------------------------------------

def test_every_fixture_is_described_and_small():
    present = {p.name for p in tools.valid_fixtures()}
    assert present == set(EXPECTED), (
        f"tests/data/valid and this table differ: only on disk {sorted(present - set(EXPECTED))}, "
        f"only here {sorted(set(EXPECTED) - present)}")
    readme = (tools.VALID_DIR / "README.md").read_text()
    total = 0
    for path in tools.valid_fixtures():
        size = path.stat().st_size
        total += size
        assert size < 100_000, f"{path.name}: {size} bytes, over the 100 KB limit (STYLE.md section 11)"
        assert f"| {path.name} | {size} |" in readme, f"{path.name} ({size} bytes) has no current README row"
    assert total < 1_000_000, f"tests/data/valid holds {total} bytes"


@pytest.mark.parametrize("name", NAMES)
def test_track_entries_in_file_order(name: str):
    entries = tools.matroska_track_entries(_fixture(name))
    assert [e.codec_id for e in entries] == EXPECTED[name]["codecs"]
    assert [e.number for e in entries] == list(range(1, len(entries) + 1))
    assert [e.type for e in entries] == [1] + [2] * (len(entries) - 1)


@pytest.mark.parametrize("name", NAMES)
def test_lacing_counts(name: str):
    assert dict(tools.lacing_counts(_fixture(name))) == EXPECTED[name]["lacing"]


# --- ffprobe ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_ffprobe_packets_per_track(name: str):
    tools.require_tool("ffprobe", "the fixtures' packet counts")
    probe = tools.ffprobe_packets(_fixture(name))
    assert probe.ok, f"ffprobe rc={probe.returncode} timed_out={probe.timed_out}: {probe.stderr}"
    assert probe.mapping == "track_entries"
    assert {track: len(packets) for track, packets in probe.items()} == EXPECTED[name]["packets"]
    assert {track: sum(p.key for p in packets) for track, packets in probe.items()} == EXPECTED[name]["keys"]
    for track, packets in probe.items():
        assert all(p.pts_ns is not None and p.size > 0 and not p.discard for p in packets), track
    assert [s["track_number"] for s in probe.streams] == sorted(EXPECTED[name]["packets"])


def test_ffprobe_pts_are_exact_nanoseconds():
    tools.require_tool("ffprobe", "timestamp conversion")
    video = tools.ffprobe_packets(_fixture("h264_160x120_30fps_gop15.mkv"))[1]
    # TimestampScale 1 ms: frame n is stored at round(n * 1000 / 30) ms (never a .5 tie).
    assert [p.pts_ns for p in video] == [round(n * 1000 / 30) * MS for n in range(VIDEO_FRAMES)]
    assert [n for n, p in enumerate(video) if p.key] == [0, 15, 30, 45]
    assert {p.duration_ns for p in video} == {33 * MS}


def test_ns_conversion_is_integer_and_floors():
    assert tools._ns(1, (1, 3)) == 333_333_333
    assert tools._ns(-1, (1, 3)) == -333_333_334
    assert tools._ns(90_000 * 3600 * 24 * 365, (1, 90_000)) == 3600 * 24 * 365 * 10**9
    assert tools._ns("N/A", (1, 1000)) is None and tools._ns(5, None) is None


def test_bframes_have_pts_different_from_dts():
    tools.require_tool("ffprobe", "B-frame reordering")
    video = tools.ffprobe_packets(_fixture("h264_bframes_time_clusters.mkv"))[1]
    # Matroska stores no DTS: libavformat derives it, and cannot for the first two packets.
    assert [p.dts_ns is None for p in video[:3]] == [True, True, False]
    assert any(p.dts_ns is not None and p.dts_ns != p.pts_ns for p in video)
    pts = [p.pts_ns for p in video]
    assert pts != sorted(pts), "B-frames are stored after the P-frame they precede"
    assert sorted(pts) == [round(n * 1000 / 30) * MS for n in range(VIDEO_FRAMES)]
    dts = [p.dts_ns for p in video if p.dts_ns is not None]
    assert dts == sorted(dts)


def test_aac_priming_shifts_the_video():
    tools.require_tool("ffprobe", "the AAC priming offset")
    probe = tools.ffprobe_packets(_fixture("h264_aac.mkv"))
    assert probe[1][0].pts_ns == 21 * MS and probe[1][0].key
    assert probe[2][0].pts_ns == 0


def test_gap_is_one_second():
    tools.require_tool("ffprobe", "the gap fixture")
    pts = [p.pts_ns for p in tools.ffprobe_packets(_fixture("h264_gap_1s.mkv"))[1]]
    steps = [b - a for a, b in zip(pts, pts[1:])]
    assert max(steps) == 2000 * MS - 967 * MS
    assert steps.index(max(steps)) == 29
    assert pts[30] == 2000 * MS and pts[-1] == 2967 * MS


def test_block_duration_reaches_ffprobe():
    tools.require_tool("ffprobe", "BlockDuration")
    video = tools.ffprobe_packets(_fixture("h264_aac_mkvmerge_blockgroups.mkv"))[1]
    assert video[-1].duration_ns == 100 * MS
    assert {p.duration_ns for p in video[:-1]} == {33 * MS}


@pytest.mark.parametrize("name, codec, tag", [("h264_alaw.mkv", "pcm_alaw", "0x0006"),
                                              ("h264_mulaw.mkv", "pcm_mulaw", "0x0007")])
def test_g711_streams(name: str, codec: str, tag: str):
    tools.require_tool("ffprobe", "the G.711 fixtures")
    video, audio = tools.ffprobe_streams(_fixture(name))
    assert (video["codec_name"], video["profile"], video["width"], video["height"]) == ("h264", "High", 160, 120)
    assert (audio["codec_name"], audio["sample_rate"], audio["channels"]) == (codec, 8000, 1)
    assert (video["track_number"], audio["track_number"]) == (1, 2)
    packets = tools.ffprobe_packets(_fixture(name))[2]
    assert {(p.size, p.duration_ns) for p in packets} == {(160, 20 * MS)}
    tools.require_tool("mkvinfo", "the ACM format tag")
    summary = tools.mkvinfo_summary(_fixture(name))
    assert summary is not None and f"format tag: {tag}" in summary.output


def test_hevc_streams():
    tools.require_tool("ffprobe", "the HEVC fixtures")
    (alone,) = tools.ffprobe_streams(_fixture("h265_160x120_30fps_gop15.mkv"))
    video, audio = tools.ffprobe_streams(_fixture("h265_aac.mkv"))
    for stream in (alone, video):
        assert (stream["codec_name"], stream["profile"], stream["width"], stream["height"]) == ("hevc", "Main", 160, 120)
    assert alone["extradata_size"] > 2000, "x265's info SEI makes the hvcC large"
    assert video["extradata_size"] < 200
    assert (audio["codec_name"], audio["profile"], audio["sample_rate"], audio["channels"]) == ("aac", "LC", 48000, 1)


# --- mkvinfo ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_mkvinfo_summary(name: str):
    tools.require_tool("mkvinfo", "the fixtures' block layout")
    summary = tools.mkvinfo_summary(_fixture(name))
    assert summary is not None, "mkvinfo timed out on a valid fixture"
    assert summary.returncode == 0 and not summary.warnings, summary.warnings
    for field, expected in EXPECTED[name]["mkvinfo"].items():
        assert getattr(summary, field) == expected, f"{field}: {getattr(summary, field)} != {expected}"
    assert summary.frames_per_track == EXPECTED[name]["packets"]
    assert summary.track_numbers == sorted(EXPECTED[name]["packets"])
    # our own walk and mkvinfo see the same blocks
    assert sum(tools.lacing_counts(_fixture(name)).values()) == summary.simple_blocks + summary.blocks


def test_mkvinfo_timeout_returns_none():
    """mkvinfo 74 never finishes on this libwebm file (TESTING-TOOLS.md): the helper must
    give up, kill it and return None."""
    tools.require_tool("mkvinfo", "the mkvinfo timeout")
    media = tools.require_shared_media()
    assert tools.mkvinfo_summary(media / "libwebm-testdata/invalid/fixed_lacing_bad_lace_size.mkv", timeout=2) is None


# --- hostile and real inputs --------------------------------------------------------------

def test_track_numbers_come_from_the_track_entries():
    """ffprobe numbers streams from 0; this file's only track is number 10."""
    tools.require_tool("ffprobe", "the stream-to-track mapping")
    media = tools.require_shared_media()
    probe = tools.ffprobe_packets(media / "libwebm-testdata/set_cues_track_number.webm")
    assert probe.mapping == "track_entries"
    assert {track: len(packets) for track, packets in probe.items()} == {10: 6}


def test_hostile_inputs_do_not_raise():
    tools.require_tool("ffprobe", "hostile inputs")
    media = tools.require_shared_media()
    hostile = sorted((media / "libwebm-testdata" / "invalid").glob("*")) + [
        media / "mkvdump/init_after_cluster_unknown_size.webm",
        media / "kvs-parser-library/test_tags_empty_cluster.mkv"]
    hostile += sorted(tools.INVALID_DIR.glob("*.mkv"))
    for path in hostile:
        probe = tools.ffprobe_packets(path)
        assert not probe.timed_out, path
        assert probe.returncode is not None
        assert isinstance(tools.lacing_counts(path), dict)
        assert isinstance(tools.matroska_track_entries(path), list)
        assert isinstance(tools.ffprobe_streams(path), list)
    # ffprobe's own failure is reported, not raised
    empty = tools.ffprobe_packets(media / "kvs-parser-library/test_tags_empty_cluster.mkv")
    assert empty == {} and empty.returncode != 0 and empty.stderr


def test_walker_is_bounded_on_garbage(tmp_path: Path):
    junk = tmp_path / "junk.mkv"
    # an unknown-size Segment full of unknown-size Clusters, then a truncated ID
    junk.write_bytes(b"\x18\x53\x80\x67\xff" + b"\x1f\x43\xb6\x75\xff\xa3\x80" * 1000 + b"\x1f")
    assert tools.lacing_counts(junk) == {}          # each A3 is too short to hold a block header
    assert tools.matroska_track_entries(junk) == []
    (tmp_path / "zero.mkv").write_bytes(b"\x00" * 64)
    assert tools.matroska_track_entries(tmp_path / "zero.mkv") == []


# --- paths and skips ------------------------------------------------------------------------

def test_require_tool_skips_loudly():
    assert tools.have_tool("sh")
    assert not tools.have_tool("kvsmux-no-such-tool")
    with pytest.raises(pytest.skip.Exception, match="kvsmux-no-such-tool not installed: not verifying x"):
        tools.require_tool("kvsmux-no-such-tool", "x")


def test_shared_media_paths():
    media = tools.shared_media_dir()
    assert tools.REPO_ROOT == Path(__file__).resolve().parents[2]
    if media is None:
        assert tools.all_shared_matroska() == []
        with pytest.raises(pytest.skip.Exception, match="NOT VERIFIED"):
            tools.require_shared_media()
        return
    assert media == tools.REPO_ROOT.parent / "shared" / "media"
    files = tools.all_shared_matroska()
    assert files == sorted(files) and files
    assert {p.suffix for p in files} <= {".mkv", ".webm", ".hdr"}
    assert media / "mkvdump/incomplete.hdr" in files
