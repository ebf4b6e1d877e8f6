r"""torch's CyclicLR and OneCycleLR, each with the momentum schedule torch writes.

Both overwrite the optimizer's lr with values that do not depend on it, so these look-alikes
take torch's own arguments without the optimizer: ``CyclicLR(base_lr, max_lr, ...)`` (its
first argument is the base lr of the cycle) and ``OneCycleLR(max_lr, total_steps, ...)``.
``s.momentum`` is the schedule torch writes into ``momentum`` (SGD, RMSprop) or
``betas[0]`` (Adam and friends); it is ``None`` with ``cycle_momentum=False`` (torch then
leaves the momentum alone).

CyclicLR (:math:`L = up + down`, :math:`c = \lfloor 1 + e/L \rfloor`,
:math:`x = 1 + e/L - c`, :math:`r = up/L`):

.. math::

   f = \begin{cases} x/r & x \le r \\ (x - 1)/(r - 1) & x > r \end{cases}, \qquad
   lr = base + (max - base)\, f\, \mathrm{scale}, \qquad
   m = m_{max} - (m_{max} - m_{base})\, f\, \mathrm{scale},

with :math:`\mathrm{scale} = scale\_fn(c)` or :math:`scale\_fn(e)`
(``scale_mode='cycle'`` / ``'iterations'``).
"""

from __future__ import annotations

from typing import Any, Callable

import jax

from .. import _validate
from ..schedules._cyclic import cyclic_schedule, one_cycle_schedule, triangle_wave
from ._sched_base import TorchLRScheduler, as_float, call_user_fn, check_callable


def check_momenta(fn: str, base_momentum: Any, max_momentum: Any) -> None:
    """Both in [0, 1]: they become SGD's momentum or Adam's betas[0] (torch checks neither)."""
    for arg, value in (("base_momentum", base_momentum), ("max_momentum", max_momentum)):
        _validate.check_range(fn, arg, value, 0.0, 1.0)


class _WithMomentum(TorchLRScheduler):
    """A non-chainable scheduler with a companion momentum schedule."""

    _chain_kind = None

    def _set_momentum(self, momentum: Callable | None) -> None:
        if momentum is None:
            self.momentum = None
            return

        @jax.jit
        def schedule(count):
            return as_float(momentum(self.scheduler_step(count)))

        self.momentum = schedule


class CyclicLR(_WithMomentum):
    r"""torch's CyclicLR: the lr cycles between ``base_lr`` and ``max_lr``; ``.momentum`` too.

    Reuses ``zoo.cyclic_schedule`` for the built-in modes; a ``scale_fn`` must be
    jnp-traceable (it receives an integer array: the cycle number or the step), or Python code on a
    Python ``int`` (run on the host, see ``LambdaLR``).

    Args:
      base_lr: the lower bound, also the base lr (torch overwrites the optimizer's lr with it).
      max_lr: the upper bound.
      step_size_up: steps in the rising half, an integer >= 1.
      step_size_down: steps in the falling half, an integer >= 1 (default ``step_size_up``).
      mode: ``'triangular'``, ``'triangular2'`` or ``'exp_range'`` (ignored with ``scale_fn``).
      gamma: the decay of ``'exp_range'``, in (0, 1].
      scale_fn: a custom scaling policy; replaces ``mode``.
      scale_mode: ``'cycle'`` or ``'iterations'``: what ``scale_fn`` receives.
      cycle_momentum: give ``.momentum`` (else it is ``None``).
      base_momentum, max_momentum: the momentum bounds, in [0, 1] (torch takes any value; the
        momentum also feeds Adam's ``betas[0]``).
      steps_per_epoch: optimizer steps per ``scheduler.step()`` (keyword only; torch steps
        CyclicLR every batch, so usually 1).

    Returns:
      A schedule with ``.momentum``: torch's lr (momentum) after
      ``floor(t / steps_per_epoch)`` scheduler steps.

    Raises:
      ValueError: for a negative bound, a momentum bound outside [0, 1], a bad step size, an
        unknown ``mode`` or ``scale_mode``, ``gamma`` outside (0, 1], a non-callable ``scale_fn`` or
        ``steps_per_epoch < 1``.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> from jaxopt_zoo.torch_compat import lr_scheduler as L
      >>> s = L.CyclicLR(1e-3, max_lr=6e-3, step_size_up=500, mode="triangular2")
      >>> tx = zoo.inject_hyperparams(zoo.sgd)(learning_rate=s, momentum=s.momentum)
      >>> print([round(float(s(t)), 6) for t in (0, 250, 500, 1000, 1500, 2000)])
      [0.001, 0.0035, 0.006, 0.001, 0.0035, 0.001]
      >>> print([round(float(s.momentum(t)), 6) for t in (0, 250, 500)])
      [0.9, 0.85, 0.8]

    References:
      Smith, `Cyclical Learning Rates for Training Neural Networks
      <https://arxiv.org/abs/1506.01186>`_, 2017.
    """

    def __init__(self, base_lr: Any, max_lr: Any, step_size_up: int = 2000, step_size_down: int | None = None,
                 mode: str = "triangular", gamma: Any = 1.0, scale_fn: Callable | None = None,
                 scale_mode: str = "cycle", cycle_momentum: bool = True, base_momentum: Any = 0.8,
                 max_momentum: Any = 0.9, *, steps_per_epoch: int = 1):
        super().__init__("CyclicLR", base_lr, steps_per_epoch, lr_arg="base_lr")
        fn = self._fn
        _validate.check_nonnegative(fn, "max_lr", max_lr)
        _validate.check_int(fn, "step_size_up", step_size_up, lo=1)
        if step_size_down is not None:
            _validate.check_int(fn, "step_size_down", step_size_down, lo=1)
        _validate.check_range(fn, "gamma", gamma, 0.0, 1.0, lo_open=True)
        check_momenta(fn, base_momentum, max_momentum)
        self.base_lr, self.max_lr, self.mode, self.gamma = base_lr, max_lr, mode, gamma
        if scale_fn is None:
            _validate.check_choice(fn, "mode", mode, ("triangular", "triangular2", "exp_range"))
            inner = cyclic_schedule(base_lr, max_lr, step_size_up, step_size_down, mode, gamma,
                                    base_momentum=base_momentum, max_momentum=max_momentum)
            lr_fn, momentum_fn = inner, inner.momentum
        else:
            check_callable(fn, "scale_fn", scale_fn)
            _validate.check_choice(fn, "scale_mode", scale_mode, ("cycle", "iterations"))

            def height(e):
                factor, cycle, _ = triangle_wave(e, step_size_up, step_size_down)
                scale = call_user_fn(scale_fn, cycle if scale_mode == "cycle" else e)
                return factor * scale

            def lr_fn(e):
                return base_lr + (max_lr - base_lr) * height(e)

            def momentum_fn(e):
                return max_momentum - (max_momentum - base_momentum) * height(e)

        self._lr_fn = lr_fn
        self._set_momentum(momentum_fn if cycle_momentum else None)

    def _value(self, e):
        return self._lr_fn(e)


class OneCycleLR(_WithMomentum):
    r"""torch's OneCycleLR: the 1cycle policy; ``.momentum`` moves the opposite way.

    Reuses ``zoo.one_cycle_schedule``. The cycle lasts ``total_steps`` scheduler steps, or
    ``epochs * steps_per_epoch`` when ``total_steps`` is not given — ``steps_per_epoch``
    keeps torch's meaning here (batches per epoch), and OneCycleLR, stepped every batch in
    torch, always takes one scheduler step per optimizer step. torch raises after
    ``total_steps`` steps; this schedule holds its value at step ``total_steps``.

    Args:
      max_lr: the peak lr (the optimizer's lr is irrelevant: torch overwrites it with
        ``max_lr / div_factor``).
      total_steps: the length of the cycle, an integer >= 1.
      epochs, steps_per_epoch: integers >= 1 giving ``total_steps = epochs * steps_per_epoch``.
      pct_start: the fraction of the cycle spent rising, in (0, 1).
      anneal_strategy: ``'cos'`` or ``'linear'``.
      cycle_momentum: give ``.momentum`` (else it is ``None``).
      base_momentum, max_momentum: the momentum at the peak lr and at the ends, in [0, 1].
      div_factor: ``max_lr / initial lr``, > 0.
      final_div_factor: ``initial lr / final lr``, > 0.
      three_phase: the three-phase variant.

    Returns:
      A schedule with ``.momentum``: torch's lr (momentum) after ``t`` steps.

    Raises:
      ValueError: without ``total_steps`` nor ``epochs`` and ``steps_per_epoch``, or for a bad
        ``pct_start``, ``anneal_strategy``, factor, momentum bound or a negative ``max_lr``.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> from jaxopt_zoo.torch_compat import lr_scheduler as L
      >>> s = L.OneCycleLR(0.1, epochs=10, steps_per_epoch=390)
      >>> tx = zoo.inject_hyperparams(zoo.sgd)(learning_rate=s, momentum=s.momentum)
      >>> print([round(float(s(t)), 6) for t in (0, 1169, 3899)])
      [0.004, 0.1, 0.0]
      >>> print([round(float(s.momentum(t)), 6) for t in (0, 1169, 3899)])
      [0.95, 0.85, 0.95]

    References:
      Smith & Topin, `Super-Convergence: Very Fast Training of Neural Networks Using Large
      Learning Rates <https://arxiv.org/abs/1708.07120>`_, 2018.
    """

    def __init__(self, max_lr: Any, total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum: Any = 0.85, max_momentum: Any = 0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4, three_phase: bool = False):
        super().__init__("OneCycleLR", max_lr, 1, lr_arg="max_lr")
        fn = self._fn
        if total_steps is not None:
            _validate.check_int(fn, "total_steps", total_steps, lo=1)
        elif epochs is not None and steps_per_epoch is not None:
            _validate.check_int(fn, "epochs", epochs, lo=1)
            _validate.check_int(fn, "steps_per_epoch", steps_per_epoch, lo=1)
            total_steps = epochs * steps_per_epoch
        else:
            _validate.fail(fn, "total_steps", total_steps, "must be given, or both `epochs` and `steps_per_epoch`")
        _validate.check_range(fn, "pct_start", pct_start, 0.0, 1.0, lo_open=True, hi_open=True)
        _validate.check_choice(fn, "anneal_strategy", anneal_strategy, ("cos", "linear"))
        _validate.check_positive(fn, "div_factor", div_factor)
        _validate.check_positive(fn, "final_div_factor", final_div_factor)
        check_momenta(fn, base_momentum, max_momentum)
        self.max_lr, self.total_steps, self.epochs = max_lr, total_steps, epochs
        self.steps_per_epoch = steps_per_epoch  # torch's meaning (batches per epoch)
        self.lr = max_lr / div_factor if _validate.concrete_float(max_lr) is not None else max_lr
        inner = one_cycle_schedule(max_lr, total_steps, pct_start, anneal_strategy, div_factor, final_div_factor,
                                   three_phase, base_momentum=base_momentum, max_momentum=max_momentum)
        self._lr_fn = inner
        self._set_momentum(inner.momentum if cycle_momentum else None)

    def _value(self, e):
        return self._lr_fn(e)

    def __repr__(self) -> str:
        return f"<torch_compat.lr_scheduler.OneCycleLR schedule (max_lr={self.max_lr!r}, total_steps={self.total_steps})>"


