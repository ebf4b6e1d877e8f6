"""The package build's hook: compiles the C++ kernels of ``jaxopt_zoo._kernels`` (docs/development.md).

hatchling runs it for every wheel, the editable one of ``pip install -e .`` included. Each
``jaxopt_zoo/_kernels/*_cpu.cc`` is compiled (``jaxopt_zoo/_kernels/_build.py``: the flags, the
file names) against jaxlib's FFI headers, which the build environment gets from
``[build-system] requires``. An editable install writes the shared objects next to the sources,
where the package loads them; a wheel carries them at the same place and gets a platform tag.

It never fails the install: without a compiler, without jaxlib's headers, or when a kernel does
not compile, it says so on stderr (``pip install -v`` shows it) and the wheel goes without that
kernel; the package then runs its pure-JAX path (the same numbers). ``JAXOPT_ZOO_BUILD_KERNELS=0``
skips the kernels.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

KERNELS = Path("jaxopt_zoo") / "_kernels"


def _say(message: str) -> None:
    print(f"jaxopt_zoo build: {message}", file=sys.stderr, flush=True)


def _load_build(root: Path):
    spec = importlib.util.spec_from_file_location("_jaxopt_zoo_kernel_build", root / KERNELS / "_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _jaxlib_include() -> str | None:
    """jaxlib's bundled headers (what ``jax.ffi.include_dir()`` returns), found without importing jax."""
    spec = importlib.util.find_spec("jaxlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    include = Path(list(spec.submodule_search_locations)[0]) / "include"
    return str(include) if (include / "xla" / "ffi" / "api" / "ffi.h").exists() else None


class KernelBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name != "wheel":
            return
        if os.environ.get("JAXOPT_ZOO_BUILD_KERNELS", "1").strip().lower() in ("0", "false", "no", "off"):
            _say("JAXOPT_ZOO_BUILD_KERNELS=0: no C++ kernels (the pure-JAX path)")
            return
        root = Path(self.root)
        build = _load_build(root)
        sources = build.sources(root / KERNELS)
        cxx, include = build.compiler(), _jaxlib_include()
        if not sources or cxx is None or include is None:
            why = "no C++ compiler" if cxx is None else "no jaxlib headers in the build environment"
            _say(f"{why}: the package installs without its C++ kernels and runs the pure-JAX path")
            return
        editable = version == "editable"
        if editable:  # the package is imported from the sources: the shared objects go next to them
            out_dir = root / KERNELS
            for old in out_dir.glob("*_cpu-*.so"):  # earlier builds of other sources
                old.unlink()
        else:
            out_dir = Path(tempfile.mkdtemp(prefix="jaxopt_zoo_kernels_"))
            self._tmp = out_dir

        def one(source: Path):
            try:
                return build.compile_kernel(source, include, out_dir / build.built_name(source), cxx)
            except Exception as err:  # noqa: BLE001 - any failure: the wheel goes without this kernel
                _say(f"building {source.name} failed ({getattr(err, 'stderr', '') or err}); "
                     "the package runs the pure-JAX path for it")
                return None

        with ThreadPoolExecutor(max_workers=max(1, min(len(sources), os.cpu_count() or 1))) as pool:
            built = [so for so in pool.map(one, sources) if so is not None]
        _say(f"built {len(built)} of {len(sources)} C++ kernels ({', '.join(s.name for s in sources)}) with {cxx}")
        if built and not editable:
            build_data["pure_python"] = False
            build_data["infer_tag"] = True
            for so in built:
                build_data["force_include"][str(so)] = (KERNELS / so.name).as_posix()

    def finalize(self, version: str, build_data: dict, artifact_path: str) -> None:
        tmp = getattr(self, "_tmp", None)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
