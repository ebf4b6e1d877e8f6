r"""MARS: Adam, Lion or an orthogonalised step on a variance-reduced, clipped gradient.

For a matrix (or larger) leaf, with :math:`g_0 = 0` (the reference's ``last_grad`` starts at
zero, so the first correction is :math:`g_1` scaled by :math:`1 + \gamma\beta_1/(1-\beta_1)`):

.. math::

   c_t = g_t + \gamma \frac{\beta_1}{1-\beta_1} (g_t - g_{t-1}), \qquad
   c_t \leftarrow c_t / \max(1, \lVert c_t \rVert_2),

   m_t = \beta_1 m_{t-1} + (1-\beta_1) c_t, \qquad v_t = \beta_2 v_{t-1} + (1-\beta_2) c_t^2,

   u_t = \frac{m_t / (1-\beta_1^t)}{(\sqrt{v_t + 10^{-15}} + \epsilon) / \sqrt{1-\beta_2^t}}
   \quad\text{(``mars_type='adamw'``)}, \qquad u_t = \operatorname{sign}(m_t)
   \quad\text{(``'lion'``)},

   u_t = \sqrt{\max(1, d_0 / d_1)}\; \operatorname{NS}_5\!\Bigl(\frac{m_t}{1-\beta_1}\Bigr)
   \quad\text{(``'shampoo'``, leaves of two or more axes)},

   p_t = p_{t-1} (1 - \lambda \eta) - \eta\, u_t .

The norm is the leaf's Frobenius norm. Scalars and vectors get plain AdamW (no correction)
with their own rate, betas and weight decay (``learning_rate_1d``, ``b1_1d``, ``b2_1d``,
``weight_decay_1d``, the last 0.1 by default) unless ``optimize_1d``; with ``optimize_1d`` and
``'shampoo'`` they get the corrected gradient and the ``'adamw'`` rule (an orthogonal factor
needs a matrix).

``'shampoo'``: the paper's MARS-Shampoo steps along the orthogonal polar factor :math:`U V^\top`
of the momentum :math:`m_t = U \Sigma V^\top` (Shampoo's preconditioner without its
accumulation, as in Muon), which the official code and the reference approximate with five
quintic Newton–Schulz steps: a leaf of shape :math:`(d_0, d_1, \dots)` is seen as the
:math:`d_0 \times (d_1 d_2 \cdots)` matrix :math:`M`, transposed when it has more rows than
columns, :math:`X_0 = M / \max(\lVert M \rVert_F, \epsilon)`, then five times

.. math::

   A = X X^\top, \qquad X \leftarrow a X + (b A + c A^2) X, \qquad (a, b, c) =
   (3.4445, -4.7750, 2.0315),

and transposed back. The scale :math:`\sqrt{\max(1, d_0/d_1)}` uses the leaf's first two axes
(for a matrix, rows over columns). :math:`v_t` is not used (nor kept up to date) for these
leaves, and ``ams_bound`` does not reach them. The division by :math:`1-\beta_1` cancels in the
normalisation (it only shifts where :math:`\epsilon` bites) and is kept to follow the reference.

This is ``pytorch_optimizer.MARS`` (4.1, tested equal with its defaults; its foreach and
per-parameter paths agree; ``'shampoo'`` takes the per-parameter path there). Where it departs
from the paper and the official code (``MARS/optimizers/mars.py`` of AGI-Arena/MARS), the zoo
follows the reference:

* the Newton–Schulz iteration runs in bfloat16 in the reference and in the official code (the
  default dtype of the reference's ``zero_power_via_newton_schulz_5``; the official code's
  ``M.bfloat16()``), and the reference returns a bfloat16 update; here it runs in the params'
  dtype, as ``zoo.muon`` does. The tests run the reference's iteration in float64 (its
  ``dtype`` argument): float64 runs agree with it to 1e-16 over 120 steps, float32 ones to
  1e-5. The bfloat16 iteration moves the reference's own trajectory by about 2e-3 (relative)
  over those steps.
* leaves of three or more axes: the official code treats only 2-D leaves as matrices (the
  others get the 1-D AdamW, or the ``'adamw'`` rule with ``optimize_1d``), the reference
  orthogonalises them as the :math:`d_0 \times (d_1 d_2 \cdots)` matrix above;
* the official code divides by :math:`\lVert M \rVert_F + \epsilon` where the reference divides
  by :math:`\max(\lVert M \rVert_F, \epsilon)`, and its Newton–Schulz step is written
  :math:`aX + bAX + cA(AX)` (equal in exact arithmetic).

A reference detail kept here: with ``weight_decouple=False`` the weight decay is added to the
gradient *after* the gradient was used, so it only reaches the stored previous gradient
:math:`g_{t-1}` of the next correction.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from ._cautious import cautious_mask
from .._base import GradientTransformation, ScalarOrSchedule, chain
from .._tree import tree_map, unzip

_V_EPS = 1e-15  # pytorch_optimizer's exp_avg_sq_eps, added inside the root
_TYPES = ("adamw", "lion", "shampoo")


class ScaleByMarsState(NamedTuple):
    """State of ``scale_by_mars``."""

    count: jax.Array
    mu: Any
    nu: Any
    last_grad: Any
    nu_max: Any  # () unless ams_bound


def _check(fn, b1, b2, gamma, mars_type, b1_1d, b2_1d, eps):
    _validate.check_decay(fn, "b1", b1)
    _validate.check_decay(fn, "b2", b2)
    _validate.check_decay(fn, "b1_1d", b1_1d)
    _validate.check_decay(fn, "b2_1d", b2_1d)
    _validate.check_nonnegative(fn, "gamma", gamma)
    _validate.check_nonnegative(fn, "eps", eps)
    _validate.check_choice(fn, "mars_type", mars_type, _TYPES)


def _is_matrix(x, optimize_1d: bool) -> bool:
    return optimize_1d or jnp.ndim(x) >= 2


_NS_COEFFS = (3.4445, -4.7750, 2.0315)
_NS_STEPS = 5


def _orthogonalize(m, eps):
    """The reference's ``zero_power_via_newton_schulz_5`` of ``m`` seen as a ``(d_0, -1)``
    matrix, in ``m``'s dtype: the approximate orthogonal polar factor, shaped like ``m``."""
    x = jnp.reshape(m, (m.shape[0], -1))
    tall = x.shape[0] > x.shape[1]
    x = x.T if tall else x
    x = x / jnp.maximum(jnp.sqrt(jnp.sum(x * x)), eps)
    w0, w1, w2 = _NS_COEFFS
    for _ in range(_NS_STEPS):
        a = x @ x.T
        b = w2 * (a @ a) + w1 * a
        x = b @ x + w0 * x
    return jnp.reshape(x.T if tall else x, m.shape)


def _scale_by_mars(fn, b1, b2, gamma, mars_type, optimize_1d, b1_1d, b2_1d, eps, ams_bound,
                   coupled=None, cautious=False) -> GradientTransformation:
    """``scale_by_mars``; ``coupled = (wd, wd_1d)`` adds the reference's coupled decay to the
    stored previous gradient (``mars`` with ``weight_decouple=False``)."""

    def init_fn(params):
        return ScaleByMarsState(
            _numerics.zero_count(), _numerics.zeros_like(params), _numerics.zeros_like(params),
            _numerics.zeros_like(params), _numerics.zeros_like(params) if ams_bound else (),
        )

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        if coupled is not None:
            _validate.check_params("mars", params, updates, " (for its coupled weight decay)")
        count = _numerics.safe_increment(state.count)
        nu_max = state.nu_max if ams_bound else updates  # a placeholder when off (unused)
        ps = params if coupled is not None else updates

        def leaf(g, m, v, last, vmax, p):
            if not _numerics.is_trained(g):  # integer/bool leaves are not trained
                return jnp.zeros_like(g), m, v, last, vmax
            mixed = _is_matrix(g, optimize_1d)
            beta1, beta2 = (b1, b2) if mixed else (b1_1d, b2_1d)
            if mixed:
                c = (g - last) * (gamma * (beta1 / (1.0 - beta1))) + g
                norm = jnp.sqrt(jnp.sum(c * c))
                c = jnp.where(norm > 1.0, c / norm, c)
            else:
                c = g
            m = _numerics.lerp(m, c, 1.0 - beta1)
            u = cautious_mask(m, g) if cautious else m  # masked before the sign, as the reference
            if mixed and mars_type == "lion":
                u = jnp.sign(u)
            elif mixed and mars_type == "shampoo" and jnp.ndim(g) >= 2:
                factor = math.sqrt(max(1.0, g.shape[0] / g.shape[1]))
                u = _orthogonalize(u * (1.0 / (1.0 - beta1)), eps) * factor
            else:
                v = v * beta2 + (1.0 - beta2) * c * c
                second = v
                if ams_bound:
                    vmax = jnp.maximum(vmax, v)
                    second = vmax
                bc1 = _numerics.one_minus_power(beta1, count)
                bc2_sq = jnp.sqrt(_numerics.one_minus_power(beta2, count))
                u = u / ((jnp.sqrt(second + _V_EPS) + eps) / bc2_sq * bc1)
            if coupled is not None:
                wd = coupled[0] if mixed else coupled[1]
                g = g + wd * p
            dt = g.dtype
            return (u.astype(dt), m.astype(dt), v.astype(dt), g.astype(dt),
                    vmax.astype(dt) if ams_bound else vmax)

        out = tree_map(leaf, updates, state.mu, state.nu, state.last_grad, nu_max, ps, where=fn,
                       names=("updates", "state.mu", "state.nu", "state.last_grad", "state.nu_max", "params"))
        u, mu, nu, last, vmax = unzip(out, 5)
        return u, ScaleByMarsState(count, mu, nu, last, vmax if ams_bound else ())

    return _packable.per_leaf(GradientTransformation(init_fn, update_fn), fn,
                              "its gradient correction is clipped by each matrix's norm, and vectors get AdamW")


def scale_by_mars(
    b1: Any = 0.95,
    b2: Any = 0.99,
    gamma: Any = 0.025,
    mars_type: str = "adamw",
    optimize_1d: bool = False,
    b1_1d: Any = 0.9,
    b2_1d: Any = 0.95,
    eps: Any = 1e-8,
    ams_bound: bool = False,
) -> GradientTransformation:
    r"""MARS' direction ``u_t`` (see module docstring), not scaled by a rate, not negated.

    Args:
      b1, b2: moment decays for matrices (all leaves with ``optimize_1d``), in [0, 1).
      gamma: strength of the gradient correction, >= 0.
      mars_type: ``'adamw'``, ``'lion'`` or ``'shampoo'`` (matrices step along the
        Newton–Schulz orthogonalised momentum).
      optimize_1d: correct scalars and vectors too (else they get plain Adam with the ``_1d``
        betas).
      b1_1d, b2_1d: moment decays for scalars and vectors, in [0, 1).
      eps: added to the root, >= 0.
      ams_bound: divide by the running maximum of the second moment.

    Returns:
      A ``GradientTransformation`` with state ``ScaleByMarsState``.

    Raises:
      ValueError: for a bad argument.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.scale_by_mars()
      >>> g = {"w": jnp.array([[0.5, -2.0]]), "b": jnp.array([0.1])}
      >>> u, _ = tx.update(g, tx.init(g))
      >>> print(u["w"].round(3), u["b"].round(3))
      [[ 1. -1.]] [1.]
      >>> tx = zoo.scale_by_mars(mars_type="shampoo")  # singular values 3 and 1 both go near 1
      >>> u, _ = tx.update({"w": jnp.array([[3.0, 0.0], [0.0, 1.0]])}, tx.init({"w": jnp.zeros((2, 2))}))
      >>> print(u["w"].round(2))
      [[0.75 0.  ]
       [0.   1.13]]

    References:
      Yuan, Liu, Wu, Zhou, Gu & Zhang, `MARS: Unleashing the Power of Variance Reduction for
      Training Large Models <https://arxiv.org/abs/2411.10438>`_, 2024.
    """
    fn = "scale_by_mars"
    _check(fn, b1, b2, gamma, mars_type, b1_1d, b2_1d, eps)
    return _scale_by_mars(fn, b1, b2, gamma, mars_type, optimize_1d, b1_1d, b2_1d, eps, ams_bound)


def _mars_step(lr, lr_1d, wd, wd_1d, decouple, fixed_decay, optimize_1d) -> GradientTransformation:
    """``p <- p (1 - wd * lr) - lr * u`` per leaf, with the matrix or the 1-D rate and decay."""

    def init_fn(params):
        del params
        return _numerics.zero_count()

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        count = _numerics.safe_increment(state)
        rates = (_numerics.value_at(lr, state), _numerics.value_at(lr_1d, state))
        decays = (wd, wd_1d) if decouple else (0.0, 0.0)
        need = any(not (isinstance(d, (int, float)) and d == 0.0) for d in decays)
        if need:
            _validate.check_params("mars", params, updates, " (for its weight decay)")

        def leaf(u, p):
            if not _numerics.is_trained(u):  # integer/bool leaves are not trained
                return jnp.zeros_like(u)
            i = 0 if _is_matrix(u, optimize_1d) else 1
            rate, decay = rates[i], decays[i]
            if isinstance(decay, (int, float)) and decay == 0.0:
                return (-rate * u).astype(u.dtype)
            new_p = p * (1.0 - decay * (1.0 if fixed_decay else rate)) - rate * u
            return (new_p - p).astype(u.dtype)

        out = (tree_map(leaf, updates, params, where="mars", names=("updates", "params")) if need
               else tree_map(lambda u: leaf(u, None), updates))
        return out, count

    return _packable.per_leaf(GradientTransformation(init_fn, update_fn), "mars",
                              "matrices and vectors have their own rates")


def mars(
    learning_rate: ScalarOrSchedule = 3e-3,
    b1: Any = 0.95,
    b2: Any = 0.99,
    gamma: Any = 0.025,
    mars_type: str = "adamw",
    optimize_1d: bool = False,
    learning_rate_1d: ScalarOrSchedule = 3e-3,
    b1_1d: Any = 0.9,
    b2_1d: Any = 0.95,
    weight_decay: Any = 0.0,
    weight_decay_1d: Any = 0.1,
    weight_decouple: bool = True,
    fixed_decay: bool = False,
    ams_bound: bool = False,
    eps: Any = 1e-8,
    cautious: bool = False,
) -> GradientTransformation:
    r"""MARS (see module docstring), pytorch_optimizer's defaults.

    Args:
      learning_rate: rate of the matrices (all leaves with ``optimize_1d``), a float >= 0 or a
        schedule.
      b1, b2, gamma, mars_type, optimize_1d, b1_1d, b2_1d, ams_bound, eps: as in
        ``scale_by_mars``.
      learning_rate_1d: rate of scalars and vectors (unless ``optimize_1d``).
      weight_decay: weight decay of the matrices, >= 0.
      weight_decay_1d: weight decay of scalars and vectors, >= 0 (default 0.1, as the reference).
      weight_decouple: decoupled (AdamW) decay; else coupled, which (as in the reference) only
        reaches the stored previous gradient.
      fixed_decay: decay by ``weight_decay`` instead of ``weight_decay * learning_rate``.
      cautious: the cautious mask of ``zoo.cautious`` on the momentum, before the division (and
        before the sign in ``'lion'`` mode), as the reference's ``cautious=True``.

    Returns:
      A ``GradientTransformation``; its update needs ``params`` when a weight decay is > 0.

    Raises:
      ValueError: for a bad argument.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = {"w": jnp.ones((2, 2)), "b": jnp.ones(2)}
      >>> tx = zoo.mars(0.05, learning_rate_1d=0.05)
      >>> state = tx.init(params)
      >>> loss = lambda p: jnp.sum(p["w"] ** 2) + jnp.sum(p["b"] ** 2)
      >>> update = jax.jit(tx.update)  # one compile for all steps
      >>> for _ in range(60):
      ...     updates, state = update(jax.grad(loss)(params), state, params)
      ...     params = zoo.apply_updates(params, updates)
      >>> print(float(loss(params)) < 0.1)
      True

    References:
      Yuan, Liu, Wu, Zhou, Gu & Zhang, `MARS: Unleashing the Power of Variance Reduction for
      Training Large Models <https://arxiv.org/abs/2411.10438>`_, 2024.
    """
    fn = "mars"
    _validate.check_learning_rate(fn, learning_rate)
    _validate.check_learning_rate(fn, learning_rate_1d, "learning_rate_1d")
    _check(fn, b1, b2, gamma, mars_type, b1_1d, b2_1d, eps)
    _validate.check_nonnegative(fn, "weight_decay", weight_decay)
    _validate.check_nonnegative(fn, "weight_decay_1d", weight_decay_1d)
    coupled = None if weight_decouple else (weight_decay, weight_decay_1d)
    return chain(
        _scale_by_mars("scale_by_mars", b1, b2, gamma, mars_type, optimize_1d, b1_1d, b2_1d, eps, ams_bound, coupled,
                       cautious),
        _mars_step(learning_rate, learning_rate_1d, weight_decay, weight_decay_1d, weight_decouple, fixed_decay,
                   optimize_1d),
    )
