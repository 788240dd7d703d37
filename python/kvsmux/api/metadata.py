# SPDX-License-Identifier: Apache-2.0
"""Fragment metadata: the producer's untargeted Tags after a cluster (KVS-WIRE-FACTS §4.4).

The producer SDKs write each metadata item as a Tag with one SimpleTag and no Targets
(PIC ``putKinesisVideoFragmentMetadata``). Tags that target tracks or the segment
(muxers' statistics, ffmpeg's global tags) are not fragment metadata: real GetMedia
output shows KVS storing more than ten of those after one cluster, so the 10-item limit
counts only untargeted ones.
"""
from __future__ import annotations

from kvsmux.errors import MediaError
from kvsmux.media.pure.ebml import ID, ElementHeader, Reader, for_each_child, read_element_header
from kvsmux.media.pure.tags import _parse_simple_tag
from kvsmux.media.pure.types import DEFAULT_LIMITS


def fragment_metadata(data: bytes) -> list[tuple[bytes, bytes | None]]:
    """(name, value) of the SimpleTags in untargeted Tag elements of the Tags elements in
    ``data`` (a run of top-level elements); unparseable elements are skipped."""
    out: list[tuple[bytes, bytes | None]] = []
    reader = Reader(data, 0, len(data), 0)
    while not reader.empty():
        try:
            header = read_element_header(reader)
            body = reader.take(header.size)
        except MediaError:
            break
        if header.id != ID["Tags"]:
            continue

        def tag(h: ElementHeader, v: Reader) -> None:
            if h.id != ID["Tag"]:
                return
            children: list[tuple[int, Reader]] = []
            for_each_child(v, lambda c, cv: children.append((c.id, cv)))
            if any(cid == ID["Targets"] for cid, _ in children):
                return
            for cid, cv in children:
                if cid == ID["SimpleTag"]:
                    flat: list[list] = []
                    _parse_simple_tag(cv, DEFAULT_LIMITS, 1, flat)
                    out.extend((t[0], t[1]) for t in flat)

        try:
            for_each_child(body, tag)
        except MediaError:
            continue
    return out
