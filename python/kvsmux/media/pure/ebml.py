# SPDX-License-Identifier: Apache-2.0
"""EBML in pure Python: the bounded reader, variable-size integers, element headers, values
and the Matroska element table (RFC 8794 §4-§7, RFC 9559).

A readable mirror of ``cpp/include/kvsmux/{bytes.h,ebml/vint.h,ebml/children.h}`` and
``cpp/src/ebml/vint.cc``, with the same checks in the same order and the same error class,
detail and absolute offset. Errors are raised as :mod:`kvsmux.errors` exceptions; the
demuxer turns them into its result.
"""
from __future__ import annotations

import struct
from typing import Callable, NamedTuple

from kvsmux.errors import (
    ElementOverflowError,
    InvalidValueError,
    InvalidVintError,
    MediaError,
    TruncatedInputError,
    UnknownSizeNotAllowedError,
)

# RFC 8794 §6.2: the size of an element whose size field is all ones, of any length. The
# same value as the C++ kUnknownSize, so comparisons with it behave the same.
UNKNOWN_SIZE = (1 << 64) - 1
# Matroska limits IDs to 4 bytes (EBMLMaxIDLength) and sizes to 8 (EBMLMaxSizeLength).
MAX_ID_LENGTH = 4
MAX_SIZE_LENGTH = 8


class ElementSpec(NamedTuple):
    id: int          # with its VINT marker bits, as written in the file
    name: str        # spelled as in the schema
    parent_id: int   # 0 for root and global elements
    depth: int       # 0 for root and global elements
    is_global: bool  # may appear in any master element (Void, CRC-32)


# The rows of cpp/include/kvsmux/ebml/elements.h (generated from ebml_matroska.xml by
# tools/gen_ebml_table.py), reduced to what the demuxer uses: id, name, parent id, depth.
# tests/media/test_pure_unit.py checks that the two tables agree.
_TABLE = """
    0x80        ChapterDisplay                 0xB6        4
    0x83        TrackType                      0xAE        3
    0x85        ChapString                     0x80        5
    0x86        CodecID                        0xAE        3
    0x88        FlagDefault                    0xAE        3
    0x89        ChapterTrackUID                0x8F        5
    0x8E        Slices                         0xA0        3
    0x8F        ChapterTrack                   0xB6        4
    0x91        ChapterTimeStart               0xB6        4
    0x92        ChapterTimeEnd                 0xB6        4
    0x96        CueRefTime                     0xDB        5
    0x97        CueRefCluster                  0xDB        5
    0x98        ChapterFlagHidden              0xB6        4
    0x9A        FlagInterlaced                 0xE0        4
    0x9B        BlockDuration                  0xA0        3
    0x9C        FlagLacing                     0xAE        3
    0x9D        FieldOrder                     0xE0        4
    0x9F        Channels                       0xE1        4
    0xA0        BlockGroup                     0x1F43B675  2
    0xA1        Block                          0xA0        3
    0xA2        BlockVirtual                   0xA0        3
    0xA3        SimpleBlock                    0x1F43B675  2
    0xA4        CodecState                     0xA0        3
    0xA5        BlockAdditional                0xA6        5
    0xA6        BlockMore                      0x75A1      4
    0xA7        Position                       0x1F43B675  2
    0xAA        CodecDecodeAll                 0xAE        3
    0xAB        PrevSize                       0x1F43B675  2
    0xAE        TrackEntry                     0x1654AE6B  2
    0xAF        EncryptedBlock                 0x1F43B675  2
    0xB0        PixelWidth                     0xE0        4
    0xB2        CueDuration                    0xB7        4
    0xB3        CueTime                        0xBB        3
    0xB5        SamplingFrequency              0xE1        4
    0xB6        ChapterAtom                    0x45B9      3
    0xB7        CueTrackPositions              0xBB        3
    0xB9        FlagEnabled                    0xAE        3
    0xBA        PixelHeight                    0xE0        4
    0xBB        CuePoint                       0x1C53BB6B  2
    0xBF        CRC-32                         0x0         0  global
    0xC0        TrickTrackUID                  0xAE        3
    0xC1        TrickTrackSegmentUID           0xAE        3
    0xC4        TrickMasterTrackSegmentUID     0xAE        3
    0xC6        TrickTrackFlag                 0xAE        3
    0xC7        TrickMasterTrackUID            0xAE        3
    0xC8        ReferenceFrame                 0xA0        3
    0xC9        ReferenceOffset                0xC8        4
    0xCA        ReferenceTimestamp             0xC8        4
    0xCB        BlockAdditionID                0xE8        5
    0xCC        LaceNumber                     0xE8        5
    0xCD        FrameNumber                    0xE8        5
    0xCE        Delay                          0xE8        5
    0xCF        SliceDuration                  0xE8        5
    0xD7        TrackNumber                    0xAE        3
    0xDB        CueReference                   0xB7        4
    0xE0        Video                          0xAE        3
    0xE1        Audio                          0xAE        3
    0xE2        TrackOperation                 0xAE        3
    0xE3        TrackCombinePlanes             0xE2        4
    0xE4        TrackPlane                     0xE3        5
    0xE5        TrackPlaneUID                  0xE4        6
    0xE6        TrackPlaneType                 0xE4        6
    0xE7        Timestamp                      0x1F43B675  2
    0xE8        TimeSlice                      0x8E        4
    0xE9        TrackJoinBlocks                0xE2        4
    0xEA        CueCodecState                  0xB7        4
    0xEB        CueRefCodecState               0xDB        5
    0xEC        Void                           0x0         0  global
    0xED        TrackJoinUID                   0xE9        5
    0xEE        BlockAddID                     0xA6        5
    0xF0        CueRelativePosition            0xB7        4
    0xF1        CueClusterPosition             0xB7        4
    0xF7        CueTrack                       0xB7        4
    0xFA        ReferencePriority              0xA0        3
    0xFB        ReferenceBlock                 0xA0        3
    0xFD        ReferenceVirtual               0xA0        3
    0x41A4      BlockAddIDName                 0x41E4      4
    0x41E4      BlockAdditionMapping           0xAE        3
    0x41E7      BlockAddIDType                 0x41E4      4
    0x41ED      BlockAddIDExtraData            0x41E4      4
    0x41F0      BlockAddIDValue                0x41E4      4
    0x4254      ContentCompAlgo                0x5034      6
    0x4255      ContentCompSettings            0x5034      6
    0x4281      DocTypeExtension               0x1A45DFA3  1
    0x4282      DocType                        0x1A45DFA3  1
    0x4283      DocTypeExtensionName           0x4281      2
    0x4284      DocTypeExtensionVersion        0x4281      2
    0x4285      DocTypeReadVersion             0x1A45DFA3  1
    0x4286      EBMLVersion                    0x1A45DFA3  1
    0x4287      DocTypeVersion                 0x1A45DFA3  1
    0x42F2      EBMLMaxIDLength                0x1A45DFA3  1
    0x42F3      EBMLMaxSizeLength              0x1A45DFA3  1
    0x42F7      EBMLReadVersion                0x1A45DFA3  1
    0x437C      ChapLanguage                   0x80        5
    0x437D      ChapLanguageBCP47              0x80        5
    0x437E      ChapCountry                    0x80        5
    0x4444      SegmentFamily                  0x1549A966  2
    0x4461      DateUTC                        0x1549A966  2
    0x447A      TagLanguage                    0x67C8      4
    0x447B      TagLanguageBCP47               0x67C8      4
    0x4484      TagDefault                     0x67C8      4
    0x4485      TagBinary                      0x67C8      4
    0x4487      TagString                      0x67C8      4
    0x4489      Duration                       0x1549A966  2
    0x44B4      TagDefaultBogus                0x67C8      4
    0x450D      ChapProcessPrivate             0x6944      5
    0x4520      EditionDisplay                 0x45B9      3
    0x4521      EditionString                  0x4520      4
    0x4588      ChapterSkipType                0xB6        4
    0x4598      ChapterFlagEnabled             0xB6        4
    0x45A3      TagName                        0x67C8      4
    0x45B9      EditionEntry                   0x1043A770  2
    0x45BC      EditionUID                     0x45B9      3
    0x45BD      EditionFlagHidden              0x45B9      3
    0x45DB      EditionFlagDefault             0x45B9      3
    0x45DD      EditionFlagOrdered             0x45B9      3
    0x45E4      EditionLanguageIETF            0x4520      4
    0x465C      FileData                       0x61A7      3
    0x4660      FileMediaType                  0x61A7      3
    0x4661      FileUsedStartTime              0x61A7      3
    0x4662      FileUsedEndTime                0x61A7      3
    0x466E      FileName                       0x61A7      3
    0x4675      FileReferral                   0x61A7      3
    0x467E      FileDescription                0x61A7      3
    0x46AE      FileUID                        0x61A7      3
    0x47E1      ContentEncAlgo                 0x5035      6
    0x47E2      ContentEncKeyID                0x5035      6
    0x47E3      ContentSignature               0x5035      6
    0x47E4      ContentSigKeyID                0x5035      6
    0x47E5      ContentSigAlgo                 0x5035      6
    0x47E6      ContentSigHashAlgo             0x5035      6
    0x47E7      ContentEncAESSettings          0x5035      6
    0x47E8      AESSettingsCipherMode          0x47E7      7
    0x4D80      MuxingApp                      0x1549A966  2
    0x4DBB      Seek                           0x114D9B74  2
    0x5031      ContentEncodingOrder           0x6240      5
    0x5032      ContentEncodingScope           0x6240      5
    0x5033      ContentEncodingType            0x6240      5
    0x5034      ContentCompression             0x6240      5
    0x5035      ContentEncryption              0x6240      5
    0x52F1      Emphasis                       0xE1        4
    0x535F      CueRefNumber                   0xDB        5
    0x536E      Name                           0xAE        3
    0x5378      CueBlockNumber                 0xB7        4
    0x537F      TrackOffset                    0xAE        3
    0x53AB      SeekID                         0x4DBB      3
    0x53AC      SeekPosition                   0x4DBB      3
    0x53B8      StereoMode                     0xE0        4
    0x53B9      OldStereoMode                  0xE0        4
    0x53C0      AlphaMode                      0xE0        4
    0x54AA      PixelCropBottom                0xE0        4
    0x54B0      DisplayWidth                   0xE0        4
    0x54B2      DisplayUnit                    0xE0        4
    0x54B3      AspectRatioType                0xE0        4
    0x54BA      DisplayHeight                  0xE0        4
    0x54BB      PixelCropTop                   0xE0        4
    0x54CC      PixelCropLeft                  0xE0        4
    0x54DD      PixelCropRight                 0xE0        4
    0x55AA      FlagForced                     0xAE        3
    0x55AB      FlagHearingImpaired            0xAE        3
    0x55AC      FlagVisualImpaired             0xAE        3
    0x55AD      FlagTextDescriptions           0xAE        3
    0x55AE      FlagOriginal                   0xAE        3
    0x55AF      FlagCommentary                 0xAE        3
    0x55B0      Colour                         0xE0        4
    0x55B1      MatrixCoefficients             0x55B0      5
    0x55B2      BitsPerChannel                 0x55B0      5
    0x55B3      ChromaSubsamplingHorz          0x55B0      5
    0x55B4      ChromaSubsamplingVert          0x55B0      5
    0x55B5      CbSubsamplingHorz              0x55B0      5
    0x55B6      CbSubsamplingVert              0x55B0      5
    0x55B7      ChromaSitingHorz               0x55B0      5
    0x55B8      ChromaSitingVert               0x55B0      5
    0x55B9      Range                          0x55B0      5
    0x55BA      TransferCharacteristics        0x55B0      5
    0x55BB      Primaries                      0x55B0      5
    0x55BC      MaxCLL                         0x55B0      5
    0x55BD      MaxFALL                        0x55B0      5
    0x55D0      MasteringMetadata              0x55B0      5
    0x55D1      PrimaryRChromaticityX          0x55D0      6
    0x55D2      PrimaryRChromaticityY          0x55D0      6
    0x55D3      PrimaryGChromaticityX          0x55D0      6
    0x55D4      PrimaryGChromaticityY          0x55D0      6
    0x55D5      PrimaryBChromaticityX          0x55D0      6
    0x55D6      PrimaryBChromaticityY          0x55D0      6
    0x55D7      WhitePointChromaticityX        0x55D0      6
    0x55D8      WhitePointChromaticityY        0x55D0      6
    0x55D9      LuminanceMax                   0x55D0      6
    0x55DA      LuminanceMin                   0x55D0      6
    0x55EE      MaxBlockAdditionID             0xAE        3
    0x5654      ChapterStringUID               0xB6        4
    0x56AA      CodecDelay                     0xAE        3
    0x56BB      SeekPreRoll                    0xAE        3
    0x5741      WritingApp                     0x1549A966  2
    0x5854      SilentTracks                   0x1F43B675  2
    0x58D7      SilentTrackNumber              0x5854      3
    0x61A7      AttachedFile                   0x1941A469  2
    0x6240      ContentEncoding                0x6D80      4
    0x6264      BitDepth                       0xE1        4
    0x63A2      CodecPrivate                   0xAE        3
    0x63C0      Targets                        0x7373      3
    0x63C3      ChapterPhysicalEquiv           0xB6        4
    0x63C4      TagChapterUID                  0x63C0      4
    0x63C5      TagTrackUID                    0x63C0      4
    0x63C6      TagAttachmentUID               0x63C0      4
    0x63C7      TagBlockAddIDValue             0x63C0      4
    0x63C9      TagEditionUID                  0x63C0      4
    0x63CA      TargetType                     0x63C0      4
    0x6624      TrackTranslate                 0xAE        3
    0x66A5      TrackTranslateTrackID          0x6624      4
    0x66BF      TrackTranslateCodec            0x6624      4
    0x66FC      TrackTranslateEditionUID       0x6624      4
    0x67C8      SimpleTag                      0x7373      3
    0x68CA      TargetTypeValue                0x63C0      4
    0x6911      ChapProcessCommand             0x6944      5
    0x6922      ChapProcessTime                0x6911      6
    0x6924      ChapterTranslate               0x1549A966  2
    0x6933      ChapProcessData                0x6911      6
    0x6944      ChapProcess                    0xB6        4
    0x6955      ChapProcessCodecID             0x6944      5
    0x69A5      ChapterTranslateID             0x6924      3
    0x69BF      ChapterTranslateCodec          0x6924      3
    0x69FC      ChapterTranslateEditionUID     0x6924      3
    0x6D80      ContentEncodings               0xAE        3
    0x6DE7      MinCache                       0xAE        3
    0x6DF8      MaxCache                       0xAE        3
    0x6E67      ChapterSegmentUUID             0xB6        4
    0x6EBC      ChapterSegmentEditionUID       0xB6        4
    0x6FAB      TrackOverlay                   0xAE        3
    0x7373      Tag                            0x1254C367  2
    0x7384      SegmentFilename                0x1549A966  2
    0x73A4      SegmentUUID                    0x1549A966  2
    0x73C4      ChapterUID                     0xB6        4
    0x73C5      TrackUID                       0xAE        3
    0x7446      AttachmentLink                 0xAE        3
    0x75A1      BlockAdditions                 0xA0        3
    0x75A2      DiscardPadding                 0xA0        3
    0x7670      Projection                     0xE0        4
    0x7671      ProjectionType                 0x7670      5
    0x7672      ProjectionPrivate              0x7670      5
    0x7673      ProjectionPoseYaw              0x7670      5
    0x7674      ProjectionPosePitch            0x7670      5
    0x7675      ProjectionPoseRoll             0x7670      5
    0x78B5      OutputSamplingFrequency        0xE1        4
    0x7BA9      Title                          0x1549A966  2
    0x7D7B      ChannelPositions               0xE1        4
    0x22B59C    Language                       0xAE        3
    0x22B59D    LanguageBCP47                  0xAE        3
    0x23314F    TrackTimestampScale            0xAE        3
    0x234E7A    DefaultDecodedFieldDuration    0xAE        3
    0x2383E3    FrameRate                      0xE0        4
    0x23E383    DefaultDuration                0xAE        3
    0x258688    CodecName                      0xAE        3
    0x26B240    CodecDownloadURL               0xAE        3
    0x2AD7B1    TimestampScale                 0x1549A966  2
    0x2EB524    UncompressedFourCC             0xE0        4
    0x2FB523    GammaValue                     0xE0        4
    0x3A9697    CodecSettings                  0xAE        3
    0x3B4040    CodecInfoURL                   0xAE        3
    0x3C83AB    PrevFilename                   0x1549A966  2
    0x3CB923    PrevUUID                       0x1549A966  2
    0x3E83BB    NextFilename                   0x1549A966  2
    0x3EB923    NextUUID                       0x1549A966  2
    0x1043A770  Chapters                       0x18538067  1
    0x114D9B74  SeekHead                       0x18538067  1
    0x1254C367  Tags                           0x18538067  1
    0x1549A966  Info                           0x18538067  1
    0x1654AE6B  Tracks                         0x18538067  1
    0x18538067  Segment                        0x0         0
    0x1941A469  Attachments                    0x18538067  1
    0x1A45DFA3  EBML                           0x0         0
    0x1C53BB6B  Cues                           0x18538067  1
    0x1F43B675  Cluster                        0x18538067  1
"""


def _load_table() -> dict[int, ElementSpec]:
    specs = {}
    for line in _TABLE.strip().splitlines():
        fields = line.split()
        spec = ElementSpec(int(fields[0], 16), fields[1], int(fields[2], 16), int(fields[3]),
                           fields[4:] == ["global"])
        specs[spec.id] = spec
    return specs


ELEMENTS: dict[int, ElementSpec] = _load_table()
ID: dict[str, int] = {spec.name: spec.id for spec in ELEMENTS.values()}


def find_element(element_id: int) -> ElementSpec | None:
    """The schema row for ``element_id``, or None for an ID the schema does not define."""
    return ELEMENTS.get(element_id)


def element_name(element_id: int) -> str:
    """The schema name of an element ID, or its hex value (``0x1F43B675``)."""
    spec = ELEMENTS.get(element_id)
    return spec.name if spec else f"0x{element_id:X}"


def with_path(error: MediaError, outer: str) -> MediaError:
    """Prepends ``outer`` to an error's element path ("Tracks" + "TrackEntry[0]/CodecID")."""
    path = outer if not error.path else f"{outer}/{error.path}"
    return type(error)(error.detail, offset=error.offset, path=path)


class Reader:
    """Big-endian reads from ``buf[pos:end]``, whose first byte is at absolute ``offset``.

    The mirror of the C++ ByteReader: every read is checked, and running out of bytes is a
    TruncatedInputError at the offset of the read. Sub-readers share ``buf`` (no copies).
    """

    __slots__ = ("buf", "pos", "end", "delta")

    def __init__(self, buf, pos: int, end: int, offset: int) -> None:
        self.buf = buf
        self.pos = pos
        self.end = end
        self.delta = offset - pos  # absolute offset = index in buf + delta

    def offset(self) -> int:
        return self.pos + self.delta

    def remaining(self) -> int:
        return self.end - self.pos

    def empty(self) -> bool:
        return self.pos == self.end

    def _truncated(self, n: int) -> TruncatedInputError:
        return TruncatedInputError(f"need {n} bytes, have {self.remaining()}", offset=self.offset())

    def peek_u8(self) -> int:
        if self.pos >= self.end:
            raise TruncatedInputError("need 1 byte", offset=self.offset())
        return self.buf[self.pos]

    def u8(self) -> int:
        if self.pos >= self.end:
            raise self._truncated(1)
        self.pos += 1
        return self.buf[self.pos - 1]

    def uint(self, n: int) -> int:
        """An unsigned big-endian integer of ``n`` bytes (0..8)."""
        if self.end - self.pos < n:
            raise self._truncated(n)
        self.pos += n
        return int.from_bytes(self.buf[self.pos - n:self.pos], "big")

    def take(self, n: int) -> Reader:
        """A reader over the next ``n`` bytes, with the right absolute offset."""
        if self.end - self.pos < n:
            raise self._truncated(n)
        sub = Reader(self.buf, self.pos, self.pos + n, self.offset())
        self.pos += n
        return sub

    def rest(self) -> bytes:
        """A copy of the bytes not read yet."""
        return bytes(self.buf[self.pos:self.end])


class ElementHeader:
    """An element's ID (with marker bits), absolute offset, header size and data size."""

    __slots__ = ("id", "offset", "header_size", "size")

    def __init__(self, element_id: int, offset: int, header_size: int, size: int) -> None:
        self.id = element_id
        self.offset = offset
        self.header_size = header_size
        self.size = size  # or UNKNOWN_SIZE

    def unknown_size(self) -> bool:
        return self.size == UNKNOWN_SIZE

    def data_offset(self) -> int:
        return self.offset + self.header_size

    def end(self) -> int:
        """Absolute end of the element; UNKNOWN_SIZE when the size is unknown."""
        return UNKNOWN_SIZE if self.size == UNKNOWN_SIZE else self.offset + self.header_size + self.size


def _vint_length(first: int) -> int:
    # RFC 8794 §4.1: the number of leading zero bits of the first byte gives VINT_WIDTH.
    return 9 - first.bit_length()


def read_vint(r: Reader) -> tuple[int, int]:
    """RFC 8794 §4: a VINT used as a number; returns (value, encoded length). All-ones
    values are returned as they are."""
    first = r.peek_u8()
    if first == 0:
        raise InvalidVintError("VINT first byte 0x00", offset=r.offset())
    length = _vint_length(first)
    raw = r.uint(length)
    return raw & ((1 << (7 * length)) - 1), length


def read_element_id(r: Reader) -> int:
    """RFC 8794 §5: an Element ID, with its marker bits. VINT_DATA may be neither all 0
    nor all 1; the first byte may not be 0x00; IDs are at most 4 bytes."""
    at = r.offset()
    first = r.peek_u8()
    if first == 0:
        raise InvalidVintError("element ID first byte 0x00", offset=at)
    length = _vint_length(first)
    if length > MAX_ID_LENGTH:
        raise InvalidVintError("element ID longer than 4 bytes", offset=at)
    raw = r.uint(length)
    data = raw & ((1 << (7 * length)) - 1)
    if data == 0 or data == (1 << (7 * length)) - 1:
        raise InvalidVintError("reserved element ID", offset=at)
    return raw


def read_element_size(r: Reader) -> int:
    """RFC 8794 §6.1, §6.2: all VINT_DATA bits set means unknown size, at any width."""
    data, length = read_vint(r)
    return UNKNOWN_SIZE if data == (1 << (7 * length)) - 1 else data


def read_element_header(r: Reader) -> ElementHeader:
    """The ID and size at the reader's position."""
    offset = r.offset()
    element_id = read_element_id(r)
    size = read_element_size(r)
    return ElementHeader(element_id, offset, r.offset() - offset, size)


def read_uint(data: Reader) -> int:
    """RFC 8794 §7.2: 0 to 8 bytes, big-endian; empty means 0."""
    if data.remaining() > 8:
        raise InvalidValueError("unsigned integer longer than 8 bytes", offset=data.offset())
    return data.uint(data.remaining())


def read_int(data: Reader) -> int:
    """RFC 8794 §7.1: two's complement, 0 to 8 bytes."""
    if data.remaining() > 8:
        raise InvalidValueError("signed integer longer than 8 bytes", offset=data.offset())
    n = data.remaining()
    raw = data.uint(n)
    return raw - (1 << (8 * n)) if n and raw >> (8 * n - 1) else raw


def read_float(data: Reader) -> float:
    """RFC 8794 §7.3: 0, 4 or 8 bytes, IEEE 754 big-endian."""
    n = data.remaining()
    if n == 0:
        return 0.0
    if n == 4:
        return struct.unpack(">f", data.rest())[0]
    if n == 8:
        return struct.unpack(">d", data.rest())[0]
    raise InvalidValueError(f"float of {n} bytes", offset=data.offset())


def for_each_child(parent: Reader, fn: Callable[[ElementHeader, Reader], None]) -> None:
    """RFC 8794 §6, §10: calls ``fn(header, data)`` for every child of a complete master
    element. A child that runs past its parent is an ElementOverflowError; a child of
    unknown size is an UnknownSizeNotAllowedError (only Segment and Cluster may have one)."""
    while not parent.empty():
        at = parent.offset()
        try:
            h = read_element_header(parent)
        except TruncatedInputError:
            raise ElementOverflowError("element header runs past its parent", offset=at) from None
        if h.size == UNKNOWN_SIZE:
            raise UnknownSizeNotAllowedError(f"{element_name(h.id)} has unknown size", offset=at)
        if h.size > parent.remaining():
            name = element_name(h.id)
            raise ElementOverflowError(f"{name} of {h.size} bytes runs past its parent", offset=at, path=name)
        fn(h, parent.take(h.size))
