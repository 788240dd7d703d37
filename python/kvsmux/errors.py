# SPDX-License-Identifier: Apache-2.0
"""The errors kvsmux raises for media it cannot read or write.

Every one is a :class:`MediaError` (a ``ValueError``) with a stable ``code`` (the same
string ``kvsmux probe --json`` prints), the absolute byte ``offset`` in the input, and the
element ``path`` (``Segment/Cluster[3]/SimpleBlock``). The classes and codes mirror the
C++ core's error table (``cpp/include/kvsmux/status.h``); a test checks that they agree.
"""
from __future__ import annotations


class MediaError(ValueError):
    """Media that kvsmux cannot read or write."""

    code = "media_error"

    def __init__(self, detail: str, *, offset: int = 0, path: str = "") -> None:
        self.detail = detail
        self.offset = offset
        self.path = path
        where = f"{path}: " if path else ""
        super().__init__(f"{where}{detail} (at byte {offset})")

    def to_dict(self) -> dict:
        return {"code": self.code, "offset": self.offset, "path": self.path, "message": self.detail}

    def __eq__(self, other: object) -> bool:  # errors compare by what they say, for differential tests
        return (type(self) is type(other) and self.detail == other.detail  # type: ignore[attr-defined]
                and self.offset == other.offset and self.path == other.path)  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((self.code, self.offset, self.path, self.detail))


class TruncatedInputError(MediaError):
    """Input ended inside an element."""

    code = "truncated"


class ElementOverflowError(MediaError):
    """A child or a frame runs past the end of its parent."""

    code = "element_overflow"


class LimitExceededError(MediaError):
    """A named limit (size, depth, count, work) was exceeded."""

    code = "limit_exceeded"


class InvalidVintError(MediaError):
    """A malformed EBML variable-size integer."""

    code = "invalid_vint"


class UnexpectedElementError(MediaError):
    """An element where the format does not allow it."""

    code = "unexpected_element"


class UnknownSizeNotAllowedError(MediaError):
    """Unknown size on an element that needs a size."""

    code = "unknown_size_not_allowed"


class InvalidValueError(MediaError):
    """An element value out of range or of the wrong length."""

    code = "invalid_value"


class MissingElementError(MediaError):
    """A mandatory element is absent."""

    code = "missing_element"


class LacingError(MediaError):
    """Lace sizes that do not add up."""

    code = "bad_lacing"


class UnknownTrackError(MediaError):
    """A block for a track number the Tracks element does not declare."""

    code = "unknown_track"


class UnsupportedDocumentError(MediaError):
    """Not a readable Matroska/WebM EBML document."""

    code = "unsupported_document"


class InvalidCodecPrivateError(MediaError):
    """Codec private data that is malformed."""

    code = "invalid_codec_private"


class UnsupportedCodecError(MediaError):
    """A codec the requested operation cannot handle."""

    code = "unsupported_codec"


class MissingCodecPrivateError(MediaError):
    """Codec private data needed but absent."""

    code = "missing_codec_private"


class InvalidFrameError(MediaError):
    """Frame data that cannot be parsed for its codec."""

    code = "invalid_frame"


# The same classes, in the same order, as kErrorTable in the C++ core (Errc numbering).
ERROR_CLASSES: list[type[MediaError]] = [
    TruncatedInputError,
    ElementOverflowError,
    LimitExceededError,
    InvalidVintError,
    UnexpectedElementError,
    UnknownSizeNotAllowedError,
    InvalidValueError,
    MissingElementError,
    LacingError,
    UnknownTrackError,
    UnsupportedDocumentError,
    InvalidCodecPrivateError,
    UnsupportedCodecError,
    MissingCodecPrivateError,
    InvalidFrameError,
]
BY_CODE: dict[str, type[MediaError]] = {cls.code: cls for cls in ERROR_CLASSES}
BY_NAME: dict[str, type[MediaError]] = {cls.__name__: cls for cls in ERROR_CLASSES}
