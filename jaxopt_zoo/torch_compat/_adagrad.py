r"""``torch.optim.Adagrad``: eps outside the root, a decaying lr, a chosen initial accumulator.

With :math:`g` the gradient (negated when ``maximize``) plus ``weight_decay * p`` and step
:math:`k \ge 1`:

.. math::

   s_k = s_{k-1} + g_k^2 \quad (s_0 = \text{initial\_accumulator\_value}), \qquad
   p_k = p_{k-1} - \frac{\eta_k}{1 + (k-1)\,\text{lr\_decay}} \cdot \frac{g_k}{\sqrt{s_k} + \epsilon}.

optax's ``adagrad`` puts eps inside the root (:math:`g/\sqrt{s+\epsilon}`), starts the
accumulator at 0.1 and has no ``lr_decay``; torch's defaults are 0 and eps 1e-10. The lr in
use (a schedule's value, or a ReduceLROnPlateau's current lr) is decayed by
:math:`1 + (k-1)\,\text{lr\_decay}`, as torch does with ``param_group['lr']``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp

from .. import _numerics
from .._base import GradientTransformation, chain
from .._tree import tree_map
from ..transforms._scaling import scale_by_schedule
from . import _common
from ._groups import with_param_groups

_FN = "torch_compat.Adagrad"


class ScaleByTorchAdagradState(NamedTuple):
    """State of ``scale_by_torch_adagrad``."""

    sum: Any  # torch's ``state['sum']``: the running sum of squared gradients


def scale_by_torch_adagrad(initial_accumulator_value: Any = 0.0, eps: Any = 1e-10) -> GradientTransformation:
    r"""``s <- s + g^2``, ``u <- g / (\sqrt{s} + eps)`` with ``s`` starting at ``initial_accumulator_value``.

    Args:
      initial_accumulator_value: the start value of the sum, >= 0.
      eps: added outside the root, >= 0.

    Returns:
      A ``GradientTransformation`` with state ``ScaleByTorchAdagradState``.
    """

    def init_fn(params):
        return ScaleByTorchAdagradState(_numerics.full_like(params, initial_accumulator_value))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        sums = tree_map(lambda g, s: s + _numerics.abs_sq(g), updates, state.sum, where=_FN, names=("updates", "state.sum"))
        out = tree_map(lambda g, s: g / (jnp.sqrt(s) + eps), updates, sums)
        return out, ScaleByTorchAdagradState(_numerics.keep_dtype(sums, state.sum))

    return GradientTransformation(init_fn, update_fn)


@with_param_groups("torch_compat.Adagrad")
def Adagrad(lr: Any = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
            eps: float = 1e-10, foreach: Any = None, *, maximize: bool = False, differentiable: bool = False,
            fused: Any = None) -> GradientTransformation:
    r"""``torch.optim.Adagrad`` (see module docstring): torch's keywords, defaults and numbers.

    Args:
      lr: a float >= 0, a schedule or a ``ReduceLROnPlateau``.
      lr_decay: the lr at step k is ``lr / (1 + (k - 1) * lr_decay)``, >= 0.
      weight_decay: coupled L2 decay, >= 0.
      initial_accumulator_value: start of the sum of squares, >= 0.
      eps: added outside the root, >= 0.
      maximize: ascend the objective.
      foreach, differentiable, fused: accepted and ignored.

    Returns:
      A ``GradientTransformation``; ``zoo.current_hyperparams(state)['lr']`` is the lr before
      the ``lr_decay`` factor.

    Raises:
      ValueError: for a negative lr, lr_decay, weight decay, initial accumulator or eps.

    Example:
      >>> from jaxopt_zoo import torch_compat as tc
      >>> tx = tc.Adagrad(lr=0.1, lr_decay=1e-3)
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.9, -1.9]

    References:
      Duchi, Hazan & Singer, `Adaptive Subgradient Methods for Online Learning and Stochastic
      Optimization <https://jmlr.org/papers/v12/duchi11a.html>`_, 2011.
    """
    del foreach, differentiable, fused
    _common.check_lr(_FN, lr)
    for arg, v in (("lr_decay", lr_decay), ("weight_decay", weight_decay),
                   ("initial_accumulator_value", initial_accumulator_value), ("eps", eps)):
        _common.check_constant(_FN, arg, v)

    def core(h):
        lr_now = h["lr"]
        return chain(*_common.grad_prelude(maximize, weight_decay),
                     scale_by_torch_adagrad(initial_accumulator_value, eps),
                     scale_by_schedule(lambda k: -lr_now / (1 + k * lr_decay)))

    return _common.make({"lr": lr}, core)
