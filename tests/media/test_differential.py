# SPDX-License-Identifier: Apache-2.0
"""Differential test: the C++ demuxer (``kvsmux._core``) and its pure-Python mirror
(``kvsmux.media.pure.demuxer``) must agree on every input, event for event and error for
error, whether the input comes whole or in chunks of any size.

Inputs: every ``*.mkv``, ``*.webm`` and ``*.hdr`` under ../shared/media (real recordings,
read where they lie) and every file in tests/data/valid and tests/data/invalid.

(a) whole buffer, native vs pure: same events and same error;
(b) pure, fed in random chunks (and byte by byte for small files) = pure whole buffer;
(c) native, fed in the same chunks = native whole buffer; the two feeders also agree call
    by call (events returned, ``buffered``, ``bytes_received``, ``finished``, ``error``);
(d) every frame's payload, resolved through its event's ``data``, is the same in all modes.
"""
from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest

from kvsmux.errors import MediaError, TruncatedInputError
from kvsmux.media import _native as native
from kvsmux.media.pure import demuxer as pure

REPO = Path(__file__).resolve().parents[2]
MEDIA = REPO.parent / "shared" / "media"
DATA = REPO / "tests" / "data"
MEDIA_SUFFIXES = {".mkv", ".webm", ".hdr"}
BYTEWISE_MAX = 50_000     # files below this size are also fed one byte at a time
MAX_CHUNK = 4096


def _inputs() -> list[Path]:
    files = []
    if MEDIA.is_dir():
        files += sorted(p for p in MEDIA.rglob("*") if p.is_file() and p.suffix in MEDIA_SUFFIXES)
    for kind in ("valid", "invalid"):
        folder = DATA / kind
        if folder.is_dir():
            files += sorted(p for p in folder.iterdir() if p.is_file() and p.suffix != ".md")
    return files


def _name(path: Path) -> str:
    for root in (MEDIA, DATA):
        if path.is_relative_to(root):
            return str(path.relative_to(root))
    return path.name


INPUTS = _inputs()
SMALL_INPUTS = [p for p in INPUTS if p.stat().st_size < BYTEWISE_MAX]


def test_shared_media_present():
    if not MEDIA.is_dir():
        pytest.skip(f"NOT TESTING the real recordings: {MEDIA} is absent")
    assert any(p.is_relative_to(MEDIA) for p in INPUTS), f"no *.mkv/*.webm/*.hdr under {MEDIA}"


def test_module_constants_agree():
    assert pure.FRAME_DTYPE == native.FRAME_DTYPE
    assert pure.FRAME_DTYPE.itemsize == native.FRAME_DTYPE.itemsize == 40
    assert pure.DEFAULT_LIMITS == native.DEFAULT_LIMITS


# --- comparison helpers -----------------------------------------------------------------

def assert_same(a, b, where: str = "") -> None:
    """Deep equality with exact types: dicts by key, sequences by item, numpy arrays by
    dtype and content (and both read-only), floats with NaN equal to NaN, exceptions with ==."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and isinstance(b, np.ndarray), f"{where}: {type(a)} vs {type(b)}"
        assert a.dtype == b.dtype, f"{where}: dtype {a.dtype} vs {b.dtype}"
        assert a.shape == b.shape, f"{where}: shape {a.shape} vs {b.shape}"
        assert not a.flags.writeable and not b.flags.writeable, f"{where}: frame table is writeable"
        if not np.array_equal(a, b):
            bad = next(i for i in range(len(a)) if a[i] != b[i])
            pytest.fail(f"{where}[{bad}]: {a[bad]} vs {b[bad]}")
        return
    assert type(a) is type(b), f"{where}: {type(a).__name__} {a!r} vs {type(b).__name__} {b!r}"
    if isinstance(a, BaseException):
        same = a == b if isinstance(a, MediaError) else a.args == b.args
        assert same, f"{where}: {a!r} (path {getattr(a, 'path', '')!r}) vs {b!r} (path {getattr(b, 'path', '')!r})"
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), f"{where}: keys {sorted(a)} vs {sorted(b)}"
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{where}: {len(a)} items vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), f"{where}: nan vs {b!r}"
    else:
        assert a == b, f"{where}: {a!r} vs {b!r}"


def assert_same_events(a: list, b: list, where: str) -> None:
    """Events equal in kind and value; their ``data`` objects are checked by the callers."""
    assert [e[0] for e in a] == [e[0] for e in b], f"{where}: event kinds differ"
    for i, (x, y) in enumerate(zip(a, b)):
        assert_same(x[1], y[1], f"{where}[{i}] {x[0]}")


def frame_payloads(events: list) -> list[bytes]:
    """The bytes of every frame, resolved through its fragment's ``data``: the input for a
    whole-buffer parse, a Block (``_core.Block`` or ``pure.Block``) for a feed."""
    out = []
    for kind, value, data in events:
        if kind != "fragment":
            continue
        if isinstance(data, pure.Block):
            base, buf = data.offset, data.data
        elif isinstance(data, (bytes, bytearray)):
            base, buf = 0, data
        else:
            base, buf = data.offset, memoryview(data)
        for frame in value["frames"]:
            start = int(frame["offset"]) - base
            end = start + int(frame["size"])
            assert 0 <= start <= end <= len(buf), f"fragment {value['index']}: frame outside its data"
            out.append(bytes(buf[start:end]))
    return out


# --- running the demuxers ---------------------------------------------------------------

def whole(module, data: bytes, limits: dict | None = None) -> tuple[list, MediaError | None]:
    """(events, error) of a whole-buffer parse."""
    events, error = module.demux(data, limits)
    for kind, _, event_data in events:  # whole-buffer events hold the input itself
        assert event_data is (None if kind == "tags" else data)
    return events, error


def feed_both(data: bytes, sizes: list[int], limits: dict | None = None) -> tuple[list, list, MediaError | None]:
    """Feeds native and pure demuxers the same chunks, then closes them; checks they agree
    after every call. Returns (native events, pure events, error)."""
    demuxers = native.Demuxer(limits), pure.Demuxer(limits)
    collected: tuple[list, list] = ([], [])
    pos = 0
    for step, size in enumerate(sizes + [None]):
        if size is None:
            got = [d.close() for d in demuxers]
            where = f"call {step} (close)"
        else:
            chunk = data[pos:pos + size]
            pos += size
            got = [d.feed(chunk) for d in demuxers]
            where = f"call {step} (feed {len(chunk)} bytes, to byte {min(pos, len(data))})"
        assert_same_events(got[0], got[1], where)
        for events, out in zip(got, collected):
            for kind, _, event_data in events:  # fed events hold a Block of the input
                assert (event_data is None) == (kind == "tags"), f"{where}: {kind} event data {event_data!r}"
            out.extend(events)
        for name in ("bytes_received", "buffered", "finished", "error"):
            assert_same(getattr(demuxers[0], name), getattr(demuxers[1], name), f"{where}: {name}")
    assert pos >= len(data)
    return collected[0], collected[1], demuxers[0].error


def random_sizes(rng: random.Random, total: int, max_chunk: int = MAX_CHUNK) -> list[int]:
    """Chunk sizes in 1..max_chunk that cover ``total`` bytes."""
    sizes = []
    while total > 0:
        sizes.append(rng.randint(1, max_chunk))
        total -= sizes[-1]
    return sizes


def check_native_vs_pure(data: bytes, sizes: list[int], where: str,
                         limits: dict | None = None) -> tuple[list, MediaError | None]:
    """(a)-(d) for one input fed in chunks of ``sizes``. A feed equals its whole parse
    except under a work limit, which counts against the bytes received so far. Returns
    the native whole-buffer result."""
    native_whole, pure_whole = whole(native, data, limits), whole(pure, data, limits)
    native_fed, pure_fed, fed_error = feed_both(data, sizes, limits)
    assert_same_events(native_whole[0], pure_whole[0], f"{where} whole events")             # (a)
    assert_same(native_whole[1], pure_whole[1], f"{where} whole error")
    expected = frame_payloads(native_whole[0])                                               # (d)
    assert frame_payloads(pure_whole[0]) == expected
    if "work_base" in (limits or {}):
        return native_whole
    assert_same_events(pure_fed, pure_whole[0], f"{where} pure feed vs pure whole")          # (b)
    assert_same_events(native_fed, native_whole[0], f"{where} native feed vs native whole")  # (c)
    assert_same(fed_error, native_whole[1], f"{where} feed error vs whole error")
    assert frame_payloads(native_fed) == expected                                            # (d)
    assert frame_payloads(pure_fed) == expected
    return native_whole


# --- the tests --------------------------------------------------------------------------

@pytest.mark.parametrize("path", INPUTS, ids=_name)
def test_whole_buffer_native_vs_pure(path: Path):
    data = path.read_bytes()
    (native_events, native_error), (pure_events, pure_error) = whole(native, data), whole(pure, data)
    assert_same_events(native_events, pure_events, "events")                   # (a)
    assert_same(native_error, pure_error, "error")
    assert frame_payloads(native_events) == frame_payloads(pure_events)        # (d)


@pytest.mark.parametrize("path", INPUTS, ids=_name)
def test_feed_random_chunks(path: Path):
    data = path.read_bytes()
    check_native_vs_pure(data, random_sizes(random.Random(path.name), len(data)), _name(path))


@pytest.mark.parametrize("path", SMALL_INPUTS, ids=_name)
def test_feed_one_byte_chunks(path: Path):
    data = path.read_bytes()
    check_native_vs_pure(data, [1] * len(data), _name(path))


def test_feed_accepts_any_buffer():
    """Chunks may be bytes, bytearray or memoryview; whole-buffer input any of these too."""
    path = min(SMALL_INPUTS, key=lambda p: p.stat().st_size, default=None)
    if path is None:
        pytest.skip("no input files")
    data = path.read_bytes()
    expected, error = pure.demux(data)
    for wrap in (bytearray, memoryview):
        events, got_error = pure.demux(wrap(data))
        assert_same_events(events, expected, wrap.__name__)
        assert_same(got_error, error, wrap.__name__)
        d = pure.Demuxer()
        fed = d.feed(wrap(data)) + d.close()
        assert_same_events(fed, expected, f"feed {wrap.__name__}")


def test_limits_are_checked_like_native():
    for module in (native, pure):
        with pytest.raises(KeyError, match="unknown demuxer limit: nope"):
            module.Demuxer({"nope": 1})
        with pytest.raises(KeyError):
            module.demux(b"", {"max_tracks": 1, "nope": 1})
        for bad in (-1, 1 << 32, 1.5, "x"):
            with pytest.raises(RuntimeError):
                module.Demuxer({"max_tracks": bad})


@pytest.mark.parametrize("limits", [
    {"max_work_per_byte": 0, "work_base": 200},
    {"max_element_size": 1000},
    {"max_cluster_size": 50_000},
    {"max_frames_per_cluster": 10},
    {"max_tracks": 1},
    {"max_lace_count": 2},
    {"max_depth": 1},
], ids=lambda d: ",".join(d))
def test_limits_native_vs_pure(limits: dict):
    """Each limit gives the same result (usually the same LimitExceededError) in both."""
    checked = 0
    for path in INPUTS:
        data = path.read_bytes()
        if len(data) > 400_000:
            continue
        native_events, native_error = whole(native, data, limits)
        pure_events, pure_error = whole(pure, data, limits)
        assert_same_events(native_events, pure_events, f"{_name(path)} events")
        assert_same(native_error, pure_error, f"{_name(path)} error")
        checked += 1
    if not checked:
        pytest.skip("no input files")


MUTANT_INPUT_MAX = 60_000
MUTANTS_PER_INPUT = 25


def mutate(data: bytes, frame_offsets: list[int], rng: random.Random) -> bytes:
    """One small corruption: overwritten bytes (anywhere, or in the block header and lace
    sizes just before a frame), a cut, or bytes inserted or removed."""
    buf = bytearray(data)
    kind = rng.randrange(5)
    at = rng.randrange(len(buf) + 1)
    if kind in (0, 4):
        for _ in range(rng.randint(1, 3)):
            if kind == 4 and frame_offsets:
                at = max(0, rng.choice(frame_offsets) - rng.randint(1, 8))
            else:
                at = rng.randrange(len(buf)) if buf else 0
            if at < len(buf):
                buf[at] = rng.choice((0x00, 0x01, 0x7F, 0x80, 0xFF, rng.randrange(256)))
    elif kind == 1:
        del buf[at:]
    elif kind == 2:
        buf[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
    else:
        del buf[at:at + rng.randint(1, 4)]
    return bytes(buf)


@pytest.mark.parametrize("path", [p for p in INPUTS if p.stat().st_size < MUTANT_INPUT_MAX], ids=_name)
def test_mutants_native_vs_pure(path: Path):
    """Corrupted copies of the small inputs reach the error paths: native and pure must
    still agree, whole and fed in small random chunks."""
    rng = random.Random(f"mutants {path.name}")
    original = path.read_bytes()
    events, _ = whole(native, original)
    frame_offsets = [int(o) for kind, value, _ in events if kind == "fragment" for o in value["frames"]["offset"]]
    for n in range(MUTANTS_PER_INPUT):
        data = mutate(original, frame_offsets, rng)
        check_native_vs_pure(data, random_sizes(rng, len(data), 256), f"mutant {n}")


# --- hand-made inputs, one per branch of the demuxer -------------------------------------

def el(element_id: int, *payload: bytes, size: int | None = None, unknown: bool = False) -> bytes:
    """An EBML element: ID as written, a minimal size field (or all ones), the payload."""
    data = b"".join(payload)
    if unknown:
        size_field = b"\x01" + b"\xff" * 7
    else:
        n = len(data) if size is None else size
        width = next(w for w in range(1, 9) if n < (1 << (7 * w)) - 1)
        size_field = ((1 << (7 * width)) | n).to_bytes(width, "big")
    return element_id.to_bytes((element_id.bit_length() + 7) // 8, "big") + size_field + data


def uint(value: int, width: int = 0) -> bytes:
    return value.to_bytes(width or max(1, (value.bit_length() + 7) // 8), "big")


EBML_HEAD = el(0x1A45DFA3, el(0x4282, b"webm"), el(0x4287, b"\x04"), el(0x4285, b"\x02"))
VIDEO_TRACK = el(0xAE, el(0xD7, b"\x01"), el(0x73C5, b"\x07"), el(0x83, b"\x01"), el(0x86, b"V_VP8"),
                 el(0xE0, el(0xB0, uint(320)), el(0xBA, uint(240))))
AUDIO_TRACK = el(0xAE, el(0xD7, b"\x02"), el(0x83, b"\x02"), el(0x86, b"A_OPUS"), el(0x23E383, uint(20_000_000)),
                 el(0xE1, el(0xB5, bytes.fromhex("47bb8000")), el(0x9F, b"\x02")))
TRACKS = el(0x1654AE6B, VIDEO_TRACK, AUDIO_TRACK)


def doc(*body: bytes, head: bytes = EBML_HEAD, tracks: bytes = TRACKS, unknown: bool = True) -> bytes:
    return head + el(0x18538067, tracks, *body, unknown=unknown)


def cluster(*body: bytes, timestamp: int | None = 0, unknown: bool = False) -> bytes:
    ts = () if timestamp is None else (el(0xE7, uint(timestamp)),)
    return el(0x1F43B675, *ts, *body, unknown=unknown)


def sblock(track: int = 1, rel: int = 0, flags: int = 0x80, rest: bytes = b"frame") -> bytes:
    return el(0xA3, bytes([0x80 | track]) + rel.to_bytes(2, "big", signed=True) + bytes([flags]) + rest)


def group(*children: bytes) -> bytes:
    return el(0xA0, *children)


def block(track: int = 1, flags: int = 0, rest: bytes = b"frame") -> bytes:
    return el(0xA1, bytes([0x80 | track, 0, 0, flags]) + rest)


def tags(*simple: bytes) -> bytes:
    return el(0x1254C367, el(0x7373, el(0x63C0), *simple))


def simple_tag(name: bytes, *children: bytes) -> bytes:
    return el(0x67C8, el(0x45A3, name), *children)


HANDMADE = {  # name: (input, limits, expected error class name or None)
    "ok": (doc(cluster(sblock(), sblock(2, 5, 0x81))), None, None),
    "known_sizes": (doc(cluster(sblock()), tags(simple_tag(b"A", el(0x4487, b"b"))), unknown=False), None, None),
    "two_documents": (doc(cluster(sblock())) + doc(cluster(sblock(), timestamp=9)), None, None),
    "xiph": (doc(cluster(sblock(flags=0x82, rest=b"\x02\xff\x0a\x05" + bytes(300)))), None, None),
    "xiph_short": (doc(cluster(sblock(flags=0x82, rest=b"\x02\xff"))), None, "LacingError"),
    "xiph_too_big": (doc(cluster(sblock(flags=0x82, rest=b"\x01\x40abc"))), None, "LacingError"),
    "ebml_lacing": (doc(cluster(sblock(flags=0x86, rest=b"\x02\x85\xc1" + bytes(20)))), None, None),
    "ebml_lacing_in_group": (doc(cluster(group(el(0x9B, b"\x07"),
                                               block(flags=0x06, rest=b"\x02\x85\xc1" + bytes(20))))), None, None),
    "ebml_lacing_default_duration": (doc(cluster(sblock(2, flags=0x06, rest=b"\x03\x82\xbf\xbf" + bytes(9)))),
                                     None, None),
    "ebml_lacing_big": (doc(cluster(sblock(flags=0x06, rest=b"\x01\xfe" + bytes(5)))), None, "LacingError"),
    "ebml_lacing_negative": (doc(cluster(sblock(flags=0x06, rest=b"\x02\x82\xb5" + bytes(5)))), None, "LacingError"),
    "ebml_lacing_sum": (doc(cluster(sblock(flags=0x06, rest=b"\x02\x84\xbf" + bytes(6)))), None, "LacingError"),
    "ebml_lacing_short": (doc(cluster(sblock(flags=0x06, rest=b"\x01\x40"))), None, "LacingError"),
    "ebml_lacing_zero": (doc(cluster(sblock(flags=0x06, rest=b"\x01\x00\x00"))), None, "LacingError"),
    "fixed_lacing": (doc(cluster(sblock(flags=0x84, rest=b"\x02" + bytes(9)))), None, None),
    "fixed_lacing_bad": (doc(cluster(sblock(flags=0x84, rest=b"\x01" + bytes(5)))), None, "LacingError"),
    "lace_count_missing": (doc(cluster(sblock(flags=0x82, rest=b""))), None, "ElementOverflowError"),
    "too_many_laces": (doc(cluster(sblock(flags=0x84, rest=b"\x03" + bytes(8)))), {"max_lace_count": 2},
                       "LimitExceededError"),
    "block_header_short": (doc(cluster(el(0xA3, b"\x81\x00"))), None, "ElementOverflowError"),
    "track_vint_short": (doc(cluster(el(0xA3, b"\x40"))), None, "ElementOverflowError"),
    "track_vint_zero": (doc(cluster(el(0xA3, b"\x00\x81"))), None, "InvalidVintError"),
    "unknown_track": (doc(cluster(sblock(track=3))), None, "UnknownTrackError"),
    "block_before_timestamp": (doc(cluster(sblock(), timestamp=None)), None, "MissingElementError"),
    "timestamp_9_bytes": (doc(cluster(el(0xE7, bytes(9)))), None, "InvalidValueError"),
    "timestamp_overflow": (doc(cluster(sblock(), timestamp=1 << 60)), None, "InvalidValueError"),
    "timestamp_out_of_range": (doc(el(0x1549A966, el(0x2AD7B1, b"\x01")), cluster(sblock(), timestamp=1 << 62)),
                               None, "InvalidValueError"),
    "pts_overflow": (doc(el(0x1549A966, el(0x2AD7B1, uint(1 << 61))), cluster(sblock(rel=3), timestamp=1)),
                     None, "InvalidValueError"),
    "negative_pts": (doc(cluster(sblock(rel=-5), timestamp=2)), None, None),
    "group": (doc(cluster(group(el(0x9B, b"\x21"), el(0xFB, b"\xfe"), block()), group(block(2, 0x08)))), None, None),
    "group_huge_duration": (doc(cluster(group(el(0x9B, b"\x7f" + b"\xff" * 7), block()),
                                        group(el(0x9B, b"\xff" * 8), block(flags=0x04, rest=b"\x01" + bytes(4))))),
                            None, None),
    "group_two_blocks": (doc(cluster(group(block(), block()))), None, "UnexpectedElementError"),
    "group_no_block": (doc(cluster(group(el(0x9B, b"\x01")))), None, "MissingElementError"),
    "group_bad_duration": (doc(cluster(group(el(0x9B, bytes(9)), block()))), None, "InvalidValueError"),
    "group_bad_block": (doc(cluster(group(block(track=5)))), None, "UnknownTrackError"),
    "group_overflow": (doc(cluster(group(el(0xA1, b"\x81\x00\x00\x80", size=9)))), None, "ElementOverflowError"),
    "duplicate_track": (doc(tracks=el(0x1654AE6B, VIDEO_TRACK, VIDEO_TRACK)), None, "InvalidValueError"),
    "track_without_number": (doc(tracks=el(0x1654AE6B, el(0xAE, el(0x83, b"\x01")))), None, "MissingElementError"),
    "track_type_0": (doc(tracks=el(0x1654AE6B, el(0xAE, el(0xD7, b"\x01"), el(0x83, b"\x00")))), None,
                     "InvalidValueError"),
    "too_many_tracks": (doc(), {"max_tracks": 1}, "LimitExceededError"),
    "bad_pixel_width": (doc(tracks=el(0x1654AE6B, el(0xAE, el(0xD7, b"\x01"), el(0xE0, el(0xB0, bytes(9)))))), None,
                        "InvalidValueError"),
    "bad_sampling_frequency": (doc(tracks=el(0x1654AE6B, el(0xAE, el(0xD7, b"\x01"), el(0xE1, el(0xB5, bytes(3)))))),
                               None, "InvalidValueError"),
    "codec_delay": (doc(tracks=el(0x1654AE6B, el(0xAE, el(0xD7, b"\x01"), el(0x83, b"\x02"), el(0x86, b"A_OPUS"),
                                                 el(0x56AA, uint(6_500_000)), el(0x56BB, uint(80_000_000))))),
                    None, None),
    "bad_codec_delay": (doc(tracks=el(0x1654AE6B, el(0xAE, el(0xD7, b"\x01"), el(0x56AA, bytes(9))))), None,
                        "InvalidValueError"),
    "bad_seek_pre_roll": (doc(tracks=el(0x1654AE6B, el(0xAE, el(0xD7, b"\x01"), el(0x56BB, bytes(9))))), None,
                          "InvalidValueError"),
    "codec_private_missing": (doc(tracks=el(0x1654AE6B, el(0xAE, el(0xD7, b"\x01"), el(0x86, b"V_MPEG4/ISO/AVC")),
                                            el(0xAE, el(0xD7, b"\x02"), el(0x86, b"A_AAC\xff"), el(0x63A2)))),
                              None, None),
    "codec_private_bad": (doc(tracks=el(
        0x1654AE6B,
        el(0xAE, el(0xD7, b"\x01"), el(0x86, b"V_MPEG4/ISO/AVC"), el(0x63A2, b"\x01d")),
        el(0xAE, el(0xD7, b"\x02"), el(0x86, b"V_MPEGH/ISO/HEVC"), el(0x63A2, bytes(5))),
        el(0xAE, el(0xD7, b"\x03"), el(0x86, b"A_AAC/MPEG4/LC"), el(0x63A2, b"\0")))), None, None),
    "codec_private_aac": (doc(tracks=el(0x1654AE6B, el(0xAE, el(0xD7, b"\x01"), el(0x86, b"A_AAC"),
                                                       el(0x63A2, bytes.fromhex("1210"))))), None, None),
    "track_strings": (doc(tracks=el(0x1654AE6B, el(0xAE, el(0xD7, b"\x01"), el(0x536E, b"n\x00\x00"),
                                                   el(0x22B59C, b"fra"), el(0x63A2, b"\x01\x02"),
                                                   el(0xE1, el(0x6264, b"\x10"),
                                                      el(0xB5, bytes.fromhex("40dd4c0000000000")))))),
                      None, None),
    "tags_nested": (doc(tags(simple_tag(b"A", simple_tag(b"B", el(0x4485, b"\x00\x01")), el(0x4487, b"x\x00")))),
                    None, None),
    "tags_too_deep": (doc(tags(simple_tag(b"A", simple_tag(b"B", simple_tag(b"C"))))), {"max_depth": 2},
                      "LimitExceededError"),
    "tags_around_clusters": (doc(tags(simple_tag(b"before")), cluster(sblock()), tags(simple_tag(b"after")),
                                 cluster(sblock(), unknown=True), tags(simple_tag(b"last"))), None, None),
    "tags_overflow": (doc(el(0x1254C367, el(0x7373, el(0x67C8, b"\x45\xa3\x85ab")))), None, "ElementOverflowError"),
    "ebml_read_version": (doc(head=el(0x1A45DFA3, el(0x42F7, b"\x02"))), None, "UnsupportedDocumentError"),
    "doc_type": (doc(head=el(0x1A45DFA3, el(0x4282, b"mp4"))), None, "UnsupportedDocumentError"),
    "doc_type_not_utf8": (doc(head=el(0x1A45DFA3, el(0x4282, b"\xffm\xe2\x82"))), None, "UnsupportedDocumentError"),
    "doc_type_read_version": (doc(head=el(0x1A45DFA3, el(0x4285, b"\x05"))), None, "UnsupportedDocumentError"),
    "max_size_length": (doc(head=el(0x1A45DFA3, el(0x42F3, b"\x00"))), None, "UnsupportedDocumentError"),
    "ebml_unknown_size": (el(0x1A45DFA3, b"", unknown=True), None, "UnknownSizeNotAllowedError"),
    "ebml_only": (EBML_HEAD, None, "TruncatedInputError"),
    "not_ebml": (el(0x1F43B675, b""), None, "UnexpectedElementError"),
    "not_segment": (EBML_HEAD + el(0x1549A966), None, "UnexpectedElementError"),
    "empty": (b"", None, "TruncatedInputError"),
    "reserved_id": (b"\xff\x80", None, "InvalidVintError"),
    "long_id": (b"\x08\x00\x00\x00\x01\x80", None, "InvalidVintError"),
    "header_cut": (EBML_HEAD + b"\x18\x53", None, "TruncatedInputError"),
    "timestamp_scale_0": (doc(el(0x1549A966, el(0x2AD7B1, b""))), None, "InvalidValueError"),
    "info_values": (doc(el(0x1549A966, el(0x4489, bytes.fromhex("45fa0000")), el(0x4D80, b"mux\x00"),
                           el(0x5741, b"app"), el(0x7BA9, b"title"))), None, None),
    "negative_duration": (doc(el(0x1549A966, el(0x4489, bytes.fromhex("bff0000000000000")))), None, None),
    "nan_duration": (doc(el(0x1549A966, el(0x4489, bytes.fromhex("7ff8000000000000")))), None, None),
    "bad_duration": (doc(el(0x1549A966, el(0x4489, bytes(3)))), None, "InvalidValueError"),
    "not_utf8": (doc(el(0x1549A966, el(0x4D80, b"\xc3(")), tags(simple_tag(b"\xff", el(0x4487, b"a\xe2\x82"))),
                  tracks=el(0x1654AE6B, el(0xAE, el(0xD7, b"\x01"), el(0x86, b"V_\x80"), el(0x536E, b"\xf0\x9f")))),
                 None, None),
    "info_unknown_size": (doc(el(0x1549A966, b"", unknown=True)), None, "UnknownSizeNotAllowedError"),
    "info_after_cluster": (doc(cluster(sblock()), el(0x1549A966)), None, "UnexpectedElementError"),
    "segment_in_segment": (doc(el(0x18538067)), None, "UnexpectedElementError"),
    "ebml_in_known_segment": (doc(EBML_HEAD, unknown=False), None, "UnexpectedElementError"),
    "known_segment_cut": (doc(cluster(sblock()), unknown=False)[:-3], None, "TruncatedInputError"),
    "cluster_past_segment": (EBML_HEAD + el(0x18538067, TRACKS, cluster(sblock())[:-2]) + b"xx", None,
                             "ElementOverflowError"),
    "void_past_segment": (EBML_HEAD + el(0x18538067, TRACKS, el(0xEC, b"12345")[:-2]) + b"45", None,
                          "ElementOverflowError"),
    "child_directly_in_segment": (doc(el(0xAE)), None, "UnexpectedElementError"),
    "skipped_elements": (doc(el(0x114D9B74, bytes(10)), el(0xEC, bytes(3)), el(0x1C53BB6B, bytes(5)),
                             el(0x4321, b"?"), cluster(el(0xA7, b"\x01"), el(0xBF, bytes(4)), sblock())), None, None),
    "skipped_cut": (doc(cluster(sblock()), el(0x1C53BB6B, bytes(40)))[:-20], None, "TruncatedInputError"),
    "skipped_cut_before_cluster": (doc(el(0x1C53BB6B, bytes(40)))[:-20], None, "TruncatedInputError"),
    "block_cut": (doc(cluster(sblock(), sblock(rest=bytes(50))))[:-10], None, "TruncatedInputError"),
    "unknown_cluster_ends": (doc(cluster(sblock(), unknown=True), cluster(sblock(), unknown=True),
                                 el(0x1C53BB6B, bytes(4))), None, None),
    "in_cluster_unexpected": (doc(cluster(sblock(), el(0xAE))), None, "UnexpectedElementError"),
    "sibling_in_known_cluster": (doc(cluster(sblock(), el(0x1C53BB6B))), None, "UnexpectedElementError"),
    "cluster_child_unknown_size": (doc(cluster(el(0xA0, b"", unknown=True))), None, "UnknownSizeNotAllowedError"),
    "cluster_child_overflow": (doc(el(0x1F43B675, el(0xE7, b"\x00"), sblock(rest=bytes(20)), size=10)), None,
                               "ElementOverflowError"),
    "cluster_limit": (doc(cluster(sblock(rest=bytes(300)))), {"max_cluster_size": 100}, "LimitExceededError"),
    "unknown_cluster_limit": (doc(cluster(sblock(rest=bytes(300)), unknown=True)), {"max_cluster_size": 100},
                              "LimitExceededError"),
    "element_limit": (doc(cluster(sblock(rest=bytes(300)))), {"max_element_size": 100}, "LimitExceededError"),
    "frames_limit": (doc(cluster(sblock(), sblock(), sblock())), {"max_frames_per_cluster": 2}, "LimitExceededError"),
    "work_limit": (doc(cluster(*[sblock()] * 50)), {"work_base": 10, "max_work_per_byte": 0}, "LimitExceededError"),
    "garbage_after_document": (doc(cluster(sblock()), unknown=False) + b"\x00", None, "InvalidVintError"),
}


@pytest.mark.parametrize("name", list(HANDMADE))
def test_handmade_native_vs_pure(name: str):
    data, limits, expected = HANDMADE[name]
    sizes = [1] * len(data)
    _, error = check_native_vs_pure(data, sizes, name, limits)
    assert type(error).__name__ == (expected or "NoneType"), f"{name}: {error!r}"
    check_native_vs_pure(data, random_sizes(random.Random(name), len(data), 7), f"{name} (7-byte chunks)", limits)


def test_handmade_track_fields():
    """The hand-made tracks above read as intended, so the comparisons are not of defaults:
    CodecDelay and SeekPreRoll, and every kind of codec summary and codec error."""
    def tracks(name: str, module=pure) -> list[dict]:
        events, _ = module.demux(HANDMADE[name][0])
        return [t for kind, value, _ in events if kind == "header" for t in value["tracks"]]

    opus, = tracks("codec_delay")
    assert (opus["codec_delay_ns"], opus["seek_pre_roll_ns"]) == (6_500_000, 80_000_000)
    keys = list(opus)
    assert keys == list(tracks("codec_delay", native)[0])  # the same keys in the same order
    assert keys[keys.index("default_duration_ns"):][:3] == ["default_duration_ns", "codec_delay_ns", "seek_pre_roll_ns"]
    assert [type(t["codec_error"]).__name__ for t in tracks("codec_private_missing")] == \
        ["MissingCodecPrivateError"] * 2
    assert tracks("codec_private_missing")[1]["codec_error"].detail == "no CodecPrivate for A_AAC\ufffd"
    assert [type(t["codec_error"]).__name__ for t in tracks("codec_private_bad")] == ["InvalidCodecPrivateError"] * 3
    aac, = tracks("codec_private_aac")
    assert aac["codec_error"] is None
    assert aac["codec"] == {"codec_string": "mp4a.40.2", "profile": 2, "level": 0, "width": 0, "height": 0,
                            "sample_rate": 44100, "channels": 2, "nal_length_size": 0}


def test_feed_reports_truncated_skipped_element():
    """A skipped element (here Void) that runs past the end of the input is a truncation,
    whole or fed: the feeder's window must never claim bytes that were not received
    (regression: StreamDemuxer::run once moved it to retain_from(), past the input end)."""
    data = (bytes.fromhex("1A45DFA3 80")           # EBML header, empty: DocType matroska
            + bytes.fromhex("18538067 FF")         # Segment, unknown size
            + bytes.fromhex("1F43B675 83 E78100")  # Cluster of 3 bytes: Timestamp 0
            + bytes.fromhex("EC 8A 0000"))         # Void of 10 bytes, 2 present
    for module in (native, pure):
        _, whole_error = module.demux(data)
        assert whole_error == TruncatedInputError("Void of 10 bytes ends at 30, input ends at 22", offset=18,
                                                  path="Segment/Void")
        d = module.Demuxer()
        d.feed(data)
        d.close()
        assert d.error == whole_error
