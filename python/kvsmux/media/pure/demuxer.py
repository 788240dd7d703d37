# SPDX-License-Identifier: Apache-2.0
"""The Matroska demuxer in pure Python: a second opinion on the C++ one, and a benchmark
baseline.

This module mirrors ``cpp/src/mkv/demuxer.cc`` (:class:`CoreDemuxer`, the incremental state
machine), ``cpp/src/mkv/stream_demuxer.cc`` (:class:`Demuxer`, the chunk feeder) and the
entry points of the binding (``demux_whole`` and ``PyDemuxer`` in ``src/convert.cpp``,
``Block`` in ``src/buffers.cpp``). What they drive mirrors its own C++ file: ``types.py``
(``mkv/types.h``), ``headers.py`` (``headers.cc``, ``codec_summary.cc``), ``tags.py``
(``tags.cc``), ``block.py`` (``block.cc``) and ``convert.py`` (the rest of
``src/convert.cpp``), over ``ebml.py`` and ``codec.py``.

For every input it gives what ``kvsmux._core`` gives: the same events, dict values and
frame tables, and the same error class, detail, offset and path, whether the input comes
whole (:func:`demux`) or in chunks of any size (:class:`Demuxer`).
``tests/media/test_differential.py`` holds it to that.
"""
from __future__ import annotations

from kvsmux.errors import (
    ElementOverflowError,
    InvalidValueError,
    LimitExceededError,
    MediaError,
    MissingElementError,
    TruncatedInputError,
    UnexpectedElementError,
    UnknownSizeNotAllowedError,
)
from kvsmux.media.pure.block import parse_block
from kvsmux.media.pure.convert import events_to_python, limits_from
from kvsmux.media.pure.ebml import (
    ID,
    UNKNOWN_SIZE,
    ElementHeader,
    Reader,
    element_name,
    find_element,
    for_each_child,
    read_element_header,
    read_uint,
    with_path,
)
from kvsmux.media.pure.headers import parse_ebml_header, parse_info, parse_tracks
from kvsmux.media.pure.tags import parse_tags
from kvsmux.media.pure.types import (
    DEFAULT_LIMITS,
    FRAME_DTYPE,
    INT64_MAX,
    MASK64,
    Fragment,
    Header,
    TagsElement,
    TagsEvent,
    i64,
    mul_i64,
)

__all__ = ["DEFAULT_LIMITS", "FRAME_DTYPE", "Block", "CoreDemuxer", "Demuxer", "demux"]

EBML, SEGMENT, CLUSTER = ID["EBML"], ID["Segment"], ID["Cluster"]
INFO, TRACKS, TAGS = ID["Info"], ID["Tracks"], ID["Tags"]
TIMESTAMP, SIMPLE_BLOCK, BLOCK_GROUP = ID["Timestamp"], ID["SimpleBlock"], ID["BlockGroup"]
BLOCK, BLOCK_DURATION, REFERENCE_BLOCK = ID["Block"], ID["BlockDuration"], ID["ReferenceBlock"]


# --- The incremental demuxer (cpp/src/mkv/demuxer.cc) ---------------------------------

class _Wait(Exception):
    """The window ends before the next step can be taken (`Step::kWait`)."""


class _Stop(Exception):
    """Parsing stopped: an error, or the end of the input (`Step::kStop`)."""


class CoreDemuxer:
    """The mirror of ``kvsmux::mkv::Demuxer``: reads a stream of EBML documents given as a
    growing window of the input, and reports absolute byte ranges, never copies of frames.

    The caller calls :meth:`parse` whenever the window grows; the window must start at or
    before :meth:`retain_from`. A Cluster is reported once the next top-level element
    starts (or the input ends). After an error the demuxer stops.
    """

    def __init__(self, limits: dict) -> None:
        self.limits = limits
        self.state = "top"  # top, expect_segment, segment, cluster, done
        self.pos = 0
        self.need = 0
        self.window_end = 0
        self.work = 0
        self.error: MediaError | None = None
        self.events: list = []
        # The document being read.
        self.documents = 0
        self.header = Header(0, 0)
        self.header_emitted = False
        self.segment_end = UNKNOWN_SIZE
        self.pending_tags: list[TagsElement] = []
        self.last_fragment = -1  # the last fragment of this document, for Tags after it
        # The cluster being read.
        self.cluster = Fragment()
        self.cluster_end = UNKNOWN_SIZE
        self.cluster_has_timestamp = False
        self.fragment_count = 0
        self.skipped = ElementHeader(0, 0, 0, 0)  # the last element skipped, for truncation reports

    def take_events(self) -> list:
        events, self.events = self.events, []
        return events

    def finished(self) -> bool:
        return self.state == "done" or self.error is not None

    def retain_from(self) -> int:
        """The first absolute offset the next ``parse`` still needs."""
        if self.finished():
            return self.pos
        if self.state == "cluster":
            return self.cluster.offset
        if self.state != "top" and not self.header_emitted:
            return self.header.offset
        return self.pos

    def _path(self, element: str = "") -> str:
        p = {"expect_segment": "EBML", "segment": "Segment",
             "cluster": f"Segment/Cluster[{self.cluster.index}]"}.get(self.state, "")
        if element:
            p = f"{p}/{element}" if p else element
        return p

    def _fail(self, e: MediaError, element: str = "") -> _Stop:
        """Records the error with its full path; returns the _Stop to raise."""
        where = self._path(element)
        path = where if not e.path else (e.path if not where else f"{where}/{e.path}")
        e = type(e)(e.detail, offset=e.offset, path=path)
        if self.state == "cluster" and isinstance(e, TruncatedInputError):
            # The input ended inside this cluster: report the frames that are complete.
            self.cluster.truncated = True
            self._finish_cluster(self.pos)
        # What was read of a document's header is still worth reporting (tracks for `probe`).
        if (self.state not in ("top", "done") and not self.header_emitted and self.documents > 0
                and self.header.index + 1 == self.documents):
            self._emit_header(self.pos)
        self.error = e
        return _Stop()

    def _emit_header(self, end: int) -> None:
        self.header.size = end - self.header.offset
        self.events.append(self.header)
        self.header_emitted = True

    def _finish_cluster(self, end: int) -> None:
        self.cluster.size = end - self.cluster.offset
        self.last_fragment = self.cluster.index
        self.fragment_count += 1
        self.events.append(self.cluster)
        self.cluster = Fragment()
        self.state = "segment"

    def _end_document(self) -> None:
        # A document without clusters still reports its header, and its tags belong to no fragment.
        if not self.header_emitted:
            self._emit_header(self.pos)
        self.events.extend(TagsEvent(-1, t) for t in self.pending_tags)
        self.pending_tags = []
        self.state = "top"

    def _header_at(self, r: Reader, eof: bool) -> ElementHeader:
        """The element header at pos, or waits / fails when the window ends first."""
        try:
            return read_element_header(r)
        except TruncatedInputError as e:
            if not eof:
                self.need = self.window_end + 1
                raise _Wait() from None
            raise self._fail(TruncatedInputError("input ends inside an element header", offset=e.offset)) from None
        except MediaError as e:
            raise self._fail(e) from None

    def _whole(self, h: ElementHeader, r: Reader, eof: bool) -> Reader:
        """The whole data of ``h`` when it is in the window, else waits / fails."""
        name = element_name(h.id)
        if h.unknown_size():
            raise self._fail(UnknownSizeNotAllowedError(f"{name} has unknown size", offset=h.offset), name)
        if h.size > self.limits["max_element_size"]:
            raise self._fail(LimitExceededError(
                f"{name} of {h.size} bytes exceeds the element size limit of {self.limits['max_element_size']} bytes",
                offset=h.offset), name)
        if h.end() <= self.window_end:
            return r.take(h.size)
        if eof:
            raise self._fail(TruncatedInputError(
                f"{name} of {h.size} bytes ends at {h.end()}, input ends at {self.window_end}", offset=h.offset), name)
        self.need = h.end()
        raise _Wait()

    def parse(self, window, window_offset: int, eof: bool) -> None:
        """Parses the bytes at absolute offsets [window_offset, window_offset + len(window)).
        ``eof`` means the input ends with this window."""
        if self.finished():
            return
        self.window_end = window_offset + len(window)
        if window_offset > self.retain_from():
            self.error = InvalidValueError("input window starts after bytes the demuxer still needs",
                                           offset=window_offset)
            return
        if not eof and self.window_end < self.need:
            return
        work_limit = (self.limits["work_base"] + self.limits["max_work_per_byte"] * self.window_end) & MASK64
        steps = {"top": self._step_top, "expect_segment": self._step_top,
                 "segment": self._step_segment, "cluster": self._step_cluster}
        try:
            while True:
                self.work += 1
                if self.work > work_limit:
                    raise self._fail(LimitExceededError("parse work limit exceeded", offset=self.pos))
                if self.pos > self.window_end:  # skipping an element whose bytes have not all arrived
                    if not eof:
                        self.need = self.pos
                        return
                    s = self.skipped
                    name = element_name(s.id)
                    raise self._fail(TruncatedInputError(
                        f"{name} of {s.size} bytes ends at {s.end()}, input ends at {self.window_end}",
                        offset=s.offset), name)
                if self.state == "done":
                    return
                r = Reader(window, self.pos - window_offset, len(window), self.pos)
                steps[self.state](r, eof)
        except (_Wait, _Stop):
            return

    def _step_top(self, r: Reader, eof: bool) -> None:
        # RFC 8794 §11.2, RFC 9559 §4: each document is an EBML header and one Segment.
        want_segment = self.state == "expect_segment"
        if r.empty():
            if not eof:
                self.need = self.pos + 1
                raise _Wait()
            if want_segment:
                raise self._fail(TruncatedInputError("input ends before the Segment", offset=self.pos))
            if self.documents == 0:
                raise self._fail(TruncatedInputError("input holds no EBML document", offset=self.pos))
            self.state = "done"
            raise _Stop()
        h = self._header_at(r, eof)
        if not want_segment:
            if h.id != EBML:
                raise self._fail(UnexpectedElementError(
                    f"expected an EBML header, found {element_name(h.id)}", offset=h.offset))
            data = self._whole(h, r, eof)
            self.header = Header(self.documents, h.offset)
            try:
                parse_ebml_header(data, self.header)
            except MediaError as e:
                raise self._fail(e, "EBML") from None
            self.documents += 1
            self.header_emitted = False
            self.pending_tags = []
            self.last_fragment = -1
            self.pos = h.end()
            self.state = "expect_segment"
            return
        if h.id != SEGMENT:
            raise self._fail(UnexpectedElementError(f"expected a Segment, found {element_name(h.id)}", offset=h.offset))
        self.segment_end = h.end()
        self.header.segment_offset = h.offset
        self.header.segment_size = UNKNOWN_SIZE if h.unknown_size() else h.header_size + h.size
        self.header.segment_data_offset = h.data_offset()
        self.pos = h.data_offset()
        self.state = "segment"

    def _step_segment(self, r: Reader, eof: bool) -> None:
        # RFC 9559 §5.1: the top-level elements of a Segment.
        if self.segment_end != UNKNOWN_SIZE and self.pos >= self.segment_end:
            self._end_document()
            return
        if r.empty():
            if not eof:
                self.need = self.pos + 1
                raise _Wait()
            if self.segment_end != UNKNOWN_SIZE:
                raise self._fail(TruncatedInputError(
                    f"Segment of {self.segment_end - self.header.segment_data_offset} bytes ends at "
                    f"{self.segment_end}, input ends at {self.pos}", offset=self.header.segment_offset))
            self._end_document()
            return
        h = self._header_at(r, eof)
        name = element_name(h.id)
        if h.id == EBML:
            if self.segment_end != UNKNOWN_SIZE:
                raise self._fail(UnexpectedElementError("EBML header inside a Segment of known size", offset=h.offset))
            self._end_document()  # an unknown-size Segment ends where the next document starts
            return
        if h.id == SEGMENT:
            raise self._fail(UnexpectedElementError("Segment inside a Segment", offset=h.offset))
        if h.id == CLUSTER:
            if not h.unknown_size() and h.end() > self.segment_end:
                raise self._fail(ElementOverflowError("Cluster runs past its Segment", offset=h.offset), name)
            if not h.unknown_size() and h.size > self.limits["max_cluster_size"]:
                raise self._fail(LimitExceededError(
                    f"Cluster of {h.size} bytes exceeds the cluster size limit", offset=h.offset), name)
            if not self.header_emitted:
                self._emit_header(h.offset)
            self.cluster = Fragment(self.fragment_count, self.header.index, h.offset, h.unknown_size())
            self.cluster.tags_before, self.pending_tags = self.pending_tags, []
            self.cluster_end = self.segment_end if h.unknown_size() else h.end()
            self.cluster_has_timestamp = False
            self.pos = h.data_offset()
            self.state = "cluster"
            return
        if h.unknown_size():
            raise self._fail(UnknownSizeNotAllowedError(f"{name} has unknown size", offset=h.offset), name)
        if h.end() > self.segment_end:
            raise self._fail(ElementOverflowError(f"{name} runs past its Segment", offset=h.offset), name)
        if h.id in (INFO, TRACKS, TAGS):
            body = self._whole(h, r, eof)
            if h.id == TAGS:
                try:
                    tags = parse_tags(body, h.offset, h.header_size + h.size, self.limits)
                except MediaError as e:
                    raise self._fail(e, name) from None
                if self.last_fragment >= 0:
                    self.events.append(TagsEvent(self.last_fragment, tags))
                else:
                    self.pending_tags.append(tags)
            else:
                if self.header_emitted:
                    raise self._fail(UnexpectedElementError(f"{name} after the first Cluster", offset=h.offset), name)
                try:
                    if h.id == INFO:
                        parse_info(body, self.header)
                    else:
                        parse_tracks(body, self.limits, self.header)
                except MediaError as e:
                    raise self._fail(e, name) from None
            self.pos = h.end()
            return
        # SeekHead, Void, CRC-32, Cues, Chapters, Attachments and unknown IDs are skipped.
        spec = find_element(h.id)
        if spec and not spec.is_global and spec.parent_id != SEGMENT:
            raise self._fail(UnexpectedElementError(f"{name} directly inside a Segment", offset=h.offset), name)
        self.skipped = h
        self.pos = h.end()

    def _step_cluster(self, r: Reader, eof: bool) -> None:
        # RFC 9559 §5.1.3 Cluster. An unknown-size Cluster ends at the first element that is
        # not one of its children (RFC 8794 §6.2).
        if self.cluster_end != UNKNOWN_SIZE and self.pos >= self.cluster_end:
            self._finish_cluster(self.cluster_end)
            return
        if r.empty():
            if not eof:
                self.need = self.pos + 1
                raise _Wait()
            if self.cluster_end != UNKNOWN_SIZE:
                raise self._fail(TruncatedInputError(
                    f"Cluster ends at {self.cluster_end}, input ends at {self.pos}", offset=self.cluster.offset))
            self._finish_cluster(self.pos)
            return
        h = self._header_at(r, eof)
        name = element_name(h.id)
        spec = find_element(h.id)
        if spec and not spec.is_global and spec.parent_id != CLUSTER:
            sibling_or_root = spec.depth == 0 or spec.parent_id == SEGMENT
            if sibling_or_root and self.cluster.unknown_size:
                self._finish_cluster(h.offset)
                return
            raise self._fail(UnexpectedElementError(f"{name} inside a Cluster", offset=h.offset), name)
        if h.unknown_size():
            raise self._fail(UnknownSizeNotAllowedError(f"{name} has unknown size", offset=h.offset), name)
        if h.end() > self.cluster_end:
            raise self._fail(ElementOverflowError(f"{name} of {h.size} bytes runs past its Cluster", offset=h.offset),
                             name)
        if h.end() - self.cluster.offset > self.limits["max_cluster_size"]:
            raise self._fail(LimitExceededError("Cluster exceeds the cluster size limit", offset=h.offset), name)
        if h.id in (TIMESTAMP, SIMPLE_BLOCK, BLOCK_GROUP):
            self._cluster_child(h, self._whole(h, r, eof))
        else:
            self.skipped = h  # Position, PrevSize, Void, CRC-32, SilentTracks, EncryptedBlock, unknown
        self.pos = h.end()

    def _cluster_child(self, h: ElementHeader, data: Reader) -> None:
        name = element_name(h.id)
        cluster = self.cluster
        if h.id == TIMESTAMP:
            try:
                ticks = read_uint(data)
            except MediaError as e:
                raise self._fail(e, name) from None
            ns = mul_i64(ticks, i64(self.header.timestamp_scale_ns)) if ticks <= INT64_MAX else None
            if ns is None:
                raise self._fail(InvalidValueError("Cluster Timestamp overflows 64-bit nanoseconds",
                                                   offset=h.data_offset()), name)
            cluster.timestamp_ticks = ticks
            cluster.timestamp_ns = ns
            self.cluster_has_timestamp = True
            return
        if not self.cluster_has_timestamp:
            raise self._fail(MissingElementError(f"{name} before the Cluster Timestamp", offset=h.offset), name)
        before = len(cluster.frames)
        try:
            if h.id == SIMPLE_BLOCK:
                parse_block(data, True, False, 0, False, cluster.timestamp_ticks, self.header, self.limits,
                            cluster.frames)
            else:
                self._block_group(h, data)
        except MediaError as e:
            raise self._fail(e, name) from None
        self.work += len(cluster.frames) - before

    def _block_group(self, h: ElementHeader, data: Reader) -> None:
        # RFC 9559 §5.1.3.5 BlockGroup: one Block, with BlockDuration and ReferenceBlock.
        group = {"block": None, "data": None, "has_duration": False, "duration_ticks": 0, "has_reference": False}

        def child(c: ElementHeader, v: Reader) -> None:
            if c.id == BLOCK:
                if group["block"] is not None:
                    raise UnexpectedElementError("second Block in a BlockGroup", offset=c.offset)
                group["block"], group["data"] = c, v
            elif c.id == BLOCK_DURATION:
                group["duration_ticks"] = read_uint(v)
                group["has_duration"] = True
            elif c.id == REFERENCE_BLOCK:
                group["has_reference"] = True

        block = None
        try:
            for_each_child(data, child)
            block = group["block"]
            if block is None:
                raise MissingElementError("BlockGroup without a Block", offset=h.offset)
            parse_block(group["data"], False, group["has_duration"], group["duration_ticks"], group["has_reference"],
                        self.cluster.timestamp_ticks, self.header, self.limits, self.cluster.frames)
        except MediaError as e:
            block = group["block"]
            if block is not None and not e.path and e.offset >= block.offset:
                raise with_path(e, "Block") from None
            raise


# --- The Python API of kvsmux._core (cpp/src/mkv/stream_demuxer.cc, src/convert.cpp) --

class Block:
    """Immutable input bytes at absolute offsets [offset, offset + len(data)); the events of
    one feed share it, as they share a ``_core.Block``."""

    __slots__ = ("offset", "data")

    def __init__(self, offset: int, data: bytes) -> None:
        self.offset = offset
        self.data = data

    def __len__(self) -> int:
        return len(self.data)


def _as_bytes_view(data) -> memoryview:
    view = memoryview(data)
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")


def demux(data, limits: dict | None = None) -> tuple[list[tuple], MediaError | None]:
    """Demuxes a whole buffer: ``(events, error or None)``; events carry ``data`` itself."""
    demuxer = CoreDemuxer(limits_from(limits))
    window = data if isinstance(data, (bytes, bytearray)) else _as_bytes_view(data)
    demuxer.parse(window, 0, True)
    return events_to_python(demuxer.take_events(), data), demuxer.error


class Demuxer:
    """Feeds chunks of any size (down to one byte) to a CoreDemuxer, like ``_core.Demuxer``.

    The chunk is copied once into a growing buffer; when events complete, that buffer is
    frozen into a :class:`Block` they share, and only the unfinished tail is carried over.
    Bytes of skipped elements (Cues, Void, Attachments) are dropped without being stored.
    """

    def __init__(self, limits: dict | None = None) -> None:
        self._demuxer = CoreDemuxer(limits_from(limits))
        self._pending = bytearray()
        self._pending_offset = 0  # absolute offset of _pending[0]
        self._received = 0
        self._closed = False

    @property
    def error(self) -> MediaError | None:
        return self._demuxer.error

    @property
    def bytes_received(self) -> int:
        return self._received

    @property
    def buffered(self) -> int:
        """Bytes held for elements that are not complete yet."""
        return len(self._pending)

    @property
    def finished(self) -> bool:
        return self._demuxer.finished()

    def feed(self, chunk) -> list[tuple]:
        chunk = _as_bytes_view(chunk)
        if self._closed or self._demuxer.finished():
            self._received += len(chunk)
            return []
        chunk_offset = self._received
        self._received += len(chunk)
        # Bytes before retain_from() belong to elements being skipped: never store them. The
        # window never starts past what was received, so the demuxer always knows where input ends.
        keep_from = self._demuxer.retain_from()
        if not self._pending:
            self._pending_offset = min(max(chunk_offset, keep_from), self._received)
        pending_end = self._pending_offset + len(self._pending)
        if self._received > pending_end:
            self._pending += chunk[pending_end - chunk_offset:]
        if self._received < self._demuxer.need:
            return []
        return self._run(False)

    def close(self) -> list[tuple]:
        """The input has ended: reports the last cluster (or the truncation error)."""
        if self._closed:
            return []
        self._closed = True
        return self._run(True)

    def _run(self, eof: bool) -> list[tuple]:
        d = self._demuxer
        d.parse(self._pending, self._pending_offset, eof)
        events = d.take_events()
        keep_from = max(d.retain_from(), self._pending_offset)
        pending_end = self._pending_offset + len(self._pending)
        if not events:
            # Nothing references the buffer yet: drop the consumed prefix once it is the larger part.
            consumed = min(keep_from, pending_end) - self._pending_offset
            if consumed > 0 and consumed * 2 >= len(self._pending):
                del self._pending[:consumed]
                self._pending_offset += consumed
            if keep_from >= pending_end:  # skipping past everything received
                self._pending.clear()
                self._pending_offset = pending_end
            return []
        # Freeze what was read into a Block the events share; carry the unfinished tail over.
        block = Block(self._pending_offset, bytes(self._pending))
        self._pending = bytearray(block.data[keep_from - block.offset:]) if keep_from < pending_end else bytearray()
        self._pending_offset = min(keep_from, pending_end)
        return events_to_python(events, block)
