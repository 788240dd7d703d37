# SPDX-License-Identifier: Apache-2.0
"""The fMP4/CMAF writer (cpp/src/mp4/{fmp4,init,sample_entry,fragment}.cc and its pure mirror
python/kvsmux/media/pure/{fmp4,mp4_boxes}.py), on every playable input.

Inputs: every tests/data/valid fixture (the PCM one only as its video track: A_PCM is not an
fMP4 codec here, as in KVS), and the playable H.264 (+AAC) recordings in ../shared/media.
The other shared files must be refused with a MediaError (VP8/VP9/AV1/Opus/VfW codecs,
truncated or malformed files, no track); ``test_unplayable_shared_files_are_refused`` pins why.

For each input, whole and per track:
(1) ffprobe on init + segments: the same frames per track, keyframes and presentation times as
    the input, and ``ffmpeg -f null`` decodes it without a word;
(2) the decoded pictures are those of the source MKV (framemd5);
(3) the strict validator (tests/media/fmp4_validate.py) accepts it, and what it reads back
    (pts, sync, payload bytes) is the input's frames;
(4) native and pure outputs are byte-identical, and ``parts()`` join to the bytes;
(5) per-track mode gives valid single-track (CMAF) segments;
(6) golden files for two fixtures (text dump diff first, then bytes; ``--update-golden``);
(7) missing / malformed codec private and unsupported codecs raise the documented errors.

FFmpeg quirks, measured with ffmpeg 5.1 and accounted for here, not in the writer:
* its mov demuxer marks every audio packet key, whatever the trun sample flags say (we write
  every audio sample as sync anyway: the GStreamer fixture's AAC blocks have no key flag);
* with negative composition offsets (trun version 1) it adds the largest negative offset seen
  so far in the track (its ``dts_shift``, updated as each trun is parsed, before that trun's
  packets) to every pts: pts = dts + offset + shift.
  The validator checks the unshifted times, which is what the spec and browsers read.
"""
from __future__ import annotations

import concurrent.futures
import difflib
import functools
import subprocess
from pathlib import Path

import pytest

from kvsmux.errors import InvalidCodecPrivateError, MediaError, MissingCodecPrivateError, UnsupportedCodecError
from kvsmux.media.demux import demux
from kvsmux.media.package import to_fmp4
from kvsmux.media.pure.samples import ns_to_timescale
from tests.crosscheck import tools
from tests.media import boxes, synth
from tests.media.fmp4_validate import fields, read_init, validate

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden"
PCM_FIXTURE = "h264_pcm_mkvmerge_lacing_fixed.mkv"
# The playable shared recordings (H.264, some with AAC), relative to ../shared/media.
PLAYABLE_SHARED = [
    "greengrass-edge-connector-kvs/sample-mkv-file.mkv",
    "kvs-parser-library/bezos_vogels.mkv",
    "kvs-parser-library/clusters.mkv",
    "kvs-parser-library/kinesis_video_renderer_example_output.mkv",
    "kvs-parser-library/output_get_media.mkv",                      # GetMedia: 5 documents
    "kvs-parser-library/output_get_media_sparse_fragments.mkv",
    "kvs-parser-library/output_get_media_sparse_fragments_merged.mkv",
    "kvs-parser-library/vogels_330.mkv",
    "kvs-parser-library/vogels_480.mkv",
    "kvs-producer-sdk-cpp/test-stream-1_0.mkv",
    "mkvdump/dateutc.mkv",                                          # H.264 High 4:4:4, 2 frames
]
NO_FRAMES_SHARED = "kvs-parser-library/empty-mkv-with-tags.mkv"   # a header and tags: init only
GOLDEN_FIXTURES = ["h264_aac.mkv", "h264_bframes_time_clusters.mkv"]


def _shared(name: str) -> Path:
    return tools.require_shared_media() / name


def _inputs() -> list:
    fixtures = [pytest.param(p, None, id=p.name) for p in tools.valid_fixtures() if p.name != PCM_FIXTURE]
    fixtures += [pytest.param(tools.VALID_DIR / PCM_FIXTURE, 1, id=PCM_FIXTURE + ":track1")]
    media = tools.shared_media_dir()
    shared = [pytest.param(media / n if media else Path(n), None, id=n) for n in PLAYABLE_SHARED]
    return fixtures + shared


INPUTS = _inputs()


@functools.lru_cache(maxsize=None)
def _data(path: Path) -> bytes:
    if not path.is_file():
        tools.require_shared_media()
        pytest.skip(f"NOT VERIFIED: {path} is absent")
    return path.read_bytes()


@functools.lru_cache(maxsize=None)
def _package(path: Path, track: int | None, backend: str = "native"):
    return to_fmp4(_data(path), backend=backend, track=track)


def _expected(path: Path, tracks: list[int], timescales: dict[int, int]) -> dict[int, list[tuple]]:
    """Per track, the input's frames in file order: (pts in the track timescale, sync, payload).
    Sync is the keyframe flag, and always true for audio (every audio frame decodes alone)."""
    result = demux(_data(path))
    assert result.error is None, result.error
    out = {t: [] for t in tracks}
    audio = {t for t in tracks if result.headers[0].track(t).type == 2}
    for fragment in result.fragments:
        for i, frame in enumerate(fragment.frames):
            t = int(frame["track"])
            if t in out:
                out[t].append((ns_to_timescale(int(frame["pts_ns"]), timescales[t]), bool(frame["key"]) or t in audio,
                               bytes(fragment.payload(i))))
    return out


def _validated(path: Path, track: int | None):
    """The package, its init info, and per track the samples read back, each with the
    FFmpeg dts_shift in force when it is read (see the module docstring)."""
    package = _package(path, track)
    info, per_track = validate(bytes(package.init), [bytes(s) for s in package.segments])
    assert info.track_ids == package.tracks
    samples = {}
    for t, runs in per_track.items():
        shift, samples[t] = 0, []
        for _, run in runs:  # FFmpeg updates its shift once per trun, before the trun's packets
            shift = max([shift] + [-s.cts_offset for s in run])
            samples[t] += [(s, shift) for s in run]
    return package, info, samples


# --- (3) the strict validator, and what it reads back is the input ------------------------

@pytest.mark.parametrize("path, track", INPUTS)
def test_strict_validation_reads_back_the_input(path, track):
    package, info, samples = _validated(path, track)
    expected = _expected(path, package.tracks, info.timescales)
    for t in package.tracks:
        got, want = [s for s, _ in samples[t]], expected[t]
        assert len(got) == len(want), f"track {t}: {len(got)} samples, input has {len(want)} frames"
        assert [s.pts for s in got] == [w[0] for w in want], f"track {t}: presentation times differ"
        assert [s.sync for s in got] == [w[1] for w in want], f"track {t}: sync flags differ from the key flags"
        assert all(s.data == w[2] for s, w in zip(got, want)), f"track {t}: sample bytes differ"
        assert [s.dts for s in got] == sorted(s.dts for s in got), f"track {t}: decode times go back"
    # The codec strings: the RFC 6381 one of each track's sample entry.
    kinds = {b"avc1": "avc1.", b"hvc1": "hvc1.", b"mp4a": "mp4a.40.", b"alaw": "alaw", b"ulaw": "ulaw"}
    for t, codec in zip(package.tracks, package.codecs):
        assert codec.startswith(kinds[info.entries[t]]), (t, codec, info.entries[t])
    one_track = len(package.tracks) == 1
    assert (b"cmfc" in info.brands) == one_track, info.brands


# --- (4) native == pure, and parts() are the bytes ----------------------------------------

@pytest.mark.parametrize("path, track", INPUTS)
def test_native_and_pure_are_byte_identical(path, track):
    native, pure = _package(path, track), _package(path, track, "pure")
    assert (native.tracks, native.codecs) == (pure.tracks, pure.codecs)
    assert bytes(native.init) == bytes(pure.init)
    assert len(native.segments) == len(pure.segments)
    for k, (a, b) in enumerate(zip(native.segments, pure.segments)):
        assert (a.fragment_index, a.start_ns, a.duration_ns) == (b.fragment_index, b.start_ns, b.duration_ns), k
        assert bytes(a) == bytes(b), f"segment {k} differs"
        assert b"".join(a.parts()) == bytes(a) == b"".join(b.parts())
        # The media is referenced, not copied: all but the generated header pieces are input.
        assert len(a.parts()) >= 2


# --- (1) and (2): ffprobe, ffmpeg decode, framemd5 ----------------------------------------

def _run_ffmpeg_null(path: Path) -> tools.ToolRun:
    return tools._run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-f", "null", "-"], 120)


def _crosscheck(path: Path, track: int | None, tmp_path: Path, decode: bool) -> None:
    package, info, samples = _validated(path, track)
    out = tmp_path / "out.mp4"
    out.write_bytes(bytes(package))
    has_video = any(h == b"vide" for h in info.handlers.values())
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        probe = pool.submit(tools.ffprobe_packets, out)
        streams = pool.submit(tools.ffprobe_streams, out) if decode else None
        null = pool.submit(_run_ffmpeg_null, out) if decode else None
        ours = pool.submit(tools.decoded_video_md5s, out) if decode and has_video else None
        source = pool.submit(tools.decoded_video_md5s, path) if decode and has_video else None
        probe = probe.result()
        if null is not None:
            run = null.result()
            assert run.returncode == 0 and not run.stderr.strip(), f"ffmpeg decode: {run.stderr[-2000:]}"
        if ours is not None:
            assert ours.result() == source.result(), "decoded pictures differ from the source MKV's"
        if streams is not None:  # codec parameters: the picture size reached the decoder
            for stream, t in zip(streams.result(), package.tracks):
                if info.handlers[t] == b"vide":
                    assert (stream["width"], stream["height"]) != (0, 0)
    assert probe.ok, probe.stderr
    expected = _expected(path, package.tracks, info.timescales)
    # ffprobe cannot label MP4 streams with Matroska numbers: stream i is trak i.
    assert len(probe.streams) == len(package.tracks)
    for i, t in enumerate(package.tracks):
        stream = sorted(probe.streams, key=lambda st: int(st["index"]))[i]
        scale = info.timescales[t]
        assert stream["time_base"] == f"1/{scale}"
        packets = probe.get(i + 1, [])
        got, want, written = [p.pts_ns for p in packets], expected[t], samples[t]
        assert len(packets) == len(want), f"track {t}: ffprobe sees {len(packets)} frames, input has {len(want)}"
        assert [p.size for p in packets] == [len(w[2]) for w in want]
        assert [p.dts_ns for p in packets] == [s.dts * 10**9 // scale for s, _ in written], f"track {t}: dts"
        shifted = [(w[0] + shift) * 10**9 // scale for (_, shift), w in zip(written, want)]
        assert got == shifted, f"track {t}: presentation times differ"
        if info.handlers[t] == b"vide":
            assert [p.key for p in packets] == [w[1] for w in want], f"track {t}: keyframes differ"
        else:
            assert all(p.key for p in packets)  # FFmpeg's view of audio, whatever the flags say
        entry = info.entries[t]
        assert stream["codec_name"] == {b"avc1": "h264", b"hvc1": "hevc", b"mp4a": "aac", b"alaw": "pcm_alaw",
                                        b"ulaw": "pcm_mulaw"}[entry]


@pytest.mark.crosscheck
@pytest.mark.parametrize("path, track", INPUTS)
def test_ffprobe_and_ffmpeg_agree(path, track, tmp_path):
    tools.require_tool("ffprobe", "fMP4 output against ffprobe")
    tools.require_tool("ffmpeg", "that fMP4 output decodes")
    _data(path)
    _crosscheck(path, track, tmp_path, decode=True)


# --- (5) one track at a time --------------------------------------------------------------

def _two_track_inputs() -> list:
    out = []
    for p in INPUTS:
        path, track = p.values
        if track is None and ("aac" in path.name or "alaw" in path.name or "mulaw" in path.name
                              or "sample-mkv-file" in path.name or "vogels_" in path.name):
            out.append(pytest.param(path, id=p.id))
    return out


@pytest.mark.crosscheck
@pytest.mark.parametrize("path", _two_track_inputs())
def test_per_track_segments(path, tmp_path):
    whole = _package(path, None)
    assert len(whole.tracks) == 2
    for t in whole.tracks:
        single = _package(path, t)
        assert single.tracks == [t] and single.codecs == [whole.codecs[whole.tracks.index(t)]]
        pure = _package(path, t, "pure")
        assert bytes(single) == bytes(pure)
        info, per_track = validate(bytes(single.init), [bytes(s) for s in single.segments])
        assert info.track_ids == [t] and b"cmfc" in info.brands
        for seg in single.segments:
            assert len(boxes.find(boxes.parse(bytes(seg)), "moof/traf")) == 1
        if tools.have_tool("ffprobe"):
            (tmp_path / f"track{t}").mkdir()
            _crosscheck(path, t, tmp_path / f"track{t}", decode=False)


# --- (6) golden files ---------------------------------------------------------------------

@pytest.mark.parametrize("name", GOLDEN_FIXTURES)
def test_golden(name, update_golden):
    package = _package(tools.VALID_DIR / name, None)
    folder = GOLDEN / ("fmp4_" + name.removesuffix(".mkv"))
    outputs = {"init.mp4": bytes(package.init), "seg_0001.m4s": bytes(package.segments[0])}
    if update_golden:
        folder.mkdir(parents=True, exist_ok=True)
    for file, data in outputs.items():
        dump_file = folder / (file.rsplit(".", 1)[0] + ".dump.txt")
        text = boxes.dump(data, fields=fields) + "\n"
        if update_golden:
            (folder / file).write_bytes(data)
            dump_file.write_text(text)
            continue
        assert dump_file.is_file(), f"no golden {dump_file}: run pytest --update-golden"
        want = dump_file.read_text()
        if text != want:
            diff = "".join(difflib.unified_diff(want.splitlines(True), text.splitlines(True), str(dump_file), "now"))
            pytest.fail(f"{file} differs from the golden dump:\n{diff}")
        assert data == (folder / file).read_bytes(), f"{file}: same dump, different bytes"


# --- (7) errors ---------------------------------------------------------------------------

CODEC_PRIVATE = 0x63A2


def _one_track_mkv(codec_id: str, codec_private: bytes | None, track_type: int = 1) -> bytes:
    entry = (synth.uint(synth.TRACK_NUMBER, 1) + synth.uint(synth.TRACK_TYPE, track_type)
             + synth.text(synth.CODEC_ID, codec_id)
             + (synth.element(CODEC_PRIVATE, codec_private) if codec_private is not None else b""))
    cluster = synth.simple_cluster(0, [(1, 0, True, b"\x00\x00\x00\x02\x09\x10")], known=True)
    return (synth.element(synth.EBML, synth.text(synth.DOC_TYPE, "matroska"))
            + synth.element(synth.SEGMENT, synth.element(synth.TRACKS, synth.element(synth.TRACK_ENTRY, entry))
                            + cluster))


def _raises_same(data: bytes, cls: type, detail: str, **kwargs) -> MediaError:
    errors = []
    for backend in ("native", "pure"):
        with pytest.raises(cls) as caught:
            to_fmp4(data, backend=backend, **kwargs)
        errors.append(caught.value)
    assert errors[0] == errors[1], errors  # same class, detail, offset and path
    assert errors[0].detail == detail
    return errors[0]


def test_missing_codec_private():
    data = _one_track_mkv("V_MPEG4/ISO/AVC", None)
    _raises_same(data, MissingCodecPrivateError, "no CodecPrivate for V_MPEG4/ISO/AVC")


def test_garbage_avcc():
    data = _one_track_mkv("V_MPEG4/ISO/AVC", b"\x02garbage")
    error = _raises_same(data, InvalidCodecPrivateError, "avcC configurationVersion is not 1")
    assert data[error.offset:error.offset + 8] == b"\x02garbage"  # at the codec private


def test_truncated_avcc():
    data = _one_track_mkv("V_MPEG4/ISO/AVC", b"\x01\x64\x00")
    _raises_same(data, InvalidCodecPrivateError, "avcC truncated")


def test_unsupported_codecs():
    _raises_same(_one_track_mkv("V_VP8", None), UnsupportedCodecError, "unsupported codec V_VP8")
    wave_pcm = bytes.fromhex("01000100401f0000803e0000020010000000")  # WAVEFORMATEX, tag 1 (PCM)
    _raises_same(_one_track_mkv("A_MS/ACM", wave_pcm, 2), UnsupportedCodecError,
                 "unsupported codec A_MS/ACM with format tag 0x0001")
    _raises_same(_one_track_mkv("A_MS/ACM", wave_pcm[:6], 2), InvalidCodecPrivateError,
                 "WAVEFORMATEX is 6 bytes, shorter than 14")


def test_unsupported_codec_from_a_libwebm_vp8_file():
    data = _shared("libwebm-testdata/simple_block.webm").read_bytes()
    _raises_same(data, UnsupportedCodecError, "unsupported codec V_VP8")


def test_pcm_is_refused_but_its_video_track_is_written():
    data = (tools.VALID_DIR / PCM_FIXTURE).read_bytes()
    _raises_same(data, UnsupportedCodecError, "unsupported codec A_PCM/INT/LIT")
    assert _package(tools.VALID_DIR / PCM_FIXTURE, 1).codecs == ["avc1.64000b"]


def _unplayable_shared() -> list[str]:
    media = tools.shared_media_dir()
    if media is None:
        return ["(shared media absent)"]  # _shared() skips it loudly
    names = [str(p.relative_to(media)) for p in tools.all_shared_matroska()]
    return [n for n in names if n not in PLAYABLE_SHARED and n != NO_FRAMES_SHARED]


@pytest.mark.parametrize("name", _unplayable_shared())
def test_unplayable_shared_files_are_refused(name):
    """VP8/VP9/AV1/Opus/Vorbis/VfW-MJPEG codecs, no video or audio track, or input the demuxer
    stops on (truncated GetMedia captures, libwebm's invalid/): each must be a MediaError."""
    data = _shared(name).read_bytes()
    with pytest.raises(MediaError) as caught:
        to_fmp4(data)
    assert caught.value.code in ("unsupported_codec", "truncated", "element_overflow", "bad_lacing",
                                 "unsupported_document", "unexpected_element"), caught.value


def test_input_without_frames_gives_an_init_segment_only():
    data = _shared(NO_FRAMES_SHARED).read_bytes()
    native, pure = to_fmp4(data), to_fmp4(data, backend="pure")
    assert native.segments == [] and pure.segments == []
    assert bytes(native.init) == bytes(pure.init)
    assert read_init(bytes(native.init)).entries == {1: b"avc1"}


def test_first_sequence_number():
    data = (tools.VALID_DIR / "h264_aac.mkv").read_bytes()
    for backend in ("native", "pure"):
        package = to_fmp4(data, backend=backend, first_sequence_number=41)
        validate(bytes(package.init), [bytes(s) for s in package.segments], first_sequence_number=41)


def test_codec_strings():
    expected = {"h264_aac.mkv": ["avc1.64000b", "mp4a.40.2"], "h265_aac.mkv": ["hvc1.1.6.L60.90", "mp4a.40.2"],
                "h264_alaw.mkv": ["avc1.64000b", "alaw"], "h264_mulaw.mkv": ["avc1.64000b", "ulaw"]}
    for name, codecs in expected.items():
        assert _package(tools.VALID_DIR / name, None).codecs == codecs
        assert _package(tools.VALID_DIR / name, None, "pure").codecs == codecs


def test_tools_present_or_loudly_skipped():
    tools.require_tool("ffprobe", "fMP4 output against ffprobe")
    tools.require_tool("ffmpeg", "that fMP4 output decodes")
    assert subprocess.run(["ffprobe", "-version"], capture_output=True).returncode == 0
