# SPDX-License-Identifier: Apache-2.0
"""kvsmux.media: the packaging library (Matroska demuxing today; fMP4, TS, MP4 next)."""
from kvsmux.media.demux import BACKENDS, Demuxer, demux
from kvsmux.media.model import FRAME_DTYPE, DemuxResult, Fragment, Header, SimpleTag, Tags, Track

__all__ = ["BACKENDS", "Demuxer", "demux", "FRAME_DTYPE", "DemuxResult", "Fragment", "Header", "SimpleTag",
           "Tags", "Track"]
