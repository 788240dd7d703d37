# SPDX-License-Identifier: Apache-2.0
"""Segment-level Tags (RFC 9559 §5.1.8): every SimpleTag, nested ones flattened.

The mirror of ``cpp/src/mkv/tags.cc``: same nesting limit, same error paths.
"""
from __future__ import annotations

from kvsmux.errors import LimitExceededError, MediaError
from kvsmux.media.pure.ebml import ID, ElementHeader, Reader, for_each_child, with_path
from kvsmux.media.pure.types import TagsElement


# --- Tags (cpp/src/mkv/tags.cc) -------------------------------------------------------

def _parse_simple_tag(data: Reader, limits: dict, depth: int, out: list[list]) -> None:
    """RFC 9559 §5.1.8.1.2 SimpleTag: TagName, TagString or TagBinary, nested SimpleTags,
    flattened depth-first."""
    if depth > limits["max_depth"]:
        raise LimitExceededError(f"SimpleTag nesting deeper than {limits['max_depth']}", offset=data.offset())
    tag = [b"", None, None]
    out.append(tag)
    nested = 0

    def child(h: ElementHeader, v: Reader) -> None:
        nonlocal nested
        if h.id == ID["TagName"]:
            tag[0] = v.rest()
        elif h.id == ID["TagString"]:
            tag[1] = v.rest()
        elif h.id == ID["TagBinary"]:
            tag[2] = v.rest()
        elif h.id == ID["SimpleTag"]:
            try:
                _parse_simple_tag(v, limits, depth + 1, out)
            except MediaError as e:
                raise with_path(e, f"SimpleTag[{nested}]") from None
            nested += 1

    for_each_child(data, child)


def parse_tags(data: Reader, offset: int, size: int, limits: dict) -> TagsElement:
    """RFC 9559 §5.1.8 Tags > Tag > (Targets, SimpleTag...). Targets are not kept."""
    tags = TagsElement(offset, size)
    tag_index = 0

    def tag(h: ElementHeader, v: Reader) -> None:
        nonlocal tag_index
        if h.id != ID["Tag"]:
            return
        where = f"Tag[{tag_index}]"
        tag_index += 1
        simple_index = 0

        def simple_tag(c: ElementHeader, cv: Reader) -> None:
            nonlocal simple_index
            if c.id != ID["SimpleTag"]:
                return
            try:
                _parse_simple_tag(cv, limits, 1, tags.simple_tags)
            except MediaError as e:
                raise with_path(e, f"SimpleTag[{simple_index}]") from None
            simple_index += 1

        try:
            for_each_child(v, simple_tag)
        except MediaError as e:
            raise with_path(e, where) from None

    for_each_child(data, tag)
    return tags
