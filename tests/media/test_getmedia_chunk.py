# SPDX-License-Identifier: Apache-2.0
"""GetMedia chunks, checked byte for byte against real KVS GetMedia output: every chunk of
the parser library's recordings is rebuilt from its parts and must equal the original."""
from __future__ import annotations

import pytest

from kvsmux.media import demux, getmedia_chunk
from tests.crosscheck import tools

REAL_GETMEDIA = ["kvs-parser-library/output_get_media.mkv", "kvs-parser-library/output_get_media_sparse_fragments.mkv",
                 "kvs-parser-library/kinesis_video_renderer_example_output.mkv"]


def is_kvs(tags) -> bool:
    return any(t.name.startswith("AWS_KINESISVIDEO_") for t in tags.simple_tags)


def parts_of_chunk(data: bytes, result, fragment):
    """The producer's header (the chunk's header without KVS's Tags), what the producer sent
    after the cluster (KVS keeps it: metadata Tags, and ffmpeg's trailing Cues on the last
    fragment), and the KVS values."""
    header = fragment.header
    kvs_before = [t for t in fragment.tags_before if is_kvs(t)]
    header_end = kvs_before[0].byte_range[0] if kvs_before else header.byte_range[0] + header.byte_range[1]
    producer_header = data[header.byte_range[0]:header_end]
    kvs_after = [t for t in fragment.tags_after if is_kvs(t)]
    cluster_end = sum(fragment.byte_range)
    producer_after = [data[cluster_end:kvs_after[0].byte_range[0]]] if kvs_after else []
    values = {t.name: t.string for tags in fragment.tags for t in tags.simple_tags}
    return producer_header, producer_after, values


@pytest.mark.parametrize("name", REAL_GETMEDIA)
@pytest.mark.parametrize("backend", ["native", "pure"])
def test_rebuilds_real_getmedia_output_byte_for_byte(name, backend):
    data = (tools.require_shared_media() / name).read_bytes()
    result = demux(data)
    assert result.error is None and len(result.fragments) == len(result.headers)
    starts = [h.byte_range[0] for h in result.headers] + [len(data)]
    for i, fragment in enumerate(result.fragments):
        header, after, v = parts_of_chunk(data, result, fragment)
        cluster = data[fragment.byte_range[0]:sum(fragment.byte_range)]
        server_ms = round(float(v["AWS_KINESISVIDEO_SERVER_TIMESTAMP"]) * 1000)
        producer_ms = round(float(v["AWS_KINESISVIDEO_PRODUCER_TIMESTAMP"]) * 1000)
        chunk = getmedia_chunk(header, cluster, after, fragment_number=v["AWS_KINESISVIDEO_FRAGMENT_NUMBER"],
                               server_timestamp_ms=server_ms, producer_timestamp_ms=producer_ms,
                               millis_behind_now=int(v["AWS_KINESISVIDEO_MILLIS_BEHIND_NOW"]),
                               continuation_token=v["AWS_KINESISVIDEO_CONTINUATION_TOKEN"], backend=backend)
        assert bytes(chunk) == data[starts[i]:starts[i + 1]], f"chunk {i} differs from KVS's"
        assert b"".join(bytes(p) for p in chunk.parts()) == bytes(chunk)


def test_chunk_from_a_producer_upload_reads_back(tmp_path):
    """A known-size Segment becomes unknown-size; our demuxer and ffprobe accept the chunks."""
    root = tools.require_shared_media()
    data = (root / "kvs-parser-library/bezos_vogels.mkv").read_bytes()  # known-size Segment, Cues
    result = demux(data)
    header = result.headers[0]
    header_bytes = data[header.byte_range[0]:sum(header.byte_range)]
    stream = b""
    for i, f in enumerate(result.fragments):
        stream += bytes(getmedia_chunk(header_bytes, bytes(f.bytes), fragment_number=str(1000 + i),
                                       server_timestamp_ms=1_700_000_000_000 + i, producer_timestamp_ms=f.timestamp_ns // 10**6,
                                       millis_behind_now=5, continuation_token=str(1000 + i)))
    again = demux(stream)
    assert again.error is None
    assert len(again.headers) == len(again.fragments) == len(result.fragments)
    assert all(h.segment_size is None for h in again.headers)
    for a, b in zip(again.fragments, result.fragments):
        assert [bytes(p) for p in a.payloads()] == [bytes(p) for p in b.payloads()]
        before = {t.name: t.string for tags in a.tags_before for t in tags.simple_tags}
        after = {t.name: t.string for tags in a.tags_after for t in tags.simple_tags}
        assert before["AWS_KINESISVIDEO_FRAGMENT_NUMBER"] == after["AWS_KINESISVIDEO_CONTINUATION_TOKEN"]
        assert before["AWS_KINESISVIDEO_PRODUCER_TIMESTAMP"].count(".") == 1
    assert bytes(getmedia_chunk(header_bytes, bytes(result.fragments[0].bytes), fragment_number="7",
                                server_timestamp_ms=1, producer_timestamp_ms=2, backend="pure")) == bytes(
        getmedia_chunk(header_bytes, bytes(result.fragments[0].bytes), fragment_number="7", server_timestamp_ms=1,
                       producer_timestamp_ms=2))
    tools.require_tool("ffprobe")
    path = tmp_path / "chunks.mkv"
    path.write_bytes(stream)
    packets = tools.ffprobe_packets(path)
    assert sum(len(p) for p in packets.values()) == sum(len(f.frames) for f in result.fragments)


def test_timestamps_have_three_decimals():
    from kvsmux.media import _native
    from kvsmux.media.pure.getmedia_chunk import format_kvs_timestamp
    for ms in (0, 5, 1511852109126, 1000, -1, -1500):
        assert format_kvs_timestamp(ms) == _native.format_kvs_timestamp(ms)
    assert format_kvs_timestamp(1511852109126) == "1511852109.126" and format_kvs_timestamp(5000) == "5.000"


def test_bad_header_is_refused():
    from kvsmux.errors import UnexpectedElementError
    for backend in ("native", "pure"):
        with pytest.raises(UnexpectedElementError):
            getmedia_chunk(b"\x1f\x43\xb6\x75\x80", b"", fragment_number="1", server_timestamp_ms=0,
                           producer_timestamp_ms=0, backend=backend)
