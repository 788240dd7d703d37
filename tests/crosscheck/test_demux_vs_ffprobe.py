# SPDX-License-Identifier: Apache-2.0
"""Every Matroska file in ../shared/media and every generated fixture either parses with
the frames ffprobe lists (per track: count, keyframes, presentation timestamps, sizes), or,
for the malformed ones (MANIFEST.md), fails with the documented error code after reporting
the frames that are complete."""
from __future__ import annotations

from pathlib import Path

import pytest

from kvsmux.media import demux
from tests.crosscheck import tools

# Files MANIFEST.md describes as malformed: (error code, whether the frames read before
# the error must still equal ffprobe's, which reads the same complete frames).
MALFORMED = {
    "kvs-parser-library/output-get-media-equal-timecode.mkv": ("truncated", True),
    "kvs-parser-library/output-get-media-non-increasing-timecode.mkv": ("truncated", True),
    "libwebm-testdata/invalid/block_ends_beyond_cluster.mkv": ("element_overflow", False),
    "libwebm-testdata/invalid/blockgroup_block_ends_beyond_blockgroup.mkv": ("element_overflow", False),
    "libwebm-testdata/invalid/chapters_truncated_chapter_string.mkv": ("truncated", False),
    "libwebm-testdata/invalid/chapters_truncated_chapter_string_2.mkv": ("truncated", False),
    "libwebm-testdata/invalid/fixed_lacing_bad_lace_size.mkv": ("bad_lacing", False),
    "libwebm-testdata/invalid/invalid_vp9_bitstream-bug_1416.webm": ("unsupported_document", False),
    "libwebm-testdata/invalid/invalid_vp9_bitstream-bug_1417.webm": ("unsupported_document", False),
    "libwebm-testdata/invalid/primarychromaticity_fieldtoolarge.webm": ("unexpected_element", False),
    "libwebm-testdata/invalid/projection_float_overflow.webm": ("unexpected_element", False),
    "mkvdump/incomplete.hdr": ("truncated", False),
    "mkvdump/init_after_cluster_unknown_size.webm": ("unexpected_element", False),
}
# Files with no frames at all, where ffprobe's errors ("End of file", no streams) say nothing.
NO_FRAMES = {"kvs-parser-library/test_tags_empty_cluster.mkv", "kvs-parser-library/empty-mkv-with-tags.mkv",
             "mkvdump/encrypted.hdr", "mkvdump/two_inits_segment_unknown_size.webm"}
# Frame counts from MANIFEST.md, checked independently of ffprobe.
MANIFEST_COUNTS = {
    "kvs-producer-sdk-cpp/test-stream-1_0.mkv": (37, 1640, 37),
    "kvs-parser-library/output_get_media.mkv": (5, 300, 5),
    "kvs-parser-library/kinesis_video_renderer_example_output.mkv": (8, 444, 8),
    "kvs-parser-library/clusters.mkv": (8, 444, 8),
    "kvs-parser-library/test_mixed_tags.mkv": (10, 100, 10),
    "kvs-parser-library/output_get_media_sparse_fragments.mkv": (3, 180, 3),
    "kvs-parser-library/bezos_vogels.mkv": (5, 546, 3),
}


def shared_files() -> list[str]:
    root = tools.shared_media_dir()
    return [str(p.relative_to(root)) for p in tools.all_shared_matroska()] if root else ["<shared media absent>"]


def ours_per_track(result) -> dict[int, list[tuple]]:
    """(pts as libavformat reports it, key, size) per track. libavformat moves a track's
    timestamps back by its CodecDelay, rounded to the stream time base (matroskadec.c)."""
    out: dict[int, list[tuple]] = {}
    for f in result.fragments:
        header = f.header
        scale = header.timestamp_scale_ns
        for row in f.frames.tolist():
            offset, pts, _dur, size, track, key, *_ = row
            delay_ticks = (header.track(track).codec_delay_ns + scale // 2) // scale
            out.setdefault(track, []).append((pts - delay_ticks * scale, key, size))
    return out


def theirs_per_track(probe) -> dict[int, list[tuple]]:
    return {track: [(p.pts_ns, p.key, p.size) for p in packets] for track, packets in probe.items() if packets}


def derived_key_tracks(probe) -> set[int]:
    """Tracks whose key flags libavformat does not take from the container: it flags every
    packet of an intra-only codec (all audio here, MJPEG) as key (demux.c is_intra_only),
    and reads VP8/VP9/AV1 keyframes from the bitstream (their parsers). mkvinfo, which
    prints the container's flags, is the independent opinion for those."""
    return {s["track_number"] for s in probe.streams
            if s.get("codec_type") == "audio" or s.get("codec_name") in ("mjpeg", "vp8", "vp9", "av1")}


def assert_key_flags_per_mkvinfo(path: Path, result, tracks: set[int]) -> None:
    tools.require_tool("mkvinfo")
    summary = tools.mkvinfo_summary(path)
    assert summary is not None, f"mkvinfo timed out on {path}"
    if summary.block_groups or summary.laced_blocks:
        return  # mkvinfo flags only SimpleBlocks, one per block: no per-frame opinion here
    for track in tracks:
        ours = sum(int(f.frames["key"][f.frames["track"] == track].sum()) for f in result.fragments)
        assert ours == summary.key_blocks_per_track.get(track, 0), f"track {track}: keyframes differ from mkvinfo"


def assert_same_frames(path: Path, result) -> None:
    tools.require_tool("ffprobe")
    probe = tools.ffprobe_packets(path)
    assert not probe.timed_out, f"ffprobe hung on {path}"
    ours, theirs = ours_per_track(result), theirs_per_track(probe)
    # FFmpeg drops packets it cannot parse for their codec (libwebm's D_WEBVTT/METADATA
    # placeholders): for a track where it lists none, mkvinfo's frame count is the check.
    unread_by_ffmpeg = {t for t in ours if t not in theirs}
    if unread_by_ffmpeg:
        tools.require_tool("mkvinfo")
        summary = tools.mkvinfo_summary(path)
        for t in unread_by_ffmpeg:
            assert len(ours.pop(t)) == summary.frames_per_track[t]
    assert sorted(ours) == sorted(theirs), f"tracks differ: ours {sorted(ours)}, ffprobe {sorted(theirs)}"
    derived = derived_key_tracks(probe)
    for track in ours:
        a, b = ours[track], theirs[track]
        assert len(a) == len(b), f"track {track}: {len(a)} frames, ffprobe {len(b)}"
        if track not in derived:
            assert [k for _, k, _ in a] == [k for _, k, _ in b], f"track {track}: keyframe flags differ"
        assert [s for _, _, s in a] == [s for _, _, s in b], f"track {track}: frame sizes differ"
        assert [p for p, _, _ in a] == [p for p, _, _ in b], f"track {track}: timestamps differ"
    assert_key_flags_per_mkvinfo(path, result, derived & set(ours))


@pytest.mark.crosscheck
@pytest.mark.parametrize("name", shared_files())
def test_shared_media(name):
    root = tools.require_shared_media()
    path = root / name
    result = demux(path.read_bytes())
    if name in MALFORMED:
        code, compare = MALFORMED[name]
        assert result.error is not None, f"{name} should fail with {code}"
        assert result.error.code == code, result.error
        assert result.error.offset <= path.stat().st_size
        if compare:
            assert_same_frames(path, result)
        return
    assert result.error is None, result.error
    if name in NO_FRAMES:
        assert sum(len(f.frames) for f in result.fragments) == 0
        assert result.headers, "the header is still reported"
        return
    if name in MANIFEST_COUNTS:
        fragments, frames, keys = MANIFEST_COUNTS[name]
        assert len(result.fragments) == fragments
        assert sum(len(f.frames) for f in result.fragments) == frames
        assert sum(int(f.frames["key"].sum()) for f in result.fragments) == keys
    assert_same_frames(path, result)


@pytest.mark.crosscheck
@pytest.mark.parametrize("path", tools.valid_fixtures(), ids=lambda p: p.name)
def test_generated_fixtures(path):
    result = demux(path.read_bytes())
    assert result.error is None, result.error
    assert_same_frames(path, result)


def test_kvs_tags_are_attached_to_their_fragments():
    root = tools.require_shared_media()
    result = demux((root / "kvs-parser-library/output_get_media.mkv").read_bytes())
    assert len(result.headers) == 5
    for f in result.fragments:
        before = {t.name: t.string for tags in f.tags_before for t in tags.simple_tags}
        after = {t.name: t.string for tags in f.tags_after for t in tags.simple_tags}
        assert before["AWS_KINESISVIDEO_FRAGMENT_NUMBER"] == after["AWS_KINESISVIDEO_CONTINUATION_TOKEN"]
        assert "AWS_KINESISVIDEO_SERVER_TIMESTAMP" in before and "AWS_KINESISVIDEO_MILLIS_BEHIND_NOW" in after
        assert f.header is result.headers[f.header_index]
        assert bytes(f.header.bytes[:4]) == bytes.fromhex("1A45DFA3") and bytes(f.bytes[:4]) == bytes.fromhex("1F43B675")
    producer = demux((root / "kvs-producer-sdk-cpp/test-stream-1_0.mkv").read_bytes())
    assert producer.fragments[-1].tags_after[-1].simple_tags[0].name == "AWS_KINESISVIDEO_END_OF_FRAGMENT"
    assert producer.fragments[0].tags_after[0].get("metadata_key_1") == "metadata_value_1"


def test_codec_summaries_match_ffprobe():
    root = tools.require_shared_media()
    tools.require_tool("ffprobe")
    for name in ("kvs-parser-library/vogels_330.mkv", "greengrass-edge-connector-kvs/sample-mkv-file.mkv"):
        result = demux((root / name).read_bytes())
        streams = {s["track_number"]: s for s in tools.ffprobe_streams(root / name)}
        for t in result.tracks:
            s = streams[t.number]
            if t.type_name == "video":
                assert (t.codec["width"], t.codec["height"]) == (s["width"], s["height"])
                assert t.codec["level"] == s["level"]
            else:
                assert (t.codec["sample_rate"], t.codec["channels"]) == (s["sample_rate"], s["channels"])
