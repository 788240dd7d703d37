# SPDX-License-Identifier: Apache-2.0
"""Hostile input through the Python API: whatever the bytes, demux() returns (never raises),
feed() raises only MediaError, and every frame lies inside the input. The C++ fuzzer
covers the core; this covers the binding (text decoding, error translation, buffers)."""
from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from kvsmux.errors import MediaError
from kvsmux.media import Demuxer, demux

VALID = Path(__file__).resolve().parents[1] / "data" / "valid"
SEEDS = sorted(p.read_bytes() for p in VALID.glob("*.mkv") if p.stat().st_size < 40_000) or [b""]


def check(data: bytes) -> None:
    result = demux(data)
    assert result.error is None or isinstance(result.error, MediaError)
    for f in result.fragments:
        if len(f.frames):
            assert int((f.frames["offset"] + f.frames["size"]).max()) <= len(data)
    for t in result.tracks:
        str(t.codec_id), str(t.name)
    d = Demuxer()
    try:
        for i in range(0, len(data), 997):
            d.feed(data[i:i + 997])
        d.close()
    except MediaError:
        pass
    assert (d.error is None) == (result.error is None)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(SEEDS), edits=st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), max_size=8),
       cut=st.integers(0, 1 << 20))
def test_mutated_fixtures(seed, edits, cut):
    data = bytearray(seed)
    for pos, value in edits:
        if data:
            data[pos % len(data)] = value
    if data:
        data = data[: max(1, cut % (len(data) + 1))]
    check(bytes(data))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_random_bytes(data):
    check(data)


def test_invalid_utf8_text_is_replaced_not_raised():
    from tests.media.synth import EBML, DOC_TYPE, SEGMENT, TRACKS, TRACK_ENTRY, TRACK_NUMBER, CODEC_ID, element, uint, unknown
    entry = element(TRACK_ENTRY, uint(TRACK_NUMBER, 1) + element(CODEC_ID, b"V_\xff\xfe"))
    data = element(EBML, element(DOC_TYPE, b"matroska")) + unknown(SEGMENT, element(TRACKS, entry))
    result = demux(data)
    assert result.error is None
    assert result.tracks[0].codec_id == "V_\ufffd\ufffd"
