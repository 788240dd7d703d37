# SPDX-License-Identifier: Apache-2.0
"""Big-endian output with box and descriptor scopes, for the pure ISO BMFF writers: the
mirror of ``cpp/include/kvsmux/writer.h`` (ByteWriter) and ``mp4/box.h`` (BoxScope), plus
the DescriptorScope of ``cpp/src/mp4/sample_entry.cc``."""
from __future__ import annotations

import contextlib
from typing import Iterator

U32_MAX = (1 << 32) - 1


class Writer:
    """Big-endian output (kvsmux/writer.h) with box and descriptor scopes (mp4/box.h)."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def __len__(self) -> int:
        return len(self.buf)

    def uint(self, value: int, size: int) -> None:
        self.buf += value.to_bytes(size, "big")

    def u8(self, v: int) -> None:
        self.uint(v, 1)

    def u16(self, v: int) -> None:
        self.uint(v, 2)

    def u24(self, v: int) -> None:
        self.uint(v, 3)

    def u32(self, v: int) -> None:
        self.uint(v, 4)

    def u64(self, v: int) -> None:
        self.uint(v, 8)

    def i16(self, v: int) -> None:
        self.uint(v & 0xFFFF, 2)

    def i32(self, v: int) -> None:
        self.uint(v & 0xFFFFFFFF, 4)

    def fourcc(self, f: bytes) -> None:
        assert len(f) == 4
        self.buf += f

    def bytes(self, b) -> None:
        self.buf += b

    def zeros(self, n: int) -> None:
        self.buf += bytes(n)

    def reserve(self, size: int) -> int:
        at = len(self.buf)
        self.zeros(size)
        return at

    def patch(self, at: int, value: int, size: int = 4) -> None:
        self.buf[at:at + size] = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "big")

    @contextlib.contextmanager
    def box(self, kind: bytes, version: int | None = None, flags: int = 0) -> Iterator[None]:
        """A Box, or a FullBox when ``version`` is given; its 32-bit size is patched at the end."""
        start = self.reserve(4)
        self.fourcc(kind)
        if version is not None:
            self.u8(version)
            self.u24(flags)
        yield
        self.patch(start, len(self.buf) - start)

    @contextlib.contextmanager
    def descriptor(self, tag: int) -> Iterator[None]:
        """ISO/IEC 14496-1 §7.2.2.2 BaseDescriptor with a 4-byte expandable sizeOfInstance."""
        self.u8(tag)
        at = self.reserve(4)
        yield
        self.patch(at, expandable_size4(len(self.buf) - at - 4))


def expandable_size4(size: int) -> int:
    # ISO/IEC 14496-1 §8.3.3: 7 bits per byte, the top bit says another byte follows.
    return (0x80808000 | ((size << 3) & 0x7F000000) | ((size << 2) & 0x007F0000) | ((size << 1) & 0x00007F00)
            | (size & 0x7F))
