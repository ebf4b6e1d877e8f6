r"""torch's SequentialLR and ChainedScheduler, with torch's own (recursive) semantics.

**SequentialLR** runs member ``i`` from milestone ``m_{i-1}`` on, as torch 2.13 does: the lr
is reset to the base lr, the member active at step 0 takes its construction step, and at
each later step ``t`` the member ``i = bisect_right(milestones, t)`` is stepped — except at
``t == m_{i-1}``, where torch calls ``_update_lr(0)``: members with a closed form restart
from their closed-form value at 0 (StepLR, LinearLR, CosineAnnealingLR, ...), LambdaLR and
CosineAnnealingWarmRestarts from their value at 0, and MultiplicativeLR multiplies the lr
the previous member left by ``lr_lambda(0)`` (torch's quirk, reproduced). A member whose
milestones coincide with the next one's never runs. Member ``i`` then sees local step
``t - m_{i-1}``.

**ChainedScheduler** steps every member on the same lr at each step, in order. The lr at
step 0 is every member's construction step applied in list order (the order torch users
build them in). When every member multiplies (StepLR, MultiStepLR, ConstantLR, LinearLR,
ExponentialLR, PolynomialLR, MultiplicativeLR) the value is the product of their factors;
with an overwriting member (LambdaLR, CosineAnnealingWarmRestarts) only the maps of the
current step from the last such member on matter; otherwise (CosineAnnealingLR's affine
recursion) torch's per-step maps are composed and folded over the steps. Neither is the
product of the members' closed forms.

Members must be the look-alikes of torch's chainable schedulers (not CyclicLR, OneCycleLR,
ReduceLROnPlateau or a nested SequentialLR / ChainedScheduler), share one base lr (in torch
they share one optimizer) and keep ``steps_per_epoch=1``: the composite's own
``steps_per_epoch`` maps optimizer steps to its steps.
"""

from __future__ import annotations

from typing import Any, Sequence

import jax.numpy as jnp

from .. import _validate
from ..schedules._join import _check_increasing
from ._sched_base import Fold, TorchLRScheduler


def _check_members(fn: str, schedulers: Sequence[Any], lr: Any = None) -> list:
    schedulers = list(schedulers) if isinstance(schedulers, (list, tuple)) else schedulers
    if not isinstance(schedulers, list) or not schedulers:
        _validate.fail(fn, "schedulers", schedulers, "must be a non-empty list of torch_compat schedulers")
    for s in schedulers:
        if not isinstance(s, TorchLRScheduler) or s._chain_kind is None:
            _validate.fail(fn, "schedulers", s, "must hold torch_compat.lr_scheduler schedulers torch can chain "
                           "(not CyclicLR, OneCycleLR, ReduceLROnPlateau, SequentialLR or ChainedScheduler)")
        if s._every != 1:
            _validate.fail(fn, "schedulers", s, "must hold members with steps_per_epoch=1 (give steps_per_epoch "
                           "to the composite instead)")
    lrs = [_validate.concrete_float(s.lr) for s in schedulers]
    if lr is not None:
        lrs.append(_validate.concrete_float(lr))
    known = {x for x in lrs if x is not None}
    if len(known) > 1:
        _validate.fail(fn, "schedulers", [s.lr for s in schedulers],
                       "must share one base lr" + ("" if lr is None else f" equal to `lr` ({lr!r})")
                       + " (in torch they share one optimizer)")
    return schedulers


class SequentialLR(TorchLRScheduler):
    r"""torch's SequentialLR: member ``i`` drives the lr from milestone ``i - 1`` on.

    See the module docstring for torch's restart rules at each milestone, reproduced here.

    Args:
      lr: the base learning rate (every member's ``lr`` must equal it).
      schedulers: the members, ``torch_compat.lr_scheduler`` schedulers.
      milestones: ``len(schedulers) - 1`` scheduler steps, integers >= 0 in non-decreasing
        order.
      steps_per_epoch: optimizer steps per ``scheduler.step()`` (keyword only).

    Returns:
      A schedule: torch's lr after ``floor(t / steps_per_epoch)`` scheduler steps.

    Raises:
      ValueError: for a bad member, members with another base lr, a wrong number of
        milestones, milestones out of order or negative, or ``steps_per_epoch < 1``.

    Example:
      >>> from jaxopt_zoo.torch_compat import lr_scheduler as L
      >>> warmup = L.LinearLR(0.1, start_factor=0.01, total_iters=5)
      >>> cosine = L.CosineAnnealingLR(0.1, T_max=95)
      >>> s = L.SequentialLR(0.1, schedulers=[warmup, cosine], milestones=[5])
      >>> print([round(float(s(t)), 6) for t in (0, 4, 5, 52, 100)])
      [0.001, 0.0802, 0.1, 0.050827, 0.0]
    """

    def __init__(self, lr: Any, schedulers: Sequence[TorchLRScheduler], milestones: Sequence[int], *,
                 steps_per_epoch: int = 1):
        super().__init__("SequentialLR", lr, steps_per_epoch)
        fn = self._fn
        schedulers = _check_members(fn, schedulers, lr)
        milestones = list(milestones)
        if len(milestones) != len(schedulers) - 1:
            _validate.fail(fn, "milestones", milestones,
                           f"must have one entry fewer than `schedulers` ({len(schedulers)})")
        for m in milestones:
            _validate.check_int(fn, "milestones", m, lo=0)
        _check_increasing(fn, "milestones", milestones)
        self.schedulers, self.milestones = schedulers, milestones

    def _segments(self):
        """(member, first step, end step) of the members that ever run, in order."""
        ms, out = self.milestones, []
        for i, s in enumerate(self.schedulers):
            lo = 0 if i == 0 else ms[i - 1]
            hi = ms[i] if i < len(ms) else None
            if hi is None or lo < hi:
                out.append((s, lo, hi))
        return out

    def _value(self, e, segments=None):
        segments = self._segments() if segments is None else segments
        e = jnp.asarray(e)
        out = None
        for n in reversed(range(len(segments))):
            s, lo, hi = segments[n]
            if lo == 0:  # the member active at step 0 took torch's construction step there
                value = s._value(e)
            else:  # torch's _update_lr(0) at the milestone, then local steps e - lo
                start = s._restart_value(lambda n=n, lo=lo: self._value(lo - 1, segments[:n]))
                value = s._segment_value(start, jnp.maximum(e - lo, 0))
            out = value if out is None else jnp.where(e < hi, value, out)
        return out


class ChainedScheduler(TorchLRScheduler):
    r"""torch's ChainedScheduler: every member steps the same lr, in order, at each step.

    The values are torch's recursive ones (see the module docstring): with a
    CosineAnnealingLR, LambdaLR or CosineAnnealingWarmRestarts member they are not the
    product of the members' closed forms. A chain with CosineAnnealingLR and no overwriting
    member (LambdaLR, CosineAnnealingWarmRestarts) is a recursion: it is tabulated every 1024
    steps at the first call (up to 2^20 steps) and each call folds at most 1024 steps; every
    other chain is evaluated in closed form.

    Args:
      schedulers: the members, ``torch_compat.lr_scheduler`` schedulers sharing one base lr,
        in the order torch would build them.
      steps_per_epoch: optimizer steps per ``scheduler.step()`` (keyword only).

    Returns:
      A schedule: torch's lr after ``floor(t / steps_per_epoch)`` scheduler steps.

    Raises:
      ValueError: for a bad member, members with different base lrs or ``steps_per_epoch < 1``.

    Example:
      >>> from jaxopt_zoo.torch_compat import lr_scheduler as L
      >>> s = L.ChainedScheduler([L.ConstantLR(1.0, factor=0.1, total_iters=2), L.ExponentialLR(1.0, gamma=0.9)])
      >>> [round(float(s(t)), 4) for t in range(4)]
      [0.1, 0.09, 0.81, 0.729]
    """

    def __init__(self, schedulers: Sequence[TorchLRScheduler], *, steps_per_epoch: int = 1):
        fn = "torch_compat.lr_scheduler.ChainedScheduler"
        schedulers = _check_members(fn, schedulers)
        super().__init__("ChainedScheduler", schedulers[0].lr, steps_per_epoch)
        self.schedulers = schedulers
        self._fold = Fold(self._step_map, self._start())

    def _start(self, members=None):
        v = self.lr
        for s in self.schedulers if members is None else members:
            a, b = s._init_map()
            v = a * v + b
        return v

    def _step_map(self, ks, members=None):
        a_all, b_all = jnp.ones(ks.shape), jnp.zeros(ks.shape)
        for s in self.schedulers if members is None else members:
            a, b = s._step_map(ks)
            a_all, b_all = a * a_all, a * b_all + b
        return a_all, b_all

    def _value(self, e):
        e = jnp.asarray(e)
        kinds = [s._chain_kind for s in self.schedulers]
        if all(k == "mul" for k in kinds):
            value = self._start()
            for s in self.schedulers:
                value = value * s._factor(e)
            return value
        if "overwrite" in kinds:
            # The last overwriting member erases the history at every step: only the maps of
            # step e from that member on matter (at e = 0: their construction steps).
            last = self.schedulers[len(kinds) - 1 - kinds[::-1].index("overwrite"):]
            a, b = self._step_map(jnp.maximum(e, 1), last)
            return jnp.where(e == 0, self._start(last), b)
        return self._fold(e)
