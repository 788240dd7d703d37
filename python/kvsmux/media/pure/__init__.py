# SPDX-License-Identifier: Apache-2.0
"""Pure-Python mirrors of the C++ media core, for differential tests and benchmarks.

``kvsmux.media.pure.demuxer`` gives what ``kvsmux._core`` gives (``demux``, ``Demuxer``,
``FRAME_DTYPE``, ``DEFAULT_LIMITS``) without importing it. Each module mirrors its C++
file: ``ebml`` (cpp/src/ebml), ``codec`` (cpp/src/codec), ``types`` (mkv/types.h),
``headers`` (mkv/headers.cc, mkv/codec_summary.cc), ``tags`` (mkv/tags.cc), ``block``
(mkv/block.cc), ``demuxer`` (mkv/demuxer.cc, mkv/stream_demuxer.cc) and ``convert``
(src/convert.cpp).
"""
