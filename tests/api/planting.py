# SPDX-License-Identifier: Apache-2.0
"""Fragments planted straight into a stream, for testing the readers without PutMedia.

The clusters come from the generated fixtures in tests/data/valid (demuxed with
:func:`kvsmux.media.demux`); the service stores them as PutMedia would: through the
stream's :class:`kvsmux.store.FragmentWriter`, or, for a retention-0 stream, in the
in-memory buffer GetMedia reads. Server timestamps come from ``api.clock``.

>>> planted = plant(api, "cam", 4, every_ms=2000)      # clock advances 2 s after each
>>> planted[0].number, planted[0].server_ms, planted[0].payloads
"""
from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

import numpy as np

from kvsmux.media import DemuxResult, demux
from kvsmux.store.live import LiveFragment
from kvsmux.store.store import StoredFragment
from tests.crosscheck import tools

VALID_DIR = Path(__file__).resolve().parents[1] / "data" / "valid"
DEFAULT_SOURCE = "h264_160x120_30fps_gop15.mkv"  # 4 keyframe-aligned clusters, 500 ms each
#: Producer timestamps start here (far from the ManualClock's server time, so a test can
#: tell the two apart).
PRODUCER_EPOCH_MS = 1_600_000_000_000


@dataclasses.dataclass(frozen=True)
class SourceCluster:
    """One cluster of a fixture, as a fragment's parts."""

    header: bytes
    cluster: bytes
    frames: np.ndarray  # FRAME_DTYPE, offsets relative to the cluster's first byte
    timecode: int
    duration_ms: int
    payloads: tuple[bytes, ...]


@dataclasses.dataclass(frozen=True)
class Planted:
    """What a test needs to know of a planted fragment."""

    number: str
    seq: int
    server_ms: int
    producer_ms: int
    duration_ms: int
    size: int
    header: bytes
    cluster: bytes
    after: bytes
    payloads: tuple[bytes, ...]


@functools.cache
def clusters(name: str = DEFAULT_SOURCE) -> tuple[SourceCluster, ...]:
    """The fixture's clusters (each with the header of the document it belongs to)."""
    data = (VALID_DIR / name).read_bytes()
    result = demux(data)
    assert result.error is None, result.error
    out = []
    for f in result.fragments:
        start, size = f.byte_range
        h = f.header
        frames = f.frames.copy()
        frames["offset"] -= start
        ends = frames["pts_ns"] + frames["duration_ns"]
        duration_ms = int((ends.max() - frames["pts_ns"].min()) // 1_000_000)
        out.append(SourceCluster(bytes(data[h.byte_range[0]:sum(h.byte_range)]), bytes(f.bytes), frames,
                                 f.timestamp_ticks, duration_ms, tuple(bytes(p) for p in f.payloads())))
    return tuple(out)


def _stream(api: Any, name: str) -> Any:
    stream = api.kvs.store.resource("stream", name=name)
    assert stream is not None, f"no stream {name}"
    return stream


def plant(api: Any, stream_name: str, count: int = 1, *, every_ms: int = 500, producer_ms: list[int] | None = None,
          source: str = DEFAULT_SOURCE, after: bytes = b"", duration_ms: int | None = None) -> list[Planted]:
    """Stores ``count`` fragments in ``stream_name``: the i-th gets the fixture's cluster
    i (cycling), server timestamp ``api.clock`` now, and the clock then advances by
    ``every_ms``. Producer timestamps default to PRODUCER_EPOCH_MS + i * every_ms
    (continuing where the stream's last planted fragment stopped). ``after`` is stored as
    what the producer sent after the cluster (e.g. fragment-metadata Tags)."""
    kvs = api.kvs
    stream = _stream(api, stream_name)
    parts = clusters(source)
    live = not stream.attrs.get("DataRetentionInHours", 0)
    writer = kvs.store.writer(stream.id)
    assert writer is not None, "another writer holds the stream"
    planted: list[Planted] = []
    try:
        base_seq = writer.next_seq()
        if live:  # nothing persists the sequence of buffered fragments: continue after what it holds
            held = kvs.live.fragments(stream.id, api.clock.now_ms())
            base_seq = max([base_seq] + [h.fragment.seq + 1 for h in held])
        for i in range(count):
            seq = base_seq + i
            part = parts[seq % len(parts)]
            server_ms = api.clock.now_ms()
            p_ms = producer_ms[i] if producer_ms is not None else PRODUCER_EPOCH_MS + seq * every_ms
            d_ms = part.duration_ms if duration_ms is None else duration_ms
            number = kvs.ids.fragment_number(seq, server_ms)
            if live:
                fragment = StoredFragment(stream.id, seq, number, server_ms, p_ms, d_ms, part.timecode, header_id=0,
                                          file_no=0, offset=0, cluster_size=len(part.cluster), after_size=len(after),
                                          frames=part.frames)
                kvs.live.add(LiveFragment(fragment, part.header, part.cluster, after), server_ms)
            else:
                fragment = writer.append(seq=seq, number=number, header=part.header, cluster=part.cluster, after=after,
                                         server_ms=server_ms, producer_ms=p_ms, duration_ms=d_ms,
                                         timecode=part.timecode, frames=part.frames)
            planted.append(Planted(number, seq, server_ms, p_ms, d_ms, fragment.size, part.header, part.cluster,
                                   after, part.payloads))
            api.clock.advance(ms=every_ms)
    finally:
        writer.close()
    return planted


# -- reading the answers back ------------------------------------------------------------------

def selector(kind: str, start_ms: int, end_ms: int) -> dict:
    """A ListFragments FragmentSelector (``kind`` SERVER_TIMESTAMP or PRODUCER_TIMESTAMP);
    boto3 sends whole seconds, so both bounds should be whole seconds."""
    return {"FragmentSelectorType": kind, "TimestampRange": {"StartTimestamp": start_ms / 1000,
                                                            "EndTimestamp": end_ms / 1000}}


def read_chunks(response: dict) -> tuple[bytes, Any]:
    """A GetMedia / GetMediaForFragmentList response read to its end: the bytes and what
    :func:`kvsmux.media.demux` makes of them (which must be error-free)."""
    assert response["ContentType"] == "video/webm"
    data = response["Payload"].read()
    if not data:
        return data, DemuxResult([], [], [], None)
    result = demux(data)
    assert result.error is None, result.error
    return data, result


def assert_ffprobe_reads(data: bytes, planted: list[Planted], path: Path) -> None:
    """ffprobe (written to ``path``) reads every planted frame from a GetMedia-style MKV
    stream: packet sizes equal to the planted payloads, one key frame per fragment."""
    path.write_bytes(data)
    packets = tools.ffprobe_packets(path)
    assert packets.returncode == 0, packets.stderr
    assert [p.size for p in packets[1]] == [len(x) for p in planted for x in p.payloads]
    assert sum(p.key for p in packets[1]) == len(planted)


def tag_values(tags: list) -> dict[str, str]:
    """The SimpleTags of a list of Tags elements, by name."""
    return {t.name: t.string for element in tags for t in element.simple_tags}


def kvs_tag_values(tags: list) -> dict[str, str]:
    """Only the AWS_KINESISVIDEO_* SimpleTags, without the prefix."""
    prefix = "AWS_KINESISVIDEO_"
    return {k[len(prefix):]: v for k, v in tag_values(tags).items() if k.startswith(prefix)}
