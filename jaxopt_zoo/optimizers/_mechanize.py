r"""Mechanic: learn the scale of any optimizer's updates online.

The base optimizer's updates are summed into a direction :math:`\Delta_t` and the parameters
are kept at :math:`x_t = x_0 + S_t\,\Delta_t`, where the scale :math:`S_t = \sum_i s_{t,i}` is
the sum of ``num_betas`` coin-betting scales, one per decay :math:`\beta_i = 1 - 10^{-i}`.
With :math:`\Delta_{t-1} = (x_{t-1} - x_0)/(S_{t-1} + \epsilon)` read back from the params,
:math:`u_t` the base optimizer's update (a step *down* the gradient), :math:`y_t = x_{t-1} + u_t`
the point the base optimizer proposes, and Mechanic's weight decay
:math:`\tilde g_t = g_t + \lambda S_{t-1}\lVert g_t\rVert\, y_t/(\lVert y_t\rVert + \epsilon)`:

.. math::

   h_t = \langle \tilde g_t, \Delta_{t-1}\rangle, \qquad
   m_{t} = \max(\beta\, m_{t-1},\ |h_t|), \qquad
   v_{t} = \beta^2 v_{t-1} + h_t^2,

   r_{t} = \max\big(0,\ \beta\, r_{t-1} - s_{t-1} h_t\big), \qquad
   s_{t} = \frac{(s_{init}/n)\, m_{t} + r_{t}}{\sqrt{v_{t}} + \epsilon},

   x_{t} = x_0 + S_t\,(\Delta_{t-1} + u_t),

from :math:`s_0 = 0`, :math:`m_0 = 10^{-6}`, :math:`v_0 = r_0 = 0`. ``update`` returns
:math:`x_t - x_{t-1}`.

This is the authors' PyTorch code (`optimizedlearning/mechanic
<https://github.com/optimizedlearning/mechanic>`_, ``src/mechanic_pytorch/mechanic.py``,
``_step`` with ``store_delta=False``), tested equal to a transliteration of it with SGD and
Adam as the base; it is the paper's Algorithm 1 except that the weight decay looks at the
base optimizer's proposal :math:`y_t` (the code reads the parameters after the base step)
where the paper writes :math:`x_t`, and that :math:`m` starts at :math:`10^{-6}`.

How this differs from optax: ``optax.contrib.mechanize`` starts every scale at ``s_init``
(so :math:`S_0 = n\,s_{init}`) and :math:`m` at 0, takes
:math:`m_t = \max(\beta m_{t-1}, |h_t| + \epsilon)`, clips :math:`h_t` to
:math:`\pm m_{t-1}` in the wealth, keeps :math:`r_t` unfloored (flooring it only in the
scale), applies the weight decay at :math:`x_{t-1}`, and defaults ``s_init`` to 1e-6
(the authors: 1e-8, the default here). ``rule="optax"`` (with ``s_init=1e-6``) is optax's
rule exactly (tested against optax, as is the difference of the default). The difference
can matter: around ``lamb(1.0)`` from zero on Rosenbrock, the authors' unclipped bet loses
the whole (floored) wealth early and the scale falls back to ~1e-8, where optax's clipped
one goes on to converge.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, with_extra_args_support
from .._tree import tree_map


class MechanicState(NamedTuple):
    """State of ``mechanize`` (optax's fields): the base optimizer's state, the step count,
    the per-beta wealth ``r``, maximum ``m``, second moment ``v`` and scale ``s``, and the
    start point ``x0``."""

    base_optimizer_state: Any
    count: Any
    r: Any
    m: Any
    v: Any
    s: Any
    x0: Any


def mechanize(
    base_optimizer: GradientTransformation,
    weight_decay: Any = 1e-2,
    eps: Any = 1e-8,
    s_init: Any = 1e-8,
    num_betas: int = 6,
    *,
    rule: str = "authors",
) -> GradientTransformation:
    r"""Mechanic around ``base_optimizer``: its updates, rescaled by a learnt factor.

    Args:
      base_optimizer: any optimizer (its learning rate is best left at 1.0, or a schedule
        peaking at 1.0).
      weight_decay: Mechanic's own weight decay (scaled by :math:`S\lVert g\rVert/\lVert x\rVert`), >= 0.
      eps: stabiliser, >= 0.
      s_init: the initial scale (the authors' 1e-8; optax's default is 1e-6), > 0.
      num_betas: how many decays :math:`1 - 10^{-i}` (``i = 1..num_betas``) to bet with, >= 1.
      rule: ``"authors"`` (the default): the authors' code; ``"optax"``:
        ``optax.contrib.mechanize`` exactly (pass ``s_init=1e-6``, optax's default, too).

    Returns:
      A ``GradientTransformation`` with state ``MechanicState``; ``update`` needs ``params``.

    Raises:
      ValueError: for a bad argument, or when ``update`` is called without ``params``.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> f = lambda x: jnp.sum((x - 1.0) ** 2)
      >>> params, tx = jnp.array([3.0, -2.0]), zoo.mechanize(zoo.adam(1.0))
      >>> state = tx.init(params)
      >>> update = jax.jit(tx.update)  # one compile for all steps
      >>> for _ in range(300):
      ...     updates, state = update(jax.grad(f)(params), state, params)
      ...     params = zoo.apply_updates(params, updates)
      >>> print(f"{f(jnp.array([3.0, -2.0])):.1f} -> {float(f(params)) < 0.1}")
      13.0 -> True

    References:
      Cutkosky, Defazio & Mehta, `Mechanic: A Learning Rate Tuner
      <https://arxiv.org/abs/2306.00144>`_, NeurIPS 2023.
    """
    fn = "mechanize"
    _validate.check_nonnegative(fn, "weight_decay", weight_decay)
    _validate.check_nonnegative(fn, "eps", eps)
    _validate.check_positive(fn, "s_init", s_init)
    _validate.check_int(fn, "num_betas", num_betas, lo=1)
    _validate.check_choice(fn, "rule", rule, ("authors", "optax"))
    optax_rule = rule == "optax"
    base = with_extra_args_support(base_optimizer)

    def init_fn(params):
        dtype = _numerics.lowest_float_dtype(params)
        def zeros():
            return jnp.zeros([num_betas], dtype)

        m0, s0 = (zeros(), jnp.full([num_betas], s_init, dtype)) if optax_rule else (jnp.full([num_betas], 1e-6, dtype), zeros())
        return MechanicState(base.init(params), _numerics.zero_count(), zeros(), m0, zeros(), s0,
                             _numerics.copy_tree(params))

    def update_fn(updates, state, params=None, **extra_args):
        _validate.check_params(fn, params, updates)
        base_updates, base_state = base.update(updates, state.base_optimizer_state, params, **extra_args)
        x0 = tree_map(lambda p, x: jnp.where(state.count == 0, p, x), params, state.x0,
                      where=fn, names=("params", "state.x0"))
        s_sum = jnp.sum(state.s)
        grad_norm = _numerics.global_norm(updates)
        # the weight decay's point: optax's x_{t-1}; the authors' code reads the params after the
        # base optimizer's step, x_{t-1} + u_t
        point = params if optax_rule else tree_map(lambda p, u: p + u, params, base_updates)
        point_norm = _numerics.global_norm(point)
        decayed = tree_map(lambda g, p: g + weight_decay * s_sum * grad_norm / (point_norm + eps) * p, updates, point)
        delta_prev = tree_map(lambda x, x0_: (x0_ - x) / (s_sum + eps), params, x0)
        h = _numerics.tree_vdot(decayed, delta_prev)  # minus the paper's h_t (delta_prev is -Delta)
        betas = jnp.array([1.0 - 0.1**i for i in range(1, num_betas + 1)], dtype=state.s.dtype)
        v = betas**2 * state.v + h**2
        if optax_rule:
            m = jnp.maximum(betas * state.m, jnp.abs(h) + eps)
            r = betas * state.r + jnp.clip(h, -state.m, state.m) * state.s
            wealth = (s_init / num_betas) * m + jnp.maximum(0.0, r)
        else:
            m = jnp.maximum(betas * state.m, jnp.abs(h))
            r = jnp.maximum(0.0, betas * state.r + h * state.s)
            wealth = (s_init / num_betas) * m + r
        s = wealth / (jnp.sqrt(v) + eps)
        total = jnp.sum(s)
        out = tree_map(lambda x0_, d, u, p: ((x0_ - total * (d - u)) - p).astype(p.dtype), x0, delta_prev, base_updates, params)
        keep = _numerics.keep_dtype
        return out, MechanicState(base_state, _numerics.safe_increment(state.count), keep(r, state.r),
                                  keep(m, state.m), keep(v, state.v), keep(s, state.s), keep(x0, state.x0))

    return _packable.composite(GradientTransformation(init_fn, update_fn), base)
