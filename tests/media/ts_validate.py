# SPDX-License-Identifier: Apache-2.0
"""A strict MPEG-2 transport stream reader for our own HLS segments (ISO/IEC 13818-1).

Independent of the writer (no import from kvsmux): it parses every packet and raises
``TsError`` on anything out of spec or out of our contract, and hands back the PSI, the PCRs
and the reassembled PES packets so tests can compare them with the input.

Checked, per session (one :class:`SessionValidator` fed the segments in order):
* every packet is 188 bytes with sync byte 0x47, no transport_error_indicator, no scrambling,
  adaptation_field_control not reserved, no null packets;
* continuity_counter increments by 1 (mod 16) per PID on every packet with payload, across
  segments too; packets without payload repeat it;
* adaptation fields parse: their length fits, flags and PCR fit inside, stuffing is 0xFF;
* each segment starts with a PAT and a PMT whose CRC_32 verifies, the PAT points at the PMT,
  the PMT lists every elementary PID that appears and names the PCR_PID;
* PCR on the PCR PID at least once per segment, never decreasing over the session, and never
  later than the DTS of a PES that starts after it (33-bit wrap-around allowed throughout);
* PES packets start with a PUSI packet in their segment and end inside it; headers parse
  (start code, marker bits, PTS/DTS prefixes and marker bits, header length), a non-zero
  PES_packet_length is exact, DTS <= PTS, and per PID the DTS never decreases.
"""
from __future__ import annotations

from dataclasses import dataclass, field

PACKET_SIZE = 188
WRAP = 1 << 33
NULL_PID = 0x1FFF


class TsError(AssertionError):
    """Output that breaks ISO/IEC 13818-1 or our segment contract."""


def crc32_mpeg2(data: bytes) -> int:
    """ISO/IEC 13818-1 Annex A CRC, bit by bit (deliberately not the writer's table version)."""
    crc = 0xFFFFFFFF
    for byte in data:
        for bit in range(7, -1, -1):
            top = ((crc >> 31) & 1) ^ ((byte >> bit) & 1)
            crc = (crc << 1) & 0xFFFFFFFF
            if top:
                crc ^= 0x04C11DB7
    return crc


def ahead(later: int, earlier: int) -> int:
    """How far ``later`` is after ``earlier`` on a 33-bit clock (negative when it is before)."""
    d = (later - earlier) % WRAP
    return d - WRAP if d >= WRAP // 2 else d


@dataclass
class Packet:
    index: int                      # in the segment
    pid: int
    pusi: bool
    cc: int
    has_payload: bool
    af_length: int | None           # None: no adaptation field
    random_access: bool = False
    pcr: int | None = None          # 27 MHz
    payload: bytes = b""


@dataclass
class Pes:
    pid: int
    stream_id: int
    pts: int
    dts: int                        # = pts when the header has no DTS
    has_dts: bool
    packet_length: int
    payload: bytes
    random_access: bool             # on its first packet
    pcr: int | None                 # on its first packet
    first_packet: int


@dataclass
class Segment:
    packets: list[Packet]
    pmt_pid: int
    pcr_pid: int
    streams: list[tuple[int, int]]  # (stream_type, pid), PMT order
    pes: list[Pes]
    pcrs: list[int] = field(default_factory=list)


def parse_packet(raw: bytes, index: int) -> Packet:
    if len(raw) != PACKET_SIZE or raw[0] != 0x47:
        raise TsError(f"packet {index}: no sync byte or not 188 bytes")
    if raw[1] & 0x80:
        raise TsError(f"packet {index}: transport_error_indicator set")
    pid = (raw[1] & 0x1F) << 8 | raw[2]
    scrambling, afc, cc = raw[3] >> 6, (raw[3] >> 4) & 3, raw[3] & 0x0F
    if scrambling:
        raise TsError(f"packet {index}: scrambled")
    if afc == 0:
        raise TsError(f"packet {index}: reserved adaptation_field_control 00")
    p = Packet(index, pid, bool(raw[1] & 0x40), cc, bool(afc & 1), None)
    pos = 4
    if afc & 2:
        length = raw[4]
        limit = 182 if p.has_payload else 183
        if length > limit:
            raise TsError(f"packet {index}: adaptation_field_length {length} > {limit}")
        p.af_length = length
        end = 5 + length
        if length:
            flags = raw[5]
            if flags & 0x0F or flags & 0x80 or flags & 0x08 or flags & 0x20:
                raise TsError(f"packet {index}: unexpected adaptation field flags {flags:#04x}")
            p.random_access = bool(flags & 0x40)
            q = 6
            if flags & 0x10:
                if q + 6 > end:
                    raise TsError(f"packet {index}: PCR runs past the adaptation field")
                b = raw[q:q + 6]
                base = b[0] << 25 | b[1] << 17 | b[2] << 9 | b[3] << 1 | b[4] >> 7
                if b[4] & 0x7E != 0x7E:
                    raise TsError(f"packet {index}: PCR reserved bits not all ones")
                ext = (b[4] & 1) << 8 | b[5]
                if ext >= 300:
                    raise TsError(f"packet {index}: program_clock_reference_extension {ext} >= 300")
                p.pcr = base * 300 + ext
                q += 6
            if any(x != 0xFF for x in raw[q:end]):
                raise TsError(f"packet {index}: adaptation field stuffing is not 0xFF")
        pos = end
    if p.has_payload:
        p.payload = raw[pos:]
        if not p.payload:
            raise TsError(f"packet {index}: payload flagged but empty")
    return p


def parse_section(payload: bytes, index: int, table_id: int) -> bytes:
    """The section in a PUSI packet's payload (one packet): checks pointer, length and CRC."""
    pointer = payload[0]
    section = payload[1 + pointer:]
    if len(section) < 3 or section[0] != table_id:
        raise TsError(f"packet {index}: expected table_id {table_id}")
    if section[1] & 0xC0 != 0x80:
        raise TsError(f"packet {index}: section_syntax_indicator/'0' bits wrong")
    length = (section[1] & 0x0F) << 8 | section[2]
    if 3 + length > len(section):
        raise TsError(f"packet {index}: section runs past its packet")
    body = section[:3 + length]
    if crc32_mpeg2(body) != 0:
        raise TsError(f"packet {index}: section CRC_32 does not verify")
    if any(x != 0xFF for x in section[3 + length:]):
        raise TsError(f"packet {index}: bytes after the section are not 0xFF")
    if body[5] & 0x01 != 1 or body[6] != 0 or body[7] != 0:
        raise TsError(f"packet {index}: current_next/section_number/last_section_number")
    return body


def read_pts(b: bytes, prefix: int, what: str) -> int:
    if b[0] >> 4 != prefix or not (b[0] & 1 and b[2] & 1 and b[4] & 1):
        raise TsError(f"{what}: prefix or marker bits wrong")
    return ((b[0] >> 1) & 7) << 30 | b[1] << 22 | (b[2] >> 1) << 15 | b[3] << 7 | b[4] >> 1


def parse_pes(pid: int, data: bytes, first: Packet) -> Pes:
    where = f"PES on PID {pid:#x} at packet {first.index}"
    if len(data) < 9 or data[:3] != b"\x00\x00\x01":
        raise TsError(f"{where}: no packet_start_code_prefix")
    stream_id, length = data[3], data[4] << 8 | data[5]
    if length and length != len(data) - 6:
        raise TsError(f"{where}: PES_packet_length {length} but {len(data) - 6} bytes follow it")
    if length == 0 and not 0xE0 <= stream_id <= 0xEF:
        raise TsError(f"{where}: unbounded PES_packet_length on a non-video stream")
    if data[6] >> 6 != 2:
        raise TsError(f"{where}: '10' marker missing")
    flags, header_length = data[7] >> 6, data[8]
    if flags == 1:
        raise TsError(f"{where}: PTS_DTS_flags '01' is forbidden")
    if data[7] & 0x3F:
        raise TsError(f"{where}: unexpected optional fields {data[7]:#04x}")
    needed = {0: 0, 2: 5, 3: 10}[flags]
    if header_length != needed:
        raise TsError(f"{where}: PES_header_data_length {header_length}, expected {needed}")
    if flags == 0:
        raise TsError(f"{where}: no PTS")
    pts = read_pts(data[9:14], 3 if flags == 3 else 2, where + " PTS")
    dts = read_pts(data[14:19], 1, where + " DTS") if flags == 3 else pts
    if ahead(pts, dts) < 0:
        raise TsError(f"{where}: DTS {dts} after PTS {pts}")
    return Pes(pid, stream_id, pts, dts, flags == 3, length, bytes(data[9 + header_length:]),
               first.random_access, first.pcr, first.index)


class SessionValidator:
    """Validates the segments of one session in order (continuity and PCR carry over)."""

    def __init__(self) -> None:
        self.cc: dict[int, int] = {}
        self.last_pcr: int | None = None
        self.last_dts: dict[int, int] = {}

    def segment(self, data: bytes) -> Segment:
        if len(data) % PACKET_SIZE:
            raise TsError(f"segment of {len(data)} bytes is not a whole number of packets")
        packets = [parse_packet(data[i:i + PACKET_SIZE], i // PACKET_SIZE) for i in range(0, len(data), PACKET_SIZE)]
        for p in packets:
            self._continuity(p)
        if len(packets) < 2 or packets[0].pid != 0 or not packets[0].pusi:
            raise TsError("segment does not start with a PAT")
        pat = parse_section(packets[0].payload, 0, 0x00)
        if (pat[1] & 0x0F) << 8 | pat[2] != 13:
            raise TsError("PAT must hold exactly one program")
        if pat[8] << 8 | pat[9] != 1:
            raise TsError("PAT program_number is not 1")
        pmt_pid = (pat[10] & 0x1F) << 8 | pat[11]
        if packets[1].pid != pmt_pid or not packets[1].pusi:
            raise TsError("the PMT does not follow the PAT")
        pmt = parse_section(packets[1].payload, 1, 0x02)
        pcr_pid = (pmt[8] & 0x1F) << 8 | pmt[9]
        info = (pmt[10] & 0x0F) << 8 | pmt[11]
        streams, q = [], 12 + info
        while q < len(pmt) - 4:
            streams.append((pmt[q], (pmt[q + 1] & 0x1F) << 8 | pmt[q + 2]))
            q += 5 + ((pmt[q + 3] & 0x0F) << 8 | pmt[q + 4])
        pids = {pid for _, pid in streams}
        if pcr_pid not in pids:
            raise TsError(f"PCR_PID {pcr_pid:#x} is not an elementary stream of the program")
        seg = Segment(packets, pmt_pid, pcr_pid, streams, [])
        self._pes(seg, packets[2:], pids)
        if not seg.pcrs:
            raise TsError("no PCR in the segment")
        return seg

    def _continuity(self, p: Packet) -> None:
        if p.pid == NULL_PID:
            raise TsError(f"packet {p.index}: null packet")
        last = self.cc.get(p.pid)
        expected = last if last is None or not p.has_payload else (last + 1) % 16
        if last is not None and p.cc != expected:
            raise TsError(f"packet {p.index}: PID {p.pid:#x} continuity_counter {p.cc}, expected {expected}")
        self.cc[p.pid] = p.cc

    def _pes(self, seg: Segment, packets: list[Packet], pids: set[int]) -> None:
        # pid -> (first packet, the last PCR when it arrived, data)
        open_pes: dict[int, tuple[Packet, int | None, bytearray]] = {}

        def close(pid: int) -> None:
            first, pcr, data = open_pes.pop(pid)
            pes = parse_pes(pid, bytes(data), first)
            if pcr is not None and ahead(pes.dts, pcr // 300) < 0:
                raise TsError(f"PES at packet {first.index}: DTS {pes.dts} before the PCR {pcr / 300}")
            if pid in self.last_dts and ahead(pes.dts, self.last_dts[pid]) < 0:
                raise TsError(f"PES at packet {first.index}: DTS {pes.dts} goes back on PID {pid:#x}")
            self.last_dts[pid] = pes.dts
            seg.pes.append(pes)

        for p in packets:
            if p.pid not in pids:
                raise TsError(f"packet {p.index}: PID {p.pid:#x} is not in the PMT")
            if p.pcr is not None:
                if p.pid != seg.pcr_pid:
                    raise TsError(f"packet {p.index}: PCR on PID {p.pid:#x}, not the PCR_PID")
                if self.last_pcr is not None and ahead(p.pcr // 300, self.last_pcr // 300) < 0:
                    raise TsError(f"packet {p.index}: PCR goes back")
                self.last_pcr = p.pcr
                seg.pcrs.append(p.pcr)
            if p.pusi:
                if p.pid in open_pes:
                    close(p.pid)
                open_pes[p.pid] = (p, self.last_pcr, bytearray())
            elif p.pid not in open_pes:
                raise TsError(f"packet {p.index}: PID {p.pid:#x} continues a PES the segment did not start")
            if p.has_payload:
                open_pes[p.pid][2].extend(p.payload)
            if p.pcr is not None and not p.pusi:
                raise TsError(f"packet {p.index}: PCR on a packet that starts no PES")
        for pid in sorted(open_pes, key=lambda k: open_pes[k][0].index):
            close(pid)
        seg.pes.sort(key=lambda e: e.first_packet)


def dump(seg: Segment) -> str:
    """One line per packet (and per PES, and the PSI): the golden files' readable form."""
    lines = [f"PAT -> PMT PID {seg.pmt_pid:#06x}",
             f"PMT PCR_PID {seg.pcr_pid:#06x} streams " + " ".join(f"{t:#04x}@{pid:#06x}" for t, pid in seg.streams)]
    starts = {p.first_packet: p for p in seg.pes}
    for p in seg.packets:
        af = "" if p.af_length is None else f" af={p.af_length}"
        pcr = f" pcr={p.pcr // 300}+{p.pcr % 300}" if p.pcr is not None else ""
        flags = (" rai" if p.random_access else "") + pcr
        line = f"{p.index:4d} pid={p.pid:#06x} pusi={int(p.pusi)} cc={p.cc:2d}{af}{flags} payload={len(p.payload)}"
        pes = starts.get(p.index)
        if pes is not None:
            dts = f" dts={pes.dts}" if pes.has_dts else ""
            line += (f" | PES stream_id={pes.stream_id:#04x} length={pes.packet_length} pts={pes.pts}{dts}"
                     f" bytes={len(pes.payload)}")
        lines.append(line)
    return "\n".join(lines) + "\n"
