# SPDX-License-Identifier: Apache-2.0
"""STYLE §8: views into the input keep their owner alive, are read-only, and are not copies."""
from __future__ import annotations

import gc
import threading

import numpy as np
import pytest

from kvsmux.media import Demuxer, demux
from tests.media.synth import frames_of, live_stream, simple_cluster


@pytest.fixture
def stream() -> bytes:
    return live_stream([simple_cluster(t * 1000, [(1, 0, True, b"\x11" * 50), (1, 40, False, b"\x22" * 30)])
                        for t in range(4)])


def test_payload_outlives_demuxer_and_result(stream):
    d = Demuxer()
    d.feed(stream)
    d.close()
    view = d.fragments[2].payload(1)
    del d
    gc.collect()
    assert bytes(view) == b"\x22" * 30
    result = demux(bytes(stream))
    view = result.fragments[0].payload(0)
    frames = result.fragments[0].frames
    del result
    gc.collect()
    assert bytes(view) == b"\x11" * 50 and len(frames) == 2


def test_views_are_read_only(stream):
    result = demux(stream)
    assert result.fragments[0].payload(0).readonly
    assert not result.fragments[0].frames.flags.writeable
    with pytest.raises(ValueError):
        result.fragments[0].frames["pts_ns"][0] = 5
    d = Demuxer()
    d.feed(stream)
    d.close()
    assert d.fragments[0].payload(0).readonly


def test_whole_buffer_payloads_point_into_the_callers_buffer(stream):
    buf = bytearray(stream)
    result = demux(buf)
    view = result.fragments[1].payload(0)
    buf[int(result.fragments[1].frames[0]["offset"])] = 0x7F  # a view, not a copy: it sees the change
    assert view[0] == 0x7F
    with pytest.raises(BufferError):  # and the exporter refuses to be resized while viewed
        buf.extend(b"more")


def test_chunks_are_copied_once_and_mutations_after_feed_do_not_leak(stream):
    d = Demuxer()
    chunk = bytearray(stream)
    d.feed(chunk)
    chunk[:] = b"\0" * len(chunk)  # the demuxer copied the chunk at the ingest edge
    d.close()
    assert bytes(d.fragments[0].payload(0)) == b"\x11" * 50


def test_frame_table_is_one_numpy_array_per_fragment(stream):
    result = demux(stream)
    f = result.fragments[3]
    assert isinstance(f.frames, np.ndarray)
    assert f.frames["pts_ns"].tolist() == [3_000_000_000, 3_040_000_000]
    assert frames_of(result) == 8


def test_one_thread_at_a_time(stream):
    # The GIL is released while parsing; concurrent use of one Demuxer is refused, not raced.
    d = Demuxer()
    errors: list[BaseException] = []

    def feed():
        try:
            for _ in range(200):
                d.feed(stream[:10])
        except RuntimeError as e:
            errors.append(e)
        except Exception as e:  # a media error from the garbage stream is fine
            errors.append(e)

    threads = [threading.Thread(target=feed) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # No crash; any error raised is a clean Python exception.
    assert all(isinstance(e, Exception) for e in errors)
