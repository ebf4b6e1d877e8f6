r"""The in-place Lion step on one packed chunk as a Pallas kernel (GPU, TPU; interpret mode
anywhere): the accelerator form of ``lion_cpu.cc``.

For every element (reads p, g, m; writes p, m over themselves):

.. code-block:: text

   g    = (g / n) * c            only when clip == 2 (clip_by_global_norm; n the global norm)
   a    = sign(c1 g + b1 m)      c1 = 1 - b1 (-1, 0 or 1; NaN stays NaN, as jnp.sign)
   m'   = c2 g + b2 m            c2 = 1 - b2
   a    = a + wd p               only when decay (Lion's weight decay)
   p'   = p + a s                s: -lr, or the schedule's value at this step

``hyper`` is ``lion_cpu.cc``'s: ``[c1, b1, c2, b2, wd, decay, s, clip, n, c]``. ``lion_cpu.cc``
contracts the two sums of two products on their ``g`` product (``std::fma(g, c1, b1 m)``);
written plainly, XLA's CPU backend makes the same choice in interpret mode (measured: the
kernel equals packed_apply's pure-JAX path bit for bit). The layout and in-place aliasing are
``pallas_common``'s. Never compiled for or run on a GPU or TPU (lowering only; see
``pallas_common.py``).
"""

from __future__ import annotations

import jax.numpy as jnp

from . import pallas_common as common

HYPER = ("c1", "b1", "c2", "b2", "wd", "decay", "s", "clip", "n", "c")
_I = {name: i for i, name in enumerate(HYPER)}


def _step(h, p, g, m, *, pin: bool):
    def k(name):
        return h(_I[name])

    g = common.clipped(h, g, _I["clip"], _I["n"], _I["c"], pin)
    a = jnp.sign(common.fma(g, k("c1"), m * k("b1"), pin))
    m1 = common.fma(g, k("c2"), m * k("b2"), pin)
    a = jnp.where(k("decay") != 0, common.fma(p, k("wd"), a, pin), a)
    return common.fma(a, k("s"), p, pin), m1


def apply_chunk_pallas(p, g, state: tuple, hyper, *, block_size: int | None = None, interpret: bool = False) -> tuple:
    """One Lion step applied to a float32 chunk: ``(p', m')``; ``state`` is ``(m,)``, ``hyper``
    the 10 scalars of ``HYPER`` (``_kernels.apply_chunk("lion_apply", ...)``'s arguments)."""
    return common.apply_chunk(_step, "jaxopt_zoo_lion", "pallas_lion.apply_chunk_pallas", len(HYPER), p, g, state, hyper, block_size=block_size,
                              interpret=interpret)
