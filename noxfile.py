# SPDX-License-Identifier: Apache-2.0
"""Build and test kvsmux: `nox` runs the C++ unit tests, the Python tests and a bounded
fuzzing run. `nox -s bench` runs the benchmarks (not part of the tests)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

ROOT = Path(__file__).parent
nox.options.sessions = ["tests", "fuzz"]
nox.options.reuse_existing_virtualenvs = True

# The independent tools the tests check our output with (TESTING-TOOLS.md).
SYSTEM_TOOLS = {"ffprobe": "ffmpeg", "ffmpeg": "ffmpeg", "mkvinfo": "mkvtoolnix", "mkvmerge": "mkvtoolnix"}
FUZZ_TOOLS = {"clang++": "clang", "llvm-symbolizer": "llvm"}
FUZZ_PACKAGES = ["clang", "libclang-rt-14-dev", "llvm"]


def ensure_system_packages(session: nox.Session, tools: dict[str, str], extra: list[str] = ()) -> None:
    """On a fresh Debian machine (as root), install the Debian packages the tests use."""
    missing = sorted({pkg for tool, pkg in tools.items() if shutil.which(tool) is None} | set(extra))
    missing = [p for p in missing if not _installed(p)]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        session.warn(f"missing Debian packages {missing}: the tests that need them will skip")
        return
    session.log(f"installing Debian packages: {' '.join(missing)}")
    session.run("apt-get", "update", "-qq", external=True)
    session.run("apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing, external=True,
                env={"DEBIAN_FRONTEND": "noninteractive"})


def _installed(package: str) -> bool:
    return shutil.which("dpkg-query") is not None and os.system(
        f"dpkg-query -W -f='${{Status}}' {package} 2>/dev/null | grep -q 'install ok installed'") == 0


@nox.session
def tests(session: nox.Session) -> None:
    """C++ unit tests (no Python involved), then the package and its Python tests."""
    ensure_system_packages(session, SYSTEM_TOOLS)
    build = ROOT / "build" / "cpp-tests"
    session.run("cmake", "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                "-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined -fno-omit-frame-pointer", external=True)
    session.run("cmake", "--build", str(build), "-j", str(os.cpu_count() or 2), external=True)
    session.run("ctest", "--test-dir", str(build / "cpp"), "--output-on-failure", external=True)
    session.install(".[test]")
    session.run("python", "-m", "pytest", *(session.posargs or ["tests"]))


@nox.session
def fuzz(session: nox.Session) -> None:
    """libFuzzer with ASan and UBSan over the demuxer and the repackaging writers, each for a
    bounded time (KVSMUX_FUZZ_SECONDS, default 60), seeded with the test fixtures; every file
    in tests/data/invalid is replayed first."""
    ensure_system_packages(session, FUZZ_TOOLS, FUZZ_PACKAGES)
    if shutil.which("clang++") is None:
        session.error("clang++ is needed for the fuzz session")
    build = ROOT / "build" / "fuzz"
    session.run("cmake", "-S", str(ROOT), "-B", str(build), "-DCMAKE_CXX_COMPILER=clang++", "-DKVSMUX_FUZZ=ON",
                "-DKVSMUX_BUILD_TESTS=OFF", "-DCMAKE_BUILD_TYPE=RelWithDebInfo", external=True)
    session.run("cmake", "--build", str(build), "-j", str(os.cpu_count() or 2), external=True)
    seeds = [p for d in ("tests/data/valid", "tests/data/invalid") for p in sorted((ROOT / d).glob("*"))
             if p.suffix in (".mkv", ".webm")]
    invalid = [str(p) for p in sorted((ROOT / "tests/data/invalid").glob("*")) if p.suffix in (".mkv", ".webm")]
    seconds = os.environ.get("KVSMUX_FUZZ_SECONDS", "60")
    # demuxer_fuzzer: the Matroska demuxer, whole vs chunked; package_fuzzer: MKV -> fMP4, TS, MP4.
    for target in ("demuxer_fuzzer", "package_fuzzer"):
        fuzzer = build / "cpp" / target
        corpus = build / f"corpus-{target}"
        corpus.mkdir(exist_ok=True)
        for p in seeds:
            shutil.copy(p, corpus / p.name)
        if invalid:  # replay every input ever found, then fuzz for a bounded time with no finding allowed
            session.run(str(fuzzer), *invalid, external=True)
        session.run(str(fuzzer), f"-max_total_time={seconds}", f"-dict={ROOT / 'cpp/fuzz/demuxer.dict'}",
                    "-max_len=262144", f"-artifact_prefix={build}/{target}-", str(corpus), external=True)


@nox.session
def bench(session: nox.Session) -> None:
    """Demux and packaging throughput beside memcpy, FFmpeg and the pure backend (bench/README.md)."""
    session.install(".", "av")
    session.run("python", "bench/demux_bench.py", *session.posargs)
    session.run("python", "bench/package_bench.py", *session.posargs)
