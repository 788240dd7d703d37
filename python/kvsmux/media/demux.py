# SPDX-License-Identifier: Apache-2.0
"""Demuxing Matroska (KVS uploads, files, GetMedia output), whole or in pieces.

>>> result = demux(open("in.mkv", "rb").read())
>>> for fragment in result.fragments:
...     fragment.timestamp_ns, len(fragment.frames), fragment.payload(0)

``backend="native"`` (default) runs the C++ core; ``backend="pure"`` the pure-Python
reference, which gives identical results and exists for comparison.
"""
from __future__ import annotations

from typing import Any, Iterable

from kvsmux.errors import MediaError
from kvsmux.media.model import DemuxResult, Fragment, Header, SimpleTag, Tags, Track

BACKENDS = ("native", "pure")


def _backend(name: str) -> Any:
    if name == "native":
        from kvsmux.media import _native
        return _native
    if name == "pure":
        from kvsmux.media.pure import demuxer
        return demuxer
    raise ValueError(f"backend must be one of {BACKENDS}, not {name!r}")


def _tags(d: dict) -> Tags:
    return Tags(byte_range=tuple(d["byte_range"]), simple_tags=[SimpleTag(*t) for t in d["simple_tags"]])


class _Assembler:
    """Turns the backends' raw events into model objects, attaching tags and headers."""

    def __init__(self) -> None:
        self.headers: list[Header] = []
        self.fragments: list[Fragment] = []
        self.orphan_tags: list[Tags] = []
        self._by_index: dict[int, Fragment] = {}

    def add(self, events: Iterable[tuple]) -> list[Fragment]:
        new: list[Fragment] = []
        for kind, value, data in events:
            if kind == "header":
                tracks = [Track(**t) for t in value["tracks"]]
                self.headers.append(Header(**{**value, "tracks": tracks}, data=data))
            elif kind == "fragment":
                frag = Fragment(**{**value, "tags_before": [_tags(t) for t in value["tags_before"]]},
                                header=self._header(value["header_index"]), data=data)
                frag.byte_range = tuple(frag.byte_range)
                self.fragments.append(frag)
                self._by_index[frag.index] = frag
                new.append(frag)
            else:
                index, tags = value
                target = self._by_index.get(index)
                (target.tags_after if target is not None else self.orphan_tags).append(_tags(tags))
        return new

    def _header(self, index: int) -> Header | None:
        return next((h for h in reversed(self.headers) if h.index == index), None)


def demux(data: Any, *, backend: str = "native", limits: dict | None = None) -> DemuxResult:
    """Demuxes a whole bytes-like input without copying it. Never raises for bad media:
    the result holds everything read before the error, and the error."""
    events, error = _backend(backend).demux(data, limits)
    assembler = _Assembler()
    assembler.add(events)
    return DemuxResult(assembler.headers, assembler.fragments, assembler.orphan_tags, error)


class Demuxer:
    """Incremental demuxing: ``feed(chunk)`` with chunks of any size returns the fragments
    completed so far; ``close()`` ends the input. Tags that follow a fragment are added to
    its ``tags_after`` as they arrive. After a media error, ``error`` is set and further
    ``feed`` calls raise it."""

    def __init__(self, *, backend: str = "native", limits: dict | None = None) -> None:
        self._impl = _backend(backend).Demuxer(limits)
        self._assembler = _Assembler()

    def feed(self, chunk: Any) -> list[Fragment]:
        if self._impl.error is not None:
            raise self._impl.error
        return self._assembler.add(self._impl.feed(chunk))

    def close(self) -> list[Fragment]:
        return self._assembler.add(self._impl.close())

    @property
    def error(self) -> MediaError | None:
        return self._impl.error

    @property
    def headers(self) -> list[Header]:
        return self._assembler.headers

    @property
    def fragments(self) -> list[Fragment]:
        return self._assembler.fragments

    @property
    def bytes_received(self) -> int:
        return self._impl.bytes_received

    def result(self) -> DemuxResult:
        a = self._assembler
        return DemuxResult(a.headers, a.fragments, a.orphan_tags, self._impl.error)
