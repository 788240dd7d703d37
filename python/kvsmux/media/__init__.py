# SPDX-License-Identifier: Apache-2.0
"""kvsmux.media: the packaging library (Matroska demuxing; fMP4, MPEG-TS and MP4 writing)."""
from kvsmux.media.chunk import getmedia_chunk
from kvsmux.media.demux import BACKENDS, Demuxer, demux
from kvsmux.media.package import Package, Segment, to_fmp4, to_mp4, to_ts
from kvsmux.media.model import FRAME_DTYPE, DemuxResult, Fragment, Header, SimpleTag, Tags, Track

__all__ = ["BACKENDS", "Demuxer", "demux", "FRAME_DTYPE", "DemuxResult", "Fragment", "Header", "SimpleTag",
           "Tags", "Track", "Package", "Segment", "to_fmp4", "to_mp4", "to_ts", "getmedia_chunk"]
