# SPDX-License-Identifier: Apache-2.0
"""Small Matroska inputs built element by element, for exact tests (RFC 9559 IDs)."""
from __future__ import annotations

EBML, DOC_TYPE, SEGMENT, TRACKS, TRACK_ENTRY = 0x1A45DFA3, 0x4282, 0x18538067, 0x1654AE6B, 0xAE
TRACK_NUMBER, TRACK_TYPE, CODEC_ID, CLUSTER, TIMESTAMP = 0xD7, 0x83, 0x86, 0x1F43B675, 0xE7
SIMPLE_BLOCK, TAGS, TAG, SIMPLE_TAG, TAG_NAME, TAG_STRING = 0xA3, 0x1254C367, 0x7373, 0x67C8, 0x45A3, 0x4487


def _id(i: int) -> bytes:
    return i.to_bytes((i.bit_length() + 7) // 8, "big")


def element(i: int, data: bytes) -> bytes:
    return _id(i) + b"\x01" + len(data).to_bytes(7, "big") + data


def unknown(i: int, data: bytes) -> bytes:
    return _id(i) + b"\xff" + data


def uint(i: int, v: int) -> bytes:
    return element(i, v.to_bytes(8, "big"))


def text(i: int, s: str) -> bytes:
    return element(i, s.encode())


def simple_block(track: int, ts: int, key: bool, payload: bytes) -> bytes:
    return element(SIMPLE_BLOCK, bytes([0x80 | track]) + ts.to_bytes(2, "big", signed=True)
                   + bytes([0x80 if key else 0]) + payload)


def simple_cluster(timestamp: int, blocks: list[tuple[int, int, bool, bytes]], *, known: bool = False) -> bytes:
    body = uint(TIMESTAMP, timestamp) + b"".join(simple_block(*b) for b in blocks)
    return element(CLUSTER, body) if known else unknown(CLUSTER, body)


def tags(name: str, value: str) -> bytes:
    return element(TAGS, element(TAG, element(SIMPLE_TAG, text(TAG_NAME, name) + text(TAG_STRING, value))))


def live_stream(body: list[bytes] | bytes, tracks: tuple[int, ...] = (1, 2)) -> bytes:
    entries = b"".join(element(TRACK_ENTRY, uint(TRACK_NUMBER, n) + uint(TRACK_TYPE, 1) + text(CODEC_ID, "V_TEST"))
                       for n in tracks)
    body = body if isinstance(body, bytes) else b"".join(body)
    return element(EBML, text(DOC_TYPE, "matroska")) + unknown(SEGMENT, element(TRACKS, entries) + body)


def frames_of(result) -> int:
    return sum(len(f.frames) for f in result.fragments)
