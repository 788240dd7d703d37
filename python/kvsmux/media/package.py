# SPDX-License-Identifier: Apache-2.0
"""Repackaging Matroska as fMP4/CMAF, MPEG-TS or MP4.

>>> out = to_fmp4(open("in.mkv", "rb").read())
>>> bytes(out.init), [bytes(s) for s in out.segments]

Outputs are read-only buffers: ``bytes(out)`` or ``memoryview(out)`` gives the contiguous
bytes (the media copied once); for the native backend, ``out.parts()`` gives them as
memoryviews of generated headers and of the input, for ``os.writev`` with no copy at all.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class PureOutput:
    """The pure backend's output: the same bytes as the native Output, from its pieces."""

    def __init__(self, pieces: list) -> None:
        self._pieces = pieces
        self._flat: bytes | None = None

    def __bytes__(self) -> bytes:
        if self._flat is None:
            self._flat = b"".join(bytes(p) for p in self._pieces)
        return self._flat

    def __len__(self) -> int:
        return sum(len(memoryview(p).cast("B")) for p in self._pieces)

    def __buffer__(self, flags: int) -> memoryview:  # Python 3.12+
        return memoryview(bytes(self))

    def parts(self) -> list[memoryview]:
        return [memoryview(p).cast("B").toreadonly() for p in self._pieces]


@dataclass
class Segment:
    """One written segment: its bytes and where it came from."""

    output: Any
    fragment_index: int
    start_ns: int
    duration_ns: int

    def __bytes__(self) -> bytes:
        return bytes(self.output)

    def __len__(self) -> int:
        return len(self.output)

    def parts(self) -> list[memoryview]:
        return self.output.parts()


@dataclass
class Package:
    """What one repackaging produced. fMP4: ``init`` and one segment per fragment; TS: one
    segment per fragment (``init`` is None); MP4: one segment holding the whole file."""

    container: str
    init: Segment | None
    segments: list[Segment]
    tracks: list[int]
    codecs: list[str] = field(default_factory=list)  # RFC 6381, per track

    def __bytes__(self) -> bytes:
        return b"".join(bytes(s) for s in ([self.init] if self.init else []) + self.segments)


def _package(data: Any, container: str, *, backend: str, track: int | None, first_sequence_number: int,
             limits: dict | None) -> Package:
    if backend == "native":
        from kvsmux.media import _native
        raw, tracks, codecs = _native.package(data, container, track, first_sequence_number, limits)
        wrap = lambda o: o  # noqa: E731
    elif backend == "pure":
        from kvsmux.media.pure.package import package
        raw, tracks, codecs = package(data, container, track, first_sequence_number, limits)
        wrap = PureOutput
    else:
        raise ValueError(f"backend must be 'native' or 'pure', not {backend!r}")
    segments = [Segment(wrap(r["output"]), r["fragment_index"], r["start_ns"], r["duration_ns"]) for r in raw]
    init = segments.pop(0) if container == "fmp4" else None
    return Package(container, init, segments, list(tracks), list(codecs))


def to_fmp4(mkv: Any, *, backend: str = "native", track: int | None = None, first_sequence_number: int = 1,
            limits: dict | None = None) -> Package:
    """fMP4/CMAF: an init segment and one media segment per fragment (all tracks multiplexed,
    or only ``track``)."""
    return _package(mkv, "fmp4", backend=backend, track=track, first_sequence_number=first_sequence_number,
                    limits=limits)


def to_ts(mkv: Any, *, backend: str = "native", track: int | None = None, limits: dict | None = None) -> Package:
    """MPEG-TS: one segment per fragment, continuity counters running on across them."""
    return _package(mkv, "ts", backend=backend, track=track, first_sequence_number=1, limits=limits)


def to_mp4(mkv: Any, *, backend: str = "native", limits: dict | None = None) -> Package:
    """One progressive MP4 file (``bytes(package)`` or ``package.segments[0]``)."""
    return _package(mkv, "mp4", backend=backend, track=None, first_sequence_number=1, limits=limits)
