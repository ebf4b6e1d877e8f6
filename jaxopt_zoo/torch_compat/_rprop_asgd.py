r"""``torch.optim.Rprop`` and ``torch.optim.ASGD``: the two whose lr is not a plain factor.

**Rprop**: each coordinate keeps its own step size, started at ``lr`` and then grown by
``etas[1]`` while the gradient keeps its sign and shrunk by ``etas[0]`` when it flips
(``zoo.rprop``, which equals torch; optax's ``rprop`` lags one step). torch reads ``lr`` only
when it creates the step sizes, at the first step: a schedule or a ReduceLROnPlateau that
changes ``param_group['lr']`` later has no effect on the trajectory, and none here either
(the lr reported in the state still follows the schedule, as torch's ``param_group`` does).

**ASGD** (averaged SGD) with :math:`g` the gradient (negated when ``maximize``) plus
``weight_decay * p``, step :math:`k \ge 1`, and :math:`\eta_1` the lr of the first step:

.. math::

   p_k = p_{k-1}(1 - \lambda \eta_k) - \eta_k g_k, \qquad
   a_k = \begin{cases} p_k & \mu_k = 1 \\ a_{k-1} + \mu_k (p_k - a_{k-1}) & \text{else,} \end{cases}

   \eta_{k+1} = \frac{\text{lr}_k}{(1 + \lambda\, \text{lr}_k\, k)^{\alpha}}, \qquad
   \mu_{k+1} = \frac{1}{\max(1, k - t_0)}.

:math:`\eta_{k+1}` is computed at the end of step :math:`k` from the lr of step :math:`k`:
under a schedule or a plateau the lr reaches the parameters one step late, exactly as in
torch. torch keeps :math:`\eta` and :math:`\mu` in its default dtype (float32), so does
``scalar_dtype`` here. The averaged parameters :math:`a_k` (torch's ``state['ax']``) are read
with ``asgd_averaged_params(state)``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _validate
from .._base import GradientTransformation, chain
from .._tree import tree_map, unzip
from ..optimizers._rprop import rprop
from . import _common
from ._groups import with_param_groups


class TorchASGDState(NamedTuple):
    """State of ``torch_asgd_step``."""

    count: jax.Array
    eta: jax.Array  # torch's ``state['eta']`` (``scalar_dtype``): the step size of the next update
    mu: jax.Array  # torch's ``state['mu']`` (``scalar_dtype``): the averaging weight of the next update
    ax: Any  # torch's ``state['ax']``: the averaged parameters


def torch_asgd_step(lr: Any, lambd: Any = 1e-4, alpha: Any = 0.75, t0: Any = 1e6,
                    scalar_dtype: Any = jnp.float32) -> GradientTransformation:
    r"""ASGD's parameter step and averaging (see module docstring); the output is ``p_k - p_{k-1}``.

    Args:
      lr: the lr of this step (it sets the next step's eta).
      lambd, alpha, t0: ASGD's decay term, eta power and averaging start.
      scalar_dtype: the dtype of eta and mu (torch's default dtype).

    Returns:
      A ``GradientTransformation`` with state ``TorchASGDState``; its update needs ``params``.
    """

    def init_fn(params):
        one = jnp.ones([], scalar_dtype)
        # eta is a copy: ``lr`` may be the injected hyperparameter's own buffer (donation).
        eta = _numerics.copy_tree(jnp.asarray(lr).astype(scalar_dtype))
        return TorchASGDState(_numerics.zero_count(), eta, one,
                              _numerics.zeros_like(params))

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _validate.check_params("torch_compat.ASGD", params, updates, " (ASGD decays the parameters)")
        count = _numerics.safe_increment(state.count)
        dt = jnp.result_type(lr, float)
        eta = state.eta.astype(dt)
        averaging = state.mu != 1

        def leaf(g, p, a):
            new_p = p * (1 - lambd * eta).astype(p.dtype) - eta.astype(p.dtype) * g
            new_a = jnp.where(averaging, a + (new_p - a) * state.mu.astype(a.dtype), new_p)
            return new_p - p, new_a

        out, ax = unzip(tree_map(leaf, updates, params, state.ax, where="torch_compat.ASGD",
                                 names=("updates", "params", "state.ax")), 2)
        step = count.astype(dt)
        new_eta = lr / (1 + lambd * lr * step) ** alpha
        new_mu = 1 / jnp.maximum(1.0, step - t0)
        return out, TorchASGDState(count, new_eta.astype(scalar_dtype), new_mu.astype(scalar_dtype),
                                   _numerics.keep_dtype(ax, state.ax))

    return GradientTransformation(init_fn, update_fn)


def asgd_averaged_params(state: Any, params: Any = None, param_groups: Any = None) -> Any:
    """The averaged parameters of an ``ASGD`` state (torch's ``optimizer.state[p]['ax']``).

    Args:
      state: the state of ``torch_compat.ASGD`` (or of a chain holding one).
      params: with ``param_groups``: the params (any tree shaped like them, e.g. the model's
        ``nnx.state(model, nnx.Param)``), needed for an ASGD with param groups, whose state
        holds each group's leaves as a list.
      param_groups: the ``param_groups`` list given to ``ASGD``, for such a state.

    Returns:
      A tree like the params.

    Raises:
      ValueError: if the state holds no ASGD state, or holds param groups and ``params`` /
        ``param_groups`` are missing or do not match it.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> from jaxopt_zoo import torch_compat as tc
      >>> tx = tc.ASGD(lr=0.1, t0=0)  # averaging from the first step on
      >>> params = {"w": jnp.array([1.0, -2.0])}; state = tx.init(params)
      >>> for _ in range(3):  # gradient = params
      ...     updates, state = tx.update(params, state, params)
      ...     params = zoo.apply_updates(params, updates)
      >>> print([round(float(p), 6) for p in params["w"]])
      [0.728978, -1.457955]
      >>> print([round(float(a), 6) for a in tc.asgd_averaged_params(state)["w"]])  # the mean of steps 2 and 3
      [0.76948, -1.53896]
      >>> groups = [{"params": lambda path, leaf: path[-1].key == "b", "t0": 1e6}]  # no averaging yet for b
      >>> tx = tc.ASGD(lr=0.1, t0=0, param_groups=groups)
      >>> params = {"w": jnp.array([1.0]), "b": jnp.array([2.0])}; state = tx.init(params)
      >>> for _ in range(3):
      ...     updates, state = tx.update(params, state, params)
      ...     params = zoo.apply_updates(params, updates)
      >>> ax = tc.asgd_averaged_params(state, params, groups)
      >>> print(round(float(ax["w"][0]), 6), float(ax["b"][0]) == float(params["b"][0]))
      0.76948 True
    """
    from ._groups import ParamGroupsState, ungroup

    fn = "torch_compat.asgd_averaged_params"
    found = []
    node = lambda x: isinstance(x, (TorchASGDState, ParamGroupsState))  # noqa: E731
    jax.tree.map(lambda x: found.append(x) if node(x) else None, state, is_leaf=node)
    if not found:
        _validate.fail(fn, "state", type(state).__name__, "must be the state of torch_compat.ASGD")
    if isinstance(found[0], TorchASGDState):
        return found[0].ax
    grouped = found[0]
    return ungroup(fn, grouped, [asgd_averaged_params(g) for g in grouped.groups], params, param_groups)


@with_param_groups("torch_compat.Rprop")
def Rprop(lr: Any = 1e-2, etas: tuple = (0.5, 1.2), step_sizes: tuple = (1e-6, 50.0), *, capturable: bool = False,
          foreach: Any = None, maximize: bool = False, differentiable: bool = False) -> GradientTransformation:
    r"""``torch.optim.Rprop`` (see module docstring): torch's keywords, defaults and numbers.

    Args:
      lr: the initial step size, a float > 0, a schedule or a ``ReduceLROnPlateau``; only its
        value at the first step is used (as in torch).
      etas: ``(etaminus, etaplus)`` with 0 < etaminus < 1 < etaplus.
      step_sizes: ``(min, max)`` step sizes.
      maximize: ascend the objective.
      capturable, foreach, differentiable: accepted and ignored.

    Returns:
      A ``GradientTransformation``.

    Raises:
      ValueError: for a non-positive lr or etas/step sizes out of order.

    Example:
      >>> from jaxopt_zoo import torch_compat as tc
      >>> tx = tc.Rprop(lr=0.01, etas=(0.5, 1.2), step_sizes=(1e-6, 50))
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.99, -1.99]

    References:
      Riedmiller & Braun, `A Direct Adaptive Method for Faster Backpropagation Learning: The
      RPROP Algorithm <https://doi.org/10.1109/ICNN.1993.298623>`_, 1993.
    """
    del capturable, foreach, differentiable
    fn = "torch_compat.Rprop"
    _common.check_lr(fn, lr)
    for arg, pair in (("etas", etas), ("step_sizes", step_sizes)):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            _validate.fail(fn, arg, pair, "must be a pair")
    _validate.check_range(fn, "etas[0]", etas[0], 0.0, 1.0, lo_open=True, hi_open=True)
    _validate.check_range(fn, "etas[1]", etas[1], 1.0, lo_open=True)
    _validate.check_nonnegative(fn, "step_sizes[0]", step_sizes[0])
    _validate.check_range(fn, "step_sizes[1]", step_sizes[1], float(step_sizes[0]))

    def core(h):
        return rprop(h["lr"], etas[0], etas[1], step_sizes[0], step_sizes[1], maximize=maximize)

    return _common.make({"lr": lr}, core)


@with_param_groups("torch_compat.ASGD")
def ASGD(lr: Any = 1e-2, lambd: float = 1e-4, alpha: float = 0.75, t0: float = 1e6, weight_decay: float = 0.0,
         foreach: Any = None, maximize: bool = False, differentiable: bool = False, capturable: bool = False, *,
         scalar_dtype: Any = jnp.float32) -> GradientTransformation:
    r"""``torch.optim.ASGD`` (see module docstring): torch's keywords, defaults and numbers.

    Args:
      lr: a float >= 0, a schedule or a ``ReduceLROnPlateau``; it enters through eta, one step late.
      lambd: the decay term, >= 0.
      alpha: the power of the eta decay, >= 0.
      t0: the step after which averaging starts, >= 0.
      weight_decay: coupled L2 decay, >= 0.
      maximize: ascend the objective.
      scalar_dtype: the dtype of eta and mu; torch keeps them in its default dtype (float32
        unless ``torch.set_default_dtype(torch.float64)``). Not a torch keyword.
      foreach, differentiable, capturable: accepted and ignored.

    Returns:
      A ``GradientTransformation``; ``asgd_averaged_params(state)`` gives the averaged params.

    Raises:
      ValueError: for a negative argument.

    Example:
      >>> from jaxopt_zoo import torch_compat as tc
      >>> tx = tc.ASGD(lr=0.01, t0=1000)
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.989999, -1.979998]

    References:
      Polyak & Juditsky, `Acceleration of Stochastic Approximation by Averaging
      <https://doi.org/10.1137/0330046>`_, 1992.
    """
    del foreach, differentiable, capturable
    fn = "torch_compat.ASGD"
    _common.check_lr(fn, lr)
    for arg, v in (("lambd", lambd), ("alpha", alpha), ("t0", t0), ("weight_decay", weight_decay)):
        _common.check_constant(fn, arg, v)

    def core(h):
        return chain(*_common.grad_prelude(maximize, weight_decay), torch_asgd_step(h["lr"], lambd, alpha, t0, scalar_dtype))

    return _common.make({"lr": lr}, core)
