r"""torch.optim.swa_utils look-alikes: ``SWALR`` and ``AveragedModel`` (SWA and EMA of the weights).

- ``SWALR(lr, swa_lr, anneal_epochs=10, anneal_strategy='cos')``: a schedule ``t -> lr``
  equal to torch's lr after ``t`` calls of ``swa_scheduler.step()``. torch's SWALR reads the
  optimizer's lr at each step and blends it towards ``swa_lr``; started from the lr
  :math:`\eta` the group has when its steps begin, its value after :math:`t` steps is

  .. math:: \alpha_t\,\eta_{swa} + (1 - \alpha_t)\,\eta, \qquad
            \alpha_t = a(\min(1, t / \max(1, A)))

  with :math:`a(x) = (1 - \cos \pi x)/2` ('cos') or :math:`x` ('linear'); with
  ``anneal_epochs`` :math:`A = 0` it is ``swa_lr`` from the start (torch sets it when the
  scheduler is built). torch's recipe switches from another scheduler to SWALR at epoch
  ``swa_start``; here that is ``zoo.join_schedules`` (see the example of ``SWALR``).
- ``AveragedModel(avg_fn=None, multi_avg_fn=None, *, start=1, every=1)``: a transformation
  that passes the updates through unchanged and keeps, in its state, torch's
  ``AveragedModel`` of the weights after the update (``params + updates``: put it last in
  the chain). It calls torch's ``update_parameters`` after optimizer steps ``start``,
  ``start + every``, ...: the first call copies the weights, later calls average with
  ``avg_fn`` / ``multi_avg_fn`` (default: the equal-weight SWA mean). EMA is
  ``multi_avg_fn=get_ema_multi_avg_fn(decay)``. ``averaged_params(state)`` reads the
  averaged weights (torch: ``swa_model.module``'s parameters). ``use_buffers`` has no
  counterpart (a JAX model's buffers are not in the params).

::

    from jaxopt_zoo import torch_compat as tc
    from jaxopt_zoo.torch_compat import swa_utils
    # torch: ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.999))
    #        ... optimizer.step(); ema.update_parameters(model)
    tx = zoo.chain(tc.AdamW(lr=1e-3), swa_utils.AveragedModel(multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.999)))
    ...
    ema_params = swa_utils.averaged_params(opt_state)
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _validate
from .._base import GradientTransformation
from ._sched_base import TorchLRScheduler, as_float

_PREFIX = "torch_compat.swa_utils."


class SWALR(TorchLRScheduler):
    r"""torch's SWALR: anneal from ``lr`` to ``swa_lr`` over ``anneal_epochs`` steps, then hold it.

    Args:
      lr: the lr of the optimizer's group when SWALR's steps begin (torch reads it from the
        optimizer).
      swa_lr: the lr annealed to (torch's ``swa_lr``, one value for every group).
      anneal_epochs: :math:`A`, the number of scheduler steps of the annealing, an integer >= 0.
      anneal_strategy: 'cos' or 'linear'.
      steps_per_epoch: optimizer steps per ``scheduler.step()`` (keyword only; torch's recipe
        steps SWALR once per epoch).

    Returns:
      A schedule: torch's lr after ``floor(t / steps_per_epoch)`` scheduler steps.

    Raises:
      ValueError: for a negative ``lr`` / ``swa_lr`` / ``anneal_epochs`` or an unknown strategy.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> from jaxopt_zoo.torch_compat import lr_scheduler as L, swa_utils
      >>> s = swa_utils.SWALR(0.1, swa_lr=0.02, anneal_epochs=4, anneal_strategy="linear")
      >>> print([round(float(s(t)), 4) for t in range(6)])
      [0.1, 0.08, 0.06, 0.04, 0.02, 0.02]
      >>> # torch's recipe: CosineAnnealingLR stepped after epochs 0..swa_start, SWALR after the later ones
      >>> swa_start, cos = 5, L.CosineAnnealingLR(0.1, T_max=20)
      >>> lr = zoo.join_schedules([cos, swa_utils.SWALR(cos(swa_start + 1), swa_lr=0.05)], [swa_start + 1])
      >>> print(round(float(lr(swa_start + 1)), 6) == round(float(cos(swa_start + 1)), 6), round(float(lr(40)), 4))
      True 0.05

    References:
      Izmailov et al., `Averaging Weights Leads to Wider Optima and Better Generalization
      <https://arxiv.org/abs/1803.05407>`_, 2018.
    """

    def __init__(self, lr: Any, swa_lr: Any, anneal_epochs: int = 10, anneal_strategy: str = "cos", *,
                 steps_per_epoch: int = 1):
        super().__init__("SWALR", lr, steps_per_epoch, fn=_PREFIX + "SWALR")
        _validate.check_nonnegative(self._fn, "swa_lr", swa_lr)
        _validate.check_int(self._fn, "anneal_epochs", anneal_epochs, lo=0)
        _validate.check_choice(self._fn, "anneal_strategy", anneal_strategy, ("cos", "linear"))
        self.swa_lr, self.anneal_epochs, self.anneal_strategy = swa_lr, int(anneal_epochs), anneal_strategy

    def _value(self, e):
        e = as_float(e)
        if self.anneal_epochs == 0:
            e = jnp.maximum(e, 1.0)
        x = jnp.clip(e / max(1, self.anneal_epochs), 0.0, 1.0)
        alpha = (1.0 - jnp.cos(jnp.pi * x)) / 2.0 if self.anneal_strategy == "cos" else x
        return self.swa_lr * alpha + self.lr * (1.0 - alpha)

    def __repr__(self) -> str:
        return (f"<torch_compat.swa_utils.SWALR schedule (lr={self.lr!r}, swa_lr={self.swa_lr!r}, "
                f"anneal_epochs={self.anneal_epochs}, steps_per_epoch={self._every})>")


# --- averaging functions (torch's get_*_avg_fn, functional) ----------------------------------
def get_ema_multi_avg_fn(decay: Any = 0.999) -> Callable:
    r"""torch's ``get_ema_multi_avg_fn``: :math:`W^{EMA} \leftarrow \text{decay}\,W^{EMA} + (1 - \text{decay})\,W`.

    Args:
      decay: the EMA decay, in [0, 1].

    Returns:
      ``fn(averaged_leaves, current_leaves, n_averaged) -> new averaged leaves`` (lists), for
      ``AveragedModel(multi_avg_fn=...)``.

    Raises:
      ValueError: if ``decay`` is outside [0, 1].

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxopt_zoo.torch_compat import swa_utils
      >>> fn = swa_utils.get_ema_multi_avg_fn(0.9)
      >>> print(round(float(fn([jnp.array(1.0)], [jnp.array(2.0)], 3)[0]), 6))
      1.1
    """
    _validate.check_range(_PREFIX + "get_ema_multi_avg_fn", "decay", decay, 0.0, 1.0)

    def ema_update(averaged, current, n_averaged):
        return [_numerics.lerp(a, c, 1 - decay) for a, c in zip(averaged, current)]

    return ema_update


def get_swa_multi_avg_fn() -> Callable:
    r"""torch's ``get_swa_multi_avg_fn``: the running mean, :math:`\bar W \leftarrow \bar W + (W - \bar W)/(n + 1)`.

    Returns:
      ``fn(averaged_leaves, current_leaves, n_averaged) -> new averaged leaves`` (lists).

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxopt_zoo.torch_compat import swa_utils
      >>> fn = swa_utils.get_swa_multi_avg_fn()
      >>> print(round(float(fn([jnp.array(1.0)], [jnp.array(4.0)], 2)[0]), 6))
      2.0
    """

    def swa_update(averaged, current, n_averaged):
        return [_numerics.lerp(a, c, 1 / (jnp.asarray(n_averaged, a.dtype) + 1)) for a, c in zip(averaged, current)]

    return swa_update


def get_ema_avg_fn(decay: Any = 0.999) -> Callable:
    """torch's ``get_ema_avg_fn``: ``decay * averaged + (1 - decay) * current``, one leaf at a time.

    Args:
      decay: the EMA decay, in [0, 1].

    Returns:
      ``fn(averaged, current, n_averaged) -> new averaged``, for ``AveragedModel(avg_fn=...)``.

    Raises:
      ValueError: if ``decay`` is outside [0, 1].

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxopt_zoo.torch_compat import swa_utils
      >>> print(round(float(swa_utils.get_ema_avg_fn(0.5)(jnp.array(1.0), jnp.array(2.0), 1)), 6))
      1.5
    """
    _validate.check_range(_PREFIX + "get_ema_avg_fn", "decay", decay, 0.0, 1.0)
    return lambda averaged, current, n_averaged: decay * averaged + (1 - decay) * current


def get_swa_avg_fn() -> Callable:
    """torch's ``get_swa_avg_fn``: ``averaged + (current - averaged) / (n_averaged + 1)``, one leaf at a time.

    Returns:
      ``fn(averaged, current, n_averaged) -> new averaged``.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxopt_zoo.torch_compat import swa_utils
      >>> print(round(float(swa_utils.get_swa_avg_fn()(jnp.array(1.0), jnp.array(4.0), 2)), 6))
      2.0
    """
    return lambda averaged, current, n_averaged: averaged + (current - averaged) / (jnp.asarray(n_averaged, averaged.dtype) + 1)


# --- AveragedModel as a transformation ----------------------------------------------------------
class AveragedModelState(NamedTuple):
    count: jax.Array  # optimizer steps taken
    n_averaged: jax.Array  # torch's n_averaged: update_parameters calls so far
    averaged: Any  # torch's swa_model.module parameters


def AveragedModel(  # noqa: N802 - torch's class name
    avg_fn: Callable | None = None,
    multi_avg_fn: Callable | None = None,
    *,
    start: int = 1,
    every: int = 1,
) -> GradientTransformation:
    r"""torch's ``AveragedModel`` as a transformation: the updates pass through, the state keeps the average.

    After optimizer step :math:`n` (counted from 1) with :math:`n \ge` ``start`` and
    :math:`(n - \text{start}) \bmod \text{every} = 0` it does what torch's
    ``swa_model.update_parameters(model)`` does with the new weights ``params + updates``:
    copy them at the first call, else ``averaged = avg_fn(averaged, new, n_averaged)``
    (``multi_avg_fn`` on the lists of leaves), then ``n_averaged += 1``.

    Args:
      avg_fn: ``fn(averaged, current, n_averaged) -> averaged`` per leaf (torch's ``avg_fn``).
      multi_avg_fn: ``fn(averaged_leaves, current_leaves, n_averaged) -> averaged_leaves``
        (torch's ``multi_avg_fn``, e.g. ``get_ema_multi_avg_fn(0.999)``). Neither: the SWA mean.
      start: the first optimizer step after which the average is updated, an integer >= 1
        (torch's recipe ``if epoch > swa_start`` with ``S`` steps per epoch: ``(swa_start + 2) * S``).
      every: optimizer steps between two updates, an integer >= 1 (``S`` for once per epoch).

    Returns:
      A ``GradientTransformation`` whose update needs ``params``; read the average with
      ``averaged_params(state)``.

    Raises:
      ValueError: if both ``avg_fn`` and ``multi_avg_fn`` are given, or ``start`` / ``every`` < 1.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> from jaxopt_zoo.torch_compat import swa_utils
      >>> tx = zoo.chain(zoo.sgd(0.5), swa_utils.AveragedModel())
      >>> params = jnp.array([4.0]); state = tx.init(params)
      >>> for _ in range(3):  # gradient = params: the weights halve each step (2, 1, 0.5)
      ...     updates, state = tx.update(params, state, params)
      ...     params = zoo.apply_updates(params, updates)
      >>> print(round(float(swa_utils.averaged_params(state)[0]), 6))  # (2 + 1 + 0.5) / 3
      1.166667

    References:
      Izmailov et al., `Averaging Weights Leads to Wider Optima and Better Generalization
      <https://arxiv.org/abs/1803.05407>`_, 2018.
    """
    fn = _PREFIX + "AveragedModel"
    if avg_fn is not None and multi_avg_fn is not None:
        _validate.fail(fn, "multi_avg_fn", multi_avg_fn, "must be None when avg_fn is given (as torch)")
    _validate.check_int(fn, "start", start, lo=1)
    _validate.check_int(fn, "every", every, lo=1)
    if avg_fn is None and multi_avg_fn is None:
        multi_avg_fn = get_swa_multi_avg_fn()

    def init_fn(params):
        return AveragedModelState(_numerics.zero_count(), jnp.zeros([], jnp.int32), _numerics.copy_tree(params))

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args  # value= etc. for the optimizer before it in a chain
        _validate.check_params(fn, params, updates, " (the weights to average)")
        count = _numerics.safe_increment(state.count)
        due = (count >= start) & ((count - start) % every == 0)
        new = jax.tree.map(lambda p, u: (p + u).astype(p.dtype), params, updates)
        leaves, treedef = jax.tree.flatten(state.averaged)
        current = treedef.flatten_up_to(new)
        n = state.n_averaged
        if multi_avg_fn is not None:
            averaged = multi_avg_fn(list(leaves), list(current), n)
        else:
            averaged = [avg_fn(a, c, n) for a, c in zip(leaves, current)]
        averaged = [jnp.where(n == 0, c, jnp.asarray(a)).astype(old.dtype)
                    for a, c, old in zip(averaged, current, leaves)]
        averaged = [jnp.where(due, a, old) for a, old in zip(averaged, leaves)]
        state = AveragedModelState(count, jnp.where(due, n + 1, n).astype(n.dtype), treedef.unflatten(averaged))
        return updates, state

    return GradientTransformation(init_fn, update_fn)


def averaged_params(state: Any) -> Any:
    """The averaged weights of an ``AveragedModel`` state (torch: ``swa_model.module``'s parameters).

    Args:
      state: the state of ``AveragedModel`` or of a chain holding one.

    Returns:
      A tree like the params.

    Raises:
      ValueError: if the state holds no ``AveragedModel`` state, or more than one.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> from jaxopt_zoo.torch_compat import swa_utils
      >>> tx = zoo.chain(zoo.sgd(0.1), swa_utils.AveragedModel(multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.5)))
      >>> params = jnp.array([1.0]); state = tx.init(params)
      >>> updates, state = tx.update(params, state, params)
      >>> print(round(float(swa_utils.averaged_params(state)[0]), 6))  # the first update copies
      0.9
    """
    found = []
    is_avg = lambda x: isinstance(x, AveragedModelState)  # noqa: E731
    jax.tree.map(lambda x: found.append(x) if is_avg(x) else None, state, is_leaf=is_avg)
    if len(found) != 1:
        _validate.fail(_PREFIX + "averaged_params", "state", type(state).__name__,
                       "must hold exactly one torch_compat.swa_utils.AveragedModel state")
    return found[0].averaged
