r"""Schedule-free RAdam: the schedule-free average around RAdam's rectified step, no warmup.

The sequences :math:`z, x, y` and the averaging weights are those of
``schedule_free_adamw`` (module ``_schedule_free``, whose machinery this reuses), with the
learning rate multiplied by RAdam's rectifier instead of a warmup. At step :math:`t = k + 1`,
with :math:`\rho_\infty = 2/(1-\beta_2) - 1` and
:math:`\rho_t = \rho_\infty - 2 t \beta_2^t / (1-\beta_2^t)`:

.. math::

   \gamma_k = \eta\, r_t, \qquad r_t = \sqrt{\frac{(\rho_t - 4)(\rho_t - 2)\rho_\infty}
   {(\rho_\infty - 4)(\rho_\infty - 2)\rho_t}} \ \text{if}\ \rho_t > 4,
   \ \text{else}\ 0 \ (1 \text{ without } \texttt{silent\_sgd\_phase}),

   d_k = \frac{g_k}{\sqrt{v_k / (1-\beta_2^t)} + \epsilon} + \lambda y_k
   \ \ (\text{plain } g_k + \lambda y_k \text{ while } \rho_t \le 4), \qquad
   z_{k+1} = z_k - \gamma_k d_k .

With ``silent_sgd_phase`` (the default) the first steps, where the variance is not yet
tractable, do not move the parameters at all (and carry no averaging weight): the
rectification is the warmup. This is ``schedulefree.RAdamScheduleFree`` (1.4, tested equal;
it updates :math:`y` in place, the zoo keeps :math:`x` and :math:`z`, the same sequences).
``schedule_free_eval_params(state, params)`` gives :math:`x`, what the reference's
``optimizer.eval()`` puts in the parameters.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .. import _numerics, _validate
from .._base import GradientTransformation, ScalarOrSchedule
from ._schedule_free import _check, _schedule_free


def _rectifier(b2: Any, k: jax.Array):
    """``(on, r_t, 1 - b2**t)`` at step ``t = k + 1`` (torch's double-precision scalars, to the
    precision of the float dtype: see ``_numerics.radam_rho``)."""
    t = k + 1
    rho_t = _numerics.radam_rho(b2, t)
    on, rect = _numerics.radam_rectifier(rho_t, _numerics.radam_rho_inf(b2), 4.0, strict=True)
    return on, rect, _numerics.one_minus_power(b2, t)


def schedule_free_radam(
    learning_rate: ScalarOrSchedule = 0.0025,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    weight_decay: Any = 0.0,
    weight_lr_power: Any = 2.0,
    state_dtype: Any = None,
    r: Any = 0.0,
    silent_sgd_phase: bool = True,
) -> GradientTransformation:
    r"""Schedule-free RAdam (see module docstring), the ``schedulefree`` package's defaults.

    Args:
      learning_rate: a float >= 0 or a schedule (multiplied by the rectifier).
      b1: the interpolation :math:`\beta_1`, in [0, 1).
      b2: the second-moment decay, in [0, 1).
      eps: added to the root, >= 0.
      weight_decay: decay added to the direction (:math:`\lambda y`), >= 0.
      weight_lr_power: the learning-rate weighting power, >= 0.
      state_dtype: dtype of the ``z`` sequence in the state (default: the params').
      r: the polynomial weighting power, >= 0.
      silent_sgd_phase: no step while :math:`\rho_t \le 4` (else unrectified SGD steps).

    Returns:
      A ``GradientTransformation`` with state ``ScheduleFreeState``; its update needs
      ``params``. Evaluate ``schedule_free_eval_params(state, params)``.

    Raises:
      ValueError: for a bad argument.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = jnp.array([1.0, 2.0, 3.0])
      >>> tx = zoo.schedule_free_radam(1.0)  # the first 4 steps (rho_t <= 4) do not move
      >>> state = tx.init(params)
      >>> update = jax.jit(tx.update)  # one compile for all steps
      >>> for _ in range(100):
      ...     updates, state = update(jax.grad(lambda p: jnp.sum(p ** 2))(params), state, params)
      ...     params = zoo.apply_updates(params, updates)
      >>> print(float(jnp.sum(zoo.schedule_free_eval_params(state, params) ** 2)) < 0.1)
      True

    References:
      Defazio et al., `The Road Less Scheduled <https://arxiv.org/abs/2405.15682>`_, 2024;
      Liu et al., `On the Variance of the Adaptive Learning Rate and Beyond
      <https://arxiv.org/abs/1908.03265>`_, 2020.
    """
    fn = "schedule_free_radam"
    _check(fn, learning_rate, 0, r, weight_lr_power, weight_decay)
    _validate.check_decay(fn, "b1", b1)
    _validate.check_decay(fn, "b2", b2)
    _validate.check_nonnegative(fn, "eps", eps)

    def rectified_lr(k):
        on, rect, _ = _rectifier(b2, k)
        return _numerics.value_at(learning_rate, k) * jnp.where(on, rect, 0.0 if silent_sgd_phase else 1.0)

    def direction(g, y, z, nu, lr, k, extra_args):
        del extra_args
        on, _, bc2 = _rectifier(b2, k)
        nu = jax.tree.map(lambda v, gi: (v * b2 + (1 - b2) * gi * gi).astype(v.dtype), nu, g)

        def d(gi, v, yi):
            gn = jnp.where(on, gi / (jnp.sqrt(v / bc2) + eps), gi)
            return gn + weight_decay * yi

        z = jax.tree.map(lambda zi, gi, v, yi: (zi - lr * d(gi, v, yi)).astype(zi.dtype), z, g, nu, y)
        return z, nu

    return _schedule_free(fn, rectified_lr, b1, 0, r, weight_lr_power, direction, _numerics.zeros_like,
                          state_dtype)
