# SPDX-License-Identifier: Apache-2.0
"""Batch repackaging of Matroska files into HLS-ready fMP4 or TS segments, or MP4 files,
over a process pool (``kvsmux repackage``).

Layout under ``out_dir`` for an input ``cam1.mkv``:
- fmp4: ``cam1/index.m3u8``, ``cam1/init.mp4``, ``cam1/seg_00001.m4s`` ...
- ts:   ``cam1/index.m3u8``, ``cam1/seg_00001.ts`` ...
- mp4:  ``cam1.mp4``
"""
from __future__ import annotations

import math
import mmap
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from kvsmux.errors import MediaError

CONTAINERS = ("fmp4", "ts", "mp4")
_IOV_MAX = 1024


@dataclass
class FileResult:
    source: Path
    output: Path
    bytes_in: int
    bytes_out: int
    segments: int
    seconds: float
    error: str | None = None


def _write(path: Path, parts: list) -> int:
    """Writes the parts with writev: media goes from the input mapping to the file, no copy."""
    total = 0
    with open(path, "wb") as f:
        fd = f.fileno()
        for i in range(0, len(parts), _IOV_MAX):
            batch = parts[i:i + _IOV_MAX]
            want = sum(len(p) for p in batch)
            done = os.writev(fd, batch)
            if done < want:  # a short write: finish it the slow way
                rest = b"".join(bytes(p) for p in batch)[done:]
                f.write(rest)
            total += want
    return total


def _playlist(segments, container: str) -> str:
    target = max((math.ceil(s.duration_ns / 1e9) for s in segments), default=1) or 1
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{7 if container == 'fmp4' else 3}", f"#EXT-X-TARGETDURATION:{target}",
             "#EXT-X-MEDIA-SEQUENCE:1", "#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-INDEPENDENT-SEGMENTS"]
    if container == "fmp4":
        lines.append('#EXT-X-MAP:URI="init.mp4"')
    ext = "m4s" if container == "fmp4" else "ts"
    for i, s in enumerate(segments, 1):
        lines += [f"#EXTINF:{s.duration_ns / 1e9:.3f},", f"seg_{i:05d}.{ext}"]
    return "\n".join(lines + ["#EXT-X-ENDLIST", ""])


def repackage_file(source: Path, container: str, out_dir: Path, backend: str = "native") -> FileResult:
    """Repackages one file; media errors are reported in the result, not raised."""
    from kvsmux.media.package import to_fmp4, to_mp4, to_ts
    t0 = time.perf_counter()
    source, out_dir = Path(source), Path(out_dir)
    size = source.stat().st_size
    target = out_dir / (source.stem + ".mp4" if container == "mp4" else source.stem)
    try:
        with open(source, "rb") as f:
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
            pkg = {"fmp4": to_fmp4, "ts": to_ts, "mp4": to_mp4}[container](data, backend=backend)
            written = 0
            if container == "mp4":
                written = _write(target, pkg.segments[0].parts())
            else:
                target.mkdir(parents=True, exist_ok=True)
                if pkg.init is not None:
                    written += _write(target / "init.mp4", pkg.init.parts())
                ext = "m4s" if container == "fmp4" else "ts"
                for i, seg in enumerate(pkg.segments, 1):
                    written += _write(target / f"seg_{i:05d}.{ext}", seg.parts())
                (target / "index.m3u8").write_text(_playlist(pkg.segments, container))
            segments = len(pkg.segments)
            del pkg  # the outputs view the mapping: release them before it closes
    except MediaError as e:
        return FileResult(source, target, size, 0, 0, time.perf_counter() - t0, f"{type(e).__name__}: {e}")
    return FileResult(source, target, size, written, segments, time.perf_counter() - t0)


def repackage(inputs: Iterable[Path | str], container: str, out_dir: Path | str, *, jobs: int | None = None,
              backend: str = "native", progress: bool = True) -> list[FileResult]:
    """Repackages every input over a process pool (``jobs`` processes; 1 runs in-process)."""
    if container not in CONTAINERS:
        raise ValueError(f"container must be one of {CONTAINERS}")
    inputs = [Path(p) for p in inputs]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    total = sum(p.stat().st_size for p in inputs)
    from tqdm import tqdm
    bar = tqdm(total=total, unit="B", unit_scale=True, desc=f"to {container}", disable=not progress)
    results: list[FileResult] = []
    try:
        if (jobs or os.cpu_count() or 1) == 1 or len(inputs) == 1:
            for p in inputs:
                results.append(repackage_file(p, container, out_dir, backend))
                bar.update(results[-1].bytes_in)
        else:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                futures = [pool.submit(repackage_file, p, container, out_dir, backend) for p in inputs]
                for fut in as_completed(futures):
                    results.append(fut.result())
                    bar.update(results[-1].bytes_in)
    finally:
        bar.close()
    order = {p: i for i, p in enumerate(inputs)}
    return sorted(results, key=lambda r: order[r.source])
