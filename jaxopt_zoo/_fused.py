"""Cache-blocked state updates for large leaves on a single-device CPU.

XLA's CPU backend writes every output array with its own kernel (its multi-output fusion
is off by default and cannot be turned on per compilation). Adam's step on one leaf is therefore three passes over memory: one writes ``m``,
one writes ``v`` and one reads ``m`` and ``v`` back to write the params, 40 bytes per
float32 parameter where 28 would do.

``blocked_update`` (opt-in, see ``MIN_SIZE`` and ``blocking``) computes several state
arrays block by block in a ``fori_loop``: every
block (``BLOCK_SIZE`` elements) of the inputs is read once from memory, and its new state
values are written in place (``dynamic_update_slice`` on donated buffers). The state's
second read, by the parameter update, then comes from cache for the last blocks only, so
the step moves close to the minimal 28 bytes. It is used only where it is known to help
and to be harmless:

* the default backend is the CPU and there is a single device (under sharding a loop of
  dynamic slices would gather the leaf; on GPU/TPU XLA fuses multiple outputs itself);
* the leaf has at least ``MIN_SIZE`` elements (below that the data fits in cache anyway and
  the loop's fixed cost dominates), and a block length between ``BLOCK_SIZE / 4`` and
  ``BLOCK_SIZE`` divides it;
* every new state array is computed in its stored dtype, so storing block by block does not
  round a value the unblocked update would have used unrounded.

The arithmetic is the same in both forms; results agree to rounding (LLVM may contract a
multiply-add into an FMA differently in the loop's kernel and in the unblocked one).
"""

from __future__ import annotations

import contextlib
from typing import Callable, Sequence

import jax
import jax.numpy as jnp

# Leaves with at least this many elements are updated block by block (None: never, the
# default). Measured on a 2-core CPU the gain is small (0-13% at 4-16 Mi elements, within the
# noise of a shared machine, none below 4 Mi where the state sits in L3), while the loop runs
# on one thread where XLA splits the unblocked kernels over all cores: on a many-core CPU it
# could lose more than it saves. So it is opt-in: ``with _fused.blocking(1 << 22): ...``
# around the tracing of a step.
MIN_SIZE: int | None = None
# Elements per block: 4 float32 streams of 64 Ki elements stay well inside a 1 MiB L2.
BLOCK_SIZE: int = 1 << 16


@contextlib.contextmanager
def blocking(min_size: int | None = 1 << 22):
    """Within this context, steps traced update leaves of ``min_size`` elements or more
    block by block (``None``: never)."""
    global MIN_SIZE
    old, MIN_SIZE = MIN_SIZE, min_size
    try:
        yield
    finally:
        MIN_SIZE = old


def block_for(n: int) -> int | None:
    """The block length for ``n`` elements: the largest divisor of ``n`` in
    ``[BLOCK_SIZE / 4, BLOCK_SIZE]``, or ``None``.

    Blocks divide the leaf exactly: a leftover tail updated after the loop made XLA copy the
    whole state (a 2,048,000-element step took 21.6 ms instead of 11.7 ms).
    """
    for b in range(BLOCK_SIZE, max(1, BLOCK_SIZE // 4) - 1, -1):
        if n % b == 0:
            return b
    return None


def enabled_for(x: jax.Array) -> bool:
    """Whether ``blocked_update`` should be used for a leaf like ``x``."""
    return (
        MIN_SIZE is not None
        and x.size >= max(MIN_SIZE, 2 * BLOCK_SIZE)
        and jax.default_backend() == "cpu"
        and jax.device_count() == 1
        and block_for(x.size) is not None
    )


def blocked_update(
    f: Callable[..., Sequence[jax.Array]], inputs: Sequence[jax.Array], states: Sequence[jax.Array]
) -> tuple | None:
    """``f(*inputs, *states)`` computed block by block, written into ``states`` in place.

    Args:
      f: an elementwise function of ``len(inputs) + len(states)`` arrays returning one new
        array per state.
      inputs: read-only arrays (all of the same shape as the states).
      states: the arrays to update; the results are stored in their dtypes.

    Returns:
      The new states, or ``None`` when ``f`` does not return each state in its own dtype
      (the caller then takes the unblocked path, which keeps the promoted values) or no
      block length divides the leaf.
    """
    shape = states[0].shape
    n = states[0].size
    probe = jax.eval_shape(f, *(jax.ShapeDtypeStruct((1,), a.dtype) for a in (*inputs, *states)))
    if [p.dtype for p in probe] != [s.dtype for s in states]:
        return None
    block = block_for(n)
    if block is None:
        return None
    flat_in = [jnp.ravel(a) for a in inputs]
    flat_st = [jnp.ravel(s) for s in states]

    def body(i, carry):
        start = i * block
        blocks = [jax.lax.dynamic_slice(a, (start,), (block,)) for a in (*flat_in, *carry)]
        new = f(*blocks)
        return tuple(jax.lax.dynamic_update_slice(c, x, (start,)) for c, x in zip(carry, new))

    carry = jax.lax.fori_loop(0, n // block, body, tuple(flat_st))
    return tuple(c.reshape(shape) for c in carry)
