"""What the Pallas kernels (GPU, TPU; interpret mode anywhere) share: one ``pallas_call`` over a
packed 1-D chunk, the platforms and block sizes, and the pinned ``a b + c`` and ``x / d``.

Each family's file (``pallas_adam.py``, ``pallas_momentum.py``, ``pallas_lion.py``,
``pallas_rms.py``) holds only its math: a function ``step(h, p, g, *state, pin, **static)`` on
one block (``h(i)``: the i-th scalar of the CPU kernel's ``hyper`` vector; ``static``: the
family's own compile-time switches, Adam's ``apply`` and ``legacy``) that returns
``(p' or u, *state')``. ``launch`` runs it over the chunk; ``apply_chunk`` checks the float32
chunks of momentum SGD, Lion and RMSprop first, ``pallas_adam`` its own (float64 chunks and
bfloat16 moments too).

Layout: the chunk is cut into blocks of ``block_size`` elements (a power of two, at least
1024: Triton needs power-of-two blocks, TPU tiles 32-bit 1-D arrays by 1024; ``BLOCK_SIZE`` has
a default per platform), one program per block over a 1-D grid of ``cdiv(n, block)``. A
ragged last block is masked, not padded (padding would copy the whole chunk): on GPU, Triton's
loads and stores do not stop at the array's end, so the kernel masks its lanes past ``n``
(``pltriton.load``/``store``; interpret mode runs the same masks); on TPU, Mosaic clips the
last block's copies to the array. The scalars ride along as one extra operand, padded to 32
entries (Triton needs power-of-two shapes): a vector every program reads whole on GPU, in SMEM
on TPU. The state is aliased to its outputs (``input_output_aliases``), and p to p' in the
apply form (the update form, Adam's for ``packed``, reads p but leaves it: the caller adds u
to it): with the chunk donated under jit, the step runs in place. On GPU the kernel is lowered
through Triton (``pltriton.CompilerParams``): this JAX lowers ``pallas_call`` to Mosaic GPU by
default, which needs Hopper and is deprecated for ``pallas_call``; Triton takes this plain
blocked kernel on Ampere and on ROCm as well.

Numbers. Each kernel makes the floating-point choices of XLA's CPU program for the unfused
path (``packed_apply``'s pure-JAX path), as its C++ kernel does: the same operations in the
same order and dtypes, each sum of two products contracted into a fused multiply-add on the
same side, true divisions where the program divides. JAX has no FMA primitive and XLA decides
the contractions and rewrites of the program it compiles, so in interpret mode
(``interpret=True``: the body becomes part of the caller's XLA CPU program) the kernels are
written to leave XLA no choice -- found by measurement, not guaranteed by XLA:

* the scalars pass ``jax.lax.optimization_barrier`` (``_call``): inlined into the caller's
  program, they would be constants that XLA folds into the body, which it then contracts
  otherwise;
* each sum of two products whose side matters is written ``a' b' + c'`` with the operands
  selected by run-time flags (``jnp.where``), so one side is a select, not a product, and only
  the other can be contracted (``fma``);
* a divisor that is a scalar passes an optimization barrier, which keeps XLA's simplifier from
  turning the division into a product with the reciprocal (``div``). (XLA drops the barriers
  after its simplifier, before fusion: they cost nothing at run time.)

On a GPU or TPU the same source goes to Triton or Mosaic, which pick their own contractions
(and XLA's GPU/TPU compilers those of the unfused path), so whether they agree there, and to
how many ulps, can only be measured on the device. Never compiled for or run on a GPU or TPU:
this machine has neither. The tests lower the kernels for CUDA and ROCm (Triton IR) and for a
TPU (Mosaic, through an abstract TPU device), which checks what they ask of those backends but
not the device compilers' later passes.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.experimental import pallas as pl
from jax.experimental.pallas import tpu as pltpu
from jax.experimental.pallas import triton as pltriton

_HYPER_PAD = 32  # the scalars' operand, padded to a power of two for Triton
# Elements per program (a power of two, a multiple of 1024) by where the kernel runs. Guesses,
# not measurements: Triton keeps a block in registers (2048 floats over 4 warps is 16 per
# thread and operand), Mosaic TPU streams blocks through VMEM, where larger blocks amortise
# the per-step overhead.
BLOCK_SIZE = {"gpu": 1 << 11, "tpu": 1 << 15, "interpret": 1 << 13}
BACKENDS = ("gpu", "cuda", "rocm", "tpu")


def pallas_available(backend: str | None = None) -> bool:
    """Whether ``backend`` (default: JAX's default backend) would run these kernels: GPU or TPU.

    On CPU the C++ kernels of ``_kernels`` (or the pure-JAX path) run instead; the Pallas kernels
    run on CPU only in interpret mode, for the tests.
    """
    return (backend or jax.default_backend()) in BACKENDS


def fma(a, b, c, pin: bool):
    """``a b + c``, meant as ``std::fma(a, b, c)`` in the C++ kernels: contracted on ``a b``, ``c``
    rounded on its own.

    XLA's CPU backend contracts a sum of two products on a side of its own choosing. Where that
    side was not the wanted one (measured), the sum is written with ``c`` a select
    (``jnp.where`` on a run-time flag), not a product, so that it has a single product to
    contract; elsewhere XLA's own choice was the wanted one. ``pin`` is unused (``div``'s
    signature); on a device the compiler picks.
    """
    del pin
    return a * b + c


def div(x, d, pin: bool):
    """``x / d`` for a scalar ``d``, a true division. ``pin`` (interpret mode): ``d`` is
    broadcast behind an optimization barrier, else XLA rewrites the division by a broadcast
    scalar into a product with its reciprocal (one more rounding), which the unfused
    program does not do where the kernels divide (Adam's ``form`` 1, the clipping)."""
    if pin:
        d = jax.lax.optimization_barrier(jnp.broadcast_to(d, x.shape))
    return x / d


def clipped(h, g, clip: int, norm: int, max_norm: int, pin: bool):
    """clip_by_global_norm's grads: ``(g / n) * c`` when ``h(clip) == 2``, else ``g``."""
    return jnp.where(h(clip) == 2, div(g, h(norm), pin) * h(max_norm), g)


def _platform(interpret: bool, fn: str) -> str:
    """``"interpret"``, ``"gpu"`` or ``"tpu"``: how the kernel is lowered (``fn`` names the caller in errors)."""
    if interpret:
        return "interpret"
    backend = jax.default_backend()
    if not pallas_available(backend):
        raise ValueError(f"jaxopt_zoo.{fn}: no Pallas kernel for backend {backend!r} (use "
                         f"interpret=True, or the CPU kernels of jaxopt_zoo._kernels)")
    return "tpu" if backend == "tpu" else "gpu"


def _check_block_size(block_size, fn: str) -> None:
    if not isinstance(block_size, int) or block_size < 1024 or block_size & (block_size - 1):
        raise ValueError(f"jaxopt_zoo.{fn}: argument `block_size` must be a power of two >= 1024, "
                         f"got {block_size!r}")


def _kernel(h_ref, *refs, step, n_state: int, tail: int | None, pin: bool, static: tuple):
    """One block. ``tail``: the chunk's size when its last block is ragged and must be masked
    (Triton's loads and stores do not stop at the array's end by themselves), else ``None``."""
    ins, outs = refs[: 2 + n_state], refs[2 + n_state:]

    def h(i):
        return h_ref[i]

    if tail is None:
        load, store = (lambda ref: ref[...]), (lambda ref, x: ref.__setitem__(Ellipsis, x))
    else:
        block = ins[0].shape[0]
        mask = pl.program_id(0) * block + jax.lax.broadcasted_iota(jnp.int32, (block,), 0) < tail
        # Lanes past the end read unspecified values; their results are not stored.
        load, store = (lambda ref: pltriton.load(ref, mask=mask)), (lambda ref, x: pltriton.store(ref, x, mask=mask))
    for ref, x in zip(outs, step(h, *(load(r) for r in ins), pin=pin, **dict(static))):
        store(ref, x)


@functools.partial(jax.jit, static_argnames=("step", "name", "block_size", "platform", "alias_p", "static"))
def _call(p, g, state, hyper, *, step, name: str, block_size: int, platform: str, alias_p: bool = True,
          static: tuple = ()):
    """``step`` over the chunk (see the module docstring). Static: ``step`` a module-level function
    and ``static`` a tuple of ``(name, value)`` pairs for its keywords, so that jit's cache hits
    on every call with the same shapes; ``alias_p``: p is written over (the apply form)."""
    n = p.shape[0]
    block = min(block_size, max(1024, pl.next_power_of_2(n)))
    h = jnp.zeros(_HYPER_PAD, p.dtype).at[: hyper.shape[0]].set(hyper.astype(p.dtype))
    if platform == "interpret":
        # Inlined into the caller's program, the scalars would be constants XLA folds into the
        # body (and then contracts otherwise); behind a barrier they stay run-time values.
        h = jax.lax.optimization_barrier(h)
    chunk = pl.BlockSpec((block,), lambda i: (i,))
    # The scalars: in SMEM on TPU (scalar reads), a 32-vector every program reads whole elsewhere.
    scalars = (pl.BlockSpec(memory_space=pltpu.SMEM) if platform == "tpu"
               else pl.BlockSpec((_HYPER_PAD,), lambda i: (0,)))
    # A ragged last block: masked on GPU (and in interpret mode, so the tests run the masks);
    # Mosaic TPU clips the last block's copies to the array itself.
    tail = n if n % block and platform != "tpu" else None
    n_state = len(state)
    # Operands (h, p, g, *state); outputs (p' or u, *state'), the state (and p with alias_p)
    # written over themselves.
    aliases = {**({1: 0} if alias_p else {}), **{3 + i: 1 + i for i in range(n_state)}}
    return pl.pallas_call(
        functools.partial(_kernel, step=step, n_state=n_state, tail=tail, pin=platform == "interpret", static=static),
        out_shape=tuple(jax.ShapeDtypeStruct(x.shape, x.dtype) for x in (p, *state)),
        grid=(pl.cdiv(n, block),),
        in_specs=[scalars, chunk, chunk, *(chunk for _ in state)],
        out_specs=tuple(chunk for _ in range(1 + n_state)),
        input_output_aliases=aliases,
        interpret=platform == "interpret",
        # On GPU, Triton: this JAX lowers pallas_call to Mosaic GPU by default (Hopper and newer,
        # and deprecated for pallas_call); Triton takes this plain blocked kernel on Ampere and ROCm too.
        compiler_params=pltriton.CompilerParams() if platform == "gpu" else None,
        name=name,
    )(h, p, g, *state)


def launch(step, name: str, fn: str, p, g, state: tuple, hyper, *, block_size: int | None, interpret: bool,
           alias_p: bool = True, static: tuple = ()) -> tuple:
    """``step`` over a 1-D chunk already checked by the caller ``fn``: ``(p' or u, *state')``.

    ``name`` names the kernel; ``alias_p``, ``static`` as ``_call``'s. An empty chunk is returned
    as it is.
    """
    platform = _platform(interpret, fn)
    if p.shape[0] == 0:
        return (p, *state)
    block_size = BLOCK_SIZE[platform] if block_size is None else block_size
    _check_block_size(block_size, fn)
    return _call(p, g, state, hyper, step=step, name=name, block_size=block_size, platform=platform, alias_p=alias_p,
                 static=static)


def apply_chunk(step, name: str, fn: str, n_hyper: int, p, g, state: tuple, hyper, *, block_size: int | None = None,
                interpret: bool = False) -> tuple:
    """``step`` over a 1-D float32 chunk, p and the state in place: ``(p', *state')`` (the checks of
    the momentum, Lion and RMSprop kernels, whose errors name the public function ``fn``; see the
    module docstring)."""
    p, g, hyper = jnp.asarray(p), jnp.asarray(g), jnp.asarray(hyper)
    state = tuple(jnp.asarray(x) for x in state)
    if any(x.ndim != 1 or x.shape != p.shape for x in (g, *state)) or p.ndim != 1:
        raise ValueError(f"jaxopt_zoo.{fn}: p, g and the state must be 1-D chunks of one size, got "
                         f"{[x.shape for x in (p, g, *state)]}")
    if any(x.dtype != jnp.float32 for x in (p, g, *state)):
        raise ValueError(f"jaxopt_zoo.{fn}: p, g and the state must be float32, got "
                         f"{[x.dtype.name for x in (p, g, *state)]}")
    if hyper.shape != (n_hyper,):
        raise ValueError(f"jaxopt_zoo.{fn}: hyper must hold {n_hyper} scalars, got shape {hyper.shape}")
    return launch(step, name, fn, p, g, state, hyper, block_size=block_size, interpret=interpret)
