r"""ReduceLROnPlateau as the ``lr`` of a torch_compat optimizer.

In torch, ``ReduceLROnPlateau(optimizer, ...)`` rewrites ``param_group['lr']`` whenever
``scheduler.step(metric)`` finds a plateau. Here the scheduler *is* the lr::

    tx = tc.SGD(lr=tc.lr_scheduler.ReduceLROnPlateau(0.1, patience=5), momentum=0.9)
    updates, state = tx.update(grads, state, params, value=val_loss)

Each update that receives ``value=`` takes exactly one torch ``scheduler.step(value)``
*before* the step's lr is used, so that update already runs with the new lr; an update
without ``value`` keeps the lr. A torch loop ``opt.step(); ...; sched.step(val_loss)`` maps
to passing ``val_loss`` to the *next* update.

With ``steps_per_epoch=S`` the metric is read once per epoch, inside the one compiled train
step: every update may receive ``value=`` (for instance the last validation loss, an
argument of the jitted step), and only updates ``S, 2S, 3S, ...`` (the first of each epoch
after the first) take the ``scheduler.step(value)``; the others ignore it. That is torch's
``sched.step(val_loss)`` at the end of each epoch of ``S`` optimizer steps, without a second
step function for the updates that carry a metric (a jitted function compiles once per set
of keyword arguments).

The rules are the zoo's ``reduce_on_plateau`` (one home: ``transforms/_plateau.py``), which
works on a scale starting at 1: torch's lr-valued ``min_lr`` and ``eps`` become
``min_lr / lr`` and ``eps / lr`` on the scale, and the lr in use is ``lr * scale``.
``zoo.current_hyperparams(state)`` reports both: ``'lr'`` (torch's ``param_groups[0]['lr']``)
and ``'plateau_scale'``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .. import _validate
from ..transforms._plateau import ReduceLROnPlateauState, check_plateau_args, init_plateau_state, plateau_step

_FN = "torch_compat.lr_scheduler.ReduceLROnPlateau"


class ReduceLROnPlateau:
    """torch's ReduceLROnPlateau, given as the ``lr`` of a torch_compat optimizer.

    ``lr`` is multiplied by ``factor`` when the metric passed as ``value=`` has not improved
    for more than ``patience`` steps (see ``jaxopt_zoo.reduce_on_plateau`` for the rules);
    the optimizer's update then takes the keyword ``value=``.

    Args:
      lr: the initial learning rate, a float > 0 (torch takes it from the optimizer).
      mode: ``'min'`` (a loss) or ``'max'`` (an accuracy).
      factor: the factor applied on a plateau, in [0, 1).
      patience: bad steps tolerated before reducing, an integer >= 0.
      threshold: the least relative/absolute change that counts as better, >= 0.
      threshold_mode: ``'rel'`` or ``'abs'``.
      cooldown: steps after a reduction during which bad steps are not counted, >= 0.
      min_lr: the lowest lr, >= 0 (a single float: torch_compat optimizers have one group).
      eps: lr reductions smaller than this are skipped, >= 0.
      steps_per_epoch: ``None`` (every update given ``value=`` steps the scheduler) or an
        integer >= 1: only updates ``S, 2S, ...`` do, so ``value=`` may be passed at every
        update of one jitted step (module docstring). Not a torch keyword.

    Raises:
      ValueError: for an argument outside its range or an unknown mode.

    Example:
      >>> from jaxopt_zoo import torch_compat as tc
      >>> tx = tc.Adam(lr=tc.lr_scheduler.ReduceLROnPlateau(1e-3, factor=0.5, patience=3))
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = jnp.array([1.0, -2.0]); state = tx.init(params)
      >>> for loss in [1.0] * 6:  # no improvement after the first value
      ...     updates, state = tx.update(params, state, params, value=loss)
      >>> print(round(float(zoo.current_hyperparams(state)["lr"]), 8))  # halved once
      0.0005
      >>> # updates, state = tx.update(grads, state, params, value=val_loss)
      >>> tx = tc.Adam(lr=tc.lr_scheduler.ReduceLROnPlateau(1e-3, factor=0.5, patience=0, steps_per_epoch=3))
      >>> state = tx.init(params)
      >>> for k in range(7):  # value= at every update; read at updates 3 and 6 only
      ...     updates, state = tx.update(params, state, params, value=jnp.asarray(1.0))
      >>> print(round(float(zoo.current_hyperparams(state)["lr"]), 8))  # 3: the best yet; 6: no better
      0.0005

    References:
      PyTorch, `torch.optim.lr_scheduler.ReduceLROnPlateau
      <https://pytorch.org/docs/stable/generated/torch.optim.lr_scheduler.ReduceLROnPlateau.html>`_.
    """

    def __init__(self, lr: float, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float = 0.0, eps: float = 1e-8, *, steps_per_epoch: int | None = None):
        if callable(lr) or _validate.concrete_float(lr) is None:
            _validate.fail(_FN, "lr", lr, "must be a float > 0 (the initial learning rate)")
        _validate.check_positive(_FN, "lr", lr)
        check_plateau_args(_FN, factor, patience, threshold, threshold_mode, cooldown, mode, eps, "min_lr", min_lr)
        if steps_per_epoch is not None:
            _validate.check_int(_FN, "steps_per_epoch", steps_per_epoch, lo=1)
        self.steps_per_epoch = steps_per_epoch
        self.lr = float(lr)
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode, self.cooldown = threshold, threshold_mode, cooldown
        self.min_lr, self.eps = min_lr, eps

    def __repr__(self) -> str:
        return (f"ReduceLROnPlateau(lr={self.lr}, mode={self.mode!r}, factor={self.factor}, patience={self.patience}, "
                f"threshold={self.threshold}, threshold_mode={self.threshold_mode!r}, cooldown={self.cooldown}, "
                f"min_lr={self.min_lr}, eps={self.eps}, steps_per_epoch={self.steps_per_epoch})")

    def __call__(self, count: Any) -> Any:
        """Refuse to be used as a schedule: the lr depends on the metric, not on the step."""
        raise TypeError(f"{_validate.PREFIX}{_FN}: it is not a schedule `t -> lr`; pass it as the `lr` of a "
                        "jaxopt_zoo.torch_compat optimizer (or use zoo.reduce_on_plateau in a chain).")

    # The three operations the optimizers' common wrapper uses.
    def init(self) -> ReduceLROnPlateauState:
        """The plateau state before any metric (scale 1)."""
        return init_plateau_state(self.mode)

    def step(self, state: ReduceLROnPlateauState, value: Any, count: Any) -> ReduceLROnPlateauState:
        """One torch ``scheduler.step(value)`` before update ``count`` (0-based), if it is due:
        always without ``steps_per_epoch``, else at the first update of each epoch but the first."""
        new = plateau_step(state, value, factor=self.factor, patience=self.patience, threshold=self.threshold,
                           threshold_mode=self.threshold_mode, cooldown=self.cooldown,
                           min_scale=self.min_lr / self.lr, mode=self.mode, eps=self.eps / self.lr)
        if self.steps_per_epoch is None:
            return new
        due = (count > 0) & (count % self.steps_per_epoch == 0)
        return jax.tree.map(lambda a, b: jnp.where(due, a, b), new, state)

    def current_lr(self, state: ReduceLROnPlateauState, dtype: Any) -> jax.Array:
        """The lr in use: ``lr * scale``."""
        return (self.lr * state.scale).astype(dtype)


def is_plateau(value: Any) -> bool:
    return isinstance(value, ReduceLROnPlateau)
