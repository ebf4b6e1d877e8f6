r"""LaProp: Adam with the momentum taken *after* the adaptive division.

.. math::

   v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2, \qquad
   m_t = \beta_1 m_{t-1} + (1-\beta_1)\, \eta_t\,
         \frac{g_t}{(\sqrt{v_t + 10^{-15}} + \epsilon) / \sqrt{1-\beta_2^t}},

   c_t = \beta_1 c_{t-1} + (1-\beta_1)\,\eta_t, \qquad
   p_t = \bigl(p_{t-1} - m_t / c_t\bigr)\,(1 - \lambda\eta_t).

Adam averages gradients and divides the average by :math:`\sqrt{v}`; LaProp divides each
gradient by :math:`\sqrt{v}` first and averages the quotients, so momentum and adaptivity are
decoupled (the paper's point: no divergence when :math:`\beta_1 > \beta_2`). The learning
rate enters the momentum, and the first-moment bias correction is the running average
:math:`c_t` of the learning rates (:math:`\eta(1-\beta_1^t)` for a constant rate), as in
pytorch_optimizer. ``centered`` subtracts the squared running mean of the gradients from
:math:`v` once ``step > steps_before_using_centered``; ``ams_bound`` uses the running maximum
of :math:`v` (of the centered :math:`v` when both are on).

This is ``pytorch_optimizer.LaProp`` (4.1, tested equal, with its defaults). Its weight decay
acts after the step: decoupled (the default) shrinks the new parameters by
:math:`1-\lambda\eta` (:math:`1-\lambda` with ``fixed_decay``); the coupled form adds
:math:`\lambda p` to a gradient that has already been used, so it changes nothing — the zoo
keeps that behaviour (``weight_decouple=False`` makes ``weight_decay`` inert) rather than
inventing a different optimizer. Its default ``foreach`` path on CPU rounds the per-step
factor :math:`\eta/c_t` to float32; the zoo computes it in the params' precision (equal to the
reference's per-parameter path, ``foreach=False``, to 1e-10 in float64).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .._numerics import is_trained
from .. import _numerics, _packable, _validate
from . import _cautious
from .._base import GradientTransformation, ScalarOrSchedule, chain
from .._tree import tree_map, unzip

_V_EPS = 1e-15  # pytorch_optimizer's exp_avg_sq_eps, added inside the root


class ScaleByLaPropState(NamedTuple):
    """State of ``scale_by_laprop``: step, moments, the lr average ``c_t`` and optional extras."""

    count: jax.Array
    mu: Any
    nu: Any
    lr_avg: jax.Array
    grad_mean: Any  # () unless centered
    nu_max: Any  # () unless ams_bound


def _check(fn: str, b1: Any, b2: Any, eps: Any) -> None:
    _validate.check_decay(fn, "b1", b1)
    _validate.check_decay(fn, "b2", b2)
    _validate.check_nonnegative(fn, "eps", eps)


def scale_by_laprop(
    learning_rate: ScalarOrSchedule = 1.0,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-15,
    centered: bool = False,
    steps_before_using_centered: int = 10,
    ams_bound: bool = False,
) -> GradientTransformation:
    r"""LaProp's step ``m_t / c_t`` (see module docstring), learning rate included, not negated.

    The learning rate is an argument because it sits inside LaProp's momentum (a schedule
    reweights the history). With a constant rate, ``scale_by_laprop()`` followed by
    ``scale(-lr)`` is ``laprop(lr)`` without weight decay.

    Args:
      learning_rate: the rate inside the momentum, a float >= 0 or a schedule (default 1).
      b1: decay of the momentum of the normalized gradients, in [0, 1).
      b2: decay of the second moment, in [0, 1).
      eps: added to the root, >= 0.
      centered: subtract the squared running mean of the gradients from the second moment.
      steps_before_using_centered: the centered moment is used from the step after this one.
      ams_bound: divide by the running maximum of the second moment.

    Returns:
      A ``GradientTransformation`` with state ``ScaleByLaPropState``.

    Raises:
      ValueError: for a bad argument.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.scale_by_laprop()
      >>> g = {"w": jnp.array([0.5, -2.0])}
      >>> u, _ = tx.update(g, tx.init(g))
      >>> print(u["w"].round(3))
      [ 1. -1.]

    References:
      Ziyin, Wang & Ueda, `LaProp: Separating Momentum and Adaptivity in Adam
      <https://arxiv.org/abs/2002.04839>`_, 2020.
    """
    fn = "scale_by_laprop"
    _validate.check_learning_rate(fn, learning_rate)
    _check(fn, b1, b2, eps)
    _validate.check_int(fn, "steps_before_using_centered", steps_before_using_centered, lo=0)

    def init_fn(params):
        return ScaleByLaPropState(
            _numerics.zero_count(), _numerics.zeros_like(params), _numerics.zeros_like(params),
            jnp.zeros([], jnp.result_type(float)),
            _numerics.zeros_like(params) if centered else (),
            _numerics.zeros_like(params) if ams_bound else (),
        )

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        count = _numerics.safe_increment(state.count)
        lr = _numerics.value_at(learning_rate, state.count)
        lr_avg = (state.lr_avg * b1 + (1.0 - b1) * lr).astype(state.lr_avg.dtype)
        bc1 = jnp.where(lr != 0.0, lr_avg / jnp.where(lr != 0.0, lr, 1.0), 1.0)
        step_size = 1.0 / bc1
        bc2_sq = jnp.sqrt(_numerics.one_minus_power(b2, count))
        use_centered = count > steps_before_using_centered
        grad_mean = state.grad_mean if centered else updates  # placeholders when off (unused)
        nu_max = state.nu_max if ams_bound else updates

        def leaf(g, m, v, gm, vmax):
            if not is_trained(g):
                return jnp.zeros_like(g), m, v, gm, vmax
            v = v * b2 + (1.0 - b2) * g * g
            second = v
            if centered:
                gm = _numerics.lerp(gm, g, 1.0 - b2)
                second = jnp.where(use_centered, v - gm * gm, v)
            if ams_bound:
                vmax = jnp.maximum(vmax, second)
                second = vmax
            denom = (jnp.sqrt(second + _V_EPS) + eps) / bc2_sq
            m = m * b1 + ((1.0 - b1) * lr) * (g / denom)
            u = m * step_size
            dt = g.dtype
            return u.astype(dt), m.astype(dt), v.astype(dt), gm if not centered else gm.astype(dt), \
                vmax if not ams_bound else vmax.astype(dt)

        out = tree_map(leaf, updates, state.mu, state.nu, grad_mean, nu_max, where=fn,
                       names=("updates", "state.mu", "state.nu", "state.grad_mean", "state.nu_max"))
        u, mu, nu, gm, vmax = unzip(out, 5)
        return u, ScaleByLaPropState(count, mu, nu, lr_avg, gm if centered else (), vmax if ams_bound else ())

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def decay_after_step(learning_rate: ScalarOrSchedule, weight_decay: Any, weight_decouple: bool = True,
                     fixed_decay: bool = False) -> GradientTransformation:
    """pytorch_optimizer's step-then-decay: ``p_new = (p - u) * (1 - wd * lr_t)``, as an update.

    Used by ``laprop`` (and ``mars``' relatives): ``u`` is the (positive) step of the
    preceding transformation. A coupled ``weight_decay`` (``weight_decouple=False``) is inert,
    as in the reference (see the module docstring).
    """
    def init_fn(params):
        del params
        return _numerics.zero_count()

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        count = _numerics.safe_increment(state)
        if not weight_decouple or (isinstance(weight_decay, (int, float)) and weight_decay == 0.0):
            return tree_map(lambda u: -u if _numerics.is_trained(u) else jnp.zeros_like(u), updates), count
        _validate.check_params("laprop", params, updates, " (for its weight decay)")
        lr = 1.0 if fixed_decay else _numerics.value_at(learning_rate, state)
        factor = 1.0 - weight_decay * lr
        return tree_map(lambda u, p: ((p - u) * factor - p).astype(u.dtype) if _numerics.is_trained(p)
                        else jnp.zeros_like(u), updates, params, where="laprop", names=("updates", "params")), count

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def laprop(
    learning_rate: ScalarOrSchedule = 4e-4,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-15,
    weight_decay: Any = 0.0,
    weight_decouple: bool = True,
    fixed_decay: bool = False,
    centered: bool = False,
    steps_before_using_centered: int = 10,
    ams_bound: bool = False,
    cautious: bool = False,
) -> GradientTransformation:
    r"""LaProp (see module docstring), pytorch_optimizer's defaults.

    ``chain(scale_by_laprop(learning_rate, ...), <decoupled decay after the step>)``, with
    ``scale_by_laprop`` wrapped in ``zoo.cautious`` when ``cautious``.

    Args:
      learning_rate: a float >= 0 or a schedule (default 4e-4).
      b1, b2, eps, centered, steps_before_using_centered, ams_bound: as in ``scale_by_laprop``
        (eps defaults to 1e-15).
      weight_decay: decay factor, >= 0.
      weight_decouple: decoupled decay after the step (default); False makes ``weight_decay``
        inert, as in the reference.
      fixed_decay: decay by ``weight_decay`` instead of ``weight_decay * learning_rate``.
      cautious: wrap the step in ``zoo.cautious`` (before the weight decay), as the
        reference's ``cautious=True``.

    Returns:
      A ``GradientTransformation``; its update needs ``params`` when ``weight_decay > 0``.

    Raises:
      ValueError: for a bad argument.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = jnp.array([1.0, 2.0, 3.0])
      >>> tx = zoo.laprop(0.1)
      >>> state = tx.init(params)
      >>> update = jax.jit(tx.update)  # one compile for all steps
      >>> for _ in range(50):
      ...     updates, state = update(jax.grad(lambda p: jnp.sum(p ** 2))(params), state, params)
      ...     params = zoo.apply_updates(params, updates)
      >>> print(float(jnp.sum(params ** 2)) < 0.1)
      True

    References:
      Ziyin, Wang & Ueda, `LaProp: Separating Momentum and Adaptivity in Adam
      <https://arxiv.org/abs/2002.04839>`_, 2020.
    """
    fn = "laprop"
    _validate.check_learning_rate(fn, learning_rate)
    _check(fn, b1, b2, eps)
    _validate.check_nonnegative(fn, "weight_decay", weight_decay)
    _validate.check_int(fn, "steps_before_using_centered", steps_before_using_centered, lo=0)
    step = scale_by_laprop(learning_rate, b1, b2, eps, centered, steps_before_using_centered, ams_bound)
    return chain(
        _cautious.cautious(step, descent=False) if cautious else step,
        decay_after_step(learning_rate, weight_decay, weight_decouple, fixed_decay),
    )
