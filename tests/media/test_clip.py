# SPDX-License-Identifier: Apache-2.0
"""Progressive MP4 clips (KVS GetClip, ``kvsmux repackage --to mp4``), native and pure.

For every playable input (every fixture in tests/data/valid, and the H.264 / H.264+AAC
recordings in ../shared/media that are not glitch files):

* native and pure give the same bytes, and the native parts joined are those bytes;
* the strict validator (tests/media/clip_validate.py) accepts the file, and every sample's
  bytes are the input frame's;
* ffprobe sees the same frames per track, the same keyframes, sizes and presentation times
  as in the input (relative to the clip start t0, in the track timescale);
* ``ffmpeg -v error`` decodes every stream without a word, and the decoded pictures have the
  source's MD5s; for H.264+AAC the first audio and video presentation times are as far
  apart as in the input (within one audio sample).

Plus: a golden file for h264_aac.mkv (dump compared first, then bytes; ``--update-golden``
rewrites it), synthetic clips through the pure writer (ctts shift, empty edit, co64 past
4 GiB, one fragment vs many), and the same error from both backends for a codec the MP4
writer does not take.
"""
from __future__ import annotations

import difflib
import mmap
import subprocess
from pathlib import Path

import pytest

from kvsmux.errors import MediaError, UnsupportedCodecError
from kvsmux.media import demux, to_mp4
from kvsmux.media.pure import clip as pure_clip
from kvsmux.media.pure.samples import Sample, ns_to_timescale
from tests.crosscheck.tools import (decoded_video_md5s, ffprobe_packets, require_shared_media, require_tool,
                                    shared_media_dir, valid_fixtures)
from tests.media import boxes
from tests.media.clip_validate import U32_MAX, _entries, dump, validate

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden"
GOLDEN_INPUT = "h264_aac.mkv"

# The H.264 (+AAC) recordings that play: not the glitch files (equal / non-increasing
# timecodes, truncated), not the ones without clusters or with an unsupported codec.
SHARED = [
    "kvs-parser-library/bezos_vogels.mkv",
    "kvs-parser-library/clusters.mkv",
    "kvs-parser-library/kinesis_video_renderer_example_output.mkv",
    "kvs-parser-library/output_get_media.mkv",
    "kvs-parser-library/output_get_media_sparse_fragments.mkv",
    "kvs-parser-library/output_get_media_sparse_fragments_merged.mkv",
    "kvs-parser-library/vogels_330.mkv",
    "kvs-parser-library/vogels_480.mkv",
    "greengrass-edge-connector-kvs/sample-mkv-file.mkv",
    "kvs-producer-sdk-cpp/test-stream-1_0.mkv",
]
# Fixtures whose codec the MP4 writer does not take: both backends must refuse them alike.
UNSUPPORTED = {"h264_pcm_mkvmerge_lacing_fixed.mkv"}

PLAYABLE = [pytest.param(p, id=p.name) for p in valid_fixtures() if p.name not in UNSUPPORTED] + [
    pytest.param(name, id=Path(name).name) for name in SHARED]


def _path(item: Path | str) -> Path:
    if isinstance(item, Path):
        return item
    return require_shared_media() / item


def _frames(data: bytes, tracks: list[int]) -> dict[int, list[bytes]]:
    """Every frame's bytes per track, in file order (= decode order), from our demuxer."""
    result = demux(data).raise_if_error()
    out: dict[int, list[bytes]] = {t: [] for t in tracks}
    for fragment in result.fragments:
        for i, row in enumerate(fragment.frames):
            if int(row["track"]) in out:
                out[int(row["track"])].append(bytes(fragment.payload(i)))
    return out


def _decode(path: Path) -> tuple[str, list[str]]:
    """One ffmpeg run: every stream decoded to null (what ``-f null -`` reports) and the
    first video stream's picture MD5s. Returns (stderr, md5s)."""
    run = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-map", "0:v:0", "-f", "framemd5", "-",
                          "-map", "0", "-f", "null", "-"], capture_output=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr.decode(errors="replace")[-2000:]
    md5s = [line.rsplit(",", 1)[1].strip() for line in run.stdout.decode().splitlines()
            if line and not line.startswith("#")]
    return run.stderr.decode(errors="replace"), md5s


# --- every playable input -------------------------------------------------------------------

@pytest.mark.parametrize("item", PLAYABLE)
def test_clip_backends_agree_and_validate(item):
    data = _path(item).read_bytes()
    native = to_mp4(data)
    out = bytes(native)
    assert b"".join(native.segments[0].parts()) == out
    pure = to_mp4(data, backend="pure")
    assert bytes(pure) == out, "native and pure clips differ"
    assert b"".join(bytes(p) for p in pure.segments[0].parts()) == out
    assert pure.tracks == native.tracks and pure.codecs == native.codecs
    info = validate(out, _frames(data, native.tracks))
    assert [t.track_id for t in info.tracks] == native.tracks
    assert info.brands[:2] == (b"isom", 512)


@pytest.mark.crosscheck
@pytest.mark.parametrize("item", PLAYABLE)
def test_clip_against_ffprobe_and_ffmpeg(item, tmp_path):
    require_tool("ffprobe", "MP4 clips against the input")
    require_tool("ffmpeg", "that MP4 clips decode")
    source = _path(item)
    data = source.read_bytes()
    pkg = to_mp4(data)
    out = tmp_path / "clip.mp4"
    out.write_bytes(bytes(pkg))
    info = validate(out.read_bytes())
    before, after = ffprobe_packets(source), ffprobe_packets(out)
    assert after.ok, after.stderr
    assert after.mapping == "stream_index+1" and len(after.streams) == len(pkg.tracks)
    # t0: the earliest presentation time of any track, in the input.
    t0 = min(min(p.pts_ns for p in before[t]) for t in pkg.tracks if before.get(t))
    first_ns = {}
    for index, number in enumerate(pkg.tracks):
        theirs, ours = before[number], after[index + 1]
        timescale = int(after.streams[index]["time_base"].split("/")[1])
        assert timescale == info.tracks[index].timescale
        assert len(ours) == len(theirs), f"track {number}: {len(ours)} packets, {len(theirs)} in the input"
        assert [p.key for p in ours] == [p.key for p in theirs], f"track {number}: keyframes differ"
        assert [p.size for p in ours] == [p.size for p in theirs], f"track {number}: sizes differ"
        # Input and output times both in ticks of the track timescale; 1 tick of rounding
        # is allowed (ns -> ticks on each side), none was seen.
        expected = [ns_to_timescale(p.pts_ns - t0, timescale) for p in theirs]
        got = [round(p.pts_ns * timescale / 10**9) for p in ours]
        worst = max(abs(a - b) for a, b in zip(expected, got))
        assert worst <= 1, f"track {number}: presentation times differ by up to {worst} ticks"
        # Our own reading of the edit list agrees with FFmpeg's.
        assert info.tracks[index].presentation_times == got
        first_ns[number] = (min(p.pts_ns for p in theirs) - t0, min(p.pts_ns for p in ours),
                            info.tracks[index].handler, timescale)
    # A/V sync: the first audio and video presentation times as far apart as in the input.
    video = [v for v in first_ns.values() if v[2] == b"vide"]
    audio = [v for v in first_ns.values() if v[2] == b"soun"]
    for v in video:
        for a in audio:
            assert abs((a[1] - v[1]) - (a[0] - v[0])) <= 10**9 // a[3], "audio and video drift apart"
    stderr, md5s = _decode(out)
    assert stderr.strip() == "", f"ffmpeg reports: {stderr[-2000:]}"
    assert md5s == decoded_video_md5s(source), "decoded pictures differ from the source's"


def test_unsupported_codec_is_the_same_error_in_both_backends():
    for path in (p for p in valid_fixtures() if p.name in UNSUPPORTED):
        data = path.read_bytes()
        with pytest.raises(UnsupportedCodecError) as native:
            to_mp4(data)
        with pytest.raises(UnsupportedCodecError) as pure:
            to_mp4(data, backend="pure")
        assert native.value == pure.value


# --- golden -----------------------------------------------------------------------------

def test_golden_clip(update_golden):
    source = next((p for p in valid_fixtures() if p.name == GOLDEN_INPUT), None)
    if source is None:
        pytest.skip(f"NOT VERIFIED: tests/data/valid/{GOLDEN_INPUT} is absent")
    out = bytes(to_mp4(source.read_bytes()))
    text = dump(out)
    folder = GOLDEN / f"mp4_{source.stem}"
    if update_golden:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "clip.mp4").write_bytes(out)
        (folder / "clip.dump.txt").write_text(text)
        return
    if not (folder / "clip.mp4").is_file():
        pytest.fail(f"no golden in {folder}: run pytest --update-golden")
    golden = (folder / "clip.mp4").read_bytes()
    golden_text = (folder / "clip.dump.txt").read_text()
    diff = "".join(difflib.unified_diff(golden_text.splitlines(True), text.splitlines(True), "golden", "now"))
    assert not diff, "the clip's box dump changed (pytest --update-golden to accept):\n" + diff
    assert dump(golden) == golden_text, "clip.dump.txt does not describe clip.mp4"
    assert out == golden, "same dump, different bytes (a field the dump does not show)"


# --- synthetic clips through the pure writer ----------------------------------------------

def _track(fixture: str, kind: int):
    path = next((p for p in valid_fixtures() if p.name == fixture), None)
    if path is None:
        pytest.skip(f"NOT VERIFIED: tests/data/valid/{fixture} is absent")
    return next(t for t in demux(path.read_bytes()).tracks if t.type == kind)


def _sample(offset, size, pts, dts, duration, sync):
    return Sample(offset=offset, size=size, pts=pts, dts=dts, duration=duration, cts_offset=pts - dts, sync=sync)


def _timeline_clip(pieces_video, pieces_audio):
    video, audio = _track("h264_aac.mkv", 1), _track("h264_alaw.mkv", 2)
    return [pure_clip.ClipTrack(video, 1, 90_000, pieces_video), pure_clip.ClipTrack(audio, 2, 8000, pieces_audio)]


def _timeline_input():
    return bytes((i * 7 + i // 251) & 0xFF for i in range(4000))


# The scenario of cpp/tests/clip_test.cc clip_timeline_chunks_and_offsets, with the same
# expectations: B-frames in two fragments, A-law audio from 100 ms.
V1 = [_sample(100, 50, 0, 0, 3000, True), _sample(150, 40, 9000, 3000, 3000, False),
      _sample(190, 30, 3000, 6000, 3000, False), _sample(220, 30, 6000, 9000, 3000, False)]
V2 = [_sample(1000, 60, 12000, 12000, 3000, True), _sample(1060, 40, 18000, 15000, 3000, False),
      _sample(2000, 30, 15000, 18000, 3000, False)]
A1 = [_sample(3000, 160, 800, 800, 160, True), _sample(3160, 160, 960, 960, 160, True)]
A2 = [_sample(3500, 160, 1120, 1120, 160, True)]


def test_pure_timeline_ctts_shift_and_empty_edit():
    data = _timeline_input()
    pieces = pure_clip.write_clip(_timeline_clip([(data, 0, V1), (data, 0, V2)], [(data, 0, A1), (data, 0, A2)]))
    out = b"".join(bytes(p) for p in pieces)
    info = validate(out, {1: [data[s.offset:s.offset + s.size] for s in V1 + V2],
                          2: [data[s.offset:s.offset + s.size] for s in A1 + A2]})
    v, a = info.tracks
    assert v.durations == [3000] * 7
    assert v.cts == [3000, 9000, 0, 0, 3000, 6000, 0]  # pts - dts + max(dts - pts)
    assert v.sync == [1, 5] and a.sync is None
    assert v.samples_per_chunk == [4, 3] and a.samples_per_chunk == [2, 1]
    assert v.edits == [(234, 3000)] and a.edits == [(100, -1), (60, 0)]
    payload = info.mdat_payload[0]
    assert v.chunk_offsets == [payload, payload + 150 + 320]  # V1, A1, V2, A2 in time order
    assert a.chunk_offsets == [payload + 150, payload + 150 + 320 + 130]
    assert (v.mdhd_duration, a.mdhd_duration, v.tkhd_duration, a.tkhd_duration, info.movie_duration) == (
        21000, 480, 234, 160, 234)
    assert v.presentation_times == [0, 9000, 3000, 6000, 12000, 18000, 15000]
    assert a.presentation_times == [800, 960, 1120]


def test_pure_one_fragment_or_many_give_the_same_samples():
    data = _timeline_input()
    split = validate(b"".join(bytes(p) for p in pure_clip.write_clip(
        _timeline_clip([(data, 0, V1), (data, 0, V2)], [(data, 0, A1), (data, 0, A2)]))))
    whole = validate(b"".join(bytes(p) for p in pure_clip.write_clip(
        _timeline_clip([(data, 0, V1 + V2), (data, 0, [])], [(data, 0, A1 + A2)]))))
    for a, b in zip(split.tracks, whole.tracks):
        assert (a.durations, a.sizes, a.cts, a.sync, a.edits) == (b.durations, b.sizes, b.cts, b.sync, b.edits)
        assert (len(a.chunk_offsets), len(b.chunk_offsets)) == (2, 1)


def test_pure_co64_past_4_gib():
    # The scenario of clip_switches_to_co64_past_4_gib: reserved, never touched memory.
    size = (1 << 32) + (1 << 20)
    try:
        big = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | getattr(mmap, "MAP_NORESERVE", 0),
                        prot=mmap.PROT_READ)
    except (OSError, OverflowError, ValueError) as e:
        pytest.skip(f"NOT VERIFIED: cannot reserve 4 GiB of address space ({e})")
    v1 = [_sample(0, 0x80000000, 90, 90, 3000, True), _sample(0x80000000, 0x7FFFFFFF, 3090, 3090, 3000, False)]
    v2 = [_sample(0xFFFFFFFF, 1000, 6090, 6090, 3000, True)]
    a1 = [_sample(0x100010000, 160, 0, 0, 160, True)]
    pieces = pure_clip.write_clip(_timeline_clip([(big, 0, v1), (big, 0, v2)], [(big, 0, a1)]))
    head = pieces[0]
    assert sum(len(memoryview(p)) for p in pieces) == len(head) + 0xFFFFFFFF + 1000 + 160
    top = boxes.parse(head, 0, len(head) - 16)
    assert [b.type for b in top] == [b"ftyp", b"moov"]
    assert head[-12:-8] == b"mdat" and int.from_bytes(head[-16:-12], "big") == 1  # largesize
    assert int.from_bytes(head[-8:], "big") == 16 + 0xFFFFFFFF + 1000 + 160
    video, audio = top[1].find("trak")
    assert not video.find("mdia/minf/stbl/stco") and not audio.find("mdia/minf/stbl/co64")
    co64 = [(hi << 32) | lo for hi, lo in _entries(head, video.find("mdia/minf/stbl/co64")[0], 2)]
    stco = [e[0] for e in _entries(head, audio.find("mdia/minf/stbl/stco")[0], 1)]
    assert co64 == [len(head) + 160, len(head) + 160 + 0xFFFFFFFF] and co64[1] > U32_MAX
    assert stco == [len(head)]
    del pieces
    big.close()


def test_pure_errors_match_the_core():
    data = _timeline_input()
    video = _track("h264_aac.mkv", 1)
    with pytest.raises(MediaError) as e:
        pure_clip.write_clip([pure_clip.ClipTrack(video, 1, 90_000, [(data[:100], 0, [_sample(90, 20, 0, 0, 1, True)])])])
    assert (e.value.code, e.value.offset, e.value.detail) == ("truncated", 90, "sample of 20 bytes is outside the input")
    with pytest.raises(MediaError) as e:
        pure_clip.write_clip([pure_clip.ClipTrack(video, 1, 0, [])])
    assert (e.value.code, e.value.detail) == ("invalid_value", "track 1 has timescale 0")
    with pytest.raises(MediaError) as e:
        pure_clip.write_clip([])
    assert e.value.code == "invalid_value"


def test_shared_media_present_or_skipped_loudly():
    if shared_media_dir() is None:
        pytest.skip("NOT VERIFIED: ../shared/media is absent, the recordings above were skipped")
    missing = [name for name in SHARED if not (shared_media_dir() / name).is_file()]
    assert not missing, f"shared recordings missing: {missing}"
