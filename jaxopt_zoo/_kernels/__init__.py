"""Optional fused CPU kernels for ``zoo.packed`` and ``zoo.packed_apply`` (XLA FFI custom calls written in C++).

Each kernel is one C++ file next to this module, with its math in a comment at the top. It is
built lazily, the first time ``packed`` traces a step it covers: ``g++`` compiles it into a
per-user cache (``$JAXOPT_ZOO_CACHE`` or ``~/.cache/jaxopt_zoo/kernels``, keyed by a hash of
the source, the jaxlib headers and the compiler flags), ``ctypes`` loads the shared object and
``jax.ffi.register_ffi_target`` registers its handler for the CPU platform. Installing the
package never compiles anything, so it cannot fail there.

The kernels are opt-in for now: ``JAXOPT_ZOO_KERNELS=1`` turns them on. Through ``packed``
(``tx.update`` + ``apply_updates``) they do not beat XLA's packed path; through
``packed_apply``, which writes p and the state in place, they do (benchmarks/README.md). Where they are off, no compiler is found or the
build fails, ``available`` says ``False`` and ``packed`` runs its pure-JAX path (the same
numbers). The variable is read whenever a step is traced, so tests can run both ways in one
process.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import warnings
from pathlib import Path

import jax

_HERE = Path(__file__).resolve().parent
_FLAGS = ("-O3", "-std=c++17", "-shared", "-fPIC", "-pthread", "-ffp-contract=off", "-fno-fast-math", "-fno-math-errno")


def _cpu_flags() -> tuple | None:
    """Extra flags for this CPU, or ``None`` when the kernels cannot reproduce XLA's numbers here.

    XLA contracts ``a * b + c`` into a fused multiply-add where the CPU has one, and the
    kernels reproduce that with ``std::fma``: on x86 they need FMA (and AVX2 to vectorise),
    so an x86 CPU without FMA gets the pure-JAX path. Other architectures (aarch64) always
    have a fused multiply-add.
    """
    machine = platform.machine().lower()
    if machine not in ("x86_64", "amd64"):
        return ()
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return None
    return ("-mfma", "-mavx2") if {"fma", "avx2"} <= flags else None
# kernel name -> (source file, exported handler symbol, FFI target name). A source may export
# several handlers (the update and the in-place apply form of one kernel); it is built once.
KERNELS = {
    "adam": ("adam_cpu.cc", "JaxoptZooAdamF32", "jaxopt_zoo_adam_f32"),
    "adam_apply": ("adam_cpu.cc", "JaxoptZooAdamApplyF32", "jaxopt_zoo_adam_apply_f32"),
    "adam_apply_bf16_state": ("adam_cpu.cc", "JaxoptZooAdamApplyBf16State", "jaxopt_zoo_adam_apply_bf16_state"),
    "amsgrad_apply": ("amsgrad_cpu.cc", "JaxoptZooAmsgradApplyF32", "jaxopt_zoo_amsgrad_apply_f32"),
    "momentum_apply": ("momentum_cpu.cc", "JaxoptZooMomentumApplyF32", "jaxopt_zoo_momentum_apply_f32"),
    "lion_apply": ("lion_cpu.cc", "JaxoptZooLionApplyF32", "jaxopt_zoo_lion_apply_f32"),
    "rms_apply": ("rms_cpu.cc", "JaxoptZooRmsApplyF32", "jaxopt_zoo_rms_apply_f32"),
    "rms_momentum_apply": ("rms_cpu.cc", "JaxoptZooRmsMomentumApplyF32", "jaxopt_zoo_rms_momentum_apply_f32"),
    "rms_centered_apply": ("rms_centered_cpu.cc", "JaxoptZooRmsCenteredApplyF32", "jaxopt_zoo_rms_centered_apply_f32"),
    "rms_centered_momentum_apply": ("rms_centered_cpu.cc", "JaxoptZooRmsCenteredMomentumApplyF32",
                                    "jaxopt_zoo_rms_centered_momentum_apply_f32"),
}

_lock = threading.Lock()
_loaded: dict = {}  # kernel name -> FFI target name, source file -> its library; None when building failed
_libs: list = []  # keeps the loaded libraries alive


# Off unless asked for: measured so far (benchmarks/README.md, "The fused kernel"), the update
# kernel of ``packed`` is slower than XLA's packed path and its update temporary raises the
# step's peak memory; the in-place kernels of ``packed_apply`` are faster (same section), but
# have been measured only on a loaded 2-core machine: switching the default is the lead's call.
DEFAULT = "0"


def enabled() -> bool:
    """Whether ``JAXOPT_ZOO_KERNELS`` (default ``DEFAULT``) asks for the kernels: ``1``/``true``/``yes``/``on``."""
    return os.environ.get("JAXOPT_ZOO_KERNELS", DEFAULT).strip().lower() in ("1", "true", "yes", "on")


def cache_dir() -> Path:
    root = os.environ.get("JAXOPT_ZOO_CACHE")
    return Path(root) if root else Path(os.path.expanduser("~")) / ".cache" / "jaxopt_zoo" / "kernels"


def _compiler() -> str | None:
    return os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")


def _build(source: Path, compiler: str) -> Path:
    """Compile ``source`` into the cache (once per source/headers/flags) and return the .so path."""
    include = jax.ffi.include_dir()
    flags = (*_FLAGS, *_cpu_flags())
    key = hashlib.sha256()
    headers = b"".join(h.read_bytes() for h in sorted(source.parent.glob("*.h")))
    for part in (source.read_bytes(), headers, include.encode(), jax.__version__.encode(), compiler.encode(),
                 repr(flags).encode()):
        key.update(part)
    out = cache_dir() / f"{source.stem}-{key.hexdigest()[:16]}.so"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    # Build next to the target and rename, so concurrent processes never load a half-written file.
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        tmp_so = Path(tmp) / out.name
        subprocess.run([compiler, *flags, f"-I{include}", f"-I{source.parent}", str(source), "-o", str(tmp_so)],
                       check=True, capture_output=True, text=True, timeout=300)
        os.replace(tmp_so, out)
    return out


def target(kernel: str) -> str | None:
    """The registered FFI target of ``kernel`` on CPU, building its source on first use; ``None``
    if kernels are disabled or it cannot be built (a warning says why, once per source)."""
    if not enabled():
        return None
    with _lock:
        if kernel in _loaded:
            return _loaded[kernel]
        source, symbol, name = KERNELS[kernel]
        lib = _library(source)
        result = None
        if lib is not None:
            jax.ffi.register_ffi_target(name, jax.ffi.pycapsule(getattr(lib, symbol)), platform="cpu")
            result = name
        _loaded[kernel] = result
        return result


def _library(source: str):
    """The loaded shared object of ``source`` (built into the cache first), or ``None``."""
    if source in _loaded:
        return _loaded[source]
    compiler = _compiler()
    lib = None
    what = source.removesuffix(".cc").removesuffix("_cpu")
    if _cpu_flags() is None:
        pass  # this CPU has no FMA: XLA's numbers differ from the kernel's, use the fallback
    elif compiler is None:
        warnings.warn("jaxopt_zoo: no C++ compiler found; zoo.packed uses its pure-JAX path", stacklevel=4)
    else:
        try:
            lib = ctypes.cdll.LoadLibrary(str(_build(_HERE / source, compiler)))
            _libs.append(lib)
        except Exception as err:  # noqa: BLE001 - any failure means: use the fallback
            detail = getattr(err, "stderr", "") or err
            warnings.warn(f"jaxopt_zoo: building the {what} kernel failed, zoo.packed uses its pure-JAX "
                          f"path: {detail}", stacklevel=4)
    _loaded[source] = lib
    return lib


def available(kernel: str) -> bool:
    """Whether ``kernel`` can run here (CPU backend, enabled, built)."""
    return jax.default_backend() == "cpu" and target(kernel) is not None


def adam_chunk(p: jax.Array, g: jax.Array, m: jax.Array, v: jax.Array, hyper: jax.Array) -> tuple:
    """One fused Adam step on a float32 chunk (see ``adam_cpu.cc``): returns ``(u, m', v')``.

    ``hyper`` is the float32 vector ``[1-b1, b1, 1-b2, b2, 1/(1-b1^t), 1/(1-b2^t), eps_root,
    eps, wd, s, decay, form, 1-b1^t, 1-b2^t, clip, norm, max_norm, nesterov, 1/(1-b1^(t+1)),
    1-b1^(t+1), b1 and b2 rounded to bfloat16]``. ``m`` and ``v`` are aliased to ``m'`` and ``v'``. Call only when
    ``available("adam")``.
    """
    out = jax.ShapeDtypeStruct(g.shape, g.dtype)
    call = jax.ffi.ffi_call(target("adam"), (out, out, out), input_output_aliases={2: 1, 3: 2},
                            vmap_method="sequential")
    return call(p, g, m, v, hyper)


def apply_chunk(kernel: str, p: jax.Array, g: jax.Array, state: tuple, hyper: jax.Array) -> tuple:
    """One fused step of ``kernel`` (an ``*_apply`` kernel) applied to a float32 chunk of params:
    returns ``(p', *state')``.

    ``state`` are the kernel's moment chunks (``(m, v)`` for Adam, ``(m, v, v_max)`` for AMSGrad, ``(t,)`` for momentum,
    ``(m,)`` for Lion, ``(v,)`` or ``(v, t)`` for RMSprop, ``(m, v)`` or ``(m, v, t)`` centred) and ``hyper`` its float32 vector of scalars (see its ``.cc`` file).
    ``p`` and the state are aliased to their outputs: under ``jit`` with them donated, the step
    writes them in place. Call only when ``available(kernel)``.
    """
    outs = tuple(jax.ShapeDtypeStruct(x.shape, x.dtype) for x in (p, *state))
    aliases = {0: 0, **{2 + i: 1 + i for i in range(len(state))}}
    call = jax.ffi.ffi_call(target(kernel), outs, input_output_aliases=aliases, vmap_method="sequential")
    return call(p, g, *state, hyper)


def apply_chunk_per_shard(kernel: str, p: jax.Array, g: jax.Array, state: tuple, hyper: jax.Array) -> tuple:
    """``apply_chunk`` on a chunk that may be sharded over several devices: the kernel runs on
    each device's shard (the step is elementwise), with ``hyper`` replicated.

    Under ``jit`` the params' sharding is known only when XLA partitions the program, so the
    call is a ``custom_partitioning`` op whose partitioning is that of ``shard_map`` over p's
    sharding: g and the state are given p's sharding (the partitioner reshards them if they
    differ), the outputs keep it, and each device runs ``apply_chunk`` on its own shards, in
    place. Unsharded (one device, or inside ``shard_map``/``pmap`` already) it is ``apply_chunk``.
    """
    mesh = jax.sharding.get_abstract_mesh()
    if getattr(mesh, "manual_axes", ()):  # inside shard_map: these are the shards already
        return apply_chunk(kernel, p, g, state, hyper)
    sharding = getattr(jax.typeof(p), "sharding", None)
    if getattr(mesh, "explicit_axes", ()) and sharding is not None and any(sharding.spec):
        # Explicit sharding: p's type carries its sharding, so shard_map over it directly.
        spec = sharding.spec
        local = jax.shard_map(lambda *a: apply_chunk(kernel, a[0], a[1], tuple(a[2:-1]), a[-1]), mesh=sharding.mesh,
                              in_specs=(spec,) * (2 + len(state)) + (jax.sharding.PartitionSpec(),),
                              out_specs=(spec,) * (1 + len(state)))
        return local(p, jax.sharding.reshard(g, spec), *(jax.sharding.reshard(x, spec) for x in state), hyper)
    return _per_shard_call(kernel, len(state), p.ndim)(p, g, *state, hyper)


@functools.cache
def _per_shard_call(kernel: str, n_state: int, rank: int):
    from jax.experimental.custom_partitioning import custom_partitioning
    from jax.sharding import NamedSharding, PartitionSpec

    def local(p, g, *rest):
        return apply_chunk(kernel, p, g, tuple(rest[:-1]), rest[-1])

    call = custom_partitioning(local)

    def infer(mesh, arg_shapes, result_shape):
        return (arg_shapes[0].sharding,) * (1 + n_state)

    def partition(mesh, arg_shapes, result_shape):
        like_p = arg_shapes[0].sharding
        replicated = NamedSharding(like_p.mesh, PartitionSpec())
        return mesh, local, (like_p,) * (1 + n_state), (like_p,) * (2 + n_state) + (replicated,)

    dims = " ".join(f"d{i}" for i in range(rank))  # every dimension elementwise (passthrough)
    rule = ", ".join([dims] * (2 + n_state)) + ", h -> " + ", ".join([dims] * (1 + n_state))
    call.def_partition(partition=partition, infer_sharding_from_operands=infer, sharding_rule=rule)
    return call
