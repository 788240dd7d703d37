# SPDX-License-Identifier: Apache-2.0
"""Small exact tests of the pure-Python EBML reader (kvsmux.media.pure.ebml), with inline
annotated bytes: RFC 8794 §4 VINTs, §5 element IDs, §6 sizes, §7 values; and of the parts
of the pure demuxer that the differential test reaches only through whole files: the C++
integer helpers (pure.types), TrackEntry fields and the codec summary (pure.headers)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from kvsmux.errors import (
    ElementOverflowError,
    InvalidValueError,
    InvalidVintError,
    MissingCodecPrivateError,
    TruncatedInputError,
    UnknownSizeNotAllowedError,
)
from kvsmux.media.pure import ebml, headers, types
from kvsmux.media.pure.ebml import UNKNOWN_SIZE, Reader

ELEMENTS_H = Path(__file__).resolve().parents[2] / "cpp" / "include" / "kvsmux" / "ebml" / "elements.h"
AT = 1000  # the absolute offset the test bytes start at, so offsets in errors are checked


def reader(data: bytes) -> Reader:
    return Reader(data, 0, len(data), AT)


# --- RFC 8794 §6.2: all-ones VINT data of any length is "unknown size" -------------------

ALL_ONES_SIZES = [
    bytes([0xFF]),                 # 1xxx xxxx: width 1, data 0x7F
    bytes([0x7F, 0xFF]),           # 01xx xxxx: width 2, data 0x3FFF
    bytes([0x3F, 0xFF, 0xFF]),     # 001x xxxx: width 3
    bytes([0x1F]) + b"\xFF" * 3,   # 0001 xxxx: width 4
    bytes([0x0F]) + b"\xFF" * 4,   # 0000 1xxx: width 5
    bytes([0x07]) + b"\xFF" * 5,   # 0000 01xx: width 6
    bytes([0x03]) + b"\xFF" * 6,   # 0000 001x: width 7
    bytes([0x01]) + b"\xFF" * 7,   # 0000 0001: width 8, data 2**56 - 1
]


@pytest.mark.parametrize("size_field", ALL_ONES_SIZES, ids=lambda b: f"width{len(b)}")
def test_all_ones_size_is_unknown_at_every_width(size_field: bytes):
    r = reader(size_field)
    assert ebml.read_element_size(r) == UNKNOWN_SIZE
    assert r.offset() == AT + len(size_field)
    # As a plain VINT (a lace size, a track number) the value is returned as it is.
    assert ebml.read_vint(reader(size_field)) == ((1 << (7 * len(size_field))) - 1, len(size_field))


@pytest.mark.parametrize("size_field", ALL_ONES_SIZES, ids=lambda b: f"width{len(b)}")
def test_one_less_than_all_ones_is_a_known_size(size_field: bytes):
    known = size_field[:-1] + bytes([size_field[-1] - 1])  # last data bit cleared
    assert ebml.read_element_size(reader(known)) == (1 << (7 * len(size_field))) - 2


def test_sizes_of_every_width():
    assert ebml.read_element_size(reader(bytes([0x80]))) == 0                   # 1000 0000: 0
    assert ebml.read_element_size(reader(bytes([0x81]))) == 1                   # 1000 0001: 1
    assert ebml.read_element_size(reader(bytes([0x40, 0x01]))) == 1             # 0100 0000 0000 0001: 1, width 2
    assert ebml.read_element_size(reader(bytes([0x42, 0x34]))) == 0x234
    assert ebml.read_element_size(reader(bytes([0x01, 0, 0, 0, 0, 0, 0x01, 0x00]))) == 256  # width 8


# --- RFC 8794 §4: 0x00 is never a valid first VINT byte ----------------------------------

def test_zero_first_byte_is_invalid():
    with pytest.raises(InvalidVintError) as e:
        ebml.read_vint(reader(bytes([0x00, 0x81])))            # 0000 0000: no VINT_MARKER in 8 bits
    assert (e.value.detail, e.value.offset, e.value.path) == ("VINT first byte 0x00", AT, "")
    with pytest.raises(InvalidVintError) as e:
        ebml.read_element_size(reader(bytes([0x00])))
    assert e.value.detail == "VINT first byte 0x00"
    with pytest.raises(InvalidVintError) as e:
        ebml.read_element_id(reader(bytes([0x00, 0x42, 0x86])))
    assert (e.value.detail, e.value.offset) == ("element ID first byte 0x00", AT)


def test_short_input_is_truncated_not_invalid():
    with pytest.raises(TruncatedInputError) as e:
        ebml.read_vint(reader(b""))
    assert (e.value.detail, e.value.offset) == ("need 1 byte", AT)
    with pytest.raises(TruncatedInputError) as e:
        ebml.read_vint(reader(bytes([0x40])))                   # 01xx xxxx: width 2, 1 byte present
    assert (e.value.detail, e.value.offset) == ("need 2 bytes, have 1", AT)
    with pytest.raises(TruncatedInputError) as e:
        ebml.read_element_id(reader(bytes([0x1A, 0x45, 0xDF])))  # EBML ID, 3 of 4 bytes
    assert (e.value.detail, e.value.offset) == ("need 4 bytes, have 3", AT)


# --- RFC 8794 §5: element IDs --------------------------------------------------------------

@pytest.mark.parametrize("element_id", [
    bytes([0x80]),                    # 1000 0000: width 1, data all zeros
    bytes([0xFF]),                    # 1111 1111: width 1, data all ones
    bytes([0x40, 0x00]),              # width 2, all zeros
    bytes([0x7F, 0xFF]),              # width 2, all ones
    bytes([0x20, 0x00, 0x00]),        # width 3, all zeros
    bytes([0x3F, 0xFF, 0xFF]),        # width 3, all ones
    bytes([0x10, 0x00, 0x00, 0x00]),  # width 4, all zeros
    bytes([0x1F, 0xFF, 0xFF, 0xFF]),  # width 4, all ones
], ids=lambda b: b.hex())
def test_reserved_ids_are_invalid(element_id: bytes):
    with pytest.raises(InvalidVintError) as e:
        ebml.read_element_id(reader(element_id + b"\x80"))
    assert (e.value.detail, e.value.offset) == ("reserved element ID", AT)


def test_ids_keep_their_marker_bits_and_stop_at_four_bytes():
    assert ebml.read_element_id(reader(bytes([0xA3]))) == 0xA3                    # SimpleBlock
    assert ebml.read_element_id(reader(bytes([0x1F, 0x43, 0xB6, 0x75]))) == 0x1F43B675  # Cluster
    assert ebml.read_element_id(reader(bytes([0x81]))) == 0x81                    # data 1: not reserved
    with pytest.raises(InvalidVintError) as e:
        ebml.read_element_id(reader(bytes([0x08, 0, 0, 0, 1])))                     # 0000 1xxx: width 5
    assert (e.value.detail, e.value.offset) == ("element ID longer than 4 bytes", AT)


def test_element_header():
    h = ebml.read_element_header(reader(bytes([
        0x1A, 0x45, 0xDF, 0xA3,  # ID 0x1A45DFA3 (EBML)
        0x9F,                    # size 31
    ])))
    assert (h.id, h.offset, h.header_size, h.size) == (0x1A45DFA3, AT, 5, 31)
    assert (h.data_offset(), h.end(), h.unknown_size()) == (AT + 5, AT + 36, False)
    h = ebml.read_element_header(reader(bytes([
        0x18, 0x53, 0x80, 0x67,                          # ID 0x18538067 (Segment)
        0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,  # size: unknown, width 8
    ])))
    assert (h.header_size, h.unknown_size(), h.end()) == (12, True, UNKNOWN_SIZE)


# --- RFC 8794 §7: values -------------------------------------------------------------------

def test_values():
    assert ebml.read_uint(reader(b"")) == 0
    assert ebml.read_uint(reader(bytes([0x0F, 0x42, 0x40]))) == 1_000_000  # TimestampScale 1 ms
    assert ebml.read_int(reader(bytes([0xFF, 0xFE]))) == -2
    assert ebml.read_float(reader(bytes([0x3F, 0xC0, 0x00, 0x00]))) == 1.5
    assert ebml.read_float(reader(bytes([0x40, 0x8F, 0x40, 0, 0, 0, 0, 0]))) == 1000.0
    with pytest.raises(InvalidValueError) as e:
        ebml.read_uint(reader(bytes(9)))
    assert (e.value.detail, e.value.offset) == ("unsigned integer longer than 8 bytes", AT)
    with pytest.raises(InvalidValueError) as e:
        ebml.read_float(reader(bytes(3)))
    assert (e.value.detail, e.value.offset) == ("float of 3 bytes", AT)


# --- children of a complete master element -------------------------------------------------

def children(data: bytes) -> list[tuple[int, int, bytes]]:
    seen = []
    ebml.for_each_child(reader(data), lambda h, v: seen.append((h.id, h.offset, v.rest())))
    return seen


def test_for_each_child():
    assert children(bytes([
        0x42, 0x82, 0x84, *b"webm",  # DocType "webm"
        0xEC, 0x80,                  # Void, empty
    ])) == [(0x4282, AT, b"webm"), (0xEC, AT + 7, b"")]
    with pytest.raises(ElementOverflowError) as e:
        children(bytes([0x42, 0x82, 0x85, *b"webm"]))  # DocType of 5 bytes, 4 present
    assert (e.value.detail, e.value.offset, e.value.path) == ("DocType of 5 bytes runs past its parent", AT, "DocType")
    with pytest.raises(ElementOverflowError) as e:
        children(bytes([0xEC, 0x80, 0x42]))            # Void, then 1 byte of a 2-byte ID
    assert (e.value.detail, e.value.offset) == ("element header runs past its parent", AT + 2)
    with pytest.raises(UnknownSizeNotAllowedError) as e:
        children(bytes([0xEC, 0xFF]))                  # Void of unknown size
    assert (e.value.detail, e.value.offset) == ("Void has unknown size", AT)


# --- the element table agrees with the generated C++ one -----------------------------------

def test_element_table_matches_elements_h():
    if not ELEMENTS_H.exists():
        pytest.skip(f"NOT CHECKING the element table: {ELEMENTS_H} is absent")
    rows = re.findall(r'\{(0x[0-9A-F]+), "([^"]+)", "[^"]*", (0x[0-9A-F]+), (\d+), Type::k\w+, '
                      r'(?:true|false), (?:true|false), (true|false)\}', ELEMENTS_H.read_text())
    expected = {int(i, 16): ebml.ElementSpec(int(i, 16), name, int(parent, 16), int(depth), is_global == "true")
                for i, name, parent, depth, is_global in rows}
    assert len(expected) > 250
    assert ebml.ELEMENTS == expected
    assert ebml.element_name(0x1F43B675) == "Cluster"
    assert ebml.element_name(0x4321) == "0x4321"


# --- the demuxer's helpers: C++ integer arithmetic, TrackEntry fields, codec summary -------

def test_int64_helpers():
    assert (types.i64(1 << 63), types.i64(-1), types.i64((1 << 64) + 5)) == (-(1 << 63), -1, 5)
    assert types.mul_i64(1 << 62, 2) is None  # overflows: __builtin_mul_overflow is true
    assert types.mul_i64(-(1 << 62), 2) == -(1 << 63)
    assert (types.div_i64(-7, 2), types.div_i64(7, -2), types.div_i64(7, 2)) == (-3, -3, 3)  # toward zero


def test_track_entry_codec_delay_and_seek_pre_roll():
    header = types.Header(0, 0)
    headers.parse_tracks(reader(bytes([
        0xAE, 0x90,                                # TrackEntry, 16 bytes
        0xD7, 0x81, 0x01,                          # TrackNumber 1
        0x56, 0xAA, 0x83, 0x63, 0x2E, 0xA0,        # CodecDelay 6 500 000 ns
        0x56, 0xBB, 0x84, 0x04, 0xC4, 0xB4, 0x00,  # SeekPreRoll 80 000 000 ns
    ])), types.DEFAULT_LIMITS, header)
    track, = header.tracks
    assert (track.number, track.codec_delay_ns, track.seek_pre_roll_ns) == (1, 6_500_000, 80_000_000)
    assert (track.default_duration_ns, track.codec, track.codec_error) == (0, None, None)


def track(codec_id: bytes, codec_private: bytes = b"") -> types.Track:
    t = types.Track()
    t.codec_id = codec_id
    t.codec_private, t.codec_private_range = codec_private, (AT if codec_private else 0, len(codec_private))
    headers.summarise_codec(t)
    return t


def test_summarise_codec():
    vp9 = track(b"V_VP9", b"\x01")
    assert (vp9.codec, vp9.codec_error) == (None, None)  # not a codec it reads
    avc = track(b"V_MPEG4/ISO/AVC")
    assert avc.codec is None
    assert avc.codec_error == MissingCodecPrivateError("no CodecPrivate for V_MPEG4/ISO/AVC", offset=0)
    aac = track(b"A_AAC/MPEG4/LC", bytes([0x11, 0x90]))  # AAC LC (2), 48 kHz (index 3), 2 channels
    assert aac.codec_error is None
    assert aac.codec == {"codec_string": "mp4a.40.2", "profile": 2, "level": 0, "width": 0, "height": 0,
                         "sample_rate": 48000, "channels": 2, "nal_length_size": 0}
    bad = track(b"A_AAC", b"\x00")  # audioObjectType 0
    assert bad.codec is None and bad.codec_error.offset == AT
