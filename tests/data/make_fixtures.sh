#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Regenerates the Matroska fixtures in tests/data/valid/ (STYLE.md section 11: small inputs,
# each with the exact command that made it; valid/README.md describes what each exercises).
#
#   tests/data/make_fixtures.sh            # rebuild every fixture
#   tests/data/make_fixtures.sh gap g711   # rebuild only the named groups (see MAKERS below)
#
# Needs ffmpeg 5.1 (libx264, libx265, aac, pcm_*), mkvmerge 74 and, for one fixture,
# gst-launch-1.0 with matroskamux (gstreamer1.0-tools + gstreamer1.0-plugins-good).
#
# Determinism: the sources are lavfi testsrc / sine, which have no random state; ffmpeg runs
# with +bitexact (no version strings, no random SegmentUID, TrackUID = track number);
# x264/x265 run single-threaded with scene-cut detection off; mkvmerge runs with
# --engage no_variable_data (fixed UIDs and date). With the same tool versions every file is
# byte-identical on every run EXCEPT h264_aac_gst_unknown_clusters.mkv: gst-launch cannot
# set matroskamux's creation-time or its UIDs, so its SegmentUID, two TrackUIDs and DateUTC
# change on each run (same length, same layout, same frames).
#
# Inputs are generated here; nothing is copied from ../shared/media.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT="$HERE/valid"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"

FF=(ffmpeg -hide_banner -nostdin -loglevel error -y)
BITEXACT=(-fflags +bitexact -flags:v +bitexact -flags:a +bitexact -map_metadata -1)
# 2 s of 160x120 at 30 fps = 60 frames; `-t` is an input option so it counts source time.
VIDEO_IN=(-f lavfi -t 2 -i testsrc=size=160x120:rate=30)
# 2 s of 440 Hz: 48 kHz for AAC; 8 kHz in 160-sample (20 ms) frames for G.711 / PCM.
AAC_IN=(-f lavfi -t 2 -i sine=frequency=440:sample_rate=48000)
PCM8K_IN=(-f lavfi -t 2 -i sine=frequency=440:sample_rate=8000:samples_per_frame=160)
# IDR every 15 frames (0.5 s) and nowhere else, no B-frames.
X264=(-c:v libx264 -preset veryfast -g 15 -bf 0 -x264-params scenecut=0 -threads 1 -pix_fmt yuv420p)
X265_PARAMS=log-level=error:keyint=15:min-keyint=15:scenecut=0:bframes=0:pools=1:frame-threads=1
X265=(-c:v libx265 -preset veryfast -g 15 -bf 0 -pix_fmt yuv420p)
AAC=(-c:a aac -b:a 32k -ac 1)
MKVMERGE=(mkvmerge --quiet --engage no_variable_data)

need() { command -v "$1" >/dev/null || { echo "make_fixtures.sh: $1 is not installed" >&2; exit 1; }; }

# mkvmerge exits 1 on warnings (the output is still written); only 2 is an error.
mkvmerge_run() { "${MKVMERGE[@]}" "$@" || [ $? -eq 1 ]; }

# --- 1. H.264 only, one cluster per GOP ------------------------------------------------------
# `-dash 1` makes ffmpeg start a Cluster at every video keyframe (its default only does so once
# a cluster holds > 4 KiB, which these tiny GOPs do not reach) - the layout of KVS fragments.
make_h264() {
  "${FF[@]}" "${VIDEO_IN[@]}" "${X264[@]}" "${BITEXACT[@]}" -dash 1 \
    -f matroska "$TMP/h264_160x120_30fps_gop15.mkv"
}

# --- 2. H.264 with B-frames, clusters cut by time ----------------------------------------------
# b-adapt=0 forces the 2 B-frames (x264 would otherwise choose P-frames for this static
# picture). -cluster_time_limit 700 cuts clusters every > 700 ms regardless of keyframes, so
# some clusters start with a non-key frame and, because B-frames are stored after the P-frame
# they precede, some blocks have a negative timestamp relative to their cluster.
make_h264_bframes() {
  "${FF[@]}" "${VIDEO_IN[@]}" -c:v libx264 -preset medium -g 15 -bf 2 \
    -x264-params scenecut=0:b-adapt=0 -threads 1 -pix_fmt yuv420p "${BITEXACT[@]}" \
    -cluster_time_limit 700 -f matroska "$TMP/h264_bframes_time_clusters.mkv"
}

# --- 3. H.264 + AAC ------------------------------------------------------------------------------
make_h264_aac() {
  "${FF[@]}" "${VIDEO_IN[@]}" "${AAC_IN[@]}" -map 0:v -map 1:a "${X264[@]}" "${AAC[@]}" \
    "${BITEXACT[@]}" -f matroska "$TMP/h264_aac.mkv"
}

# --- 4. H.265 only, and H.265 + AAC ------------------------------------------------------------
# The video-only file keeps x265's "info" SEI (encoder settings as text) in the hvcC arrays, so
# its CodecPrivate is about 2.4 KB; the A/V file turns it off (info=0) for a small one.
make_h265() {
  "${FF[@]}" "${VIDEO_IN[@]}" "${X265[@]}" -x265-params "$X265_PARAMS" "${BITEXACT[@]}" -dash 1 \
    -f matroska "$TMP/h265_160x120_30fps_gop15.mkv"
  "${FF[@]}" "${VIDEO_IN[@]}" "${AAC_IN[@]}" -map 0:v -map 1:a "${X265[@]}" \
    -x265-params "$X265_PARAMS:info=0" "${AAC[@]}" "${BITEXACT[@]}" -f matroska "$TMP/h265_aac.mkv"
}

# --- 5. unknown sizes ------------------------------------------------------------------------------
# ffmpeg -live 1 to a pipe: unknown-size Segment, but ffmpeg always buffers each Cluster and
# writes its real size (it cannot write unknown-size clusters at all).
# GStreamer matroskamux streamable=true: unknown-size Segment AND unknown-size Clusters (8-byte
# 0x01FFFFFFFFFFFFFF, like the KVS producer SDK), remuxed from h264_aac.mkv without re-encoding.
make_live() {
  "${FF[@]}" "${VIDEO_IN[@]}" "${AAC_IN[@]}" -map 0:v -map 1:a "${X264[@]}" "${AAC[@]}" \
    "${BITEXACT[@]}" -live 1 -f matroska pipe:1 > "$TMP/h264_aac_live_unknown_segment.mkv"
}

make_gst() {
  if ! command -v gst-launch-1.0 >/dev/null || ! gst-inspect-1.0 matroskamux >/dev/null 2>&1; then
    echo "make_fixtures.sh: gst-launch-1.0/matroskamux missing: keeping the existing" \
         "h264_aac_gst_unknown_clusters.mkv" >&2
    return 0
  fi
  [ -f "$TMP/h264_aac.mkv" ] || make_h264_aac
  timeout 60 gst-launch-1.0 -q filesrc location="$TMP/h264_aac.mkv" ! matroskademux name=d \
    matroskamux name=m streamable=true ! filesink location="$TMP/h264_aac_gst_unknown_clusters.mkv" \
    d.video_0 ! queue ! m.video_%u \
    d.audio_0 ! queue ! aacparse ! m.audio_%u
}

# --- 6. lacing ------------------------------------------------------------------------------------
# mkvmerge laces audio by default, 8 AAC frames a block; libmatroska then picks, per block,
# whichever of Xiph/EBML/fixed lacing is smallest (here mostly EBML, one Xiph). The two
# --engage hacks force one kind. Equal-size PCM frames come out fixed-laced.
# (mkvmerge does not lace A_MS/ACM G.711 and cannot read A-law from WAV, so there is no
# fixed-laced G.711 fixture.)
make_lacing() {
  [ -f "$TMP/h264_aac.mkv" ] || make_h264_aac
  mkvmerge_run -o "$TMP/h264_aac_mkvmerge_lacing_auto.mkv" "$TMP/h264_aac.mkv"
  mkvmerge_run --engage lacing_xiph -o "$TMP/h264_aac_mkvmerge_lacing_xiph.mkv" "$TMP/h264_aac.mkv"
  mkvmerge_run --engage lacing_ebml -o "$TMP/h264_aac_mkvmerge_lacing_ebml.mkv" "$TMP/h264_aac.mkv"
  "${FF[@]}" "${VIDEO_IN[@]}" "${PCM8K_IN[@]}" -map 0:v -map 1:a "${X264[@]}" -c:a pcm_s16le \
    "${BITEXACT[@]}" -f matroska "$TMP/pcm_source.tmp.mkv"
  mkvmerge_run -o "$TMP/h264_pcm_mkvmerge_lacing_fixed.mkv" "$TMP/pcm_source.tmp.mkv"
}

# --- 7. BlockGroups ------------------------------------------------------------------------------
# --engage no_simpleblocks: every frame in a BlockGroup; non-key video frames get a
# ReferenceBlock; the AAC blocks stay laced (inside Block). A timestamp file that keeps every
# video timestamp (the video starts at 21 ms after the AAC priming shift) but makes the last
# frame last 100 ms instead of 33.3 ms makes mkvmerge write one BlockDuration.
# (Neither ffmpeg nor plain mkvmerge writes BlockDuration for constant-rate audio/video.)
make_blockgroups() {
  [ -f "$TMP/h264_aac.mkv" ] || make_h264_aac
  {
    echo "# timestamp format v2"
    for i in $(seq 0 59); do awk -v i="$i" 'BEGIN { printf "%.3f\n", 21 + i * 1000 / 30 }'; done
    awk 'BEGIN { printf "%.3f\n", 21 + 59 * 1000 / 30 + 100 }'
  } > "$TMP/video_timestamps.txt"
  mkvmerge_run --engage no_simpleblocks --timestamps "0:$TMP/video_timestamps.txt" \
    -o "$TMP/h264_aac_mkvmerge_blockgroups.mkv" "$TMP/h264_aac.mkv"
}

# --- 8. G.711 ----------------------------------------------------------------------------------
# ffmpeg stores G.711 as A_MS/ACM with a WAVEFORMATEX CodecPrivate (format tag 6 = A-law,
# 7 = mu-law), which is what the KVS producer SDK writes too. 100 frames of 160 bytes.
make_g711() {
  "${FF[@]}" "${VIDEO_IN[@]}" "${PCM8K_IN[@]}" -map 0:v -map 1:a "${X264[@]}" -c:a pcm_alaw \
    "${BITEXACT[@]}" -f matroska "$TMP/h264_alaw.mkv"
  "${FF[@]}" "${VIDEO_IN[@]}" "${PCM8K_IN[@]}" -map 0:v -map 1:a "${X264[@]}" -c:a pcm_mulaw \
    "${BITEXACT[@]}" -f matroska "$TMP/h264_mulaw.mkv"
}

# --- 9. a 1 s gap between fragments ---------------------------------------------------------------
# Frames 30..59 are moved 1 s later (setpts, and -fps_mode passthrough so ffmpeg does not
# fill the hole with duplicates): frames at 0..0.967 s, nothing in [1.0, 2.0), frames at
# 2.0..2.967 s. Frame 30 is an IDR anyway (-g 15), and -dash 1 starts a cluster there.
make_gap() {
  "${FF[@]}" "${VIDEO_IN[@]}" -vf "setpts='if(gte(N,30),PTS+30,PTS)'" -fps_mode passthrough \
    "${X264[@]}" "${BITEXACT[@]}" -dash 1 -f matroska "$TMP/h264_gap_1s.mkv"
}

MAKERS=(h264 h264_bframes h264_aac h265 live gst lacing blockgroups g711 gap)

need ffmpeg
need mkvmerge
if [ $# -gt 0 ]; then groups=("$@"); else groups=("${MAKERS[@]}"); fi
for g in "${groups[@]}"; do
  if ! declare -F "make_$g" >/dev/null; then
    echo "make_fixtures.sh: unknown group '$g' (one of: ${MAKERS[*]})" >&2
    exit 2
  fi
  "make_$g"
done

# Only the fixtures are kept: the helper inputs end in .tmp.mkv.
for f in "$TMP"/*.mkv; do
  case "$f" in *.tmp.mkv) continue ;; esac
  mv -f "$f" "$OUT/"
done
(cd "$OUT" && ls -l -- *.mkv && sha256sum -- *.mkv)
