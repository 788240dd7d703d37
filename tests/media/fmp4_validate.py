# SPDX-License-Identifier: Apache-2.0
"""A strict reader of our fMP4 output (STYLE.md section 12): what ffprobe forgives, this does not.

:func:`validate` reads an init segment and its media segments field by field and checks:
box sizes add up (``boxes.parse``); the init has a trak and a trex per track; each media
segment is exactly styp, moof, mdat; mfhd sequence numbers increase by 1; every tfhd has
default-base-is-moof; every trun's data_offset lands on the first byte of its track's data in
the mdat and the sample sizes add up to the mdat payload; tfdt is continuous per track
(tfdt[k+1] == tfdt[k] + the durations of segment k); trun is version 1 exactly when a
composition offset is negative; tfhd/trun carry a field per sample only when it varies; sample
flags are the sync or non-sync values of ISO/IEC 14496-12 §8.8.3.1.

:func:`fields` is the field decoder for readable golden dumps (``boxes.dump(data, fields=fields)``).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

from tests.media import boxes

SYNC_FLAGS, NON_SYNC_FLAGS = 0x02000000, 0x01010000


@dataclass
class ReadSample:
    dts: int
    duration: int
    size: int
    cts_offset: int
    sync: bool
    data: bytes = field(repr=False)

    @property
    def pts(self) -> int:
        return self.dts + self.cts_offset


@dataclass
class InitInfo:
    track_ids: list[int]
    timescales: dict[int, int]
    handlers: dict[int, bytes]
    entries: dict[int, bytes]      # the sample entry type (avc1, hvc1, mp4a, alaw, ulaw)
    brands: list[bytes]


def _full(data: bytes, box: boxes.Box) -> tuple[int, int, int]:
    """(version, flags, offset of the fields after them)."""
    v_f = struct.unpack_from(">I", data, box.payload_offset)[0]
    return v_f >> 24, v_f & 0xFFFFFF, box.payload_offset + 4


def _one(parent_children: list[boxes.Box], path: str) -> boxes.Box:
    hits = boxes.find(parent_children, path)
    assert len(hits) == 1, f"expected one {path}, found {len(hits)}"
    return hits[0]


def read_init(init: bytes) -> InitInfo:
    top = boxes.parse(init)
    assert [b.type for b in top] == [b"ftyp", b"moov"], [b.type for b in top]
    ftyp = boxes.payload(init, top[0])
    brands = [ftyp[i:i + 4] for i in range(8, len(ftyp), 4)]
    info = InitInfo([], {}, {}, {}, brands)
    for trak in boxes.find(top, "moov/trak"):
        version, _flags, at = _full(init, _one(trak.children, "tkhd"))
        track_id = struct.unpack_from(">I", init, at + (16 if version else 8))[0]
        mdhd = _one(trak.children, "mdia/mdhd")
        version, _flags, at = _full(init, mdhd)
        info.timescales[track_id] = struct.unpack_from(">I", init, at + (16 if version else 8))[0]
        hdlr = _one(trak.children, "mdia/hdlr")
        info.handlers[track_id] = init[hdlr.payload_offset + 8:hdlr.payload_offset + 12]
        stsd = _one(trak.children, "mdia/minf/stbl/stsd")
        assert len(stsd.children) == 1, "one sample entry per track"
        info.entries[track_id] = stsd.children[0].type
        info.track_ids.append(track_id)
    trex_ids = [struct.unpack_from(">I", init, t.payload_offset + 4)[0] for t in boxes.find(top, "moov/mvex/trex")]
    assert trex_ids == info.track_ids, f"trex {trex_ids} != trak {info.track_ids}"
    assert len(set(info.track_ids)) == len(info.track_ids)
    return info


def _read_traf(seg: bytes, moof: boxes.Box, traf: boxes.Box) -> tuple[int, int, int, list[ReadSample], int]:
    """(track_id, tfdt, data start in seg, samples, data end in seg)."""
    _v, tf_flags, at = _full(seg, _one(traf.children, "tfhd"))
    assert tf_flags & 0x020000, "tfhd without default-base-is-moof"
    assert not tf_flags & 0x000003, "tfhd with base_data_offset or sample_description_index"
    track_id = struct.unpack_from(">I", seg, at)[0]
    at += 4
    defaults = {}
    for bit, name in ((0x08, "duration"), (0x10, "size"), (0x20, "flags")):
        if tf_flags & bit:
            defaults[name] = struct.unpack_from(">I", seg, at)[0]
            at += 4
    tfhd = _one(traf.children, "tfhd")
    assert at == tfhd.offset + tfhd.size, "tfhd has extra bytes"
    tfdt = _one(traf.children, "tfdt")
    version, _f, at = _full(seg, tfdt)
    assert version == 1 and tfdt.size == 20, "tfdt must be version 1"
    base = struct.unpack_from(">Q", seg, at)[0]
    trun = _one(traf.children, "trun")
    version, tr_flags, at = _full(seg, trun)
    assert tr_flags & 0x001, "trun without data_offset"
    count, data_offset = struct.unpack_from(">Ii", seg, at)
    at += 8
    first_flags = None
    if tr_flags & 0x004:
        first_flags = struct.unpack_from(">I", seg, at)[0]
        at += 4
    rows = []
    for _ in range(count):
        row = {}
        for bit, name in ((0x100, "duration"), (0x200, "size"), (0x400, "flags"), (0x800, "cts")):
            if tr_flags & bit:
                row[name] = struct.unpack_from(">i" if name == "cts" else ">I", seg, at)[0]
                at += 4
        rows.append(row)
    assert at == trun.offset + trun.size, "trun size does not match its fields"
    # Derived, never stored: per-sample fields only when they vary, version 1 only when needed.
    for name, bit in (("duration", 0x100), ("size", 0x200)):
        values = {r.get(name, defaults.get(name)) for r in rows}
        assert bool(tr_flags & bit) == (len(values) > 1), f"trun {name} present={bool(tr_flags & bit)} for {values}"
        assert (name in defaults) == (len(values) == 1), f"tfhd default {name} for {values}"
    ctss = [r.get("cts", 0) for r in rows]
    assert bool(tr_flags & 0x800) == any(ctss), "composition offsets present iff one is not 0"
    assert version == (1 if any(c < 0 for c in ctss) else 0), f"trun version {version} for offsets {ctss[:5]}"
    pos = moof.offset + data_offset
    start, dts, samples = pos, base, []
    for i, r in enumerate(rows):
        flags = r.get("flags", first_flags if i == 0 and first_flags is not None else defaults.get("flags"))
        assert flags in (SYNC_FLAGS, NON_SYNC_FLAGS), f"sample flags {flags!r:}"
        size, duration = r.get("size", defaults.get("size")), r.get("duration", defaults.get("duration"))
        samples.append(ReadSample(dts, duration, size, r.get("cts", 0), flags == SYNC_FLAGS, seg[pos:pos + size]))
        pos += size
        dts += duration
    return track_id, base, start, samples, pos


def validate(init: bytes, segments: list[bytes], first_sequence_number: int = 1) -> tuple[InitInfo, dict]:
    """Checks everything in the module docstring; returns the init info and, per track id, a
    list (one entry per segment that has the track) of (tfdt, [ReadSample])."""
    info = read_init(init)
    per_track: dict[int, list[tuple[int, list[ReadSample]]]] = {t: [] for t in info.track_ids}
    for k, seg in enumerate(segments):
        top = boxes.parse(seg)
        assert [b.type for b in top] == [b"styp", b"moof", b"mdat"], f"segment {k}: {[b.type for b in top]}"
        styp, moof, mdat = top
        sequence = struct.unpack_from(">I", seg, _one(moof.children, "mfhd").payload_offset + 4)[0]
        assert sequence == first_sequence_number + k, f"segment {k}: mfhd sequence {sequence}"
        expected_start = mdat.payload_offset
        seen = set()
        for traf in boxes.find(moof.children, "traf"):
            track_id, base, start, samples, end = _read_traf(seg, moof, traf)
            assert track_id in per_track, f"segment {k}: traf for unknown track {track_id}"
            assert track_id not in seen, f"segment {k}: two trafs for track {track_id}"
            seen.add(track_id)
            assert start == expected_start, (f"segment {k} track {track_id}: data_offset lands at {start}, "
                                             f"its data starts at {expected_start}")
            expected_start = end
            history = per_track[track_id]
            if history:
                prev_base, prev_samples = history[-1]
                assert base == prev_base + sum(s.duration for s in prev_samples), (
                    f"segment {k} track {track_id}: tfdt {base} != {prev_base} + durations")
            history.append((base, samples))
        assert expected_start == mdat.offset + mdat.size, (
            f"segment {k}: sample sizes end at {expected_start}, mdat ends at {mdat.offset + mdat.size}")
    return info, per_track


# --- a field decoder for golden dumps -----------------------------------------------------

def _u(data: bytes, at: int, fmt: str = ">I"):
    return struct.unpack_from(fmt, data, at)[0]


def _brands(p: bytes) -> str:
    compatible = ",".join(p[i:i + 4].decode() for i in range(8, len(p), 4))
    return f"major={p[0:4].decode()} minor={_u(p, 4)} compatible={compatible}"


def _trun(data: bytes, box: boxes.Box) -> str:
    v, flags, at = _full(data, box)
    count, offset = struct.unpack_from(">Ii", data, at)
    at += 8
    out = [f"v={v} flags=0x{flags:06x} count={count} data_offset={offset}"]
    if flags & 0x004:
        out.append(f"first_sample_flags=0x{_u(data, at):08x}")
        at += 4
    names = [n for bit, n in ((0x100, "dur"), (0x200, "size"), (0x400, "flags"), (0x800, "cts")) if flags & bit]
    rows = []
    for _ in range(count):
        row = []
        for n in names:
            value = _u(data, at, ">i" if n == "cts" else ">I")
            row.append(f"{n}={value:#010x}" if n == "flags" else f"{n}={value}")
            at += 4
        rows.append("(" + " ".join(row) + ")")
    if rows and names:
        out.append("samples=" + " ".join(rows))
    return " ".join(out)


def fields(data: bytes, box: boxes.Box) -> str:
    """The fields of the boxes our fMP4 writer emits, as one line of text."""
    p = boxes.payload(data, box)
    kind = box.type
    if kind in (b"ftyp", b"styp"):
        return _brands(p)
    if kind in (b"mvhd", b"mdhd"):
        v = p[0]
        at = 4 + (16 if v else 8)
        timescale = _u(p, at)
        duration = _u(p, at + 4, ">Q" if v else ">I")
        extra = ""
        if kind == b"mdhd":
            lang = _u(p, at + (12 if v else 8), ">H")
            extra = " language=" + "".join(chr(((lang >> s) & 31) + 0x60) for s in (10, 5, 0))
        else:
            extra = f" next_track_ID={_u(p, len(p) - 4)}"
        return f"v={v} timescale={timescale} duration={duration}{extra}"
    if kind == b"tkhd":
        v = p[0]
        at = 4 + (16 if v else 8)
        return (f"v={v} flags=0x{_u(p, 0) & 0xFFFFFF:06x} track_ID={_u(p, at)} volume=0x{_u(p, len(p) - 48, '>H'):04x} "
                f"width={_u(p, len(p) - 8) / 65536:g} height={_u(p, len(p) - 4) / 65536:g}")
    if kind == b"hdlr":
        return f"handler={p[8:12].decode()} name={p[24:].rstrip(bytes(1)).decode()!r}"
    if kind in (b"avc1", b"hvc1"):
        return f"width={_u(p, 24, '>H')} height={_u(p, 26, '>H')}"
    if kind in (b"mp4a", b"alaw", b"ulaw"):
        return f"channelcount={_u(p, 16, '>H')} samplesize={_u(p, 18, '>H')} samplerate={_u(p, 24) >> 16}"
    if kind in (b"avcC", b"hvcC", b"esds"):
        return f"{p.hex()}"
    if kind == b"trex":
        return f"track_ID={_u(p, 4)} sample_description_index={_u(p, 8)} defaults={_u(p, 12)},{_u(p, 16)},{_u(p, 20)}"
    if kind == b"mfhd":
        return f"sequence_number={_u(p, 4)}"
    if kind == b"tfhd":
        flags = _u(p, 0) & 0xFFFFFF
        names = [n for bit, n in ((0x08, "duration"), (0x10, "size"), (0x20, "flags")) if flags & bit]
        values = [f"default_{n}={_u(p, 8 + 4 * i):#010x}" if n == "flags" else f"default_{n}={_u(p, 8 + 4 * i)}"
                  for i, n in enumerate(names)]
        return " ".join([f"flags=0x{flags:06x} track_ID={_u(p, 4)}"] + values)
    if kind == b"tfdt":
        return f"v={p[0]} base_media_decode_time={_u(p, 4, '>Q') if p[0] else _u(p, 4)}"
    if kind == b"trun":
        return _trun(data, box)
    if kind == b"mdat":
        return f"payload={box.size - box.header_size}"
    if kind in (b"stts", b"stsc", b"stco", b"stsd", b"dref"):
        return f"entry_count={_u(p, 4)}"
    if kind == b"stsz":
        return f"sample_size={_u(p, 4)} sample_count={_u(p, 8)}"
    return ""
