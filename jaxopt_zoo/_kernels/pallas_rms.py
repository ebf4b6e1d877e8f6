r"""The in-place RMSprop step (optionally with momentum) on one packed chunk as a Pallas kernel
(GPU, TPU; interpret mode anywhere): the accelerator form of ``rms_cpu.cc``.

For every element (reads p, g, v[, t]; writes p, v[, t] over themselves):

.. code-block:: text

   g    = (g / n) * c            only when clip == 2 (clip_by_global_norm; n the global norm)
   g    = g + wd_in p            only when decay_in (coupled weight decay)
   v'   = c2 g^2 + r v           c2 = 1 - r (r: the decay)
   a    = rsqrt(v' + eps) g      eps_in_sqrt (optax's placement), else (1 / (sqrt(v') + eps)) g
   a    = a + wd_out p           only when decay_out (decoupled)
   without momentum:  p' = p + a s                       s: -lr, or the schedule's value
   with momentum d:   t' = a s + d t,  o = a s + d t' if nesterov else t',  p' = p + o

``hyper`` is ``rms_cpu.cc``'s: ``[c2, r, eps, eps_in_sqrt, wd_in, decay_in, wd_out, decay_out, s,
momentum, d, nesterov, clip, n, c]``. The sums of two products are contracted as in
``rms_cpu.cc`` (v' on ``c2 g^2``, written with a select so XLA's CPU backend cannot take the
other side; t' on ``d t``); rsqrt is ``jax.lax.rsqrt`` (XLA's own in interpret mode, the
device's elsewhere). The layout and in-place aliasing are ``pallas_common``'s. Measured in
interpret mode: equal to packed_apply's pure-JAX path bit for bit (see ``pallas_adam.py``,
"Numbers"). Never compiled for or run on a GPU or TPU (lowering only; see
``pallas_common.py``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from . import pallas_common as common

HYPER = ("c2", "r", "eps", "eps_in_sqrt", "wd_in", "decay_in", "wd_out", "decay_out", "s", "momentum", "d", "nesterov",
         "clip", "n", "c")
_I = {name: i for i, name in enumerate(HYPER)}


def _ratio(h, p, g, v, *, pin: bool):
    """``(a, v')``: the step's direction before the scale, and the new second moment."""

    def k(name):
        return h(_I[name])

    g = common.clipped(h, g, _I["clip"], _I["n"], _I["c"], pin)
    g = jnp.where(k("decay_in") != 0, common.fma(p, k("wd_in"), g, pin), g)
    # v' contracted on c2 g^2 (as rms_cpu.cc): the other product goes through a select on a
    # flag that is never set, so the sum has a single product for XLA's CPU backend to contract.
    g2, never = g * g, k("clip") < 0
    v1 = common.fma(jnp.where(never, v, g2), jnp.where(never, k("r"), k("c2")), jnp.where(never, g2 * k("c2"), v * k("r")), pin)
    a = jnp.where(k("eps_in_sqrt") != 0, jax.lax.rsqrt(v1 + k("eps")) * g, (1 / (jnp.sqrt(v1) + k("eps"))) * g)
    a = jnp.where(k("decay_out") != 0, common.fma(p, k("wd_out"), a, pin), a)
    return a, v1


def _step(h, p, g, v, *, pin: bool):
    a, v1 = _ratio(h, p, g, v, pin=pin)
    return common.fma(a, h(_I["s"]), p, pin), v1


def _step_momentum(h, p, g, v, t, *, pin: bool):
    a, v1 = _ratio(h, p, g, v, pin=pin)
    d, step = h(_I["d"]), a * h(_I["s"])
    t1 = common.fma(t, d, step, pin)
    o = jnp.where(h(_I["nesterov"]) != 0, common.fma(t1, d, step, pin), t1)
    return p + o, v1, t1


def apply_chunk_pallas(p, g, state: tuple, hyper, *, block_size: int | None = None, interpret: bool = False) -> tuple:
    """One RMSprop step applied to a float32 chunk: ``(p', v')`` for ``state = (v,)``, ``(p', v',
    t')`` for ``(v, t)`` (with momentum); ``hyper`` the 15 scalars of ``HYPER``
    (``_kernels.apply_chunk("rms_apply" | "rms_momentum_apply", ...)``'s arguments)."""
    step = _step if len(state) == 1 else _step_momentum
    return common.apply_chunk(step, "jaxopt_zoo_rms", "pallas_rms.apply_chunk_pallas", len(HYPER), p, g, state, hyper, block_size=block_size,
                              interpret=interpret)
