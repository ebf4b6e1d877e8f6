"""Fused CPU kernels for ``zoo.packed`` and ``zoo.packed_apply`` (XLA FFI custom calls written in C++).

Each kernel is one C++ file next to this module, with its math in a comment at the top. The
package's build compiles every ``*_cpu.cc`` here (``hatch_build.py`` at the repository root,
run by ``pip install`` / ``pip install -e`` / ``python -m build``, with the flags and file
names of ``_build.py``) into ``<stem>-<key>.so`` in this directory, the key a hash of the
source, the headers, the flags and jaxlib's version. The first time ``packed`` or ``packed_apply`` traces a step
a kernel covers, the shared object is loaded with ``ctypes`` and its handlers are registered
with ``jax.ffi.register_ffi_target`` for the CPU platform.

Which kernels run (``JAXOPT_ZOO_KERNELS``, read whenever a step is traced, so tests can run
both ways in one process):

* unset (the default): the in-place kernels of ``packed_apply`` (the ``*_apply`` ones), which
  beat XLA's path (benchmarks/README.md); not the update kernel of ``packed`` (``"adam"``),
  which is slower than XLA's packed path and raises the step's peak memory;
* ``1`` (``true``/``yes``/``on``): all of them, the update kernel of ``packed`` too;
* ``0`` (``false``/``no``/``off``): none.

Where a kernel does not run, ``available`` says ``False`` and ``packed``/``packed_apply`` run
their pure-JAX path, with the same numbers: on a backend other than CPU, on an x86 CPU without
FMA and AVX2 (the kernels reproduce XLA's fused multiply-adds bit for bit; no warning), and in
an install built without a compiler (silently by default, with one warning per process under
``JAXOPT_ZOO_KERNELS=1``, which asked for them). ``JAXOPT_ZOO_NO_EXTENSION=1`` makes an install
with kernels behave as one without (the tests of the fallback use it).

Developer rebuild: when this directory has no shared object for a source as it is now (a
``.cc`` or header edited since the install, another jaxlib installed since, or a checkout used
through ``PYTHONPATH`` that was never installed), it is compiled at first use into a per-user cache
(``$JAXOPT_ZOO_CACHE`` or ``~/.cache/jaxopt_zoo/kernels``) with the same flags, if a compiler
(``$CXX``, g++, c++ or clang++) is found; a failing compile warns and falls back.
``pip install -e .`` again puts the rebuilt objects into the package.
"""

from __future__ import annotations

import ctypes
import functools
import os
import threading
import warnings
from pathlib import Path

import jax

from . import _build

_HERE = Path(__file__).resolve().parent
_PACKAGED_DIR = _HERE  # where the package's build puts the shared objects
# kernel name -> (source file, exported handler symbol, FFI target name). A source may export
# several handlers (the update and the in-place apply form of one kernel); it is built once.
KERNELS = {
    "adam": ("adam_cpu.cc", "JaxoptZooAdamF32", "jaxopt_zoo_adam_f32"),
    "adam_apply": ("adam_cpu.cc", "JaxoptZooAdamApplyF32", "jaxopt_zoo_adam_apply_f32"),
    "adam_apply_bf16_state": ("adam_cpu.cc", "JaxoptZooAdamApplyBf16State", "jaxopt_zoo_adam_apply_bf16_state"),
    "amsgrad_apply": ("amsgrad_cpu.cc", "JaxoptZooAmsgradApplyF32", "jaxopt_zoo_amsgrad_apply_f32"),
    # The multi-tensor forms: the grads as per-leaf operands (apply_leaves).
    "adam_apply_multi": ("adam_cpu.cc", "JaxoptZooAdamApplyMultiF32", "jaxopt_zoo_adam_apply_multi_f32"),
    "adam_apply_multi_bf16_state": ("adam_cpu.cc", "JaxoptZooAdamApplyMultiBf16State",
                                    "jaxopt_zoo_adam_apply_multi_bf16_state"),
    "momentum_apply_multi": ("momentum_cpu.cc", "JaxoptZooMomentumApplyMultiF32", "jaxopt_zoo_momentum_apply_multi_f32"),
    "lion_apply_multi": ("lion_cpu.cc", "JaxoptZooLionApplyMultiF32", "jaxopt_zoo_lion_apply_multi_f32"),
    "rms_apply_multi": ("rms_cpu.cc", "JaxoptZooRmsApplyMultiF32", "jaxopt_zoo_rms_apply_multi_f32"),
    "rms_momentum_apply_multi": ("rms_cpu.cc", "JaxoptZooRmsMomentumApplyMultiF32",
                                 "jaxopt_zoo_rms_momentum_apply_multi_f32"),
    "momentum_apply": ("momentum_cpu.cc", "JaxoptZooMomentumApplyF32", "jaxopt_zoo_momentum_apply_f32"),
    "lion_apply": ("lion_cpu.cc", "JaxoptZooLionApplyF32", "jaxopt_zoo_lion_apply_f32"),
    "rms_apply": ("rms_cpu.cc", "JaxoptZooRmsApplyF32", "jaxopt_zoo_rms_apply_f32"),
    "rms_momentum_apply": ("rms_cpu.cc", "JaxoptZooRmsMomentumApplyF32", "jaxopt_zoo_rms_momentum_apply_f32"),
    "rms_centered_apply": ("rms_centered_cpu.cc", "JaxoptZooRmsCenteredApplyF32", "jaxopt_zoo_rms_centered_apply_f32"),
    "rms_centered_momentum_apply": ("rms_centered_cpu.cc", "JaxoptZooRmsCenteredMomentumApplyF32",
                                    "jaxopt_zoo_rms_centered_momentum_apply_f32"),
}

_lock = threading.Lock()
_loaded: dict = {}  # kernel name -> FFI target name, source file -> its library; None when it cannot run
_libs: list = []  # keeps the loaded libraries alive
_warned_absent = False

TRUE = ("1", "true", "yes", "on")  # the values that switch an environment variable of the kernels on
_OFF = ("0", "false", "no", "off")


def on_by_default(kernel: str) -> bool:
    """Whether ``kernel`` runs without ``JAXOPT_ZOO_KERNELS``: the in-place (``*_apply``) kernels
    of ``packed_apply`` do, the update kernel of ``packed`` does not (benchmarks/README.md, "The
    kernels": it is slower than XLA's packed path)."""
    return "_apply" in kernel


def _mode() -> str:
    value = os.environ.get("JAXOPT_ZOO_KERNELS", "").strip().lower()
    if value in TRUE:
        return "all"
    if value in _OFF:
        return "none"
    if value in ("", "default"):
        return "default"
    raise ValueError(f"jaxopt_zoo: environment variable `JAXOPT_ZOO_KERNELS` must be 1 (all kernels), 0 (none) or "
                     f"unset (the in-place kernels of packed_apply), got {value!r}")


def enabled(kernel: str) -> bool:
    """Whether ``JAXOPT_ZOO_KERNELS`` lets ``kernel`` run: ``1`` all, ``0`` none, unset the
    kernels ``on_by_default``."""
    mode = _mode()
    return mode == "all" or (mode == "default" and on_by_default(kernel))


def cache_dir() -> Path:
    root = os.environ.get("JAXOPT_ZOO_CACHE")
    return Path(root) if root else Path(os.path.expanduser("~")) / ".cache" / "jaxopt_zoo" / "kernels"


def _hidden() -> bool:
    return os.environ.get("JAXOPT_ZOO_NO_EXTENSION", "").strip().lower() in TRUE


def target(kernel: str) -> str | None:
    """The registered FFI target of ``kernel`` on CPU, loading its shared object on first use;
    ``None`` if ``kernel`` is disabled or cannot run here (see the module docstring)."""
    if not enabled(kernel):
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


def _shared_object(source: str) -> Path | None:
    """The shared object of ``source`` as it is now: the package's, else one compiled into the
    cache (the developer rebuild); ``None`` when there is none (a warning says why if it matters)."""
    global _warned_absent
    if not _build.cpu_supported():
        return None  # no FMA/AVX2: XLA's numbers differ from the kernel's
    path = _HERE / source
    name = _build.built_name(path)
    hidden = _hidden()  # behave as an install built without a compiler, on a machine without one
    cached = cache_dir() / name
    for built in (_PACKAGED_DIR / name, cached):
        if not hidden and built.exists():
            return built
    compiler = None if hidden else _build.compiler()
    if compiler is None:
        if _mode() == "all" and not _warned_absent:  # asked for explicitly: say why they do not run
            _warned_absent = True
            warnings.warn("jaxopt_zoo: the C++ kernels are not built in this install and no C++ compiler was found "
                          "to build them; zoo.packed and zoo.packed_apply use their pure-JAX path (the same numbers)",
                          stacklevel=5)
        return None
    try:
        return _build.compile_kernel(path, jax.ffi.include_dir(), cached, compiler)
    except Exception as err:  # noqa: BLE001 - any failure means: use the fallback
        what = source.removesuffix(".cc").removesuffix("_cpu")
        detail = getattr(err, "stderr", "") or err
        warnings.warn(f"jaxopt_zoo: building the {what} kernel failed, zoo.packed uses its pure-JAX "
                      f"path: {detail}", stacklevel=5)
        return None


def _library(source: str):
    """The loaded shared object of ``source``, or ``None``."""
    if source in _loaded:
        return _loaded[source]
    lib = None
    path = _shared_object(source)
    if path is not None:
        try:
            lib = ctypes.cdll.LoadLibrary(str(path))
            _libs.append(lib)
        except OSError as err:
            warnings.warn(f"jaxopt_zoo: loading {path} failed, zoo.packed uses its pure-JAX path: {err}", stacklevel=4)
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


def apply_leaves(kernel: str, p: jax.Array, grads: list, state: tuple, hyper: jax.Array) -> tuple:
    """``apply_chunk`` in its multi-tensor form (a ``*_multi`` kernel): the grads of the chunk ``p``
    are the per-leaf float32 arrays ``grads`` that tile it in order (their sizes add up to its
    size), passed to the kernel as they are, so they are not concatenated. Returns ``(p', *state')``,
    ``p`` and the state aliased to their outputs. Call only when ``available(kernel)``.
    """
    outs = tuple(jax.ShapeDtypeStruct(x.shape, x.dtype) for x in (p, *state))
    aliases = {i: i for i in range(1 + len(state))}
    call = jax.ffi.ffi_call(target(kernel), outs, input_output_aliases=aliases, vmap_method="sequential")
    return call(p, *state, hyper, *grads)


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
    if jax.device_count() == 1 or getattr(mesh, "manual_axes", ()):  # one device, or inside shard_map: the shards
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
