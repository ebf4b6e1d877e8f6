"""How the C++ kernels are compiled: one place for the package build and the runtime rebuild.

``hatch_build.py`` (the package's build hook, run by ``pip install`` and ``python -m build``) loads
this file by path and compiles every ``*_cpu.cc`` next to it into ``<stem>-<key>.so``;
``jaxopt_zoo._kernels`` looks for that name at run time. The key hashes the source, the headers
of this directory, the flags and jaxlib's version, so a shared object is used only with the
sources and the jaxlib it was built for. This module imports nothing outside the standard library (the build has no jax, only
jaxlib's headers).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASE_FLAGS = ("-O3", "-std=c++17", "-shared", "-fPIC", "-pthread", "-ffp-contract=off", "-fno-fast-math", "-fno-math-errno")
# XLA contracts ``a * b + c`` into a fused multiply-add where the CPU has one, and the kernels
# reproduce that with ``std::fma``: on x86 they are built for FMA (and AVX2, to vectorise) and
# run only where the CPU has both (``cpu_supported``). Other architectures (aarch64) always
# have a fused multiply-add.
X86_FLAGS = ("-mfma", "-mavx2")
X86_FEATURES = frozenset({"fma", "avx2"})


def _x86() -> bool:
    return platform.machine().lower() in ("x86_64", "amd64", "x86", "i686")


def flags() -> tuple:
    """The compiler flags of every kernel on this architecture (not this CPU: a build machine
    without FMA still builds the kernels for the machines that have it)."""
    return (*BASE_FLAGS, *(X86_FLAGS if _x86() else ()))


def cpu_supported() -> bool:
    """Whether this CPU runs what ``flags`` builds with XLA's numbers (FMA and AVX2 on x86)."""
    if not _x86():
        return True
    try:
        return X86_FEATURES <= set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return False


def sources(directory: Path = HERE) -> list:
    """Every kernel source: ``*_cpu.cc`` (a new kernel builds without touching the build)."""
    return sorted(directory.glob("*_cpu.cc"))


def jaxlib_version() -> str:
    """The installed jaxlib's version: its FFI headers are what a kernel is compiled against."""
    try:
        return importlib.metadata.version("jaxlib")
    except importlib.metadata.PackageNotFoundError:
        return "none"


def built_name(source: Path) -> str:
    """The shared object's file name for ``source`` as it is now: ``<stem>-<key>.so``, the key a
    hash of the source, the headers here, the flags and jaxlib's version (XLA's FFI checks the
    sizes of its structs at call time, so a kernel built against another jaxlib's headers than
    the one that runs it is not loaded but rebuilt)."""
    key = hashlib.sha256(source.read_bytes())
    for header in sorted(source.parent.glob("*.h")):
        key.update(header.name.encode() + header.read_bytes())
    key.update(repr((flags(), jaxlib_version())).encode())
    return f"{source.stem}-{key.hexdigest()[:16]}.so"


def compiler() -> str | None:
    """``$CXX``, else the first of g++, c++, clang++ on the PATH; ``None`` when there is none."""
    return os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")


def compile_kernel(source: Path, include: str, out: Path, cxx: str) -> Path:
    """Compile ``source`` against the FFI headers in ``include`` into ``out`` (atomically: it is
    written next to ``out`` and renamed, so a concurrent process never loads half a file).
    Raises ``subprocess.CalledProcessError`` (with the compiler's stderr) or ``OSError``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        tmp_so = Path(tmp) / out.name
        subprocess.run([cxx, *flags(), f"-I{include}", f"-I{source.parent}", str(source), "-o", str(tmp_so)],
                       check=True, capture_output=True, text=True, timeout=600)
        os.replace(tmp_so, out)
    return out
