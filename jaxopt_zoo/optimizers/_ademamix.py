r"""AdEMAMix: Adam with a second, slow momentum mixed in; and its simplified form.

AdEMAMix keeps Adam's fast EMA :math:`m_1` and second moment :math:`\nu` and adds a slow EMA
:math:`m_2` (decay :math:`\beta_3` close to 1) that remembers gradients tens of thousands of
steps old:

.. math::

   m_{1,t} = \beta_1 m_{1,t-1} + (1-\beta_1) g_t, \quad
   m_{2,t} = \beta_3 m_{2,t-1} + (1-\beta_3) g_t, \quad
   \nu_t = \beta_2 \nu_{t-1} + (1-\beta_2) g_t^2,

   u_t = -\eta_t\Big(\frac{m_{1,t}/(1-\beta_1^t) + \alpha\, m_{2,t}}
   {\sqrt{\nu_t/(1-\beta_2^t) + \bar\epsilon} + \epsilon} + \lambda p_{t-1}\Big).

The slow EMA is not bias-corrected (a large :math:`\alpha` on a barely filled :math:`m_2` is
the point: the paper warms :math:`\alpha` and :math:`\beta_3` up with schedules, which
``alpha`` and ``b3`` accept, evaluated at the 0-based step count as every optax schedule).
This is ``optax.contrib.ademamix`` (tested equal), which follows the authors' optax code
(`apple/ml-ademamix <https://github.com/apple/ml-ademamix>`_, ``optax/ademamix.py``); their
PyTorch version computes the same update, with the weight decay ``p <- p (1 - \eta\lambda)``
that the chain here gives too. optax's defaults differ between the two functions
(``alpha=6.0`` for ``scale_by_ademamix``, ``5.0`` for ``ademamix``); they are kept as optax has
them. The second moment is stored in ``mu_dtype`` too, as in optax.

Simplified AdEMAMix (Morwani et al. 2025) drops the fast EMA and uses an un-normalised
momentum :math:`m_t = \beta_1 m_{t-1} + g_t` with the current gradient mixed in:
:math:`u_t = -\eta_t\big((m_t + \alpha g_t)/(\sqrt{\hat\nu_t + \bar\epsilon} + \epsilon)
+ \lambda p_{t-1}\big)`, :math:`\hat\nu_t = \nu_t/(1-\beta_2^t)`; it is
``optax.contrib.simplified_ademamix`` (tested equal).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, ScalarOrSchedule
from .._tree import tree_map
from ._alias import adaptive_alias



class ScaleByAdemamixState(NamedTuple):
    """State of ``scale_by_ademamix``: step counts, fast and slow EMAs, second moment."""

    count: Any
    count_m2: Any
    m1: Any
    m2: Any
    nu: Any


class ScaleBySimplifiedAdEMAMixState(NamedTuple):
    """State of ``scale_by_simplified_ademamix``: step count, momentum, second moment."""

    t: Any
    m: Any
    n: Any


def _check(fn: str, b1: Any, b2: Any, eps: Any, eps_root: Any, b3: Any = None, alpha: Any = None) -> None:
    _validate.check_decay(fn, "b1", b1)
    _validate.check_decay(fn, "b2", b2)
    if b3 is not None and not callable(b3):
        _validate.check_decay(fn, "b3", b3)
    if alpha is not None and not callable(alpha):
        _validate.check_nonnegative(fn, "alpha", alpha)
    _validate.check_nonnegative(fn, "eps", eps)
    _validate.check_nonnegative(fn, "eps_root", eps_root)


def scale_by_ademamix(
    b1: Any = 0.9,
    b2: Any = 0.999,
    b3: ScalarOrSchedule = 0.9999,
    alpha: ScalarOrSchedule = 6.0,
    eps: Any = 1e-8,
    eps_root: Any = 0.0,
    mu_dtype: Any = None,
) -> GradientTransformation:
    r"""AdEMAMix's direction ``(\hat m_1 + alpha m_2) / (\sqrt{\hat\nu + eps_root} + eps)``.

    Args:
      b1: decay of the fast EMA, in [0, 1).
      b2: decay of the second moment, in [0, 1).
      b3: decay of the slow EMA, in [0, 1), or a schedule of the step count.
      alpha: weight of the slow EMA, >= 0, or a schedule of the step count.
      eps: added to the root, >= 0.
      eps_root: added inside the root, >= 0.
      mu_dtype: dtype of the three accumulators (``None``: the parameters').

    Returns:
      A ``GradientTransformation`` with state ``ScaleByAdemamixState``.

    Raises:
      ValueError: for a decay outside [0, 1) or a negative ``alpha``, ``eps`` or ``eps_root``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.scale_by_ademamix(alpha=5.0)
      >>> g = jnp.array([0.5, -2.0])
      >>> u, _ = tx.update(g, tx.init(g))
      >>> print(u.round(4))  # (g + 5 * 1e-4 * g) / |g|
      [ 1.0005 -1.0005]

    References:
      Pagliardini, Ablin & Grangier, `The AdEMAMix Optimizer: Better, Faster, Older
      <https://arxiv.org/abs/2409.03137>`_, 2024.
    """
    fn = "scale_by_ademamix"
    _check(fn, b1, b2, eps, eps_root, b3, alpha)
    mu_dtype = _numerics.canonical_dtype(mu_dtype)

    def init_fn(params):
        return ScaleByAdemamixState(
            _numerics.zero_count(), _numerics.zero_count(), _numerics.zeros_like(params, dtype=mu_dtype),
            _numerics.zeros_like(params, dtype=mu_dtype), _numerics.zeros_like(params, dtype=mu_dtype))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        b3_t = _numerics.value_at(b3, state.count_m2)
        alpha_t = _numerics.value_at(alpha, state.count_m2)
        m1 = _numerics.update_moment(updates, state.m1, b1, 1, where=fn)
        m2 = _numerics.update_moment(updates, state.m2, b3_t, 1, where=fn)
        nu = _numerics.update_moment_per_elem_norm(updates, state.nu, b2, 2, where=fn)
        count = _numerics.safe_increment(state.count)
        m1_hat = _numerics.bias_correction(m1, b1, count)
        nu_hat = _numerics.bias_correction(nu, b2, count)
        out = tree_map(lambda g, a, b, v: ((a + alpha_t * b) / (jnp.sqrt(v + eps_root) + eps)).astype(g.dtype),
                       updates, m1_hat, m2, nu_hat)
        return out, ScaleByAdemamixState(
            count, _numerics.safe_increment(state.count_m2), _numerics.keep_dtype(m1, state.m1),
            _numerics.keep_dtype(m2, state.m2), _numerics.keep_dtype(nu, state.nu))

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def ademamix(
    learning_rate: ScalarOrSchedule,
    b1: Any = 0.9,
    b2: Any = 0.999,
    b3: ScalarOrSchedule = 0.9999,
    alpha: ScalarOrSchedule = 5.0,
    eps: Any = 1e-8,
    eps_root: Any = 0.0,
    mu_dtype: Any = None,
    weight_decay: Any = 0.0,
    mask: Any | Callable[[Any], Any] | None = None,
) -> GradientTransformation:
    r"""AdEMAMix: Adam plus a slow momentum weighted by ``alpha`` (see the module docstring).

    ``chain(scale_by_ademamix(...), add_decayed_weights(weight_decay, mask),
    scale_by_learning_rate(learning_rate))``.

    Args:
      learning_rate: a float >= 0 or a schedule.
      b1, b2, b3, alpha, eps, eps_root, mu_dtype: as in ``scale_by_ademamix`` (``alpha``
        defaults to 5.0 here, as in optax).
      weight_decay: decoupled weight decay (multiplied by the learning rate), >= 0.
      mask: where to apply weight decay, as in ``add_decayed_weights``.

    Returns:
      A ``GradientTransformation``.

    Raises:
      ValueError: for a negative learning rate or a bad argument.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> f = lambda x: jnp.sum((x - 1.0) ** 2)
      >>> params, tx = jnp.array([3.0, -2.0]), zoo.ademamix(0.05, b3=0.99, alpha=2.0)
      >>> state = tx.init(params)
      >>> update = jax.jit(tx.update)  # one compile for all steps
      >>> for _ in range(200):
      ...     updates, state = update(jax.grad(f)(params), state, params)
      ...     params = zoo.apply_updates(params, updates)
      >>> print(f"{f(jnp.array([3.0, -2.0])):.1f} -> {float(f(params)) < 0.05}")
      13.0 -> True

    References:
      Pagliardini, Ablin & Grangier, `The AdEMAMix Optimizer: Better, Faster, Older
      <https://arxiv.org/abs/2409.03137>`_, 2024.
    """
    fn = "ademamix"
    _validate.check_learning_rate(fn, learning_rate)
    _check(fn, b1, b2, eps, eps_root, b3, alpha)
    _validate.check_nonnegative(fn, "weight_decay", weight_decay)
    return adaptive_alias(scale_by_ademamix(b1, b2, b3, alpha, eps, eps_root, mu_dtype), learning_rate, weight_decay, mask)




def scale_by_simplified_ademamix(
    b1: Any = 0.99,
    b2: Any = 0.95,
    alpha: ScalarOrSchedule = 0.0,
    eps: Any = 1e-8,
    eps_root: Any = 0.0,
) -> GradientTransformation:
    r"""Simplified AdEMAMix's direction ``(m + alpha g) / (\sqrt{\hat\nu + eps_root} + eps)``.

    ``m <- b1 m + g`` (no ``1 - b1`` factor) and Adam's bias-corrected second moment.

    Args:
      b1: decay of the momentum, in [0, 1).
      b2: decay of the second moment, in [0, 1).
      alpha: weight of the current gradient, >= 0, or a schedule of the step count.
      eps: added to the root, >= 0.
      eps_root: added inside the root, >= 0.

    Returns:
      A ``GradientTransformation`` with state ``ScaleBySimplifiedAdEMAMixState``.

    Raises:
      ValueError: for a decay outside [0, 1) or a negative ``alpha``, ``eps`` or ``eps_root``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.scale_by_simplified_ademamix(alpha=1.0)
      >>> g = jnp.array([0.5, -2.0])
      >>> u, _ = tx.update(g, tx.init(g))
      >>> print(u.round(4))  # (g + g) / |g|
      [ 2. -2.]

    References:
      Morwani et al., `Connections between Schedule-Free Optimizers, AdEMAMix,
      and Accelerated SGD Variants <https://arxiv.org/abs/2502.02431>`_, 2025.
    """
    fn = "scale_by_simplified_ademamix"
    _check(fn, b1, b2, eps, eps_root, alpha=alpha)

    def init_fn(params):
        return ScaleBySimplifiedAdEMAMixState(_numerics.zero_count(), _numerics.zeros_like(params),
                                              _numerics.zeros_like(params))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        alpha_t = _numerics.value_at(alpha, state.t)
        m = tree_map(lambda g, m: b1 * m + g, updates, state.m, where=fn, names=("updates", "state.m"))
        n = _numerics.update_moment_per_elem_norm(updates, state.n, b2, 2, where=fn)
        t = _numerics.safe_increment(state.t)
        n_hat = _numerics.bias_correction(n, b2, t)
        out = tree_map(lambda g, m_, v: ((m_ + alpha_t * g) / (jnp.sqrt(v + eps_root) + eps)).astype(g.dtype),
                       updates, m, n_hat)
        return out, ScaleBySimplifiedAdEMAMixState(t, _numerics.keep_dtype(m, state.m), _numerics.keep_dtype(n, state.n))

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def simplified_ademamix(
    learning_rate: ScalarOrSchedule,
    b1: Any = 0.99,
    b2: Any = 0.95,
    alpha: ScalarOrSchedule = 0.0,
    eps: Any = 1e-8,
    eps_root: Any = 0.0,
    weight_decay: Any = 0.0,
    mask: Any | Callable[[Any], Any] | None = None,
) -> GradientTransformation:
    r"""Simplified AdEMAMix: one un-normalised momentum plus ``alpha`` times the gradient.

    ``chain(scale_by_simplified_ademamix(...), add_decayed_weights(weight_decay, mask),
    scale_by_learning_rate(learning_rate))``. With ``alpha=0`` it is Adam with a rescaled
    learning rate and ``b1``.

    Args:
      learning_rate: a float >= 0 or a schedule.
      b1, b2, alpha, eps, eps_root: as in ``scale_by_simplified_ademamix``.
      weight_decay: decoupled weight decay (multiplied by the learning rate), >= 0.
      mask: where to apply weight decay, as in ``add_decayed_weights``.

    Returns:
      A ``GradientTransformation``.

    Raises:
      ValueError: for a negative learning rate or a bad argument.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> f = lambda x: jnp.sum((x - 1.0) ** 2)
      >>> params, tx = jnp.array([3.0, -2.0]), zoo.simplified_ademamix(5e-3, b1=0.9)
      >>> state = tx.init(params)
      >>> update = jax.jit(tx.update)  # one compile for all steps
      >>> for _ in range(200):
      ...     updates, state = update(jax.grad(f)(params), state, params)
      ...     params = zoo.apply_updates(params, updates)
      >>> print(f"{f(jnp.array([3.0, -2.0])):.1f} -> {float(f(params)) < 0.05}")
      13.0 -> True

    References:
      Morwani et al., `Connections between Schedule-Free Optimizers, AdEMAMix,
      and Accelerated SGD Variants <https://arxiv.org/abs/2502.02431>`_, 2025.
    """
    fn = "simplified_ademamix"
    _validate.check_learning_rate(fn, learning_rate)
    _check(fn, b1, b2, eps, eps_root, alpha=alpha)
    _validate.check_nonnegative(fn, "weight_decay", weight_decay)
    return adaptive_alias(scale_by_simplified_ademamix(b1, b2, alpha, eps, eps_root), learning_rate, weight_decay, mask)
