r"""Schedule-free SGD and AdamW: no learning-rate schedule, an online average instead.

Three sequences (Defazio et al., 2024): the base iterate :math:`z`, its weighted average
:math:`x` (what to *evaluate*) and the interpolation :math:`y` where gradients are taken
(what to *train*: these are the ``params``). With warmup factor
:math:`s_k = \min(1, (k+1)/W)`, :math:`\gamma_k = \eta\, s_k`,
:math:`w_k = (k+1)^r\, (\max_{j \le k}\gamma_j)^{P}` and :math:`c_k = w_k / \sum_{j\le k} w_j`:

.. math::

   z_{k+1} = z_k - \gamma_k\, d_k, \qquad
   x_{k+1} = (1 - c_k)\, x_k + c_k z_{k+1}, \qquad
   y_{k+1} = \beta_1 x_{k+1} + (1 - \beta_1) z_{k+1},

where SGD's direction is :math:`d_k = g_k + \lambda y_k` and AdamW's is
:math:`g_k / (\sqrt{v_k/(1-\beta_2^{k+1})} + \epsilon)` with
:math:`v_k = \beta_2 v_{k-1} + (1-\beta_2) g_k^2`, after a decoupled decay
:math:`z \leftarrow z - \gamma_k \lambda y_k` (or :math:`\lambda z_k` with ``decay_at_z``).
This is the ``schedulefree`` package's reference algorithm (``SGDScheduleFreeReference``,
``AdamWScheduleFreeReference``), warmup included: optax.contrib's schedule-free is one step
off in its warmup.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .._numerics import is_trained
from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, ScalarOrSchedule, with_extra_args_support
from .._tree import check_same_structure, tree_map


class ScheduleFreeState(NamedTuple):
    """State of the schedule-free optimizers."""

    count: jax.Array  # int32: k
    z: Any  # the base iterate
    x: Any  # the average: the parameters to evaluate
    nu: Any  # AdamW's second moment (empty tuple for SGD; the base optimizer's state for schedule_free)
    lr_max: jax.Array  # max of the warmed-up learning rates so far
    weight_sum: jax.Array  # sum of the averaging weights

    @property
    def base_optimizer_state(self) -> Any:
        """optax's name for the wrapped optimizer's state (``schedule_free``): ``nu``."""
        return self.nu


def _check(fn: str, learning_rate, warmup_steps, r, weight_lr_power, weight_decay) -> None:
    _validate.check_learning_rate(fn, learning_rate)
    _validate.check_int(fn, "warmup_steps", warmup_steps, lo=0)
    _validate.check_nonnegative(fn, "r", r)
    _validate.check_nonnegative(fn, "weight_lr_power", weight_lr_power)
    _validate.check_nonnegative(fn, "weight_decay", weight_decay)


def _schedule_free(fn: str, learning_rate, beta1, warmup_steps, r, weight_lr_power, direction, init_nu,
                   state_dtype=None):
    """The shared averaging machinery; ``direction(g, y, z, nu, lr, k, extra_args) -> (z_new, nu_new)``,
    ``init_nu(params)`` the state of the direction."""

    def init_fn(params):
        # Every state entry owns its buffers (a donated step refuses one buffer twice).
        scalar = lambda: jnp.zeros([], jnp.result_type(float))  # noqa: E731
        nu = init_nu(params)
        return ScheduleFreeState(_numerics.zero_count(), _numerics.copy_tree(params), _numerics.copy_tree(params), nu,
                                 scalar(), scalar())

    def update_fn(updates, state, params=None, **extra_args):
        _validate.check_params(fn, params, updates, " (the current y)")
        check_same_structure(fn, (updates, state.z, params), ("updates", "state.z", "params"))
        k = state.count
        kf = k.astype(state.lr_max.dtype)
        base_lr = _numerics.value_at(learning_rate, k)
        warm = 1.0 if warmup_steps == 0 else jnp.where(k < warmup_steps, (kf + 1) / warmup_steps, 1.0)
        lr = base_lr * warm
        lr_max = jnp.maximum(lr, state.lr_max)
        weight = (kf + 1) ** r * lr_max**weight_lr_power
        weight_sum = state.weight_sum + weight
        ckp1 = jnp.where(weight_sum > 0, weight / jnp.where(weight_sum > 0, weight_sum, 1.0), 0.0)
        z, nu = direction(updates, params, state.z, state.nu, lr, k, extra_args)
        x = tree_map(lambda xi, zi: (xi * (1 - ckp1) + zi * ckp1).astype(xi.dtype), state.x, z,
                     where=fn, names=("state.x", "z"))
        y = jax.tree.map(lambda xi, zi: (xi * beta1 + zi * (1 - beta1)).astype(xi.dtype), x, z)
        # (integer/bool leaves are not trained: zero updates)
        new_updates = jax.tree.map(lambda yn, p: yn - p if is_trained(p) else jnp.zeros_like(p), y, params)
        new_state = ScheduleFreeState(_numerics.safe_increment(k), z, x, nu, lr_max.astype(state.lr_max.dtype),
                                      weight_sum.astype(state.weight_sum.dtype))
        return new_updates, new_state

    def init_with_dtype(params):
        state = init_fn(params)
        if state_dtype is None:
            return state
        cast = lambda z: z.astype(state_dtype) if is_trained(z) else z  # noqa: E731
        return state._replace(z=jax.tree.map(cast, state.z))

    return _packable.elementwise(GradientTransformation(init_with_dtype, update_fn))


def schedule_free_sgd(
    learning_rate: ScalarOrSchedule = 1.0,
    warmup_steps: int | None = None,
    b1: Any = 0.9,
    weight_decay: Any = None,
    weight_lr_power: Any = 2.0,
    state_dtype: Any = None,
    r: Any = 0.0,
) -> GradientTransformation:
    r"""Schedule-free SGD (see module docstring); ``b1`` is the interpolation :math:`\beta_1`
    (schedulefree's ``momentum``). optax.contrib's argument order and names.

    Args:
      learning_rate: a float >= 0 (or a schedule, multiplied by the warmup).
      warmup_steps: linear warmup length, >= 0; ``None`` (the default) means none.
      b1: :math:`\beta_1`, in (0, 1) (schedulefree's ``momentum``).
      weight_decay: L2 decay added to the gradient at ``y``, >= 0; ``None`` means 0.
      weight_lr_power: the learning-rate weighting power, >= 0.
      state_dtype: dtype of the ``z`` sequence in the state (default: the params').
      r: the polynomial weighting power, >= 0 (schedulefree's; not in optax).

    Returns:
      A ``GradientTransformation`` with state ``ScheduleFreeState``; its update needs
      ``params``. Evaluate ``schedule_free_eval_params(state, params)``.

    Raises:
      ValueError: for a bad argument.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.schedule_free_sgd(1.0, warmup_steps=100)
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.99, -1.98]

    References:
      Defazio et al., `The Road Less Scheduled <https://arxiv.org/abs/2405.15682>`_, 2024.
    """
    warmup_steps = 0 if warmup_steps is None else warmup_steps
    weight_decay = 0.0 if weight_decay is None else weight_decay
    _check("schedule_free_sgd", learning_rate, warmup_steps, r, weight_lr_power, weight_decay)
    _validate.check_range("schedule_free_sgd", "b1", b1, 0.0, 1.0, lo_open=True, hi_open=True)

    def direction(g, y, z, nu, lr, k, extra_args):
        del k, extra_args
        z = jax.tree.map(lambda zi, gi, yi: (zi - lr * (gi + weight_decay * yi)).astype(zi.dtype), z, g, y)
        return z, nu

    return _schedule_free("schedule_free_sgd", learning_rate, b1, warmup_steps, r, weight_lr_power, direction,
                          lambda params: (), state_dtype)


def schedule_free_adamw(
    learning_rate: ScalarOrSchedule = 0.0025,
    warmup_steps: int | None = None,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    weight_decay: Any = 0.0,
    weight_lr_power: Any = 2.0,
    state_dtype: Any = None,
    r: Any = 0.0,
    decay_at_z: bool = False,
) -> GradientTransformation:
    r"""Schedule-free AdamW (see module docstring). optax.contrib's argument order and names.

    Args:
      learning_rate: a float >= 0 (or a schedule, multiplied by the warmup).
      warmup_steps: linear warmup length, >= 0; ``None`` (the default) means none.
      b1: the interpolation :math:`\beta_1`, in [0, 1).
      b2: the second-moment decay, in [0, 1).
      eps: added to the root, >= 0.
      weight_decay: decoupled decay, >= 0.
      weight_lr_power: the learning-rate weighting power, >= 0.
      state_dtype: dtype of the ``z`` sequence in the state (default: the params').
      r: the polynomial weighting power, >= 0 (schedulefree's; not in optax).
      decay_at_z: decay ``z`` by itself instead of by ``y`` (schedulefree's; not in optax).

    Returns:
      A ``GradientTransformation`` with state ``ScheduleFreeState``; its update needs
      ``params``. Evaluate ``schedule_free_eval_params(state, params)``.

    Raises:
      ValueError: for a bad argument.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.schedule_free_adamw(2.5e-3, warmup_steps=100, weight_decay=1e-4)
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.999975, -1.999975]

    References:
      Defazio et al., `The Road Less Scheduled <https://arxiv.org/abs/2405.15682>`_, 2024.
    """
    warmup_steps = 0 if warmup_steps is None else warmup_steps
    _check("schedule_free_adamw", learning_rate, warmup_steps, r, weight_lr_power, weight_decay)
    _validate.check_decay("schedule_free_adamw", "b1", b1)
    _validate.check_decay("schedule_free_adamw", "b2", b2)
    _validate.check_nonnegative("schedule_free_adamw", "eps", eps)

    def direction(g, y, z, nu, lr, k, extra_args):
        del extra_args
        correction = 1 - b2 ** (k + 1).astype(jnp.result_type(float))
        decay_point = z if decay_at_z else y
        z = jax.tree.map(lambda zi, di: (zi - lr * weight_decay * di).astype(zi.dtype), z, decay_point)
        nu = jax.tree.map(lambda v, gi: (v * b2 + (1 - b2) * gi * gi).astype(v.dtype), nu, g)
        z = jax.tree.map(lambda zi, gi, v: (zi + (-lr) * (gi / (jnp.sqrt(v / correction) + eps))).astype(zi.dtype), z, g, nu)
        return z, nu

    return _schedule_free("schedule_free_adamw", learning_rate, b1, warmup_steps, r, weight_lr_power, direction,
                          _numerics.zeros_like, state_dtype)


def schedule_free(
    base_optimizer: GradientTransformation,
    learning_rate: ScalarOrSchedule,
    b1: Any = 0.9,
    weight_lr_power: Any = 2.0,
    state_dtype: Any = None,
    *,
    r: Any = 0.0,
    weight_decay_at_y: Any = 0.0,
) -> GradientTransformation:
    r"""Schedule-free averaging around any optimizer: its updates move :math:`z`.

    The base optimizer's update at step :math:`k` (gradient taken at :math:`y_k`) moves
    :math:`z_{k+1} = z_k + u_k`; :math:`x` and :math:`y` follow as in the module docstring,
    with :math:`\gamma_k` = ``learning_rate`` at step :math:`k` (the rate the base optimizer
    used: give both the same number or schedule) in the averaging weights.

    This is ``schedulefree.ScheduleFreeWrapper`` (tested equal, around torch's SGD and Adam)
    and ``optax.contrib.schedule_free`` where the two agree (tested equal with a constant
    learning rate and a base optimizer that does not read the params). Where they differ it
    follows schedulefree, the authors' code: the base optimizer is given :math:`z` as its
    params (its weight decay acts on :math:`z`; optax gives it :math:`y`), and a schedule is
    read at the 0-based step :math:`k` (optax reads it at :math:`k+1`, one step off from the
    rate its own base optimizer used). Both are pinned in ``tests/reference/test_schedule_free_wrapper.py``.

    Args:
      base_optimizer: any optimizer; its learning rate sets the step of :math:`z`.
      learning_rate: the base optimizer's learning rate (a float >= 0 or a schedule), used
        for the averaging weights :math:`(\max_{j\le k}\gamma_j)^{P}`.
      b1: the interpolation :math:`\beta_1`, in [0, 1) (schedulefree's ``momentum``).
      weight_lr_power: the learning-rate weighting power :math:`P`, >= 0.
      state_dtype: dtype of the ``z`` sequence in the state (default: the params').
      r: the polynomial weighting power, >= 0 (schedulefree's; not in optax).
      weight_decay_at_y: decay :math:`\lambda_y \ge 0` at the gradient point, before the base
        step: :math:`z_k \leftarrow z_k - \gamma_k \lambda_y y_k` (schedulefree's
        ``weight_decay_at_y``, which it finds better than decaying :math:`z`; not in optax). The
        wrapper then also moves :math:`y` by :math:`-\gamma_k \lambda_y (1-\beta_1) y_k`, which
        leaves :math:`x` as it was, so only :math:`z` changes here.

    Returns:
      A ``GradientTransformation`` with state ``ScheduleFreeState`` (``nu`` holds the base
      optimizer's state, also readable as ``base_optimizer_state``); ``update`` needs
      ``params``. Evaluate at ``schedule_free_eval_params(state, params)``.

    Raises:
      ValueError: for a bad argument.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> f = lambda x: jnp.sum((x - 1.0) ** 2)
      >>> params, tx = jnp.array([3.0, -2.0]), zoo.schedule_free(zoo.sgd(0.1), 0.1)
      >>> state = tx.init(params)
      >>> update = jax.jit(tx.update)  # one compile for all steps
      >>> for _ in range(200):
      ...     updates, state = update(jax.grad(f)(params), state, params)
      ...     params = zoo.apply_updates(params, updates)
      >>> print(f"{f(jnp.array([3.0, -2.0])):.1f} -> {float(f(zoo.schedule_free_eval_params(state, params))) < 1e-3}")
      13.0 -> True

    References:
      Defazio et al., `The Road Less Scheduled <https://arxiv.org/abs/2405.15682>`_, 2024.
    """
    fn = "schedule_free"
    _validate.check_learning_rate(fn, learning_rate)
    _validate.check_decay(fn, "b1", b1)
    _validate.check_nonnegative(fn, "weight_lr_power", weight_lr_power)
    _validate.check_nonnegative(fn, "r", r)
    _validate.check_nonnegative(fn, "weight_decay_at_y", weight_decay_at_y)
    decay_at_y = _validate.concrete_float(weight_decay_at_y) != 0.0  # (a traced value is applied)
    base = with_extra_args_support(base_optimizer)

    def direction(g, y, z, base_state, lr, k, extra_args):
        del k
        if decay_at_y:
            z = jax.tree.map(lambda zi, yi: (zi - lr * weight_decay_at_y * yi).astype(zi.dtype)
                             if is_trained(zi) else zi, z, y)
        u, base_state = base.update(g, base_state, z, **extra_args)
        z = jax.tree.map(lambda zi, ui: (zi + ui).astype(zi.dtype), z, u)
        return z, base_state

    tx = _schedule_free(fn, learning_rate, b1, 0, r, weight_lr_power, direction, base.init, state_dtype)
    return _packable.composite(tx, base)


def schedule_free_eval_params(state: Any, params: Any) -> Any:
    """The parameters to evaluate: the average ``x`` kept by a schedule-free state.

    Finds the ``ScheduleFreeState`` anywhere in ``state`` (inside a chain, a mask, ...).

    Args:
      state: the optimizer state.
      params: the current (training) parameters, returned unchanged if the state has no
        schedule-free part.

    Returns:
      The parameters to evaluate the model at (like the ``schedulefree`` package's
      ``optimizer.eval()``).

    Example:
      >>> # eval_params = zoo.schedule_free_eval_params(state, params); model.apply(eval_params, x)
    """
    found = []
    jax.tree.map(lambda s: found.append(s), state, is_leaf=lambda s: isinstance(s, ScheduleFreeState))
    found = [s for s in found if isinstance(s, ScheduleFreeState)]
    return found[0].x if found else params
