#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Generate the benchmark inputs into bench/data/ (not committed; deterministic flags).

    python bench/make_input.py [--minutes 3]

- h264_aac_1080p.mkv: 1920x1080 30 fps H.264 (~6 Mbit/s, keyframe every 2 s, one cluster
  per GOP like a KVS producer) + AAC-LC 48 kHz stereo, `--minutes` long.
- h264_720p_video.mkv: 1280x720 30 fps H.264 only, same length.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def make(minutes: float, force: bool = False) -> dict[str, Path]:
    if shutil.which("ffmpeg") is None:
        raise SystemExit("ffmpeg is needed to generate the benchmark input (apt-get install ffmpeg)")
    DATA.mkdir(exist_ok=True)
    seconds = str(int(minutes * 60))
    common = ["-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-keyint_min", "60", "-sc_threshold", "0",
              "-pix_fmt", "yuv420p", "-fflags", "+bitexact", "-map_metadata", "-1", "-cluster_time_limit", "2000"]
    outputs = {
        "h264_aac_1080p": DATA / "h264_aac_1080p.mkv",
        "h264_720p_video": DATA / "h264_720p_video.mkv",
    }
    if force or not outputs["h264_aac_1080p"].exists():
        ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds}",
               "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
               *common, "-b:v", "6M", "-maxrate", "6M", "-bufsize", "12M",
               "-c:a", "aac", "-b:a", "128k", "-ac", "2", str(outputs["h264_aac_1080p"]))
    if force or not outputs["h264_720p_video"].exists():
        ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=30:duration={seconds}",
               *common, "-b:v", "3M", "-maxrate", "3M", "-bufsize", "6M", str(outputs["h264_720p_video"]))
    return outputs


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args()
    for name, path in make(a.minutes, a.force).items():
        print(f"{name}: {path} ({path.stat().st_size / 1e6:.1f} MB)")
