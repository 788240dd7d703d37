# SPDX-License-Identifier: Apache-2.0
"""MPEG-TS segments for HLS (ISO/IEC 13818-1): native and pure backends, strict validation,
cross-checks with ffprobe/ffmpeg, a golden segment.

For every playable input (tests/data/valid, and the H.264 / H.264+AAC recordings in
../shared/media named in SHARED_PLAYABLE):
* native and pure ``to_ts`` give the same bytes (or the same error: G.711 and PCM tracks are
  UnsupportedCodecError);
* the strict validator (tests/media/ts_validate.py) accepts every segment of the session, and
  the reassembled PES payloads are the input frames converted independently here (Annex B
  with AUD and parameter sets / ADTS), with the input's PTS + the documented 1.4 s offset and
  the random access indicator exactly on video keyframes;
* (crosscheck) ffprobe reads the concatenated segments with the same frames, keyframes and
  PTS steps; ``ffmpeg -f null`` decodes them without a message; the decoded pictures have the
  same MD5s as the source's;
* the size over the Matroska frame payload is reported and bounded.
"""
from __future__ import annotations

import concurrent.futures
import difflib
import functools
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from kvsmux.errors import InvalidCodecPrivateError, InvalidFrameError, MediaError, UnsupportedCodecError
from kvsmux.media import demux, to_ts
from kvsmux.media.pure import codec as pure_codec
from kvsmux.media.pure import ts as pure_ts
from kvsmux.media.pure.samples import ns_to_timescale
from tests.crosscheck.tools import (REPO_ROOT, decoded_video_md5s, ffprobe_packets, have_tool, require_shared_media,
                                    require_tool, shared_media_dir, valid_fixtures)
from tests.media.ts_validate import PACKET_SIZE, WRAP, SessionValidator, TsError, ahead, dump

OFFSET_90K = 126_000  # the documented PTS/DTS offset (1.4 s, FFmpeg's)
PCR_LEAD_90K = 63_000
FIRST_PID = 0x100
VIDEO_CODECS = {"V_MPEG4/ISO/AVC": "h264", "V_MPEGH/ISO/HEVC": "h265"}
SHARED_PLAYABLE = [
    "kvs-parser-library/output_get_media.mkv",
    "kvs-parser-library/output_get_media_sparse_fragments.mkv",
    "kvs-parser-library/output_get_media_sparse_fragments_merged.mkv",
    "kvs-parser-library/kinesis_video_renderer_example_output.mkv",
    "kvs-parser-library/clusters.mkv",
    "kvs-parser-library/bezos_vogels.mkv",
    "kvs-parser-library/vogels_330.mkv",
    "kvs-parser-library/vogels_480.mkv",
    "greengrass-edge-connector-kvs/sample-mkv-file.mkv",
    "kvs-producer-sdk-cpp/test-stream-1_0.mkv",
]
GOLDEN = REPO_ROOT / "tests" / "golden" / "ts_h264_aac"
GOLDEN_INPUT = "h264_aac.mkv"


def _inputs() -> list[Path]:
    media = shared_media_dir()
    shared = [media / name for name in SHARED_PLAYABLE if media and (media / name).is_file()]
    return valid_fixtures() + shared


def _id(path: Path) -> str:
    return path.name if path.parent.name == "valid" else f"{path.parent.name}/{path.name}"


TS_CODECS = ("V_MPEG4/ISO/AVC", "V_MPEGH/ISO/HEVC", "A_AAC")


def _ts_writable(path: Path) -> bool:
    """Whether every video/audio track is H.264, H.265 or AAC (others: see the refusal test)."""
    tracks = [t for t in demux(path.read_bytes()).tracks if t.type in (1, 2)]
    return bool(tracks) and all(t.codec_id.startswith(TS_CODECS) for t in tracks)


INPUTS = _inputs()
PARAMS = [pytest.param(p, id=_id(p)) for p in INPUTS if _ts_writable(p)]


def _supported(track) -> bool:
    return track.codec_id in VIDEO_CODECS or track.codec_id.startswith("A_AAC")


@dataclass
class Run:
    data: bytes
    native: object            # Package or MediaError
    pure: object
    demuxed: object

    @property
    def ok(self) -> bool:
        return not isinstance(self.native, MediaError)


def _package(data: bytes, backend: str):
    try:
        return to_ts(data, backend=backend)
    except MediaError as e:
        return e


@functools.lru_cache(maxsize=None)
def run(path: Path) -> Run:
    data = path.read_bytes()
    return Run(data, _package(data, "native"), _package(data, "pure"), demux(data))


def _concatenated(r: Run) -> bytes:
    return b"".join(bytes(s) for s in r.native.segments)


def test_inputs_present():
    assert valid_fixtures(), "tests/data/valid holds no fixtures"
    require_shared_media()
    missing = [n for n in SHARED_PLAYABLE if not (shared_media_dir() / n).is_file()]
    assert not missing, f"shared recordings missing: {missing}"


# --- native = pure ---------------------------------------------------------------------------

@pytest.mark.parametrize("path", PARAMS)
def test_native_and_pure_are_byte_identical(path):
    r = run(path)
    tracks = [t for t in r.demuxed.headers[0].tracks if t.type in (1, 2)]
    if not all(_supported(t) for t in tracks):
        assert isinstance(r.native, UnsupportedCodecError), r.native
        assert r.native == r.pure  # same class, detail, offset and path
        bad = next(t for t in tracks if not _supported(t))
        assert f"codec {bad.codec_id} cannot be written to MPEG-TS" in r.native.detail
        return
    assert r.ok, r.native
    assert not isinstance(r.pure, MediaError), r.pure
    assert len(r.native.segments) == len(r.pure.segments) > 0
    for a, b in zip(r.native.segments, r.pure.segments):
        # start_ns/duration_ns come from media/package.cc (not the TS writer), so only the index here.
        assert a.fragment_index == b.fragment_index
        assert bytes(a) == bytes(b), f"segment {a.fragment_index} differs"


# --- the strict validator and the expected elementary streams ---------------------------------

def _adts(asc: dict, size: int) -> bytes:
    # ISO/IEC 13818-7 Table 5/6, written as one bit string.
    bits = ("111111111111" "0" "00" "1" f"{asc['audio_object_type'] - 1:02b}"
            f"{asc['sampling_frequency_index']:04b}" "0" f"{asc['channel_configuration']:03b}" "0000"
            f"{size + 7:013b}" "11111111111" "00")
    return int(bits, 2).to_bytes(7, "big")


def _parameter_sets(track) -> list[bytes]:
    cp, at = bytes(track.codec_private), track.codec_private_range[0]
    if track.codec_id == "V_MPEG4/ISO/AVC":
        c = pure_codec.parse_avc_decoder_configuration(cp, at)
        return [cp[o:o + n] for o, n in c["sps"] + c["pps"]]
    c = pure_codec.parse_hevc_decoder_configuration(cp, at)
    by_type = {a["nal_unit_type"]: a["nalus"] for a in c["arrays"]}
    return [cp[o:o + n] for t in (32, 33, 34) for o, n in by_type.get(t, [])]


def _annexb(track, frame: bytes, key: bool) -> bytes:
    h264 = track.codec_id == "V_MPEG4/ISO/AVC"
    size = track.codec["nal_length_size"]
    out = [b"\0\0\0\1\x09\xf0" if h264 else b"\0\0\0\1\x46\x01\x50"]
    if key:
        out += [b"\0\0\0\1" + ps for ps in _parameter_sets(track)]
    pos = 0
    while pos < len(frame):
        n = int.from_bytes(frame[pos:pos + size], "big")
        nal = frame[pos + size:pos + size + n]
        pos += size + n
        nal_type = (nal[0] & 0x1F if h264 else nal[0] >> 1 & 0x3F) if nal else None
        if nal and nal_type != (9 if h264 else 35):
            out.append(b"\0\0\0\1" + nal)
    return b"".join(out)


def _frames(fragment, number: int):
    return [f for f in fragment.frames if int(f["track"]) == number]


@pytest.mark.parametrize("path", PARAMS)
def test_segments_validate_and_carry_the_input_frames(path):
    r = run(path)
    assert r.ok, r.native
    header = r.demuxed.headers[0]
    tracks = [header.track(n) for n in r.native.tracks]
    fragments = {f.index: f for f in r.demuxed.fragments}
    asc = {t.number: pure_codec.parse_audio_specific_config(bytes(t.codec_private), 0)
           for t in tracks if t.codec_id.startswith("A_AAC")}
    validator = SessionValidator()
    for segment in r.native.segments:
        seg = validator.segment(bytes(segment))
        fragment = fragments[segment.fragment_index]
        present = [(i, t) for i, t in enumerate(tracks) if _frames(fragment, t.number)]
        video_pids = [FIRST_PID + i for i, t in present if t.codec_id in VIDEO_CODECS]
        assert seg.pcr_pid == (video_pids[0] if video_pids else FIRST_PID + present[0][0])
        assert [pid for _, pid in seg.streams] == [FIRST_PID + i for i, _ in present]
        for i, t in present:
            pes = [p for p in seg.pes if p.pid == FIRST_PID + i]
            frames = _frames(fragment, t.number)
            assert len(pes) == len(frames), f"track {t.number}: {len(pes)} PES for {len(frames)} frames"
            video = t.codec_id in VIDEO_CODECS
            for p, f in zip(pes, frames):
                body = r.data[int(f["offset"]):int(f["offset"]) + int(f["size"])]
                where = f"track {t.number} frame at {int(f['offset'])}"
                expected = _annexb(t, body, bool(f["key"])) if video else _adts(asc[t.number], len(body)) + body
                assert p.payload == expected, where
                assert p.stream_id == (0xE0 if video else 0xC0), where
                assert p.pts == (ns_to_timescale(int(f["pts_ns"]), 90_000) + OFFSET_90K) % WRAP, where
                assert p.random_access == (video and bool(f["key"])), where
                assert (p.pcr is not None) == (p.pid == seg.pcr_pid), where
                if p.pcr is not None:
                    assert p.pcr % 300 == 0 and p.pcr // 300 == (p.dts - PCR_LEAD_90K) % WRAP, where
                if not video:
                    assert not p.has_dts and p.packet_length == 8 + len(expected), where


def test_continuity_runs_on_across_segments():
    """Each segment's first packet on a PID continues the previous segment's counter."""
    r = run(next(p for p in INPUTS if p.name == GOLDEN_INPUT))
    last: dict[int, int] = {}
    for segment in r.native.segments:
        data = bytes(segment)
        seen: set[int] = set()
        for i in range(0, len(data), PACKET_SIZE):
            pid, cc = (data[i + 1] & 0x1F) << 8 | data[i + 2], data[i + 3] & 0x0F
            if pid not in seen and pid in last:
                assert cc == (last[pid] + 1) % 16
            seen.add(pid)
            last[pid] = cc
    assert last[0] == (len(r.native.segments) - 1) % 16  # one PAT packet per segment


def test_validator_rejects_broken_streams():
    r = run(next(p for p in INPUTS if p.name == GOLDEN_INPUT))
    good = bytes(r.native.segments[0])
    SessionValidator().segment(good)

    def broken(at: int, value: int) -> bytes:
        b = bytearray(good)
        b[at] = value
        return bytes(b)

    cases = {
        "sync byte": broken(3 * PACKET_SIZE, 0x48),
        "continuity": broken(3 * PACKET_SIZE + 3, good[3 * PACKET_SIZE + 3] ^ 0x01),
        "section CRC_32": broken(20, good[20] ^ 0xFF),  # the PAT's last CRC byte
        "PCR_PID": broken(PACKET_SIZE + 5 + 9, good[PACKET_SIZE + 5 + 9] ^ 0x01),  # PMT: CRC no longer verifies
        "whole number of packets": good[:-1],
    }
    for message, data in cases.items():
        with pytest.raises(TsError, match="|".join((message, "sync byte", "continuity", "CRC_32"))):
            SessionValidator().segment(data)
    # A continuity break between segments is caught too.
    v = SessionValidator()
    v.segment(good)
    with pytest.raises(TsError, match="continuity_counter"):
        v.segment(good)


def test_pts_wrap_at_33_bits(tmp_path):
    """Timestamps that cross 2^33 (26.5 h of 90 kHz) wrap; both backends agree, the validator
    and ffmpeg follow the wrap."""
    require_tool("ffmpeg", "the 33-bit wrap-around")
    mkv = tmp_path / "wrap.mkv"
    # PTS + 1.4 s crosses 2^33 / 90000 = 95443.72 s about 0.8 s into the file.
    made = subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=30", "-f",
         "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "2", "-map", "0:v", "-map", "1:a",
         "-c:v", "libx264", "-preset", "veryfast", "-g", "15", "-bf", "2", "-x264-params", "scenecut=0",
         "-c:a", "aac", "-b:a", "32k", "-ac", "1", "-output_ts_offset", "95441.5", "-fflags", "+bitexact",
         "-flags:v", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1", "-cluster_time_limit", "500",
         "-f", "matroska", str(mkv)], capture_output=True, timeout=60, check=False)
    if made.returncode != 0:
        pytest.skip(f"NOT VERIFIED: ffmpeg could not make the wrap-around input: {made.stderr[-300:]!r}")
    r = run(mkv)
    assert r.ok, r.native
    assert [bytes(s) for s in r.native.segments] == [bytes(s) for s in r.pure.segments]
    validator = SessionValidator()
    pts = [p.pts for s in r.native.segments for p in validator.segment(bytes(s)).pes if p.pid == FIRST_PID]
    assert max(pts) > WRAP - 90_000 and min(pts) < 90_000, "the input does not cross the wrap"
    out = tmp_path / "wrap.ts"
    out.write_bytes(_concatenated(r))
    _check_with_ffmpeg(mkv, out, r)


# --- ffprobe and ffmpeg ----------------------------------------------------------------------

def _decode(ts: Path) -> tuple[list[str], str]:
    """One ffmpeg run: every stream decoded to null (errors printed), and the first video
    stream's picture MD5s (as tests/crosscheck/tools.py:decoded_video_md5s computes them)."""
    md5 = ts.with_suffix(".framemd5")
    run_ = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", str(ts), "-map", "0:v:0", "-f",
                           "framemd5", str(md5), "-map", "0", "-f", "null", "-"],
                          capture_output=True, timeout=120, check=False)
    lines = md5.read_text().splitlines() if md5.exists() else []
    sums = [line.rsplit(",", 1)[1].strip() for line in lines if line and not line.startswith("#")]
    return sums, run_.stderr.decode("utf-8", "replace") + ("" if run_.returncode == 0 else " (failed)")


def _check_with_ffmpeg(mkv: Path, ts: Path, r: Run) -> None:
    probe = ffprobe_packets(ts)
    assert probe.ok, probe.stderr
    assert probe.mapping == "stream_index+1"  # a .ts has no TrackEntry: streams in PMT order
    header = r.demuxed.headers[0]
    for i, number in enumerate(r.native.tracks):
        track = header.track(number)
        frames = [f for frag in r.demuxed.fragments for f in _frames(frag, number)]
        packets = probe[i + 1]
        assert len(packets) == len(frames), f"track {number}: ffprobe {len(packets)} vs {len(frames)}"
        if track.codec_id in VIDEO_CODECS:
            assert [p.key for p in packets] == [bool(f["key"]) for f in frames], f"track {number} keyframes"
        # ffprobe gives 1/90000 ticks as floor(ns); back to ticks, then compare steps (ffmpeg
        # unwraps the 33-bit clock) and the first value modulo 2^33.
        got = [-((-p.pts_ns * 9) // 100_000) for p in packets]
        want = [ns_to_timescale(int(f["pts_ns"]), 90_000) for f in frames]
        assert [g - got[0] for g in got] == [w - want[0] for w in want], f"track {number} PTS"
        assert got[0] % WRAP == (want[0] + OFFSET_90K) % WRAP
    sums, errors = _decode(ts)
    assert errors == "", errors
    assert sums == decoded_video_md5s(mkv)


@pytest.fixture(scope="module")
def ffmpeg_checks(tmp_path_factory):
    """Runs every input's ffprobe/ffmpeg check in a thread pool up front (they are
    subprocesses), so the per-input tests only collect the results."""
    if not (have_tool("ffprobe") and have_tool("ffmpeg")):
        return None
    folder = tmp_path_factory.mktemp("ts")

    def job(path: Path):
        r = run(path)
        if not r.ok:
            return None
        out = folder / (_id(path).replace("/", "__") + ".ts")
        out.write_bytes(_concatenated(r))
        _check_with_ffmpeg(path, out, r)
        return out

    for path in INPUTS:
        run(path)  # demux and package once, in this thread
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2))
    futures = {path: pool.submit(job, path) for path in INPUTS}
    yield futures
    pool.shutdown(wait=True)


@pytest.mark.crosscheck
@pytest.mark.parametrize("path", PARAMS)
def test_ffprobe_and_ffmpeg_agree(path, ffmpeg_checks):
    require_tool("ffprobe", "TS segments against ffprobe")
    require_tool("ffmpeg", "TS segments decode")
    assert run(path).ok, run(path).native
    ffmpeg_checks[path].result()


# --- size ------------------------------------------------------------------------------------

def _payload_bytes(r: Run) -> int:
    numbers = set(r.native.tracks)
    return sum(int(f["size"]) for frag in r.demuxed.fragments for f in frag.frames if int(f["track"]) in numbers)


@pytest.mark.parametrize("path", PARAMS)
def test_overhead_over_the_frame_payload(path, record_property):
    r = run(path)
    assert r.ok, r.native
    payload = _payload_bytes(r)
    size = len(_concatenated(r))
    overhead = size / payload - 1
    record_property("ts_overhead_percent", round(100 * overhead, 2))
    # At most one packet of stuffing per PES, 4 bytes per packet, PES/ADTS/AUD headers and
    # parameter sets, plus PAT + PMT per segment.
    header = r.demuxed.headers[0]
    ps = {n: sum(4 + len(p) for p in _parameter_sets(header.track(n)))
          for n in r.native.tracks if header.track(n).codec_id in VIDEO_CODECS}
    frames = [f for frag in r.demuxed.fragments for f in frag.frames if int(f["track"]) in set(r.native.tracks)]
    bound = 2 * PACKET_SIZE * len(r.native.segments)
    for f in frames:
        pes = int(f["size"]) + 19 + 7 + (ps.get(int(f["track"]), 0) if f["key"] else 0)
        bound += (pes // 184 + 2) * PACKET_SIZE
    assert payload < size <= bound
    if path.parent.name != "valid":
        # Real recordings. Low-rate AAC (one ADTS frame per PES) costs the most: about 25 % on
        # the Greengrass sample, whose 666-byte average frame is mostly audio. Video only: < 10 %.
        assert overhead < (0.30 if len(r.native.tracks) > 1 else 0.10), f"{100 * overhead:.1f} %"


# --- errors ----------------------------------------------------------------------------------

def _first_video_frame(r: Run, key: bool):
    return next(f for frag in r.demuxed.fragments for f in frag.frames
                if int(f["track"]) == 1 and bool(f["key"]) == key)


def test_nal_length_past_the_frame_is_invalid_frame():
    r = run(next(p for p in INPUTS if p.name == "h264_160x120_30fps_gop15.mkv"))
    f = _first_video_frame(r, key=False)
    at, size = int(f["offset"]), int(f["size"])
    data = bytearray(r.data)
    data[at:at + 4] = (size + 1).to_bytes(4, "big")  # the first NAL unit's length field
    errors = [_package(bytes(data), b) for b in ("native", "pure")]
    assert isinstance(errors[0], InvalidFrameError), errors[0]
    assert errors[0] == errors[1]
    assert errors[0].offset == at
    assert errors[0].detail == f"NAL unit length {size + 1} runs past the end of the frame ({size - 4} bytes left)"


def test_malformed_codec_private_is_invalid_codec_private():
    r = run(next(p for p in INPUTS if p.name == "h264_160x120_30fps_gop15.mkv"))
    track = r.demuxed.headers[0].tracks[0]
    at = track.codec_private_range[0]
    data = bytearray(r.data)
    data[at] = 2  # avcC configurationVersion
    errors = [_package(bytes(data), b) for b in ("native", "pure")]
    assert isinstance(errors[0], InvalidCodecPrivateError), errors[0]
    assert errors[0] == errors[1]
    assert (errors[0].offset, errors[0].detail) == (at, "avcC configurationVersion is not 1")


@pytest.mark.parametrize("name", ["h264_aac.mkv", "h265_aac.mkv"])
def test_corrupted_frames_give_the_same_bytes_or_error(name):
    """Random byte changes inside frames (length fields included): both backends agree."""
    import random

    r = run(next(p for p in INPUTS if p.name == name))
    frames = [f for frag in r.demuxed.fragments for f in frag.frames]
    rng = random.Random(name)
    outcomes = set()
    for _ in range(40):
        data = bytearray(r.data)
        for _ in range(rng.randint(1, 3)):
            f = rng.choice(frames)
            at = int(f["offset"]) + rng.randrange(min(int(f["size"]), 8))  # mostly the first length field
            data[at] = rng.randrange(256)
        native, pure = (_package(bytes(data), b) for b in ("native", "pure"))
        if isinstance(native, MediaError):
            assert native == pure
            outcomes.add(type(native).__name__)
        else:
            assert [bytes(s) for s in native.segments] == [bytes(s) for s in pure.segments]
            outcomes.add("ok")
    assert "InvalidFrameError" in outcomes and "ok" in outcomes, outcomes


def test_pure_helpers_match_known_vectors():
    assert pure_ts.pat_section(0x1000).hex() == "00b00d0001c100000001f0002ab104b2"  # FFmpeg's PAT
    assert pure_ts.crc32_mpeg2(pure_ts.pat_section(0x1000)) == 0
    assert pure_ts.write_pts(0x2, 0x123456789).hex() == "298d15cf13"
    assert pure_ts.write_pcr(0x123456789 * 300 + 299).hex() == "91a2b3c4ff2b"
    assert pure_ts.adts_header((1, 3, 1), 100, 0).hex() == "fff14c400d7ffc"
    assert ahead(5, WRAP - 5) == 10


# --- golden ----------------------------------------------------------------------------------

def test_golden_first_segment(update_golden):
    path = next((p for p in INPUTS if p.name == GOLDEN_INPUT), None)
    assert path is not None, f"tests/data/valid/{GOLDEN_INPUT} is missing"
    r = run(path)
    assert r.ok, r.native
    data = bytes(r.native.segments[0])
    text = f"# {GOLDEN_INPUT}, segment 1 (fragment {r.native.segments[0].fragment_index})\n"
    text += dump(SessionValidator().segment(data))
    ts_file, dump_file = GOLDEN / "segment_0001.ts", GOLDEN / "segment_0001.dump.txt"
    if update_golden:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        ts_file.write_bytes(data)
        dump_file.write_text(text)
    assert dump_file.exists() and ts_file.exists(), "no golden yet: run pytest --update-golden"
    want = dump_file.read_text()
    if text != want:
        diff = "".join(difflib.unified_diff(want.splitlines(True), text.splitlines(True), "golden", "now"))
        pytest.fail(f"dump differs from {dump_file} (pytest --update-golden rewrites it):\n{diff[:6000]}")
    assert data == ts_file.read_bytes(), "same dump but different bytes"
