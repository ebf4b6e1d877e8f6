r"""DP-SGD: differentially private SGD (clip each example's gradient, sum, add noise, average).

With per-example gradients :math:`g_{t,b}` (the batch :math:`b = 1..B` on axis 0 of every
leaf), clip norm :math:`C` and noise multiplier :math:`\sigma`:

.. math::

   \bar g_t = \frac{1}{B}\Big(\sum_b g_{t,b}\,\min\big(1, C / \lVert g_{t,b}\rVert\big)
   + \sigma C\,\xi_t\Big), \qquad \xi_t \sim \mathcal N(0, I),

where :math:`\lVert\cdot\rVert` is the global norm over all leaves of one example
(``differentially_private_aggregate``). ``dpsgd`` follows it with optional (Nesterov)
momentum and the learning rate, as ``optax.contrib.dpsgd``.

The noise is drawn exactly as optax draws it: at each update the state's key is split into
``1 + number of leaves`` keys in one call; the first is the next state's key, the others
(in tree order) draw ``jax.random.normal`` of each leaf's summed shape and dtype. The same
key (or seed) therefore gives optax's very noise (tested). The state keeps the key's raw
data (``uint32``), so it checkpoints and donates like any other array.

The input of ``update`` is per-example gradients (``jax.vmap`` of ``jax.grad``), not the
usual batch gradient; the output has the params' shapes. So these must come first in a
chain, and gradient accumulators (``MultiSteps``, ``apply_every``) do not apply.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, ScalarOrSchedule, chain, identity
from ..transforms._momentum import trace
from ..transforms._noise import _key_data
from ..transforms._per_example import _check_batched, per_example_global_norm_clip
from ..transforms._scaling import scale_by_learning_rate


class DifferentiallyPrivateAggregateState(NamedTuple):
    """State of ``differentially_private_aggregate``: the raw data (uint32) of the next key."""

    rng_key: jax.Array


def _dp_key(fn: str, key: Any, seed: Any) -> jax.Array:
    if seed is not None:
        if key is not None:
            _validate.fail(fn, "seed", seed, "cannot be given together with `key`")
        key = seed
    return _key_data(fn, 0 if key is None else key)


def differentially_private_aggregate(
    l2_norm_clip: Any,
    noise_multiplier: Any,
    key: Any = None,
    *,
    seed: int | None = None,
) -> GradientTransformation:
    r"""Clip per-example gradients, sum them, add Gaussian noise, divide by the batch size.

    See the module docstring for the rule and the random draws (optax's, key for key).

    Args:
      l2_norm_clip: the largest global norm of one example's gradient, ``C >= 0``.
      noise_multiplier: the noise's standard deviation over ``C``, ``>= 0``.
      key: a ``jax.random.key``, a raw ``PRNGKey`` or an integer seed (``None``: seed 0,
        as optax, which warns that a key will be required; pass one).
      seed: optax's older name for an integer ``key``; give ``key`` or ``seed``, not both.

    Returns:
      A ``GradientTransformation`` with state ``DifferentiallyPrivateAggregateState``. Its
      update takes per-example gradients (batch on axis 0 of every leaf) and returns
      updates without the batch axis.

    Raises:
      ValueError: for a negative ``l2_norm_clip`` or ``noise_multiplier``, a bad key, both
        ``key`` and ``seed``; at update, for leaves without a common batch axis.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.differentially_private_aggregate(l2_norm_clip=1.0, noise_multiplier=0.0, key=0)
      >>> per_example = jnp.array([[3.0, 4.0], [0.3, 0.4]])  # two examples, norms 5 and 0.5
      >>> u, state = tx.update(per_example, tx.init(jnp.zeros(2)))
      >>> print([round(float(x), 4) for x in u])  # ((0.6, 0.8) + (0.3, 0.4)) / 2
      [0.45, 0.6]

    References:
      Abadi et al., `Deep Learning with Differential Privacy
      <https://arxiv.org/abs/1607.00133>`_, 2016.
    """
    fn = "differentially_private_aggregate"
    _validate.check_nonnegative(fn, "l2_norm_clip", l2_norm_clip)
    _validate.check_nonnegative(fn, "noise_multiplier", noise_multiplier)
    data = _dp_key(fn, key, seed)

    def init_fn(params):
        del params
        return DifferentiallyPrivateAggregateState(_numerics.copy_tree(data))  # own buffer: donation-safe

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        _check_batched(fn, updates)
        leaves, treedef = jax.tree.flatten(updates)
        batch = leaves[0].shape[0]
        clipped, _ = per_example_global_norm_clip(leaves, l2_norm_clip)
        next_key, *keys = jax.random.split(jax.random.wrap_key_data(state.rng_key), len(leaves) + 1)
        std = l2_norm_clip * noise_multiplier
        noised = [(g + std * jax.random.normal(k, g.shape, g.dtype)) / batch for g, k in zip(clipped, keys)]
        return treedef.unflatten(noised), DifferentiallyPrivateAggregateState(jax.random.key_data(next_key))

    return _packable.per_leaf(GradientTransformation(init_fn, update_fn), fn,
                              "it reads per-example gradients and draws its noise leaf by leaf")


def dpsgd(
    learning_rate: ScalarOrSchedule,
    l2_norm_clip: Any,
    noise_multiplier: Any,
    seed: int,
    momentum: Any = None,
    nesterov: bool = False,
) -> GradientTransformation:
    r"""DP-SGD: ``differentially_private_aggregate``, optional momentum, then the learning rate.

    Args:
      learning_rate: a float >= 0 or a schedule.
      l2_norm_clip: the largest global norm of one example's gradient, ``>= 0``.
      noise_multiplier: the noise's standard deviation over ``l2_norm_clip``, ``>= 0``.
      seed: the integer seed of the noise (``jax.random.key(seed)``, as optax).
      momentum: the momentum coefficient in [0, 1), or ``None`` for none.
      nesterov: Nesterov momentum (with ``momentum``).

    Returns:
      A ``GradientTransformation`` whose update takes per-example gradients (batch on axis 0
      of every leaf) and returns updates shaped like the params.

    Raises:
      ValueError: for a negative ``learning_rate``, ``l2_norm_clip`` or
        ``noise_multiplier``, a ``momentum`` outside [0, 1) or a bad seed.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> data = jnp.array([[1.0, 2.0], [2.0, 0.0], [0.0, 1.0], [3.0, 3.0]])
      >>> loss = lambda p, x: jnp.sum((p - x) ** 2)
      >>> per_example_grads = jax.vmap(jax.grad(loss), in_axes=(None, 0))
      >>> tx = zoo.dpsgd(0.2, l2_norm_clip=10.0, noise_multiplier=0.01, seed=0, momentum=0.5)
      >>> params = jnp.zeros(2)
      >>> state = tx.init(params)
      >>> update = jax.jit(tx.update)  # one compile for all steps
      >>> for _ in range(100):
      ...     updates, state = update(per_example_grads(params, data), state, params)
      ...     params = zoo.apply_updates(params, updates)
      >>> print(jnp.round(params, 1))  # the mean of the data
      [1.5 1.5]

    References:
      Abadi et al., `Deep Learning with Differential Privacy
      <https://arxiv.org/abs/1607.00133>`_, 2016.
    """
    _validate.check_learning_rate("dpsgd", learning_rate)
    _validate.check_nonnegative("dpsgd", "l2_norm_clip", l2_norm_clip)
    _validate.check_nonnegative("dpsgd", "noise_multiplier", noise_multiplier)
    if momentum is not None:
        _validate.check_decay("dpsgd", "momentum", momentum)
    if seed is None or isinstance(seed, bool) or not isinstance(seed, (int, jnp.integer, jax.Array)):
        _validate.fail("dpsgd", "seed", seed, "must be an integer seed")
    return chain(
        differentially_private_aggregate(l2_norm_clip=l2_norm_clip, noise_multiplier=noise_multiplier, seed=seed),
        trace(decay=momentum, nesterov=nesterov) if momentum is not None else identity(),
        scale_by_learning_rate(learning_rate),
    )
