# SPDX-License-Identifier: Apache-2.0
"""Property: feeding an input in pieces split at any points gives the same result as the
whole buffer (native backend; the differential test covers the pure one)."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from kvsmux.media import Demuxer, demux
from tests.media.synth import live_stream, simple_cluster, tags

block = st.tuples(st.integers(1, 2), st.integers(-50, 500), st.booleans(), st.binary(min_size=0, max_size=40))
cluster = st.tuples(st.integers(0, 10_000), st.lists(block, min_size=1, max_size=6), st.booleans())


@st.composite
def streams(draw):
    body = []
    for ts, blocks, known in draw(st.lists(cluster, min_size=1, max_size=5)):
        body.append(simple_cluster(ts, blocks, known=known))
        if draw(st.booleans()):
            body.append(tags("n", str(ts)))
    data = live_stream(body)
    if draw(st.booleans()):  # a second document, as in GetMedia output
        data += live_stream(body)
    if draw(st.booleans()):  # or cut it anywhere
        data = data[:draw(st.integers(1, len(data)))]
    return data


@settings(max_examples=150, deadline=None)
@given(data=streams(), cuts=st.lists(st.integers(0, 1 << 16), max_size=12))
def test_random_split_points_equal_whole_buffer(data, cuts):
    whole = demux(data)
    d = Demuxer()
    points = sorted({c % (len(data) + 1) for c in cuts}) + [len(data)]
    start = 0
    for p in points:
        if d.error is not None:
            break
        d.feed(data[start:p])
        start = p
    d.close()
    chunked = d.result()
    assert chunked.fragments == whole.fragments
    assert [h.tracks for h in chunked.headers] == [h.tracks for h in whole.headers]
    assert chunked.orphan_tags == whole.orphan_tags
    assert chunked.error == whole.error
    for a, b in zip(chunked.fragments, whole.fragments):
        assert list(map(bytes, a.payloads())) == list(map(bytes, b.payloads()))
