# SPDX-License-Identifier: Apache-2.0
"""A strict checker of GetMedia / GetMediaForFragmentList payloads against the chunk
layout of real KVS output (KVS-WIRE-FACTS §5.2, §5.3). Our demuxer and ffprobe are
lenient; this is not.

Per chunk: EBML header; Segment of unknown size; the producer's header elements; KVS's
Tags (FRAGMENT_NUMBER, SERVER_TIMESTAMP, PRODUCER_TIMESTAMP, in that order, 4-byte size
fields, TagName + TagString only) immediately before exactly one Cluster; the producer's
elements after it; for GetMedia a last Tags with MILLIS_BEHIND_NOW and
CONTINUATION_TOKEN (= the fragment number), for GetMediaForFragmentList none.
"""
from __future__ import annotations

import dataclasses
import re

from kvsmux.media.pure.ebml import ID, UNKNOWN_SIZE, Reader, read_element_header

_TIMESTAMP = re.compile(r"^\d+\.\d{3}$")
_BEFORE = ["AWS_KINESISVIDEO_FRAGMENT_NUMBER", "AWS_KINESISVIDEO_SERVER_TIMESTAMP",
           "AWS_KINESISVIDEO_PRODUCER_TIMESTAMP"]
_AFTER = ["AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", "AWS_KINESISVIDEO_CONTINUATION_TOKEN"]


@dataclasses.dataclass
class Chunk:
    offset: int
    fragment_number: str
    server_timestamp: str
    producer_timestamp: str
    millis_behind_now: int | None
    cluster: bytes


def _kvs_tags(data: bytes, start: int, size: int) -> list[tuple[str, str]] | None:
    """The (name, value) pairs of a Tags element written the KVS way, or None if it is not
    one (another writer's Tags)."""
    pairs = []
    r = Reader(data, start, start + size, start)
    tag = read_element_header(r)
    if tag.id != ID["Tag"] or data[tag.offset + 2] != 0x10 or tag.end() != start + size:
        return None
    while r.offset() < tag.end():
        simple = read_element_header(r)
        if simple.id != ID["SimpleTag"]:
            return None
        name_h = read_element_header(r)
        name = r.take(name_h.size).rest().decode()
        value_h = read_element_header(r)
        value = r.take(value_h.size).rest().decode()
        if (name_h.id, value_h.id) != (ID["TagName"], ID["TagString"]) or r.offset() != simple.end():
            return None
        if any(data[h.offset + len(_id_bytes(h.id))] & 0xF0 != 0x10 for h in (simple, name_h, value_h)):
            raise AssertionError(f"KVS tag at {simple.offset} does not use 4-byte size fields")
        pairs.append((name, value))
    return pairs if pairs and pairs[0][0].startswith("AWS_KINESISVIDEO_") else None


def _id_bytes(element_id: int) -> bytes:
    return element_id.to_bytes((element_id.bit_length() + 7) // 8, "big")


def validate_chunks(payload: bytes, *, get_media: bool) -> list[Chunk]:
    """Checks every chunk; returns them in order. Raises AssertionError on a violation."""
    chunks: list[Chunk] = []
    r = Reader(payload, 0, len(payload), 0)
    while not r.empty():
        at = r.offset()
        ebml = read_element_header(r)
        assert ebml.id == ID["EBML"], f"chunk at {at} does not start with an EBML header"
        r.take(ebml.size)
        segment = read_element_header(r)
        assert segment.id == ID["Segment"] and segment.size == UNKNOWN_SIZE, f"chunk at {at}: Segment size is known"
        before: list[tuple[str, str]] | None = None
        cluster: bytes | None = None
        after: list[tuple[str, str]] | None = None
        while not r.empty():
            h = read_element_header(r)
            if h.id == ID["EBML"]:
                r = Reader(payload, h.offset, len(payload), h.offset)  # next chunk
                break
            if h.id == ID["Cluster"]:
                assert cluster is None, f"chunk at {at} has more than one Cluster"
                assert before is not None, f"chunk at {at}: the Cluster is not preceded by KVS's Tags"
                if h.size == UNKNOWN_SIZE:  # an unknown-size cluster runs to the next top-level element
                    end = _unknown_cluster_end(payload, h)
                else:
                    end = h.end()
                cluster = payload[h.offset:end]
                r = Reader(payload, end, len(payload), end)
                continue
            assert h.size != UNKNOWN_SIZE, f"unknown-size {h.id:#x} at {h.offset}"
            body = r.take(h.size)
            if h.id == ID["Tags"]:
                pairs = _kvs_tags(payload, body.offset(), h.size)
                if pairs is not None and cluster is None:
                    assert [n for n, _ in pairs] == _BEFORE, f"chunk at {at}: tags before the cluster are {pairs}"
                    before = pairs
                elif pairs is not None:
                    assert after is None, f"chunk at {at}: two KVS Tags after the cluster"
                    after = pairs
                elif cluster is None:
                    assert before is None, f"chunk at {at}: producer Tags between KVS's Tags and the Cluster"
            elif cluster is None:
                assert before is None, f"chunk at {at}: element {h.id:#x} between KVS's Tags and the Cluster"
        assert cluster is not None, f"chunk at {at} has no Cluster"
        values = dict(before)
        assert values["AWS_KINESISVIDEO_FRAGMENT_NUMBER"].isdigit()
        for name in _BEFORE[1:]:
            assert _TIMESTAMP.match(values[name]), f"{name} = {values[name]!r}"
        millis = None
        if get_media:
            assert after is not None and [n for n, _ in after] == _AFTER, f"chunk at {at}: tags after are {after}"
            extra = dict(after)
            assert extra["AWS_KINESISVIDEO_CONTINUATION_TOKEN"] == values["AWS_KINESISVIDEO_FRAGMENT_NUMBER"]
            millis = int(extra["AWS_KINESISVIDEO_MILLIS_BEHIND_NOW"])
            assert millis >= 0
        else:
            assert after is None, f"chunk at {at}: GetMediaForFragmentList chunk has {after}"
        chunks.append(Chunk(at, values["AWS_KINESISVIDEO_FRAGMENT_NUMBER"], values["AWS_KINESISVIDEO_SERVER_TIMESTAMP"],
                            values["AWS_KINESISVIDEO_PRODUCER_TIMESTAMP"], millis, cluster))
    return chunks


_CLUSTER_LEVEL = {ID[n] for n in ("Timestamp", "SimpleBlock", "BlockGroup", "Position", "PrevSize", "Void",
                                  "CRC-32", "SilentTracks", "EncryptedBlock") if n in ID}


def _unknown_cluster_end(payload: bytes, cluster) -> int:
    r = Reader(payload, cluster.data_offset(), len(payload), cluster.data_offset())
    while not r.empty():
        at = r.offset()
        h = read_element_header(r)
        if h.id not in _CLUSTER_LEVEL:
            return at
        r.take(h.size)
    return len(payload)
