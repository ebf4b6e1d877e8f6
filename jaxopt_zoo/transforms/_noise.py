r"""Annealed Gaussian gradient noise (the ``add_noise`` of optax).

.. math::

   u_t = g_t + \sigma_t \xi_t, \qquad \sigma_t^2 = \frac{\eta}{t^{\gamma}}, \quad t = 1, 2, \ldots,
   \qquad \xi_t \sim \mathcal N(0, I),

i.e. the paper's :math:`\sigma_t^2 = \eta / (1 + t)^\gamma` with its step :math:`t` counted
from 0. The noise is drawn exactly as optax draws it: at each update the state's key is
split into (next key, sample key), the sample key is split into one key per leaf (in tree
order) and each leaf draws ``jax.random.normal`` of its shape and dtype. The same key (or
seed) therefore gives optax's very noise. Integer and bool leaves (not trained; optax raises
on them) pass unchanged and take no key, so the float leaves get the same noise as in the
tree without them.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .._numerics import is_trained
from .. import _numerics, _packable, _validate
from .._base import GradientTransformation


class AddNoiseState(NamedTuple):
    """State of ``add_noise``."""

    count: jax.Array  # int32 scalar
    rng_key: jax.Array  # the raw key data (uint32) of the next key


def _key_data(fn: str, key: Any) -> jax.Array:
    """The raw data of ``key``: a typed key, a raw uint32 key or an int seed."""
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return jax.random.key_data(key)
    if isinstance(key, (jax.Array, jnp.ndarray)) and jnp.ndim(key) == 1 and key.dtype == jnp.uint32:
        return jnp.asarray(key)
    if isinstance(key, bool) or not isinstance(key, (int, jnp.integer)) and not (
            isinstance(key, jax.Array) and jnp.ndim(key) == 0 and jnp.issubdtype(key.dtype, jnp.integer)):
        _validate.fail(fn, "key", key, "must be a jax.random key or an integer seed")
    return jax.random.key_data(jax.random.key(key))


def check_noise_args(fn: str, eta: Any, gamma: Any, key: Any, seed: Any) -> jax.Array:
    """Check ``add_noise``'s arguments for ``fn``; return the key's raw data."""
    _validate.check_nonnegative(fn, "eta", eta)
    _validate.check_nonnegative(fn, "gamma", gamma)
    if seed is not None:
        if key is not None:
            _validate.fail(fn, "seed", seed, "cannot be given together with `key`")
        key = seed
    return _key_data(fn, 0 if key is None else key)


def add_noise(eta: Any, gamma: Any, key: Any = None, *, seed: int | None = None) -> GradientTransformation:
    r"""Add Gaussian noise of variance ``eta / t**gamma`` to the updates (see module docstring).

    Args:
      eta: the variance at the first step, >= 0.
      gamma: the decay exponent of the variance, >= 0.
      key: a ``jax.random.key``, a raw ``PRNGKey`` or an integer seed. ``None`` means seed 0,
        as in optax (which warns that a key will be required); pass one.
      seed: optax's older name for an integer ``key``; give ``key`` or ``seed``, not both.

    Returns:
      A ``GradientTransformation`` with state ``AddNoiseState``.

    Raises:
      ValueError: for a negative ``eta`` or ``gamma``, a bad key, or both ``key`` and ``seed``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.add_noise(eta=0.01, gamma=0.55, key=0)
      >>> u, state = tx.update(jnp.zeros(3), tx.init(jnp.zeros(3)))
      >>> print(bool(jnp.all(u != 0)), int(state.count))
      True 1

    References:
      Neelakantan et al., `Adding Gradient Noise Improves Learning for Very Deep Networks
      <https://arxiv.org/abs/1511.06807>`_, 2015.
    """
    data = check_noise_args("add_noise", eta, gamma, key, seed)

    def init_fn(params):
        del params
        return AddNoiseState(_numerics.zero_count(), _numerics.copy_tree(data))  # own buffer: donation-safe

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        count = _numerics.safe_increment(state.count)
        std = jnp.sqrt(eta / count**gamma)
        next_key, sample_key = jax.random.split(jax.random.wrap_key_data(state.rng_key))
        leaves, treedef = jax.tree.flatten(updates)
        trained = [i for i, g in enumerate(leaves) if is_trained(g)]
        keys = jax.random.split(sample_key, len(trained))
        noisy = list(leaves)
        for i, k in zip(trained, keys):
            noisy[i] = leaves[i] + std * jax.random.normal(k, leaves[i].shape, leaves[i].dtype)
        return treedef.unflatten(noisy), AddNoiseState(count, jax.random.key_data(next_key))

    return _packable.per_leaf(GradientTransformation(init_fn, update_fn), "add_noise", "its noise is drawn leaf by leaf")
