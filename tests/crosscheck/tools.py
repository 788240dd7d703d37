# SPDX-License-Identifier: Apache-2.0
"""Independent readers for the cross-check tests (STYLE.md section 12), plus where the test
inputs are.

Nothing here is a test. The helpers run ffprobe and mkvinfo as subprocesses, always with a
timeout and ``check=False``, because hostile inputs make them fail (and mkvinfo 74 spins
forever on ``libwebm-testdata/invalid/fixed_lacing_bad_lace_size.mkv``). A failed run gives
back whatever the tool printed. These tools are lenient, so their answers are a second opinion
and not the truth (section 12).

ffprobe reports packets by *stream index*, and for Matroska input it does not report the
TrackNumber at all (there is no ``id`` in ``-show_streams``). The stream index follows the order
of the TrackEntry elements, minus any track libavformat drops (for example one with an
unknown TrackType). So :func:`ffprobe_packets` and :func:`ffprobe_streams` read the TrackEntry
order themselves (:func:`matroska_track_entries`, a small bounded EBML walk) and match stream i
to the next TrackEntry of the same kind (video/audio/subtitle). When no Tracks can be read,
they fall back to TrackNumber = stream index + 1, and say so in ``ProbeResult.mapping``.

:func:`lacing_counts` is the one answer no installed tool gives: mkvinfo prints the number of
frames in a block but not the lacing kind (Xiph, EBML or fixed). It is our own 30-line read of
the block flags byte. It pins the claims in tests/data/valid/README.md, and it is not an
independent opinion on our demuxer.
"""
from __future__ import annotations

import collections
import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT / "tests" / "data"
VALID_DIR = DATA_DIR / "valid"
INVALID_DIR = DATA_DIR / "invalid"
SHARED_MATROSKA_SUFFIXES = (".mkv", ".webm", ".hdr")

FFPROBE_TIMEOUT = 30.0
MKVINFO_TIMEOUT = 20.0

# Debian package for each tool, for the skip message.
_PACKAGES = {"ffprobe": "ffmpeg", "ffmpeg": "ffmpeg", "mkvinfo": "mkvtoolnix", "mkvmerge": "mkvtoolnix",
             "gst-launch-1.0": "gstreamer1.0-tools"}


# --- tools and paths -------------------------------------------------------------------------

def have_tool(name: str) -> bool:
    """True when the executable ``name`` is on PATH."""
    return shutil.which(name) is not None


def require_tool(name: str, what: str = "against it") -> None:
    """Skip the calling test, loudly, when ``name`` is not installed."""
    if not have_tool(name):
        import pytest

        package = _PACKAGES.get(name, name)
        pytest.skip(f"{name} not installed: not verifying {what} (apt-get install -y {package})")


def shared_media_dir() -> Path | None:
    """``<repo>/../shared/media`` (the real recordings, read where they lie), or None."""
    media = REPO_ROOT.parent / "shared" / "media"
    return media if media.is_dir() else None


def require_shared_media() -> Path:
    """The shared media folder; skips the calling test, loudly, when it is absent."""
    media = shared_media_dir()
    if media is None:
        import pytest

        pytest.skip(f"NOT VERIFIED: {REPO_ROOT.parent / 'shared' / 'media'} is absent "
                    "(the shared media live beside the checkout)")
    return media


def all_shared_matroska() -> list[Path]:
    """Every ``*.mkv``, ``*.webm`` and ``*.hdr`` under shared/media, sorted; [] when absent."""
    media = shared_media_dir()
    if media is None:
        return []
    return sorted(p for p in media.rglob("*") if p.is_file() and p.suffix in SHARED_MATROSKA_SUFFIXES)


def valid_fixtures() -> list[Path]:
    """The generated fixtures in tests/data/valid (see its README.md), sorted."""
    return sorted(VALID_DIR.glob("*.mkv")) if VALID_DIR.is_dir() else []


@dataclass(frozen=True)
class ToolRun:
    """One subprocess run: what it printed, however it ended."""
    returncode: int | None          # None when it was killed at the timeout
    stdout: str
    stderr: str
    timed_out: bool


def _run(argv: list[str], timeout: float) -> ToolRun:
    try:
        done = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as expired:
        return ToolRun(None, _text(expired.stdout), _text(expired.stderr), True)
    return ToolRun(done.returncode, _text(done.stdout), _text(done.stderr), False)


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode("utf-8", "replace")


# --- the TrackEntry order, read directly ---------------------------------------------------

@dataclass(frozen=True)
class TrackEntry:
    number: int | None              # TrackNumber (0xD7)
    type: int | None                # TrackType (0x83): 1 video, 2 audio, 0x11 subtitle, ...
    codec_id: str | None            # CodecID (0x86)


_EBML_HEADER = 0x1A45DFA3
_SEGMENT = 0x18538067
_CLUSTER = 0x1F43B675
_TRACKS = 0x1654AE6B
_TRACK_ENTRY = 0xAE
_BLOCK_GROUP = 0xA0
_SIMPLE_BLOCK = 0xA3
_BLOCK = 0xA1
_LEVEL1 = {0x114D9B74, 0x1549A966, _TRACKS, _CLUSTER, 0x1C53BB6B, 0x1254C367, 0x1043A770, 0x1941A469}
_TOP = {_EBML_HEADER, _SEGMENT}
# Children that end an unknown-size parent (RFC 9559 section 6.2: the next element that cannot
# be its child).
_ENDS_UNKNOWN = {_SEGMENT: _TOP, _CLUSTER: _TOP | _LEVEL1}
_MAX_ELEMENTS = 2_000_000          # a hostile file cannot keep the walk going for ever


def _vint(buf: bytes, pos: int, keep_marker: bool) -> tuple[int, int, bool] | None:
    """(value, length, all-ones) of the EBML variable-size integer at ``pos``, or None."""
    if pos >= len(buf) or buf[pos] == 0:
        return None
    first = buf[pos]
    length = 9 - first.bit_length()
    if pos + length > len(buf):
        return None
    value = first if keep_marker else first & ((0x80 >> (length - 1)) - 1)
    for byte in buf[pos + 1:pos + length]:
        value = (value << 8) | byte
    all_ones = not keep_marker and value == (1 << (7 * length)) - 1
    return value, length, all_ones


def _walk(buf: bytes, enter: set[int]) -> Iterator[tuple[int, int, int, bool]]:
    """Yield (id, data_start, data_end, unknown_size) for every element in file order,
    descending into the masters in ``enter`` (and always into Segment and Cluster). An
    unknown-size Segment or Cluster ends where an element that cannot be its child begins.
    Stops quietly at the first byte that does not parse: a bounded second opinion, not a
    validator."""
    enter = enter | {_SEGMENT, _CLUSTER}
    stack: list[tuple[int, int, bool]] = []     # (id, end of its data, unknown size)
    pos = 0
    for _ in range(_MAX_ELEMENTS):
        while stack and pos >= stack[-1][1]:
            stack.pop()
        if pos >= len(buf):
            return
        head = _vint(buf, pos, keep_marker=True)
        size = _vint(buf, pos + head[1], keep_marker=False) if head else None
        if head is None or size is None:
            return
        element_id = head[0]
        while stack and stack[-1][2] and element_id in _ENDS_UNKNOWN.get(stack[-1][0], ()):
            stack.pop()
        limit = stack[-1][1] if stack else len(buf)
        data_start = pos + head[1] + size[1]
        unknown = size[2]
        data_end = limit if unknown else min(data_start + size[0], limit)
        yield element_id, data_start, data_end, unknown
        if element_id in enter:
            stack.append((element_id, data_end, unknown))
            pos = data_start
        else:
            pos = data_end


def _read(path: Path | str) -> bytes:
    return Path(path).read_bytes()


def matroska_track_entries(path: Path | str) -> list[TrackEntry]:
    """The TrackEntry elements of the first Tracks element, in file order ([] if none can be
    read). Our own bounded walk, used only to label ffprobe's streams with TrackNumbers."""
    buf = _read(path)
    entries: list[TrackEntry] = []
    tracks_end = None
    current: dict[int, object] | None = None
    entry_end = 0
    for element_id, start, end, _unknown in _walk(buf, {_TRACKS, _TRACK_ENTRY}):
        if tracks_end is not None and start >= tracks_end:
            break
        if element_id == _TRACKS:
            tracks_end = end
        elif element_id == _TRACK_ENTRY and tracks_end is not None:
            if current is not None:
                entries.append(_entry(current))
            current, entry_end = {}, end
        elif current is not None and start < entry_end and element_id in (0xD7, 0x83, 0x86):
            current[element_id] = buf[start:end]
    if current is not None:
        entries.append(_entry(current))
    return entries


def _entry(fields: dict[int, object]) -> TrackEntry:
    def uint(raw: object) -> int | None:
        return int.from_bytes(raw, "big") if isinstance(raw, bytes) and 0 < len(raw) <= 8 else None

    codec = fields.get(0x86)
    return TrackEntry(uint(fields.get(0xD7)), uint(fields.get(0x83)),
                      codec.rstrip(b"\0").decode("ascii", "replace") if isinstance(codec, bytes) else None)


_LACING = ("none", "xiph", "fixed", "ebml")


def lacing_counts(path: Path | str) -> collections.Counter[tuple[str, str]]:
    """Count blocks by (``"SimpleBlock"`` or ``"Block"``, lacing kind), the lacing kind being
    ``"none"``, ``"xiph"``, ``"fixed"`` or ``"ebml"`` (flags bits 0x06). Our own bounded walk."""
    buf = _read(path)
    counts: collections.Counter[tuple[str, str]] = collections.Counter()
    for element_id, start, end, _unknown in _walk(buf, {_BLOCK_GROUP}):
        if element_id not in (_SIMPLE_BLOCK, _BLOCK):
            continue
        track = _vint(buf, start, keep_marker=False)
        if track is None or start + track[1] + 3 > end:
            continue
        flags = buf[start + track[1] + 2]
        kind = "SimpleBlock" if element_id == _SIMPLE_BLOCK else "Block"
        counts[kind, _LACING[(flags >> 1) & 3]] += 1
    return counts


# --- ffprobe -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Packet:
    """One ffprobe packet, times in nanoseconds (exact integer conversion from the stream
    time_base, rounded toward minus infinity). ffprobe splits laced blocks into one packet per
    frame. For Matroska, ``dts_ns`` is what libavformat *derived* (Matroska stores no DTS):
    None for the first packets of a track with B-frames. ``duration_ns`` is informational and
    left out of ==."""
    pts_ns: int | None
    dts_ns: int | None
    key: bool
    size: int
    discard: bool
    duration_ns: int | None = field(default=None, compare=False)


class ProbeResult(dict):
    """``dict[int, list[Packet]]`` keyed by Matroska TrackNumber, plus how the run went."""

    def __init__(self) -> None:
        super().__init__()
        self.returncode: int | None = None
        self.timed_out = False
        self.stderr = ""
        self.stdout = ""            # the raw JSON, for failure messages
        self.streams: list[dict] = []
        # "track_entries" (stream i -> the i-th TrackEntry of the same kind) or
        # "stream_index+1" (no Tracks could be read, or ffprobe has more streams than tracks).
        self.mapping = "track_entries"

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.stderr.strip()


_KIND_OF_TYPE = {1: "video", 2: "audio", 0x11: "subtitle"}     # other TrackTypes match any stream


def _track_numbers(path: Path | str, streams: list[dict]) -> tuple[dict[int, int], str]:
    """stream index -> TrackNumber, and the mapping used. Attachment streams (which
    libavformat adds after the tracks, from the Attachments element) get none."""
    kinds = {int(s["index"]): s.get("codec_type") for s in streams
             if "index" in s and s.get("codec_type") != "attachment"}
    try:
        entries = matroska_track_entries(path)
    except OSError:
        entries = []
    result: dict[int, int] = {}
    next_entry = 0
    for index in sorted(kinds):
        while next_entry < len(entries):
            entry = entries[next_entry]
            next_entry += 1
            kind = _KIND_OF_TYPE.get(entry.type) if entry.type is not None else None
            if entry.number is not None and (kind is None or kinds[index] in (None, kind)):
                result[index] = entry.number
                break
        else:
            break
    if len(result) == len(kinds) and len(set(result.values())) == len(result):
        return result, "track_entries"
    return {index: index + 1 for index in kinds}, "stream_index+1"


def _ns(value: object, time_base: tuple[int, int] | None) -> int | None:
    if value is None or time_base is None or value == "N/A":
        return None
    num, den = time_base
    return int(value) * num * 10**9 // den


def _time_base(text: object) -> tuple[int, int] | None:
    match = re.fullmatch(r"(-?\d+)/(\d+)", str(text or ""))
    if not match or int(match.group(2)) == 0:
        return None
    return int(match.group(1)), int(match.group(2))


def ffprobe_packets(path: Path | str, timeout: float = FFPROBE_TIMEOUT) -> ProbeResult:
    """Every packet ffprobe reads from ``path``, per Matroska TrackNumber, in file order.

    Runs ``ffprobe -v error -show_entries packet=stream_index,pts,dts,duration,size,flags:
    stream=index,time_base,codec_type,codec_name -of json`` with a timeout and no check: on
    hostile input the result holds what ffprobe printed, and ``stderr``/``returncode``/
    ``timed_out`` say how it ended (a timed-out run gives no packets)."""
    result = ProbeResult()
    run = _run(["ffprobe", "-v", "error", "-show_entries",
                "packet=stream_index,pts,dts,duration,size,flags:stream=index,time_base,codec_type,codec_name",
                "-of", "json", str(path)], timeout)
    result.returncode, result.timed_out, result.stderr, result.stdout = (
        run.returncode, run.timed_out, run.stderr, run.stdout)
    try:
        doc = json.loads(run.stdout) if run.stdout.strip() else {}
    except json.JSONDecodeError:
        return result
    streams = [s for s in doc.get("streams", []) if isinstance(s, dict)]
    numbers, result.mapping = _track_numbers(path, streams)
    for stream in streams:
        stream["track_number"] = numbers.get(int(stream.get("index", -1)))
    result.streams = streams
    time_bases = {int(s["index"]): _time_base(s.get("time_base")) for s in streams if "index" in s}
    for track in sorted(set(numbers.values())):
        result[track] = []
    for packet in doc.get("packets", []):
        index = int(packet.get("stream_index", -1))
        track = numbers.get(index, index + 1)
        tb = time_bases.get(index)
        flags = str(packet.get("flags", ""))
        result.setdefault(track, []).append(Packet(
            pts_ns=_ns(packet.get("pts"), tb),
            dts_ns=_ns(packet.get("dts"), tb),
            key=flags.startswith("K"),
            size=int(packet.get("size", 0)),
            discard="D" in flags,
            duration_ns=_ns(packet.get("duration"), tb),
        ))
    return result


def ffprobe_streams(path: Path | str, timeout: float = FFPROBE_TIMEOUT) -> list[dict]:
    """``ffprobe -show_streams`` as a list of dicts (codec_name, profile, level, width, height,
    sample_rate, channels, extradata_size, time_base, ...), in stream order, each with an
    added ``track_number`` (see the module docstring) and ``sample_rate`` as an int.
    [] when ffprobe fails or times out."""
    run = _run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)], timeout)
    try:
        streams = json.loads(run.stdout).get("streams", []) if run.stdout.strip() else []
    except json.JSONDecodeError:
        return []
    streams = [s for s in streams if isinstance(s, dict)]
    numbers, _mapping = _track_numbers(path, streams)
    for stream in streams:
        stream["track_number"] = numbers.get(int(stream.get("index", -1)))
        if str(stream.get("sample_rate", "")).isdigit():
            stream["sample_rate"] = int(stream["sample_rate"])
    return streams


# --- mkvinfo -------------------------------------------------------------------------------

@dataclass
class MkvinfoSummary:
    """Counts from ``mkvinfo -v -z``. mkvinfo does not print the lacing kind; ``laced_blocks``
    counts blocks holding more than one frame."""
    returncode: int | None
    ebml_headers: int = 0
    segments: int = 0
    segments_unknown_size: int = 0
    clusters: int = 0
    clusters_unknown_size: int = 0
    simple_blocks: int = 0
    block_groups: int = 0
    blocks: int = 0                       # Block elements (inside BlockGroups)
    laced_blocks: int = 0                 # SimpleBlocks and Blocks with more than one frame
    frames: int = 0                       # frames in all blocks, lacing undone
    reference_blocks: int = 0
    block_durations: int = 0
    track_numbers: list[int] = field(default_factory=list)
    frames_per_track: dict[int, int] = field(default_factory=dict)
    key_blocks_per_track: dict[int, int] = field(default_factory=dict)
    # blocks whose timestamp is before their Cluster's (a negative SimpleBlock/Block offset)
    blocks_before_cluster_timestamp: int = 0
    warnings: list[str] = field(default_factory=list)    # mkvinfo's "Warning:"/"Error:" lines
    output: str = ""


_LINE = re.compile(r"^[| ]*\+ (.*)$")
_BLOCK_LINE = re.compile(r"^(Simple block|Block): (key, )?.*?track number (\d+), (\d+) frame\(s\)"
                         r"(?:, timestamp (-?\d+:\d\d:\d\d\.\d{9}))?")
_CLUSTER_TIMESTAMP = re.compile(r"^Cluster timestamp: (-?\d+:\d\d:\d\d\.\d{9})")


def _mkvinfo_ns(text: str) -> int:
    """mkvinfo's ``HH:MM:SS.nnnnnnnnn`` in nanoseconds."""
    sign = -1 if text.startswith("-") else 1
    hours, minutes, rest = text.lstrip("-").split(":")
    seconds, nanos = rest.split(".")
    return sign * (((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 10**9 + int(nanos))


def mkvinfo_summary(path: Path | str, timeout: float = MKVINFO_TIMEOUT) -> MkvinfoSummary | None:
    """Run ``mkvinfo -v -z`` (with a timeout: it never ends on some hostile files) and count
    what it shows. None when it timed out."""
    run = _run(["mkvinfo", "-v", "-z", str(path)], timeout)
    if run.timed_out:
        return None
    summary = MkvinfoSummary(returncode=run.returncode, output=run.stdout)
    cluster_ns: int | None = None
    for raw in run.stdout.splitlines():
        if raw.startswith(("Warning:", "Error:")):
            summary.warnings.append(raw)
            continue
        match = _LINE.match(raw)
        if not match:
            continue
        text = match.group(1)
        if text.startswith("EBML head"):
            summary.ebml_headers += 1
        elif text.startswith("Segment:"):
            summary.segments += 1
            summary.segments_unknown_size += "size is unknown" in text
        elif text == "Cluster" or text.startswith("Cluster size"):     # not "Cluster timestamp"
            summary.clusters += 1
            summary.clusters_unknown_size += "size is unknown" in text
            cluster_ns = None
        elif _CLUSTER_TIMESTAMP.match(text):
            cluster_ns = _mkvinfo_ns(_CLUSTER_TIMESTAMP.match(text).group(1))
        elif text.startswith("Block group"):
            summary.block_groups += 1
        elif text.startswith("Reference block:"):
            summary.reference_blocks += 1
        elif text.startswith("Block duration:"):
            summary.block_durations += 1
        elif text.startswith("Track number:"):
            number = re.match(r"Track number: (\d+)", text)
            if number:
                summary.track_numbers.append(int(number.group(1)))
        else:
            block = _BLOCK_LINE.match(text)
            if block:
                if block.group(1) == "Simple block":
                    summary.simple_blocks += 1
                else:
                    summary.blocks += 1
                track, frames = int(block.group(3)), int(block.group(4))
                summary.frames += frames
                summary.laced_blocks += frames > 1
                summary.frames_per_track[track] = summary.frames_per_track.get(track, 0) + frames
                if block.group(2):
                    summary.key_blocks_per_track[track] = summary.key_blocks_per_track.get(track, 0) + 1
                if block.group(5) and cluster_ns is not None and _mkvinfo_ns(block.group(5)) < cluster_ns:
                    summary.blocks_before_cluster_timestamp += 1
    summary.warnings += [line for line in run.stderr.splitlines() if line.strip()]
    return summary


def decoded_video_md5s(path: Path | str, timeout: float = 120, input_format: str | None = None) -> list[str]:
    """The MD5 of every decoded picture of the first video stream, in presentation order
    (``ffmpeg -f framemd5``), without timestamps, so containers can be compared by content."""
    argv = ["ffmpeg", "-v", "error", "-nostdin"] + (["-f", input_format] if input_format else []) + [
        "-i", str(path), "-map", "0:v:0", "-f", "framemd5", "-"]
    run = _run(argv, timeout)
    assert not run.timed_out, f"ffmpeg timed out decoding {path}"
    assert run.returncode == 0, f"ffmpeg failed to decode {path}: {run.stderr[-2000:]}"
    return [line.rsplit(",", 1)[1].strip() for line in run.stdout.splitlines() if line and not line.startswith("#")]
