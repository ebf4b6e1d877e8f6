r"""Sophia: a clipped, diagonally preconditioned momentum step with a rarely refreshed Hessian.

With :math:`g_t` the gradient, :math:`h_t` an exponential average of estimates of the Hessian
diagonal refreshed every ``update_interval`` (:math:`k`) steps, and the learning rate
:math:`\eta_t`:

.. math::

   m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad
   u_t = \operatorname{clip}\Big(\frac{m_t}{\max(\gamma h, \epsilon)},\ \pm\rho\Big), \qquad
   \theta_{t+1} = \theta_t - \eta_t (u_t + \lambda \theta_t),

with :math:`\rho` = ``clip_threshold`` (``None``: no clipping). On the steps
:math:`t = 0, k, 2k, \dots` (counting from 0) the diagonal is re-estimated *after* the step,
:math:`h \leftarrow \beta_2 h + (1-\beta_2)\hat h`, so the first step uses :math:`h = 0`
(a clipped sign step) and each estimate serves the next :math:`k` steps — optax's schedule.
(The paper's Algorithm 3 uses each estimate at the step that makes it; the authors' training
script makes the first one after :math:`k` steps; optax's lies between and is kept.)

The default estimator, ``hutchinson_estimator_diag_hessian``, is Hutchinson's
:math:`\hat h = u \odot (\nabla^2 f\, u)` with a Rademacher :math:`u` (optax's choice; the paper's
Sophia-H draws :math:`u` from a normal); it needs the loss as a function of the params:
``tx.update(grads, state, params, obj_fn=lambda p: loss(p, batch))``. Its key is split at
every estimate exactly as optax splits it, so the same key gives optax's very signs.

**Where this departs from optax** (``optax.contrib.sophia``): optax bias-corrects the
momentum, :math:`m_t / (1-\beta_1^t)`; the paper (Algorithm 3) and the authors' code
(Liuhong99/Sophia, ``SophiaG.step``) do not, so the zoo's default is
``bias_correction=False``. With ``bias_correction=True`` (a zoo-only keyword) it is optax's
sophia exactly (tested). ``weight_decay`` is decoupled, multiplied by the learning rate, as
in both.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, ScalarOrSchedule, with_extra_args_support
from .._tree import tree_map
from ._alias import adaptive_alias


class HutchinsonState(NamedTuple):
    """State of ``hutchinson_estimator_diag_hessian`` (optax's ``HutchinsonState``)."""

    key: jax.Array


def hutchinson_estimator_diag_hessian(random_seed: jax.Array | None = None) -> GradientTransformation:
    r"""Hutchinson's estimate of the Hessian diagonal, ``u * (H u)`` with Rademacher ``u``.

    Its update ignores the gradients and needs ``params`` and ``obj_fn`` (the loss as a
    function of the params alone); the Hessian-vector product is forward-over-reverse
    (``jax.jvp`` of ``jax.grad(obj_fn)``). The key is split once per estimate and the signs
    drawn as optax draws them, so the same ``random_seed`` gives optax's estimates.

    Args:
      random_seed: a PRNG key (``None``: ``jax.random.PRNGKey(0)``, as optax).

    Returns:
      A ``GradientTransformation`` with state ``HutchinsonState``.

    Raises:
      ValueError: at update, without ``params`` or ``obj_fn``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.hutchinson_estimator_diag_hessian()
      >>> p = jnp.array([1.0, 2.0])
      >>> h, _ = tx.update(p, tx.init(p), p, obj_fn=lambda x: jnp.sum(3.0 * x ** 2))
      >>> print(h)  # exact for a diagonal Hessian
      [6. 6.]

    References:
      Hutchinson, `A stochastic estimator of the trace of the influence matrix for Laplacian
      smoothing splines <https://doi.org/10.1080/03610918908812806>`_, 1989.
    """
    fn = "hutchinson_estimator_diag_hessian"

    def init_fn(params):
        del params
        key = jax.random.PRNGKey(0) if random_seed is None else random_seed
        return HutchinsonState(key=jnp.copy(key))  # a copy: the state never holds the caller's buffer

    def update_fn(updates, state, params=None, obj_fn=None, **extra_args):
        del updates, extra_args
        if params is None:
            raise ValueError(f"{_validate.PREFIX}{fn}: update needs `params` (the Hessian is taken there).")
        if obj_fn is None:
            raise ValueError(f"{_validate.PREFIX}{fn}: update needs `obj_fn=`, the loss as a function of the "
                             "params alone (e.g. lambda p: loss(p, batch)).")
        key, subkey = jax.random.split(state.key)
        leaves, treedef = jax.tree.flatten(params)
        keys = jax.random.split(subkey, treedef.num_leaves)
        dtype = _numerics.scalar_dtype(params)
        signs = [jax.random.rademacher(k, jnp.shape(x), jnp.float32).astype(dtype) for k, x in zip(keys, leaves)]
        signs = jax.tree.unflatten(treedef, signs)
        hvp = jax.jvp(jax.grad(obj_fn), (params,), (signs,))[1]
        return jax.tree.map(lambda h, r: h * r, hvp, signs), HutchinsonState(key=key)

    return _packable.per_leaf(GradientTransformation(init_fn, update_fn), fn, "it draws one key per leaf")


# optax's default estimator (seed 0), one instance as in optax's signature; stateless itself
# (its key lives in each optimizer's state), so sharing it is safe.
_HUTCHINSON = hutchinson_estimator_diag_hessian()


class SophiaState(NamedTuple):
    """State of ``scale_by_sophia`` (optax's ``SophiaState``)."""

    count: jax.Array
    mu: Any  # momentum
    nu: Any  # average of the Hessian-diagonal estimates
    hessian_fn_state: Any


def _check(fn: str, b1, b2, eps, gamma, clip_threshold, update_interval) -> None:
    _validate.check_decay(fn, "b1", b1)
    _validate.check_decay(fn, "b2", b2)
    _validate.check_nonnegative(fn, "eps", eps)
    _validate.check_nonnegative(fn, "gamma", gamma)
    if clip_threshold is not None:
        _validate.check_positive(fn, "clip_threshold", clip_threshold)
    _validate.check_int(fn, "update_interval", update_interval, lo=1)


def scale_by_sophia(
    b1: Any = 0.965,
    b2: Any = 0.99,
    eps: Any = 1e-8,
    gamma: Any = 0.01,
    clip_threshold: Any | None = 1.0,
    update_interval: int = 10,
    hessian_diagonal_fn: GradientTransformation = _HUTCHINSON,
    mu_dtype: Any | None = None,
    verbose: bool = False,
    print_win_rate_every_n_steps: int = 0,
    *,
    bias_correction: bool = False,
) -> GradientTransformation:
    r"""Sophia's scaling: ``clip(m / max(gamma h, eps), ±clip_threshold)`` (see module docstring).

    Extra keyword arguments of ``update`` (``obj_fn=`` for the default estimator) go to
    ``hessian_diagonal_fn``.

    Args:
      b1: decay of the momentum, in [0, 1).
      b2: decay of the Hessian-diagonal average, in [0, 1) (per estimate: every
        ``update_interval`` steps).
      eps: the floor of the denominator, >= 0.
      gamma: the factor on the Hessian diagonal, >= 0.
      clip_threshold: clip each coordinate of the step to this, > 0; ``None``: no clipping.
      update_interval: steps between Hessian estimates, an integer >= 1.
      hessian_diagonal_fn: a transformation whose update returns a Hessian-diagonal estimate
        (default: Hutchinson's with seed 0). With several devices it must average the estimate.
      mu_dtype: the momentum's dtype (``None``: the params').
      verbose: print the fraction of unclipped coordinates every
        ``print_win_rate_every_n_steps`` steps (the authors advise 0.1 to 0.5).
      print_win_rate_every_n_steps: see ``verbose``.
      bias_correction: divide the momentum by ``1 - b1^t`` as optax does (zoo-only; the
        paper and the authors' code do not: default False).

    Returns:
      A ``GradientTransformation`` with state ``SophiaState``; its update needs ``params``.

    Raises:
      ValueError: for a bad argument; at update, without ``params`` (or what the estimator needs).

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.scale_by_sophia()
      >>> p = jnp.array([1.0, -2.0])
      >>> u, state = tx.update(p, tx.init(p), p, obj_fn=lambda x: jnp.sum(x ** 2))
      >>> print(u)  # h = 0 at the first step: a clipped sign step
      [ 1. -1.]

    References:
      Liu, Li, Hall, Liang & Ma, `Sophia: A Scalable Stochastic Second-order Optimizer for
      Language Model Pre-training <https://arxiv.org/abs/2305.14342>`_, 2023.
    """
    fn = "scale_by_sophia"
    _check(fn, b1, b2, eps, gamma, clip_threshold, update_interval)
    if verbose:
        _validate.check_int(fn, "print_win_rate_every_n_steps", print_win_rate_every_n_steps, lo=1)
    mu_dtype = _numerics.canonical_dtype(mu_dtype)
    hess = with_extra_args_support(hessian_diagonal_fn)

    def init_fn(params):
        return SophiaState(
            count=_numerics.zero_count(),
            mu=_numerics.zeros_like(params, dtype=mu_dtype),
            nu=_numerics.zeros_like(params),
            hessian_fn_state=hess.init(params),
        )

    def update_fn(updates, state, params=None, **hess_kwargs):
        _validate.check_params(fn, params, updates, " (the Hessian is estimated there)")
        count_inc = _numerics.safe_increment(state.count)
        grads = updates
        mu = _numerics.update_moment(updates, state.mu, b1, 1, where=fn)
        mu_hat = _numerics.bias_correction(mu, b1, count_inc) if bias_correction else mu
        out = tree_map(lambda m, h: m / jnp.maximum(gamma * h, eps), mu_hat, state.nu, where=fn,
                       names=("mu", "state.nu"))
        if clip_threshold is not None:
            if verbose:
                kept = sum(jnp.sum(jnp.abs(u) < clip_threshold) for u in jax.tree.leaves(out))
                size = sum(jnp.size(u) for u in jax.tree.leaves(out))
                jax.lax.cond(count_inc % print_win_rate_every_n_steps == 0,
                             lambda: jax.debug.print("Sophia optimizer win rate: {}", kept / size), lambda: None)
            out = jax.tree.map(lambda u: jnp.clip(u, -clip_threshold, clip_threshold), out)
        out = jax.tree.map(lambda u, p: u.astype(p.dtype), out, params)

        def refresh(hess_state, nu):
            diag, hess_state = hess.update(grads, hess_state, params=params, **hess_kwargs)
            nu = _numerics.keep_dtype(_numerics.update_moment(diag, nu, b2, 1, where=fn), nu)
            return hess_state, nu

        hess_state, nu = jax.lax.cond(state.count % update_interval == 0, refresh, lambda h, n: (h, n),
                                      state.hessian_fn_state, state.nu)
        return out, SophiaState(count_inc, _numerics.keep_dtype(mu, state.mu), nu, hess_state)

    # elementwise itself: packable exactly when its Hessian estimator is
    return _packable.composite(GradientTransformation(init_fn, update_fn), hessian_diagonal_fn)


def sophia(
    learning_rate: ScalarOrSchedule,
    b1: Any = 0.965,
    b2: Any = 0.99,
    eps: Any = 1e-8,
    weight_decay: Any = 1e-4,
    weight_decay_mask: Any | Callable[[Any], Any] | None = None,
    gamma: Any = 0.01,
    clip_threshold: Any | None = 1.0,
    update_interval: int = 10,
    hessian_diagonal_fn: GradientTransformation = _HUTCHINSON,
    mu_dtype: Any | None = None,
    verbose: bool = False,
    print_win_rate_every_n_steps: int = 0,
    *,
    bias_correction: bool = False,
) -> GradientTransformation:
    r"""Sophia (Sophia-H by default): update with ``obj_fn=`` (see module docstring).

    ``chain(scale_by_sophia(...), add_decayed_weights(weight_decay, weight_decay_mask),
    scale_by_learning_rate(learning_rate))``.

    Args:
      learning_rate: a float >= 0 or a schedule.
      b1, b2, eps, gamma, clip_threshold, update_interval: as in ``scale_by_sophia``.
      hessian_diagonal_fn, mu_dtype, verbose: as in ``scale_by_sophia``.
      print_win_rate_every_n_steps, bias_correction: as in ``scale_by_sophia``.
      weight_decay: the decoupled decay rate, >= 0.
      weight_decay_mask: where to apply weight decay, as in ``add_decayed_weights``.

    Returns:
      A ``GradientTransformation``; its update needs ``params`` and (default estimator)
      ``obj_fn=``, the loss as a function of the params alone.

    Raises:
      ValueError: for a bad argument; at update, without ``params`` or ``obj_fn``.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> f = lambda x: jnp.sum(x ** 2)
      >>> params = jnp.array([1.0, 2.0, 3.0])
      >>> tx = zoo.sophia(0.1)
      >>> state = tx.init(params)
      >>> updates, state = tx.update(jax.grad(f)(params), state, params, obj_fn=f)
      >>> print(updates.round(3))  # h = 0 at first: -lr * sign(m), plus the tiny decay
      [-0.1 -0.1 -0.1]
      >>> print(state[0].nu)  # the first estimate (exact here), weighted by 1 - b2
      [0.02 0.02 0.02]

    References:
      Liu, Li, Hall, Liang & Ma, `Sophia: A Scalable Stochastic Second-order Optimizer for
      Language Model Pre-training <https://arxiv.org/abs/2305.14342>`_, 2023.
    """
    fn = "sophia"
    _validate.check_learning_rate(fn, learning_rate)
    _check(fn, b1, b2, eps, gamma, clip_threshold, update_interval)
    _validate.check_nonnegative(fn, "weight_decay", weight_decay)
    return adaptive_alias(
        scale_by_sophia(b1, b2, eps, gamma, clip_threshold, update_interval, hessian_diagonal_fn, mu_dtype,
                        verbose, print_win_rate_every_n_steps, bias_correction=bias_correction),
        learning_rate, weight_decay, weight_decay_mask)
