"""What the in-place Pallas kernels of momentum SGD, Lion and RMSprop share: one ``pallas_call``
over a packed 1-D chunk, and the pinned ``a b + c``.

Each family's file (``pallas_momentum.py``, ``pallas_lion.py``, ``pallas_rms.py``) holds only its
math, a function ``step(h, p, g, *state, pin)`` on one block (``h(i)``: the i-th scalar of the
CPU kernel's ``hyper`` vector) that returns ``(p', *state')``. ``apply_chunk`` runs it over the
chunk as ``pallas_adam.py`` runs Adam's (see there for the layout): blocks of a power of two,
a masked ragged last block (Triton's loads and stores do not stop at the array's end; Mosaic
TPU clips the copies), the scalars as one extra operand padded to 32 entries (SMEM on TPU), p
and the state aliased to their outputs (in place under a donating ``jit``), lowered through
Triton on GPU.

``fma(a, b, c, pin)`` is ``a b + c``; like ``pallas_adam``, a kernel whose unfused program
contracts a sum of two products on a given side writes the other side as a select, so XLA's
CPU backend has one product to contract in interpret mode; ``div`` is a true division there
(``pin``: the divisor behind an optimization barrier), and the scalars pass a barrier too, so
XLA cannot fold them into the body as constants. On a device the compiler picks.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.experimental import pallas as pl
from jax.experimental.pallas import tpu as pltpu
from jax.experimental.pallas import triton as pltriton

from . import pallas_adam

_HYPER_PAD = 32


def fma(a, b, c, pin: bool):
    """``a b + c``, contracted on ``a b`` where the compiler contracts and ``c`` is not itself a
    product (see ``pallas_adam._fma``)."""
    del pin
    return a * b + c


def div(x, d, pin: bool):
    """``x / d`` for a scalar ``d``, a true division (in interpret mode XLA would otherwise
    multiply by the reciprocal of a broadcast scalar; see ``pallas_adam._div``)."""
    if pin:
        d = jax.lax.optimization_barrier(jnp.broadcast_to(d, x.shape))
    return x / d


def clipped(h, g, clip: int, norm: int, max_norm: int, pin: bool):
    """clip_by_global_norm's grads: ``(g / n) * c`` when ``h(clip) == 2``, else ``g``."""
    return jnp.where(h(clip) == 2, div(g, h(norm), pin) * h(max_norm), g)


def _kernel(h_ref, *refs, step, n_state: int, tail: int | None, pin: bool):
    ins, outs = refs[: 2 + n_state], refs[2 + n_state:]

    def h(i):
        return h_ref[i]

    if tail is None:
        load, store = (lambda ref: ref[...]), (lambda ref, x: ref.__setitem__(Ellipsis, x))
    else:
        block = ins[0].shape[0]
        mask = pl.program_id(0) * block + jax.lax.broadcasted_iota(jnp.int32, (block,), 0) < tail
        load, store = (lambda ref: pltriton.load(ref, mask=mask)), (lambda ref, x: pltriton.store(ref, x, mask=mask))
    for ref, x in zip(outs, step(h, *(load(r) for r in ins), pin=pin)):
        store(ref, x)


@functools.partial(jax.jit, static_argnames=("step", "name", "block_size", "platform"))
def _call(p, g, state, hyper, *, step, name: str, block_size: int, platform: str):
    n = p.shape[0]
    block = pallas_adam._block(n, block_size)
    h = jnp.zeros(_HYPER_PAD, p.dtype).at[: hyper.shape[0]].set(hyper.astype(p.dtype))
    if platform == "interpret":  # the scalars stay run-time values (see pallas_adam._call)
        h = jax.lax.optimization_barrier(h)
    chunk = pl.BlockSpec((block,), lambda i: (i,))
    scalars = (pl.BlockSpec(memory_space=pltpu.SMEM) if platform == "tpu"
               else pl.BlockSpec((_HYPER_PAD,), lambda i: (0,)))
    tail = n if n % block and platform != "tpu" else None
    n_state = len(state)
    # Operands (h, p, g, *state); outputs (p', *state'), p and the state written over themselves.
    aliases = {1: 0, **{3 + i: 1 + i for i in range(n_state)}}
    return pl.pallas_call(
        functools.partial(_kernel, step=step, n_state=n_state, tail=tail, pin=platform == "interpret"),
        out_shape=tuple(jax.ShapeDtypeStruct(x.shape, x.dtype) for x in (p, *state)),
        grid=(pl.cdiv(n, block),),
        in_specs=[scalars, chunk, chunk, *(chunk for _ in state)],
        out_specs=tuple(chunk for _ in range(1 + n_state)),
        input_output_aliases=aliases,
        interpret=platform == "interpret",
        compiler_params=pltriton.CompilerParams() if platform == "gpu" else None,
        name=name,
    )(h, p, g, *state)


def apply_chunk(step, name: str, n_hyper: int, p, g, state: tuple, hyper, *, block_size: int | None = None,
                interpret: bool = False) -> tuple:
    """``step`` over a 1-D float32 chunk: ``(p', *state')`` (see the module docstring)."""
    p, g, hyper = jnp.asarray(p), jnp.asarray(g), jnp.asarray(hyper)
    state = tuple(jnp.asarray(x) for x in state)
    if any(x.ndim != 1 or x.shape != p.shape for x in (g, *state)) or p.ndim != 1:
        raise ValueError(f"jaxopt_zoo.{name}: p, g and the state must be 1-D chunks of one size, got "
                         f"{[x.shape for x in (p, g, *state)]}")
    if any(x.dtype != jnp.float32 for x in (p, g, *state)):
        raise ValueError(f"jaxopt_zoo.{name}: p, g and the state must be float32, got "
                         f"{[x.dtype.name for x in (p, g, *state)]}")
    if hyper.shape != (n_hyper,):
        raise ValueError(f"jaxopt_zoo.{name}: hyper must hold {n_hyper} scalars, got shape {hyper.shape}")
    platform = pallas_adam._platform(interpret)
    if p.shape[0] == 0:
        return (p, *state)
    block_size = pallas_adam.BLOCK_SIZE[platform] if block_size is None else block_size
    return _call(p, g, state, hyper, step=step, name=name, block_size=block_size, platform=platform)
