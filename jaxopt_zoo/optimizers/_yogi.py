r"""Yogi: Adam whose second moment moves additively, by the sign of the gap to ``g^2``.

.. math::

   m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad
   v_t = v_{t-1} - (1-\beta_2)\,\operatorname{sign}(v_{t-1} - g_t^2)\, g_t^2,

   u_t = -\eta_t\, \frac{m_t / (1-\beta_1^t)}{\sqrt{v_t / (1-\beta_2^t) + \epsilon_{root}} + \epsilon},

with :math:`m_0 = v_0 = ` ``initial_accumulator_value`` (1e-6). Adam's
:math:`v_t = v_{t-1} - (1-\beta_2)(v_{t-1} - g_t^2)` lets the effective learning rate grow
fast when :math:`v` is large and :math:`g^2` small; Yogi's step in :math:`v` is at most
:math:`(1-\beta_2) g_t^2`, so it grows slowly.

This is ``optax.yogi``/``optax.scale_by_yogi`` (tested equal). Two details are optax's, not the
paper's Algorithm 2: both moments are bias-corrected like Adam's, and the *first* moment also
starts at ``initial_accumulator_value`` (the paper and the TensorFlow Addons implementation of
its authors' defaults start it at 0). With the default 1e-6 the second detail moves a
trajectory by about 1e-6 * b1^t, far below anything measurable in training.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from .._numerics import is_trained
from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, ScalarOrSchedule
from .._tree import tree_map
from ._adam import ScaleByAdamState
from ._alias import adaptive_alias


def _check(fn: str, b1: Any, b2: Any, eps: Any) -> None:
    _validate.check_decay(fn, "b1", b1)
    _validate.check_decay(fn, "b2", b2)
    _validate.check_nonnegative(fn, "eps", eps)


def scale_by_yogi(
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-3,
    eps_root: Any = 0.0,
    initial_accumulator_value: Any = 1e-6,
) -> GradientTransformation:
    r"""Yogi's rescaling: ``u = \hat m / (\sqrt{\hat v + eps_root} + eps)`` (see module docstring).

    Args:
      b1: decay of the first moment, in [0, 1).
      b2: decay of the second moment, in [0, 1).
      eps: added to the root, >= 0.
      eps_root: added inside the root, >= 0.
      initial_accumulator_value: the start of both moments, >= 0.

    Returns:
      A ``GradientTransformation`` with state ``ScaleByAdamState``.

    Raises:
      ValueError: for a decay outside [0, 1) or a negative ``eps``, ``eps_root`` or
        ``initial_accumulator_value``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.scale_by_yogi()
      >>> g = {"w": jnp.array([0.5, -2.0])}
      >>> u, _ = tx.update(g, tx.init(g))
      >>> print(u["w"].round(2))
      [ 1. -1.]

    References:
      Zaheer, Reddi, Sachan, Kale & Kumar, `Adaptive Methods for Nonconvex Optimization
      <https://proceedings.neurips.cc/paper/2018/hash/90365351ccc7437a1309dc64e4db32a3-Abstract.html>`_, 2018.
    """
    fn = "scale_by_yogi"
    _check(fn, b1, b2, eps)
    _validate.check_nonnegative(fn, "eps_root", eps_root)
    _validate.check_nonnegative(fn, "initial_accumulator_value", initial_accumulator_value)

    def init_fn(params):
        return ScaleByAdamState(
            _numerics.zero_count(),
            _numerics.full_like(params, initial_accumulator_value),
            _numerics.full_like(params, initial_accumulator_value),
        )

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        mu = _numerics.update_moment(updates, state.mu, b1, 1, where=fn)

        def second(g, v):
            if not is_trained(v):
                return v
            g2 = _numerics.abs_sq(g)
            return v - (1 - b2) * jnp.sign(v - g2) * g2

        nu = tree_map(second, updates, state.nu, where=fn, names=("updates", "state.nu"))
        count = _numerics.safe_increment(state.count)
        mu_hat = _numerics.bias_correction(mu, b1, count)
        nu_hat = _numerics.bias_correction(nu, b2, count)
        out = tree_map(lambda m, v: m / (jnp.sqrt(v + eps_root) + eps), mu_hat, nu_hat)
        return out, ScaleByAdamState(count, _numerics.keep_dtype(mu, state.mu), _numerics.keep_dtype(nu, state.nu))

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def yogi(learning_rate: ScalarOrSchedule, b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-3) -> GradientTransformation:
    r"""Yogi: ``p <- p - lr_t * \hat m_t / (\sqrt{\hat v_t} + eps)`` with Yogi's additive ``v``.

    ``chain(scale_by_yogi(b1, b2, eps), scale_by_learning_rate(learning_rate))``.

    Args:
      learning_rate: a float >= 0 or a schedule.
      b1, b2, eps: as in ``scale_by_yogi`` (eps defaults to 1e-3, the paper's choice).

    Returns:
      A ``GradientTransformation``.

    Raises:
      ValueError: for a negative learning rate or a bad argument.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = jnp.array([1.0, 2.0, 3.0])
      >>> tx = zoo.yogi(0.1)
      >>> state = tx.init(params)
      >>> for _ in range(50):
      ...     updates, state = tx.update(jax.grad(lambda p: jnp.sum(p ** 2))(params), state)
      ...     params = zoo.apply_updates(params, updates)
      >>> print(float(jnp.sum(params ** 2)) < 1.0)
      True

    References:
      Zaheer, Reddi, Sachan, Kale & Kumar, `Adaptive Methods for Nonconvex Optimization
      <https://proceedings.neurips.cc/paper/2018/hash/90365351ccc7437a1309dc64e4db32a3-Abstract.html>`_, 2018.
    """
    _validate.check_learning_rate("yogi", learning_rate)
    _check("yogi", b1, b2, eps)
    return adaptive_alias(scale_by_yogi(b1, b2, eps), learning_rate)
