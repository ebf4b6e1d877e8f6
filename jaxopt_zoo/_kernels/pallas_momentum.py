r"""The in-place SGD-with-momentum step (heavy ball or Nesterov) on one packed chunk as a Pallas
kernel (GPU, TPU; interpret mode anywhere): the accelerator form of ``momentum_cpu.cc``.

For every element (reads p, g, t; writes p, t over themselves):

.. code-block:: text

   g    = (g / n) * c            only when clip == 2 (clip_by_global_norm; n the global norm)
   g    = g + wd_in p            only when decay_in (add_decayed_weights before the momentum)
   t'   = g + d t                (trace(d))
   a    = g + d t'  if nesterov, else a = t'
   a    = a + wd_out p           only when decay_out (decoupled)
   p'   = p + a s                s: -lr, or the schedule's value at this step

``hyper`` is ``momentum_cpu.cc``'s: ``[d, nesterov, wd_in, decay_in, wd_out, decay_out, s, clip,
n, c]``. Every sum here has a single product, so there is one way to contract it; the layout
and in-place aliasing are ``pallas_common``'s. Never compiled for or run
on a GPU or TPU (lowering only; see ``pallas_common.py``).
"""

from __future__ import annotations

import jax.numpy as jnp

from . import pallas_common as common

HYPER = ("d", "nesterov", "wd_in", "decay_in", "wd_out", "decay_out", "s", "clip", "n", "c")
_I = {name: i for i, name in enumerate(HYPER)}


def _step(h, p, g, t, *, pin: bool):
    def k(name):
        return h(_I[name])

    g = common.clipped(h, g, _I["clip"], _I["n"], _I["c"], pin)
    g = jnp.where(k("decay_in") != 0, common.fma(p, k("wd_in"), g, pin), g)
    t1 = common.fma(t, k("d"), g, pin)
    a = jnp.where(k("nesterov") != 0, common.fma(t1, k("d"), g, pin), t1)
    a = jnp.where(k("decay_out") != 0, common.fma(p, k("wd_out"), a, pin), a)
    return common.fma(a, k("s"), p, pin), t1


def apply_chunk_pallas(p, g, state: tuple, hyper, *, block_size: int | None = None, interpret: bool = False) -> tuple:
    """One momentum step applied to a float32 chunk: ``(p', t')``; ``state`` is ``(t,)``, ``hyper``
    the 10 scalars of ``HYPER`` (``_kernels.apply_chunk("momentum_apply", ...)``'s arguments)."""
    return common.apply_chunk(_step, "jaxopt_zoo_momentum", "pallas_momentum.apply_chunk_pallas", len(HYPER), p, g, state, hyper, block_size=block_size,
                              interpret=interpret)
