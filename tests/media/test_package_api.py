# SPDX-License-Identifier: Apache-2.0
"""The packaging API itself: segment metadata agrees between backends (including epoch
timestamps, where 64-bit arithmetic would overflow), and outputs behave as buffers."""
from __future__ import annotations

import gc

import pytest

from kvsmux.media import demux, to_fmp4, to_mp4, to_ts
from tests.crosscheck import tools


@pytest.mark.parametrize("writer", [to_fmp4, to_ts])
def test_segment_times_agree_between_backends_on_epoch_timestamps(writer):
    data = (tools.require_shared_media() / "kvs-producer-sdk-cpp/test-stream-1_0.mkv").read_bytes()
    native, pure = writer(data), writer(data, backend="pure")
    assert [(s.fragment_index, s.start_ns, s.duration_ns) for s in native.segments] == \
        [(s.fragment_index, s.start_ns, s.duration_ns) for s in pure.segments]
    fragments = demux(data).fragments
    for seg in native.segments:  # a segment starts at its fragment's first frame, in ns (to the 90 kHz tick)
        first = int(fragments[seg.fragment_index].frames["pts_ns"].min())
        assert abs(seg.start_ns - first) < 11_112
    assert sum(s.duration_ns for s in native.segments) == pytest.approx(
        native.segments[-1].start_ns + native.segments[-1].duration_ns - native.segments[0].start_ns, abs=1e6)


def test_outputs_are_read_only_buffers_that_outlive_their_package():
    data = (tools.VALID_DIR / "h264_aac.mkv").read_bytes()
    pkg = to_fmp4(data)
    seg = pkg.segments[0]
    view = memoryview(seg.output)
    assert view.readonly and bytes(view) == bytes(seg)
    parts = seg.parts()
    del pkg, seg
    gc.collect()
    assert b"".join(bytes(p) for p in parts) == bytes(view)
    assert all(p.readonly for p in parts)
    assert bytes(to_mp4(data)) == bytes(to_mp4(data, backend="pure"))
