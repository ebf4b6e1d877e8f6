r"""L-BFGS: limited-memory BFGS directions, with a line search.

With params :math:`w_k`, gradients :math:`u_k`, and the last :math:`m` (``memory_size``)
differences :math:`s_i = w_{i+1} - w_i`, :math:`y_i = u_{i+1} - u_i`,
:math:`\rho_i = 1 / \mathrm{Re}\langle y_i, s_i\rangle` (0 when the product is 0),
``scale_by_lbfgs`` returns :math:`H_k u_k`, the inverse-Hessian approximation

.. math::

   H_k = V_{k-1}^* \cdots V_{k-m}^*\, \gamma_k I\, V_{k-m} \cdots V_{k-1}
         + \sum_{j=k-m}^{k-1} \rho_j\, (V_{k-1}^* \cdots V_{j+1}^*)\, s_j s_j^*\,
           (V_{j+1} \cdots V_{k-1}),
   \qquad V_j = I - \rho_j\, y_j s_j^*,

applied by the two-loop recursion (Nocedal & Wright, algorithm 7.4): newest to oldest
:math:`\alpha_i = \rho_i \mathrm{Re}\langle s_i, q\rangle`, :math:`q \leftarrow q - \alpha_i y_i`;
then :math:`r = \gamma_k q`; oldest to newest
:math:`\beta_i = \rho_i \mathrm{Re}\langle y_i, r\rangle`, :math:`r \leftarrow r + (\alpha_i - \beta_i) s_i`.
The initial scaling (``scale_init_precond``) is
:math:`\gamma_k = \mathrm{Re}\langle s_{k-1}, y_{k-1}\rangle / \|y_{k-1}\|^2` (eq. 7.20; 1 when
:math:`y_{k-1} = 0`), and at the first step :math:`\gamma_0 = \min(1, 1/\|u_0\|)`, so the first
trial step has length at most 1 (a choice of optax's, not in the references); without it
:math:`\gamma_k = 1`. Entries not yet filled are zero and contribute nothing.

``lbfgs`` is ``chain(scale_by_lbfgs, scale(-1) or scale_by_learning_rate(lr), linesearch)``:
the direction :math:`-H_k u_k`, whose step size the line search chooses (by default
``scale_by_zoom_linesearch(max_linesearch_steps=20, initial_guess_strategy='one')``, strong
Wolfe conditions, so that :math:`\langle s_k, y_k\rangle > 0` and :math:`H_k` stays positive
definite). The memory is updated from the params and gradient given at the *next* update,
i.e. after the line search has moved the params, as optax does.

Equal to optax 0.2.8 (``optax.lbfgs``, ``optax.scale_by_lbfgs``), tested over whole
trajectories in ``tests/reference/test_lbfgs.py``. One difference in storage, none in
values: the state holds a copy of the params, not the params' own buffers (donation-safe).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, ScalarOrSchedule, chain, identity
from .._tree import tree_map
from ..transforms._linesearch import add_scale, cast_like
from ..transforms._scaling import scale, scale_by_learning_rate
from ..transforms._zoom import scale_by_zoom_linesearch


class ScaleByLBFGSState(NamedTuple):
    """State of ``scale_by_lbfgs`` (optax's fields).

    Attributes:
      count: steps taken (int32, saturating).
      params: the params at the last update.
      updates: the gradients (incoming updates) at the last update.
      diff_params_memory: the differences :math:`s_i`, stacked on a leading axis of length
        ``memory_size`` (a ring buffer).
      diff_updates_memory: the differences :math:`y_i`, stacked likewise.
      weights_memory: the :math:`\\rho_i`, shape ``(memory_size,)``.
    """

    count: Any
    params: Any
    updates: Any
    diff_params_memory: Any
    diff_updates_memory: Any
    weights_memory: Any


def _real_vdot(x: Any, y: Any) -> jax.Array:
    return jnp.real(_numerics.tree_vdot(x, y))


def _two_loop(updates, s_mem, y_mem, rhos, gamma, newest_next):
    """``H u`` by algorithm 7.4; the buffers' slot ``newest_next - 1`` holds the newest pair."""
    m = rhos.shape[0]
    order = (newest_next + jnp.arange(m)) % m  # oldest ... newest

    def pair(i):
        return jax.tree.map(lambda x: x[i], s_mem), jax.tree.map(lambda x: x[i], y_mem)

    def backward(q, i):
        s, y = pair(i)
        alpha = rhos[i] * _real_vdot(s, q)
        return cast_like(add_scale(q, -alpha, y), q), alpha

    q, alphas = jax.lax.scan(backward, updates, order, reverse=True)
    r = jax.tree.map(lambda x: gamma * x, q)

    def forward(r, i_alpha):
        i, alpha = i_alpha
        s, y = pair(i)
        beta = rhos[i] * _real_vdot(y, r)
        return cast_like(add_scale(r, alpha - beta, s), r), beta

    r, _ = jax.lax.scan(forward, r, (order, alphas))
    return r


def scale_by_lbfgs(memory_size: int = 10, scale_init_precond: bool = True) -> GradientTransformation:
    r"""Multiply the updates by the L-BFGS inverse-Hessian approximation (module docstring).

    Args:
      memory_size: the number :math:`m` of difference pairs kept, an integer >= 1.
      scale_init_precond: start each product from :math:`\gamma_k I` (eq. 7.20) instead of
        :math:`I`.

    Returns:
      A ``GradientTransformation`` with state ``ScaleByLBFGSState``; its update needs
      ``params``.

    Raises:
      ValueError: for a bad argument; at update, when ``params`` is missing.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.scale_by_lbfgs()
      >>> params = jnp.array([3.0, 4.0])
      >>> u, state = tx.update(params, tx.init(params), params)  # first step: u / max(1, |u|)
      >>> print(u)
      [0.6 0.8]

    References:
      Nocedal & Wright, `Numerical Optimization <https://doi.org/10.1007/978-0-387-40065-5>`_,
      2nd ed., 2006, algorithms 7.4 and 7.5.
      Liu & Nocedal, `On the limited memory BFGS method for large scale optimization
      <https://doi.org/10.1007/BF01589116>`_, 1989.
    """
    fn = "scale_by_lbfgs"
    _validate.check_int(fn, "memory_size", memory_size, lo=1)

    def init_fn(params):
        def stack(x):  # shape and dtype only: abstract params (ShapeDtypeStruct) work too
            x = x if hasattr(x, "shape") and hasattr(x, "dtype") else jnp.asarray(x)
            return jnp.zeros((memory_size,) + tuple(x.shape), _numerics.canonical_dtype(x.dtype))

        stacked = jax.tree.map(stack, params)
        return ScaleByLBFGSState(
            count=_numerics.zero_count(),
            params=_numerics.zeros_like(params),
            updates=_numerics.zeros_like(params),
            diff_params_memory=stacked,
            diff_updates_memory=jax.tree.map(jnp.copy, stacked),
            weights_memory=jnp.zeros(memory_size),
        )

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _validate.check_params(fn, params, updates)
        slot = state.count % memory_size  # where the pair made at this step's end would go next
        prev = (state.count - 1) % memory_size
        started = state.count > 0
        s = tree_map(lambda a, b: a - b, params, state.params, where=fn, names=("params", "state.params"))
        y = tree_map(lambda a, b: a - b, updates, state.updates, where=fn, names=("updates", "state.updates"))
        sy = _real_vdot(y, s)
        rho = jnp.where(sy == 0.0, 0.0, 1.0 / sy)
        s, y, rho = jax.tree.map(lambda x: jnp.where(started, x, jnp.zeros_like(x)), (s, y, rho))
        s_mem, y_mem, rhos = jax.tree.map(
            lambda buf, x: buf.at[prev].set(x),
            (state.diff_params_memory, state.diff_updates_memory, state.weights_memory),
            (s, y, rho),
        )
        if scale_init_precond:
            yy = _numerics.tree_sq_norm(y)
            gamma = jnp.where(yy > 0.0, _real_vdot(y, s) / yy, 1.0)
            first = jnp.minimum(1.0, 1.0 / jnp.sqrt(_numerics.tree_sq_norm(jax.lax.stop_gradient(updates))))
            gamma = jnp.where(started, gamma, first)
        else:
            gamma = 1.0
        direction = _two_loop(updates, s_mem, y_mem, rhos, gamma, slot)
        return direction, ScaleByLBFGSState(
            count=_numerics.safe_increment(state.count),
            params=_numerics.copy_tree(params),
            updates=_numerics.copy_tree(updates),
            diff_params_memory=s_mem,
            diff_updates_memory=y_mem,
            weights_memory=rhos,
        )

    return _packable.per_leaf(
        GradientTransformation(init_fn, update_fn), fn,
        "the two-loop recursion takes inner products over the whole tree",
    )


# optax's default line search (one instance, as a default argument is evaluated once)
_DEFAULT_LINESEARCH = scale_by_zoom_linesearch(max_linesearch_steps=20, initial_guess_strategy="one")


def lbfgs(
    learning_rate: ScalarOrSchedule | None = None,
    memory_size: int = 10,
    scale_init_precond: bool = True,
    linesearch: GradientTransformation | None = _DEFAULT_LINESEARCH,
) -> GradientTransformation:
    r"""L-BFGS with a zoom line search (module docstring); update with ``value=, grad=, value_fn=``.

    ``chain(scale_by_lbfgs(memory_size, scale_init_precond), scale(-1.0) if learning_rate is
    None else scale_by_learning_rate(learning_rate), linesearch or identity())``, as optax.

    Args:
      learning_rate: ``None`` (the line search alone sets the step), or a float >= 0 or a
        schedule scaling the direction before the line search.
      memory_size: the number of difference pairs kept, an integer >= 1.
      scale_init_precond: scale the initial inverse Hessian by eq. 7.20.
      linesearch: a transformation choosing the step size (``scale_by_zoom_linesearch``,
        ``scale_by_backtracking_linesearch``) or ``None`` for none.

    Returns:
      A ``GradientTransformation``; with a line search its update takes ``value=`` (the loss
      at ``params``), ``grad=`` (its gradient) and ``value_fn=`` (the loss function).

    Raises:
      ValueError: for a bad argument.
      TypeError: at update, when the line search is not given ``value``, ``grad`` and
        ``value_fn``.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> f = lambda x: jnp.sum((x - 1.0) ** 2) + 0.1 * jnp.sum(x ** 4)
      >>> tx, params = zoo.lbfgs(), jnp.array([1.0, 2.0, 3.0])
      >>> state = tx.init(params)
      >>> value_and_grad = zoo.value_and_grad_from_state(f)
      >>> @jax.jit  # one compile for all steps
      ... def step(params, state):
      ...     value, grad = value_and_grad(params, state=state)
      ...     updates, state = tx.update(grad, state, params, value=value, grad=grad, value_fn=f)
      ...     return zoo.apply_updates(params, updates), state
      >>> for _ in range(10):
      ...     params, state = step(params, state)
      >>> print(params.round(4))
      [0.8688 0.8688 0.8688]

    References:
      Nocedal & Wright, `Numerical Optimization <https://doi.org/10.1007/978-0-387-40065-5>`_,
      2nd ed., 2006, algorithms 7.4 and 7.5.
      Liu & Nocedal, `On the limited memory BFGS method for large scale optimization
      <https://doi.org/10.1007/BF01589116>`_, 1989.
    """
    fn = "lbfgs"
    _validate.check_int(fn, "memory_size", memory_size, lo=1)
    if learning_rate is not None:
        _validate.check_learning_rate(fn, learning_rate)
    if linesearch is not None and not (callable(getattr(linesearch, "init", None))
                                       and callable(getattr(linesearch, "update", None))):
        _validate.fail(fn, "linesearch", linesearch, "must be a GradientTransformation or None")
    step = scale(-1.0) if learning_rate is None else scale_by_learning_rate(learning_rate)
    return chain(scale_by_lbfgs(memory_size, scale_init_precond), step,
                 identity() if linesearch is None else linesearch)
