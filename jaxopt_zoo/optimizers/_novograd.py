r"""NovoGrad: layer-wise second moments, and the weight decay inside the momentum.

Per leaf (layer) :math:`l`, with :math:`v` one scalar per leaf:

.. math::

   v^l_1 = \|g^l_1\|^2, \qquad v^l_t = \beta_2 v^l_{t-1} + (1-\beta_2) \|g^l_t\|^2,

   m^l_1 = \frac{g^l_1}{\sqrt{v^l_1 + \epsilon_{root}} + \epsilon} + \lambda p^l, \qquad
   m^l_t = \beta_1 m^l_{t-1} + \frac{g^l_t}{\sqrt{v^l_t + \epsilon_{root}} + \epsilon} + \lambda p^l,

   p^l_{t} = p^l_{t-1} - \eta_t m^l_t.

The first step initialises :math:`v` with the squared norm itself (no zero start, hence no
bias correction), and the momentum carries no :math:`(1-\beta_1)` factor: both as in the
paper's Algorithm 1 and in ``optax.novograd``, which this is tested equal to. The momentum
buffer holds ``mu_dtype``; the first-step branch is taken by value (``where``), so the step
compiles to one program.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, ScalarOrSchedule
from .._tree import tree_map, unzip
from ._alias import adaptive_alias


class ScaleByNovogradState(NamedTuple):
    """State of ``scale_by_novograd``."""

    count: jax.Array  # int32 scalar
    mu: Any  # the momentum, like params (dtype ``mu_dtype``)
    nu: Any  # one scalar per leaf: the EMA of the leaf's squared gradient norm


def _check(fn: str, b1: Any, b2: Any, eps: Any, eps_root: Any, weight_decay: Any) -> None:
    _validate.check_decay(fn, "b1", b1)
    _validate.check_decay(fn, "b2", b2)
    for arg, value in (("eps", eps), ("eps_root", eps_root), ("weight_decay", weight_decay)):
        _validate.check_nonnegative(fn, arg, value)
    if callable(weight_decay):
        _validate.fail(fn, "weight_decay", weight_decay, "must be a number (optax's NovoGrad takes no schedule here)")


def scale_by_novograd(
    b1: Any = 0.9,
    b2: Any = 0.25,
    eps: Any = 1e-8,
    eps_root: Any = 0.0,
    weight_decay: Any = 0.0,
    mu_dtype: Any = None,
) -> GradientTransformation:
    r"""NovoGrad's momentum of layer-normalised gradients (see module docstring).

    Args:
      b1: the momentum decay, in [0, 1).
      b2: decay of the per-leaf squared gradient norm, in [0, 1).
      eps: added to the root, >= 0.
      eps_root: added inside the root, >= 0.
      weight_decay: ``\lambda``, >= 0, added inside the momentum.
      mu_dtype: dtype of the momentum (``None``: that of the params).

    Returns:
      A ``GradientTransformation`` with state ``ScaleByNovogradState``; its update needs
      ``params``.

    Raises:
      ValueError: for a bad argument, or when ``params`` is missing.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.scale_by_novograd()
      >>> p = {"w": jnp.array([3.0, 4.0])}
      >>> u, _ = tx.update({"w": jnp.array([3.0, 4.0])}, tx.init(p), p)
      >>> print(u["w"])  # the gradient divided by its norm 5
      [0.6 0.8]

    References:
      Ginsburg et al., `Stochastic Gradient Methods with Layer-wise Adaptive Moments for
      Training of Deep Networks <https://arxiv.org/abs/1905.11286>`_, 2019.
    """
    fn = "scale_by_novograd"
    _check(fn, b1, b2, eps, eps_root, weight_decay)
    mu_dtype = _numerics.canonical_dtype(mu_dtype)

    def init_fn(params):
        nu = jax.tree.map(lambda p: jnp.asarray(0.0, dtype=p.dtype), params)
        return ScaleByNovogradState(_numerics.zero_count(), _numerics.zeros_like(params, mu_dtype), nu)

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        if params is None and jax.tree.leaves(updates):
            raise ValueError(f"{_validate.PREFIX}{fn}: update needs `params`; call tx.update(updates, state, params).")
        count = _numerics.safe_increment(state.count)
        first = count == 1

        def leaf(g, p, m_old, n):
            sq = jnp.linalg.norm(g) ** 2
            n = jnp.where(first, sq.astype(n.dtype), (1 - b2) * sq + b2 * n)
            add = g / (jnp.sqrt(n + eps_root) + eps) + weight_decay * p
            m = jnp.where(first, add, b1 * m_old + add)
            m = m.astype(m_old.dtype)  # the buffer's dtype: mu_dtype, else the params'
            return m, n

        out = tree_map(leaf, updates, params, state.mu, state.nu, where=fn,
                       names=("updates", "params", "state.mu", "state.nu"))
        mu, nu = unzip(out, 2)
        return mu, ScaleByNovogradState(count, mu, _numerics.keep_dtype(nu, state.nu))

    return _packable.per_leaf(GradientTransformation(init_fn, update_fn), "scale_by_novograd", "its second moment is one number per leaf")


def novograd(
    learning_rate: ScalarOrSchedule,
    b1: Any = 0.9,
    b2: Any = 0.25,
    eps: Any = 1e-6,
    eps_root: Any = 0.0,
    weight_decay: Any = 0.0,
) -> GradientTransformation:
    r"""NovoGrad: ``p <- p - lr_t * m_t`` with NovoGrad's momentum (see module docstring).

    ``chain(scale_by_novograd(b1, b2, eps, eps_root, weight_decay), scale_by_learning_rate(lr))``;
    note ``eps`` defaults to 1e-6 here and 1e-8 in ``scale_by_novograd``, as in optax.

    Args:
      learning_rate: a float >= 0 or a schedule.
      b1, b2, eps, eps_root, weight_decay: as in ``scale_by_novograd``.

    Returns:
      A ``GradientTransformation``; its update needs ``params``.

    Raises:
      ValueError: for a negative learning rate or a bad argument.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = jnp.array([1.0, 2.0, 3.0])
      >>> tx = zoo.novograd(0.1)
      >>> state = tx.init(params)
      >>> for _ in range(30):
      ...     grads = jax.grad(lambda p: jnp.sum(p ** 2))(params)
      ...     updates, state = tx.update(grads, state, params)
      ...     params = zoo.apply_updates(params, updates)
      >>> print(float(jnp.sum(params ** 2)) < 1.0)
      True

    References:
      Ginsburg et al., `Stochastic Gradient Methods with Layer-wise Adaptive Moments for
      Training of Deep Networks <https://arxiv.org/abs/1905.11286>`_, 2019.
      Li et al., `Jasper: An End-to-End Convolutional Neural Acoustic Model
      <https://arxiv.org/abs/1904.03288>`_, 2019.
    """
    _validate.check_learning_rate("novograd", learning_rate)
    _check("novograd", b1, b2, eps, eps_root, weight_decay)
    return adaptive_alias(scale_by_novograd(b1, b2, eps, eps_root, weight_decay), learning_rate)
