# SPDX-License-Identifier: Apache-2.0
"""A small strict ISO BMFF box reader for tests (ISO/IEC 14496-12 §4.2): a box tree whose
sizes must add up exactly, and a readable dump for golden files. Field-level checks live
in the validators of each writer's tests."""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

# Boxes whose payload is a list of child boxes (after `skip` bytes of their own fields).
CONTAINERS = {b"moov": 0, b"trak": 0, b"mdia": 0, b"minf": 0, b"stbl": 0, b"mvex": 0, b"moof": 0, b"traf": 0,
              b"dinf": 0, b"edts": 0, b"udta": 0, b"stsd": 8, b"avc1": 78, b"hvc1": 78, b"mp4a": 28,
              b"alaw": 28, b"ulaw": 28}


@dataclass
class Box:
    type: bytes
    offset: int          # absolute, in the parsed buffer
    size: int            # the whole box, header included
    header_size: int
    children: list["Box"] = field(default_factory=list)

    @property
    def payload_offset(self) -> int:
        return self.offset + self.header_size

    def find(self, path: str) -> list["Box"]:
        """Boxes under this one by a slash path of types: box.find('trak/mdia/minf')."""
        return find(self.children, path)


class BoxError(AssertionError):
    pass


def parse(data: bytes, offset: int = 0, end: int | None = None) -> list[Box]:
    """Every box in data[offset:end]; sizes must tile the range exactly."""
    end = len(data) if end is None else end
    boxes = []
    pos = offset
    while pos < end:
        if end - pos < 8:
            raise BoxError(f"{end - pos} stray bytes at {pos}")
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            size = struct.unpack_from(">Q", data, pos + 8)[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise BoxError(f"box {kind!r} at {pos} has size {size}, parent ends at {end}")
        box = Box(kind, pos, size, header)
        if kind in CONTAINERS:
            box.children = parse(data, pos + header + CONTAINERS[kind], pos + size)
        boxes.append(box)
        pos += size
    return boxes


def find(boxes: list[Box], path: str) -> list[Box]:
    head, _, rest = path.partition("/")
    hits = [b for b in boxes if b.type == head.encode()]
    return hits if not rest else [x for b in hits for x in find(b.children, rest)]


def payload(data: bytes, box: Box) -> bytes:
    return data[box.payload_offset:box.offset + box.size]


def dump(data: bytes, boxes: list[Box] | None = None, depth: int = 0, fields=None) -> str:
    """One line per box: type, size, and what `fields(data, box)` says about it (if given)."""
    boxes = parse(data) if boxes is None else boxes
    lines = []
    for b in boxes:
        extra = fields(data, b) if fields else ""
        lines.append(f"{'  ' * depth}{b.type.decode('latin-1')} size={b.size}{(' ' + extra) if extra else ''}")
        lines.extend(dump(data, b.children, depth + 1, fields).splitlines() if b.children else [])
    return "\n".join(lines)
