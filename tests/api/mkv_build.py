# SPDX-License-Identifier: Apache-2.0
"""Small EBML builders for PutMedia inputs: Tags with SimpleTags (fragment metadata, the
producer SDK's ``AWS_KINESISVIDEO_END_OF_FRAGMENT``), clusters and SimpleBlocks, and a
fixture split into its header and clusters so tests can splice elements between them.

Sizes are written as 8-byte vints (``01 xx ..``) as the KVS producer SDK writes them;
``unknown=True`` gives the SDK's unknown-size clusters (``01 FF FF FF FF FF FF FF``).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from kvsmux.media import demux

VALID = Path(__file__).resolve().parents[1] / "data" / "valid"

EBML, DOC_TYPE, SEGMENT, INFO, TIMESTAMP_SCALE = 0x1A45DFA3, 0x4282, 0x18538067, 0x1549A966, 0x2AD7B1
TRACKS, TRACK_ENTRY, TRACK_NUMBER, TRACK_UID, TRACK_TYPE, CODEC_ID = 0x1654AE6B, 0xAE, 0xD7, 0x73C5, 0x83, 0x86
CODEC_PRIVATE = 0x63A2
CLUSTER, TIMESTAMP, SIMPLE_BLOCK = 0x1F43B675, 0xE7, 0xA3
TAGS, TAG, TARGETS, TARGET_TYPE_VALUE, SIMPLE_TAG, TAG_NAME, TAG_STRING = (
    0x1254C367, 0x7373, 0x63C0, 0x68CA, 0x67C8, 0x45A3, 0x4487)
END_OF_FRAGMENT = "AWS_KINESISVIDEO_END_OF_FRAGMENT"
UNKNOWN_SIZE = b"\x01\xff\xff\xff\xff\xff\xff\xff"


def _id(i: int) -> bytes:
    return i.to_bytes((i.bit_length() + 7) // 8, "big")


def element(i: int, data: bytes, *, unknown: bool = False) -> bytes:
    return _id(i) + (UNKNOWN_SIZE if unknown else b"\x01" + len(data).to_bytes(7, "big")) + data


def uint(i: int, v: int) -> bytes:
    return element(i, v.to_bytes(8, "big"))


def text(i: int, s: str | bytes) -> bytes:
    return element(i, s.encode() if isinstance(s, str) else s)


def simple_tag(name: str | bytes, value: str | bytes = "") -> bytes:
    return element(SIMPLE_TAG, text(TAG_NAME, name) + text(TAG_STRING, value))


def tags(*items: tuple[str | bytes, str | bytes], targeted: bool = False) -> bytes:
    """One Tags element: a Tag with one SimpleTag per item (untargeted, as the producer
    SDKs write fragment metadata, unless ``targeted``)."""
    targets = element(TARGETS, uint(TARGET_TYPE_VALUE, 50)) if targeted else b""
    return element(TAGS, element(TAG, targets + b"".join(simple_tag(n, v) for n, v in items)))


def metadata(name: str | bytes, value: str | bytes) -> bytes:
    """A fragment-metadata Tags as PIC writes it (one Tag, one SimpleTag, no Targets)."""
    return tags((name, value))


def end_of_fragment() -> bytes:
    """The producer SDK's EoFR: ``AWS_KINESISVIDEO_END_OF_FRAGMENT`` with an empty TagString."""
    return tags((END_OF_FRAGMENT, ""))


def simple_block(track: int, rel_ts: int, key: bool, payload: bytes) -> bytes:
    return element(SIMPLE_BLOCK, bytes([0x80 | track]) + rel_ts.to_bytes(2, "big", signed=True)
                   + bytes([0x80 if key else 0]) + payload)


def cluster(timecode: int, blocks: list[tuple[int, int, bool, bytes]], *, unknown: bool = True) -> bytes:
    return element(CLUSTER, uint(TIMESTAMP, timecode) + b"".join(simple_block(*b) for b in blocks), unknown=unknown)


def header(tracks: tuple[int, ...] = (1,), *, timestamp_scale: int = 1_000_000,
           codec_private: bytes | None = None) -> bytes:
    """EBML header + unknown-size Segment + Info + Tracks (video tracks with a test codec;
    ``codec_private`` given to each track verbatim)."""
    private = element(CODEC_PRIVATE, codec_private) if codec_private is not None else b""
    entries = b"".join(element(TRACK_ENTRY, uint(TRACK_NUMBER, n) + uint(TRACK_UID, n) + uint(TRACK_TYPE, 1)
                               + text(CODEC_ID, "V_MPEG4/ISO/AVC") + private) for n in tracks)
    return (element(EBML, text(DOC_TYPE, "matroska")) + SEGMENT.to_bytes(4, "big") + UNKNOWN_SIZE
            + element(INFO, uint(TIMESTAMP_SCALE, timestamp_scale)) + element(TRACKS, entries))


def synthetic(timecodes: list[int], tracks: tuple[int, ...] = (1,), *, frames: int = 3, step: int = 33,
              between: dict[int, bytes] | None = None, codec_private: bytes | None = None) -> bytes:
    """A producer-SDK-shaped stream: one unknown-size cluster per timecode, ``frames``
    SimpleBlocks per track; ``between[i]`` is inserted after cluster i."""
    between = between or {}
    out = [header(tracks, codec_private=codec_private)]
    for i, tc in enumerate(timecodes):
        blocks = [(t, k * step, k == 0, bytes([i, k, t]) * 10) for k in range(frames) for t in tracks]
        out.append(cluster(tc, blocks))
        out.append(between.get(i, b""))
    return b"".join(out)


@dataclasses.dataclass(frozen=True)
class Split:
    """A single-document file cut at its cluster boundaries."""

    header: bytes              # EBML header .. first Cluster
    clusters: list[bytes]      # each Cluster element, verbatim
    after: list[bytes]         # what follows each cluster up to the next one (or EOF)

    def join(self, order: list[int] | None = None, between: dict[int, bytes] | None = None) -> bytes:
        """The header, then clusters in ``order`` (indexes; default all), each followed by
        ``between[position]`` if given, else by its original trailing bytes."""
        order = list(range(len(self.clusters))) if order is None else order
        between = between or {}
        parts = [self.header]
        for pos, i in enumerate(order):
            parts.append(self.clusters[i])
            parts.append(between.get(pos, self.after[i]))
        return b"".join(parts)


def split(data: bytes) -> Split:
    result = demux(data)
    assert result.error is None and len(result.headers) == 1, result.error
    fragments = result.fragments
    first = fragments[0].byte_range[0]
    starts = [f.byte_range[0] for f in fragments] + [len(data)]
    clusters = [bytes(data[f.byte_range[0]:sum(f.byte_range)]) for f in fragments]
    after = [bytes(data[sum(f.byte_range):starts[i + 1]]) for i, f in enumerate(fragments)]
    return Split(bytes(data[:first]), clusters, after)


def fixture(name: str) -> bytes:
    return (VALID / name).read_bytes()
