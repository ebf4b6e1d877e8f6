r"""``torch.optim.SGD``: momentum with dampening, Nesterov, weight decay, maximize.

With :math:`g` the gradient (negated when ``maximize``) plus ``weight_decay * p``:

.. math::

   b_1 = g_1, \qquad b_k = \mu\, b_{k-1} + (1-\tau)\, g_k, \qquad
   p_k = p_{k-1} - \eta_k \cdot \begin{cases} b_k \\ g_k + \mu\, b_k & \text{(Nesterov)} \end{cases}

(:math:`\mu` momentum, :math:`\tau` dampening). The first buffer is the gradient itself,
undampened — torch's rule; optax's ``trace`` has no dampening. Without momentum,
:math:`p_k = p_{k-1} - \eta_k g_k`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _validate
from .._base import GradientTransformation, chain
from .._tree import tree_map
from . import _common
from ._groups import with_param_groups

_FN = "torch_compat.SGD"


class DampenedTraceState(NamedTuple):
    """State of ``dampened_trace``."""

    count: jax.Array  # int32: updates made (the first copies the gradient)
    momentum_buffer: Any  # torch's ``state['momentum_buffer']``


def dampened_trace(momentum: Any, dampening: Any, nesterov: bool = False) -> GradientTransformation:
    r"""torch's SGD momentum buffer: ``b <- g`` first, then ``b <- momentum * b + (1 - dampening) * g``.

    Outputs ``b`` (or ``g + momentum * b`` with ``nesterov``). With ``dampening = 0`` this is
    ``zoo.trace``, without its check: like torch, any momentum >= 0 is taken (also above 1).

    Args:
      momentum: the momentum coefficient (a float or a traced scalar).
      dampening: the dampening ``tau``.
      nesterov: output the Nesterov look-ahead.

    Returns:
      A ``GradientTransformation`` with state ``DampenedTraceState``.
    """

    def init_fn(params):
        return DampenedTraceState(_numerics.zero_count(), _numerics.zeros_like(params))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        first = state.count == 0

        def leaf(g, b):
            return jnp.where(first, g, momentum * b + (1 - dampening) * g)

        buf = tree_map(leaf, updates, state.momentum_buffer, where=_FN, names=("updates", "state.momentum_buffer"))
        out = tree_map(lambda g, b: g + momentum * b, updates, buf) if nesterov else buf
        return out, DampenedTraceState(_numerics.safe_increment(state.count),
                                       _numerics.keep_dtype(buf, state.momentum_buffer))

    return GradientTransformation(init_fn, update_fn)


@with_param_groups("torch_compat.SGD")
def SGD(lr: Any = 1e-3, momentum: Any = 0.0, dampening: Any = 0.0, weight_decay: Any = 0.0, nesterov: bool = False,
        *, maximize: bool = False, foreach: Any = None, differentiable: bool = False,
        fused: Any = None) -> GradientTransformation:
    r"""``torch.optim.SGD`` (see module docstring): torch's keywords, defaults and numbers.

    Args:
      lr: a float >= 0, a schedule ``step -> lr`` or a ``ReduceLROnPlateau`` (torch's
        default 1e-3).
      momentum: a float >= 0 or a schedule (what OneCycleLR/CyclicLR cycle). A schedule is
        taken as non-zero at every step (torch skips the buffer when momentum is 0).
      dampening: the dampening of the momentum buffer.
      weight_decay: coupled L2 decay, ``g <- g + weight_decay * p``, >= 0.
      nesterov: Nesterov momentum (needs momentum > 0 and dampening 0, as in torch).
      maximize: ascend the objective.
      foreach, differentiable, fused: accepted and ignored (torch implementation switches).

    Returns:
      A ``GradientTransformation``; its state carries the hyperparameters used
      (``zoo.current_hyperparams(state)`` gives ``lr`` and ``momentum``).

    Raises:
      ValueError: for a negative lr, momentum or weight decay, or Nesterov without momentum
        or with dampening.

    Example:
      >>> from jaxopt_zoo import torch_compat as tc
      >>> tx = tc.SGD(lr=0.1, momentum=0.9, weight_decay=1e-4, nesterov=True)
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.809981, -1.619962]

    References:
      Sutskever, Martens, Dahl & Hinton, `On the importance of initialization and momentum
      in deep learning <https://proceedings.mlr.press/v28/sutskever13.html>`_, 2013.
      PyTorch, `torch.optim.SGD <https://pytorch.org/docs/stable/generated/torch.optim.SGD.html>`_.
    """
    del foreach, differentiable, fused
    _common.check_lr(_FN, lr)
    _common.check_schedulable(_FN, "momentum", momentum, hi=float("inf"))
    _common.check_constant(_FN, "dampening", dampening, lo=float("-inf"))
    _common.check_constant(_FN, "weight_decay", weight_decay)
    if nesterov:  # checked on concrete values only (a schedule or a traced value passes)
        known_momentum, known_dampening = _validate.concrete_float(momentum), _validate.concrete_float(dampening)
        if (known_momentum is not None and known_momentum <= 0) or known_dampening not in (None, 0.0):
            _validate.fail(_FN, "nesterov", nesterov, "needs a momentum > 0 and zero dampening")
    use_momentum = not _common.is_zero(momentum)
    hyper = {"lr": lr, "momentum": momentum} if use_momentum else {"lr": lr}

    def core(h):
        blocks = _common.grad_prelude(maximize, weight_decay)
        if use_momentum:  # torch's buffer, not zoo.trace: torch takes any momentum >= 0, even above 1
            blocks.append(dampened_trace(h["momentum"], dampening, nesterov))
        return chain(*blocks, *_common.lr_epilogue(h["lr"]))

    return _common.make(hyper, core)
