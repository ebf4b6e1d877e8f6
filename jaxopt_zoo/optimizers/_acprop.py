r"""ACProp: AdaBelief's centred second moment, applied one step late (asynchronously).

.. math::

   m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad
   s_t = \beta_2 s_{t-1} + (1-\beta_2)(g_t - m_t)^2 + \epsilon_{root},

   u_t = -\eta_t\Big(\frac{g_t}{\sqrt{s_{t-1}/(1-\beta_2^{t-1})} + \epsilon} + \lambda p_{t-1}\Big),

with the first step normalised by 1 (no :math:`s_0` yet). Normalising :math:`g_t` by the
*previous* :math:`s` decorrelates the two (the "asynchronous update"); centring the second
moment on the first is AdaBelief's "momentum centering". The update moves along :math:`g_t`
itself; :math:`m` only serves the centring.

This is the paper's algorithm as the authors implement it
(`juntang-zhuang/ACProp-Optimizer <https://github.com/juntang-zhuang/ACProp-Optimizer>`_,
``optimizers/ACProp.py`` with ``rectify=False`` as its ``main.py`` runs the paper's
experiments, and the default decoupled weight decay), tested equal to a transliteration of
it. Their single ``eps`` is both :math:`\epsilon` and :math:`\epsilon_{root}` here (it is
added to :math:`s` in place before every use). Their optional RAdam-style rectification
(the class's ``rectify=True`` default, not used in the paper) is not implemented.

How this differs from optax: ``optax.contrib.acprop`` centres the gradient on the
*previous* first moment, :math:`(g_t - m_{t-1})^2`, although its docstring states
:math:`(g_t - m_t)^2` like the paper and the authors' code. As
:math:`g_t - m_t = \beta_1 (g_t - m_{t-1})`, optax's :math:`s` is :math:`1/\beta_1^2` times
larger (apart from :math:`\epsilon_{root}`) and its steps about :math:`\beta_1` times shorter.
optax's first step is also :math:`g_1/(1+\epsilon)` where the authors' is :math:`g_1`.
``rule="optax"`` gives optax's rule exactly (tested against optax, as is the difference of
the default).
"""

from __future__ import annotations

from typing import Any, Callable

import jax.numpy as jnp

from .._numerics import is_trained
from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, ScalarOrSchedule
from .._tree import tree_map, unzip
from ._adabelief import ScaleByBeliefState
from ._alias import adaptive_alias


def _check(fn: str, b1: Any, b2: Any, eps: Any, eps_root: Any, rule: Any) -> None:
    _validate.check_choice(fn, "rule", rule, ("authors", "optax"))
    _validate.check_decay(fn, "b1", b1)
    _validate.check_decay(fn, "b2", b2)
    _validate.check_nonnegative(fn, "eps", eps)
    _validate.check_nonnegative(fn, "eps_root", eps_root)


def scale_by_acprop(b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-16, eps_root: Any = 1e-16, *,
                    rule: str = "authors") -> GradientTransformation:
    r"""ACProp's direction ``g_t / (\sqrt{\hat s_{t-1}} + eps)`` (see the module docstring).

    Args:
      b1: decay of the first moment (used to centre the second), in [0, 1).
      b2: decay of the centred second moment, in [0, 1).
      eps: added to the root, >= 0.
      eps_root: added to the second moment at every step, >= 0.
      rule: ``"authors"`` (the default): the paper's and the authors' code; ``"optax"``:
        ``optax.contrib.scale_by_acprop`` exactly (see the module docstring).

    Returns:
      A ``GradientTransformation`` with state ``ScaleByBeliefState``.

    Raises:
      ValueError: for a decay outside [0, 1) or a negative ``eps`` or ``eps_root``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.scale_by_acprop()
      >>> g = jnp.array([0.5, -2.0])
      >>> u, state = tx.update(g, tx.init(g))  # the first step: no s yet, normalised by 1
      >>> print(u)
      [ 0.5 -2. ]

    References:
      Zhuang, Ding, Tang, Dvornek, Tatikonda & Duncan, `Momentum Centering and Asynchronous
      Update for Adaptive Gradient Methods <https://arxiv.org/abs/2110.05454>`_, NeurIPS 2021.
    """
    fn = "scale_by_acprop"
    _check(fn, b1, b2, eps, eps_root, rule)

    optax_rule = rule == "optax"

    def init_fn(params):
        return ScaleByBeliefState(_numerics.zero_count(), _numerics.zeros_like(params), _numerics.zeros_like(params))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        initial = state.count == 0
        count_inc = _numerics.safe_increment(state.count)
        correction = 1 - b2 ** jnp.where(initial, count_inc, state.count)

        def leaf(g, m, s):
            if not is_trained(g):
                return jnp.zeros_like(g), m, s
            m_new = (1 - b1) * g + b1 * m
            s_new = (1 - b2) * _numerics.abs_sq(g - (m if optax_rule else m_new)) + b2 * s + eps_root
            denom = jnp.sqrt(jnp.where(initial, 1, s / correction.astype(s.dtype))) + eps
            if not optax_rule:  # the authors' first step is g itself, without eps
                denom = jnp.where(initial, 1, denom)
            return (g / denom).astype(g.dtype), m_new.astype(m.dtype), s_new.astype(s.dtype)

        u, mu, nu = unzip(tree_map(leaf, updates, state.mu, state.nu, where=fn,
                                   names=("updates", "state.mu", "state.nu")), 3)
        return u, ScaleByBeliefState(count_inc, mu, nu)

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def acprop(
    learning_rate: ScalarOrSchedule,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-16,
    eps_root: Any = 1e-16,
    weight_decay: Any = 0.0,
    mask: Any | Callable[[Any], Any] | None = None,
    *,
    rule: str = "authors",
) -> GradientTransformation:
    r"""ACProp: ``p <- p - lr_t (g_t / (\sqrt{\hat s_{t-1}} + eps) + weight_decay p)``.

    ``chain(scale_by_acprop(...), add_decayed_weights(weight_decay, mask),
    scale_by_learning_rate(learning_rate))``.

    Args:
      learning_rate: a float >= 0 or a schedule.
      b1, b2, eps, eps_root: as in ``scale_by_acprop``.
      weight_decay: decoupled weight decay (multiplied by the learning rate), >= 0.
      mask: where to apply weight decay, as in ``add_decayed_weights``.
      rule: as in ``scale_by_acprop`` (``"optax"``: ``optax.contrib.acprop`` exactly).

    Returns:
      A ``GradientTransformation``.

    Raises:
      ValueError: for a negative learning rate or a bad argument.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> f = lambda x: jnp.sum((x - 1.0) ** 2)
      >>> params, tx = jnp.array([3.0, -2.0]), zoo.acprop(0.05)
      >>> state = tx.init(params)
      >>> update = jax.jit(tx.update)  # one compile for all steps
      >>> for _ in range(200):
      ...     updates, state = update(jax.grad(f)(params), state, params)
      ...     params = zoo.apply_updates(params, updates)
      >>> print(f"{f(jnp.array([3.0, -2.0])):.1f} -> {float(f(params)) < 0.05}")
      13.0 -> True

    References:
      Zhuang, Ding, Tang, Dvornek, Tatikonda & Duncan, `Momentum Centering and Asynchronous
      Update for Adaptive Gradient Methods <https://arxiv.org/abs/2110.05454>`_, NeurIPS 2021.
    """
    fn = "acprop"
    _validate.check_learning_rate(fn, learning_rate)
    _check(fn, b1, b2, eps, eps_root, rule)
    _validate.check_nonnegative(fn, "weight_decay", weight_decay)
    return adaptive_alias(scale_by_acprop(b1, b2, eps, eps_root, rule=rule), learning_rate, weight_decay, mask)
