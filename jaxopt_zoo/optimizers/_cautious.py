r"""The cautious mask: drop the coordinates where the step disagrees with the gradient.

For a direction :math:`u_t` (the output of a momentum optimizer's ``scale_by_*``, pointing
*along* the gradient, before weight decay and learning rate) and the gradient :math:`g_t`,
per leaf with :math:`n` entries:

.. math::

   \phi_t = \mathbb{1}[u_t \odot g_t > 0], \qquad
   u_t \leftarrow u_t \odot \phi_t \cdot \frac{n}{\sum \phi_t + 1}.

The rescaling keeps the average step size when part of the coordinates are masked. Liang et
al. show the masked optimizer keeps the Hamiltonian descent property of the base one (C-AdamW,
C-Lion). This is ``apply_cautious`` of pytorch_optimizer (4.1), tested equal through the
classes that take ``cautious=True``: ``Lion`` (``chain(cautious(scale_by_lion(...)),
add_decayed_weights(wd), scale_by_learning_rate(lr))``), ``LaProp`` and ``MARS``
(``zoo.laprop(..., cautious=True)``, ``zoo.mars(..., cautious=True)``).

**Where the mask goes.** ``cautious(tx)`` takes a whole optimizer (``descent=True``, the
default): its updates are steps added to the params, so agreement is :math:`u \odot g < 0`.
``cautious(zoo.lion(lr))`` is C-Lion and ``cautious(zoo.adamw(lr, weight_decay=0.0))`` C-AdamW.
The reference masks the momentum direction only; the decoupled weight decay and the learning
rate come after it, unmasked. Around an optimizer with weight decay the mask also covers the
decay term; for the reference's placement, wrap the direction with ``descent=False`` (its
updates point along the gradient) and chain the decay and the rate after it::

    zoo.chain(zoo.cautious(zoo.scale_by_lion(b1, b2), descent=False),
              zoo.add_decayed_weights(wd), zoo.scale_by_learning_rate(lr))   # == Lion(cautious=True)

``zoo.laprop`` and ``zoo.mars`` take ``cautious=True`` and place it as their references do.
pytorch_optimizer 4.1 has no AdamW class with ``cautious``; C-AdamW with decay is the chain
above with ``scale_by_adam(b1, b2, eps)``.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from .._numerics import is_trained
from .. import _packable, _validate
from .._base import GradientTransformation
from .._tree import tree_map


def cautious_mask(u: Any, g: Any, descent: bool = False) -> Any:
    """One leaf: ``u * (1[u g > 0] * n / (sum + 1))`` (``u g < 0`` for a descent step), in ``u``'s dtype."""
    if not is_trained(u):
        return u
    mask = ((u * g < 0) if descent else (u * g > 0)).astype(u.dtype)
    mask = mask * (mask.size / (jnp.sum(mask) + 1))
    return u * mask


def cautious(tx: GradientTransformation, descent: bool = True) -> GradientTransformation:
    r"""Wrap a momentum direction in the cautious mask (see module docstring).

    Args:
      tx: the transformation whose updates are masked.
      descent: ``tx`` is a whole optimizer, its updates are steps (default); False: its updates
        point along the gradient (a ``scale_by_*`` such as ``scale_by_adam``, ``scale_by_lion``),
        with the weight decay and the learning rate chained after it.

    Returns:
      A ``GradientTransformation`` with ``tx``'s state.

    Raises:
      TypeError: if ``tx`` is not an ``(init, update)`` pair.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.cautious(zoo.trace(decay=0.9), descent=False)  # heavy-ball momentum
      >>> state = tx.init(jnp.zeros(4))
      >>> _, state = tx.update(jnp.array([1.0, 1.0, 1.0, 1.0]), state)
      >>> u, state = tx.update(jnp.array([1.0, -0.5, 1.0, 1.0]), state)
      >>> print(u)  # momentum 0.4 > 0 against g < 0: masked; the rest scaled by 4 / (3 + 1)
      [1.9 0.  1.9 1.9]

    References:
      Liang, Chen, Liu & Liu, `Cautious Optimizers: Improving Training with One Line of Code
      <https://arxiv.org/abs/2411.16085>`_, 2024.
    """
    if not (callable(getattr(tx, "init", None)) and callable(getattr(tx, "update", None))):
        _validate.fail("cautious", "tx", tx, "must be a GradientTransformation", error=TypeError)

    def update_fn(updates, state, params=None, **extra_args):
        new, state = tx.update(updates, state, params, **extra_args)
        return tree_map(lambda u, g: cautious_mask(u, g, descent), new, updates, where="cautious", names=("updates of tx", "gradients")), state

    return _packable.per_leaf(GradientTransformation(tx.init, update_fn), "cautious",
                              "its mask is rescaled by the share of kept entries in each leaf")
