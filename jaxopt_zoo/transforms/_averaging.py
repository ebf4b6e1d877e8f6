"""Slow copies of the parameters: Polyak averaging (``incremental_update``) and a target
network refreshed every few steps (``periodic_update``). Plain functions of two trees."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .. import _validate
from .._tree import is_none


def incremental_update(new_tensors: Any, old_tensors: Any, step_size: Any) -> Any:
    """Polyak (exponential moving) average: ``step_size * new + (1 - step_size) * old``.

    Args:
      new_tensors: the latest values (e.g. the online params).
      old_tensors: the running average, same structure (``None`` leaves stay ``None``).
      step_size: the weight of the new values, in [0, 1].

    Returns:
      The updated average.

    Raises:
      ValueError: if a concrete ``step_size`` is outside [0, 1].

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.incremental_update(jnp.array([1.0, 2.0]), jnp.zeros(2), 0.25))
      [0.25 0.5 ]

    References:
      Polyak & Juditsky, `Acceleration of Stochastic Approximation by Averaging
      <https://epubs.siam.org/doi/10.1137/0330046>`_, 1992.
    """
    _validate.check_range("incremental_update", "step_size", step_size, 0.0, 1.0)
    return jax.tree.map(
        lambda new, old: None if new is None else step_size * new + (1.0 - step_size) * old,
        new_tensors, old_tensors, is_leaf=is_none,
    )


def periodic_update(new_tensors: Any, old_tensors: Any, steps: Any, update_period: Any) -> Any:
    """``new_tensors`` when ``steps % update_period == 0``, else ``old_tensors``.

    A target network refreshed every ``update_period`` steps (DQN, BYOL). Works with a
    traced ``steps`` (a ``lax.cond``).

    Args:
      new_tensors: the latest values.
      old_tensors: the slow copy, same structure.
      steps: the number of online updates so far (int).
      update_period: refresh every this many steps, an integer >= 1.

    Returns:
      ``new_tensors`` or ``old_tensors``.

    Raises:
      ValueError: if a concrete ``update_period`` is not an integer >= 1.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> new, old = jnp.ones(2), jnp.zeros(2)
      >>> print(zoo.periodic_update(new, old, 4, 2), zoo.periodic_update(new, old, 5, 2))
      [1. 1.] [0. 0.]

    References:
      Mnih et al., `Playing Atari with Deep Reinforcement Learning
      <https://arxiv.org/abs/1312.5602>`_, 2013; Grill et al., `Bootstrap your own latent
      <https://arxiv.org/abs/2006.07733>`_, 2020.
    """
    x = _validate.concrete_float(update_period)
    if x is not None and not (x >= 1 and float(x).is_integer()):
        _validate.fail("periodic_update", "update_period", update_period, "must be an integer >= 1")
    return jax.lax.cond(jnp.mod(steps, update_period) == 0, lambda _: new_tensors, lambda _: old_tensors, None)
