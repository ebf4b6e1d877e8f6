r"""Hugging Face ``transformers.optimization`` schedules, as schedules ``t -> lr``.

Each function takes the base lr first (transformers' first argument is the optimizer, whose
lr it scales), then transformers' keywords with transformers' defaults, and returns a
``torch_compat.lr_scheduler.LambdaLR`` — transformers' schedules are ``LambdaLR``\ s too — whose
value at ``t`` equals transformers' lr after ``t`` calls of ``scheduler.step()`` (tested at
every step against live transformers, and against committed fixtures where it is not
installed). ``last_epoch`` resumes as torch does: the value at ``t`` is then the lr after
``last_epoch + 1 + t`` steps of a fresh scheduler.

With :math:`W` = ``num_warmup_steps``, :math:`N` = ``num_training_steps``, :math:`c` =
``num_cycles``, the factor applied to the base lr at step :math:`e` is :math:`e / \max(1, W)`
during the warmup (:math:`e < W`) and then, with :math:`p = (e - W) / \max(1, N - W)`:

- constant: 1 (no warmup); constant_with_warmup: 1
- linear_with_warmup: :math:`\max(0, (N - e) / \max(1, N - W))`
- cosine_with_warmup: :math:`\max(0, \tfrac12 (1 + \cos 2\pi c p))`
- cosine_with_hard_restarts_with_warmup: :math:`\tfrac12 (1 + \cos(\pi\,((c p) \bmod 1)))`, 0 from
  :math:`p \ge 1`
- polynomial_decay_with_warmup: :math:`((\eta - \eta_{end}) (1 - p)^{power} + \eta_{end}) / \eta`
  up to :math:`N`, then :math:`\eta_{end} / \eta`
- inverse_sqrt: :math:`1 / \sqrt{(e + \tau - W) / \tau}`
- cosine_with_min_lr_with_warmup: :math:`\max(0, \tfrac12 (1 + \cos 2\pi c p)(1 - r) + r)`
- wsd: see :func:`get_wsd_schedule`.

    from jaxopt_zoo import torch_compat as tc
    from jaxopt_zoo.torch_compat import transformers as hf
    # transformers: opt = AdamW(model.parameters(), lr=5e-5)
    #               sched = get_cosine_schedule_with_warmup(opt, 100, 1000)
    tx = tc.AdamW(lr=hf.get_cosine_schedule_with_warmup(5e-5, 100, 1000))
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from .. import _validate
from ._sched_base import as_float, check_lr
from ._sched_simple import LambdaLR

_PREFIX = "torch_compat.transformers."


def _start(name: str, lr: Any, last_epoch: int, **ints: Any) -> str:
    fn = _PREFIX + name
    check_lr(fn, lr)
    _validate.check_int(fn, "last_epoch", last_epoch, lo=-1)
    for arg, value in ints.items():
        if value is not None:
            _validate.check_int(fn, arg, value, lo=0)
    return fn


def _lambda_lr(lr: Any, factor, last_epoch: int) -> LambdaLR:
    """``lr * factor(e)`` after ``e`` steps, resumed after ``last_epoch + 1`` steps."""
    shift = int(last_epoch) + 1
    if shift == 0:
        return LambdaLR(lr, lambda e: as_float(factor(e)))
    return LambdaLR(lr, lambda e: as_float(factor(e + shift)))


def _div(num, den):
    """``num / den`` rounded once, as Python's float division.

    XLA turns a division by a constant or a broadcast scalar into a multiplication by its
    reciprocal (two roundings): ``49 / 98`` becomes ``0.49999999999999994``, and the hard
    restarts' ``(c p) mod 1`` then jumps a whole cycle. A divisor with the shape of the
    numerator keeps the true division.
    """
    num = as_float(num)
    return num / (as_float(den) + 0.0 * num)


def _warmup(e, num_warmup_steps):
    return _div(e, jnp.maximum(1, num_warmup_steps))


def _progress(e, num_warmup_steps, num_training_steps):
    return _div(e - num_warmup_steps, jnp.maximum(1, num_training_steps - num_warmup_steps))


def get_constant_schedule(lr: Any, last_epoch: int = -1) -> LambdaLR:
    """transformers' ``get_constant_schedule``: the base lr at every step.

    Args:
      lr: the base learning rate (transformers: the optimizer's lr).
      last_epoch: the index of the last step when resuming (-1: a fresh schedule).

    Returns:
      A ``LambdaLR`` schedule.

    Raises:
      ValueError: for a negative ``lr`` or ``last_epoch < -1``.

    Example:
      >>> from jaxopt_zoo.torch_compat import transformers as hf
      >>> round(float(hf.get_constant_schedule(0.1)(7)), 6)
      0.1
    """
    _start("get_constant_schedule", lr, last_epoch)
    return _lambda_lr(lr, lambda e: jnp.ones(jnp.shape(e)), last_epoch)


def get_constant_schedule_with_warmup(lr: Any, num_warmup_steps: int, last_epoch: int = -1) -> LambdaLR:
    """transformers' ``get_constant_schedule_with_warmup``: linear warmup from 0, then the base lr.

    Args:
      lr: the base learning rate.
      num_warmup_steps: :math:`W`, an integer >= 0.
      last_epoch: the index of the last step when resuming (-1: a fresh schedule).

    Returns:
      A ``LambdaLR`` schedule.

    Raises:
      ValueError: for a negative ``lr`` or step count.

    Example:
      >>> from jaxopt_zoo.torch_compat import transformers as hf
      >>> s = hf.get_constant_schedule_with_warmup(0.1, num_warmup_steps=4)
      >>> print([round(float(s(t)), 4) for t in range(6)])
      [0.0, 0.025, 0.05, 0.075, 0.1, 0.1]
    """
    _start("get_constant_schedule_with_warmup", lr, last_epoch, num_warmup_steps=num_warmup_steps)

    def factor(e):
        return jnp.where(e < num_warmup_steps, _warmup(e, num_warmup_steps), 1.0)

    return _lambda_lr(lr, factor, last_epoch)


def get_linear_schedule_with_warmup(lr: Any, num_warmup_steps: int, num_training_steps: int,
                                    last_epoch: int = -1) -> LambdaLR:
    """transformers' ``get_linear_schedule_with_warmup``: linear warmup from 0, linear decay to 0 at ``N``.

    Args:
      lr: the base learning rate.
      num_warmup_steps: :math:`W`, an integer >= 0.
      num_training_steps: :math:`N`, an integer >= 0.
      last_epoch: the index of the last step when resuming (-1: a fresh schedule).

    Returns:
      A ``LambdaLR`` schedule.

    Raises:
      ValueError: for a negative ``lr`` or step count.

    Example:
      >>> from jaxopt_zoo.torch_compat import transformers as hf
      >>> s = hf.get_linear_schedule_with_warmup(1.0, num_warmup_steps=2, num_training_steps=6)
      >>> print([round(float(s(t)), 4) for t in range(8)])
      [0.0, 0.5, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    """
    _start("get_linear_schedule_with_warmup", lr, last_epoch, num_warmup_steps=num_warmup_steps,
           num_training_steps=num_training_steps)

    def factor(e):
        decay = jnp.maximum(0.0, _div(num_training_steps - e, jnp.maximum(1, num_training_steps - num_warmup_steps)))
        return jnp.where(e < num_warmup_steps, _warmup(e, num_warmup_steps), decay)

    return _lambda_lr(lr, factor, last_epoch)


def get_cosine_schedule_with_warmup(lr: Any, num_warmup_steps: int, num_training_steps: int, num_cycles: Any = 0.5,
                                    last_epoch: int = -1) -> LambdaLR:
    """transformers' ``get_cosine_schedule_with_warmup``: linear warmup from 0, then a cosine.

    Args:
      lr: the base learning rate.
      num_warmup_steps: :math:`W`, an integer >= 0.
      num_training_steps: :math:`N`, an integer >= 0.
      num_cycles: :math:`c`, the number of cosine periods over :math:`N - W` steps (0.5: a
        half cosine down to 0). Past :math:`N` the cosine goes on (transformers' values).
      last_epoch: the index of the last step when resuming (-1: a fresh schedule).

    Returns:
      A ``LambdaLR`` schedule.

    Raises:
      ValueError: for a negative ``lr`` or step count.

    Example:
      >>> from jaxopt_zoo.torch_compat import transformers as hf
      >>> s = hf.get_cosine_schedule_with_warmup(1.0, num_warmup_steps=2, num_training_steps=6)
      >>> print([round(float(s(t)), 4) for t in range(7)])
      [0.0, 0.5, 1.0, 0.8536, 0.5, 0.1464, 0.0]
    """
    _start("get_cosine_schedule_with_warmup", lr, last_epoch, num_warmup_steps=num_warmup_steps,
           num_training_steps=num_training_steps)

    def factor(e):
        p = _progress(e, num_warmup_steps, num_training_steps)
        decay = jnp.maximum(0.0, 0.5 * (1.0 + jnp.cos(jnp.pi * num_cycles * 2.0 * p)))
        return jnp.where(e < num_warmup_steps, _warmup(e, num_warmup_steps), decay)

    return _lambda_lr(lr, factor, last_epoch)


def get_cosine_with_hard_restarts_schedule_with_warmup(lr: Any, num_warmup_steps: int, num_training_steps: int,
                                                       num_cycles: int = 1, last_epoch: int = -1) -> LambdaLR:
    """transformers' ``get_cosine_with_hard_restarts_schedule_with_warmup``: warmup, then ``num_cycles``
    half cosines from the base lr down to 0, each restarting at the base lr; 0 from ``N`` on.

    Args:
      lr: the base learning rate.
      num_warmup_steps: :math:`W`, an integer >= 0.
      num_training_steps: :math:`N`, an integer >= 0.
      num_cycles: :math:`c`, the number of hard restarts (cycles).
      last_epoch: the index of the last step when resuming (-1: a fresh schedule).

    Returns:
      A ``LambdaLR`` schedule.

    Raises:
      ValueError: for a negative ``lr`` or step count.

    Example:
      >>> from jaxopt_zoo.torch_compat import transformers as hf
      >>> s = hf.get_cosine_with_hard_restarts_schedule_with_warmup(1.0, 0, 8, num_cycles=2)
      >>> print([round(float(s(t)), 4) for t in range(9)])
      [1.0, 0.8536, 0.5, 0.1464, 1.0, 0.8536, 0.5, 0.1464, 0.0]
    """
    _start("get_cosine_with_hard_restarts_schedule_with_warmup", lr, last_epoch, num_warmup_steps=num_warmup_steps,
           num_training_steps=num_training_steps)

    def factor(e):
        p = _progress(e, num_warmup_steps, num_training_steps)
        decay = jnp.maximum(0.0, 0.5 * (1.0 + jnp.cos(jnp.pi * jnp.mod(as_float(num_cycles) * p, 1.0))))
        decay = jnp.where(p >= 1.0, 0.0, decay)
        return jnp.where(e < num_warmup_steps, _warmup(e, num_warmup_steps), decay)

    return _lambda_lr(lr, factor, last_epoch)


def get_polynomial_decay_schedule_with_warmup(lr: Any, num_warmup_steps: int, num_training_steps: int,
                                              lr_end: Any = 1e-7, power: Any = 1.0, last_epoch: int = -1) -> LambdaLR:
    r"""transformers' ``get_polynomial_decay_schedule_with_warmup``: warmup, then a polynomial decay to ``lr_end``.

    From :math:`W` to :math:`N` the lr is :math:`(\eta - \eta_{end}) (1 - p)^{power} + \eta_{end}`
    (:math:`\eta` = ``lr``), then ``lr_end``.

    Args:
      lr: the base learning rate (transformers: the optimizer's default lr), > ``lr_end``.
      num_warmup_steps: :math:`W`, an integer >= 0.
      num_training_steps: :math:`N`, an integer >= 0, not equal to :math:`W` (transformers
        divides by :math:`N - W` at step :math:`N`).
      lr_end: the final lr.
      power: the power of the decay (1: linear, as BERT's).
      last_epoch: the index of the last step when resuming (-1: a fresh schedule).

    Returns:
      A ``LambdaLR`` schedule.

    Raises:
      ValueError: for a negative ``lr`` or step count, ``lr_end >= lr`` (as transformers),
        ``num_training_steps == num_warmup_steps``, or a negative ``lr_end`` or ``power``
        (transformers takes them: a negative lr at the end; a division by zero at step N).

    Example:
      >>> from jaxopt_zoo.torch_compat import transformers as hf
      >>> s = hf.get_polynomial_decay_schedule_with_warmup(1.0, 2, 6, lr_end=0.2, power=2.0)
      >>> print([round(float(s(t)), 4) for t in range(8)])
      [0.0, 0.5, 1.0, 0.65, 0.4, 0.25, 0.2, 0.2]
    """
    fn = _start("get_polynomial_decay_schedule_with_warmup", lr, last_epoch, num_warmup_steps=num_warmup_steps,
                num_training_steps=num_training_steps)
    _validate.check_nonnegative(fn, "lr_end", lr_end)  # a negative lr at the end (transformers takes it)
    _validate.check_nonnegative(fn, "power", power)  # transformers' 0 ** power fails at step N
    lr_init, end = _validate.concrete_float(lr), _validate.concrete_float(lr_end)
    if lr_init is not None and end is not None and not lr_init > end:
        _validate.fail(fn, "lr_end", lr_end, f"must be smaller than the initial lr {lr!r}")
    if num_training_steps == num_warmup_steps:
        _validate.fail(fn, "num_training_steps", num_training_steps,
                       "must differ from num_warmup_steps (transformers divides by their difference)")

    def factor(e):
        pct = 1.0 - _div(e - num_warmup_steps, num_training_steps - num_warmup_steps)
        decay = ((lr - lr_end) * jnp.clip(pct, 0.0, None) ** power + lr_end) / lr
        decay = jnp.where(e > num_training_steps, lr_end / lr, decay)
        return jnp.where(e < num_warmup_steps, _warmup(e, num_warmup_steps), decay)

    return _lambda_lr(lr, factor, last_epoch)


def get_inverse_sqrt_schedule(lr: Any, num_warmup_steps: int, timescale: int | None = None,
                              last_epoch: int = -1) -> LambdaLR:
    """transformers' ``get_inverse_sqrt_schedule``: warmup from 0, then ``lr / sqrt((e + timescale - W) / timescale)``.

    The native form is ``jaxopt_zoo.inverse_sqrt_schedule`` (same values).

    Args:
      lr: the base learning rate.
      num_warmup_steps: :math:`W`, an integer >= 0.
      timescale: :math:`\\tau`, an integer >= 1; default ``num_warmup_steps`` (10,000 if that is 0).
      last_epoch: the index of the last step when resuming (-1: a fresh schedule).

    Returns:
      A ``LambdaLR`` schedule.

    Raises:
      ValueError: for a negative ``lr`` or step count, or ``timescale < 1``.

    Example:
      >>> from jaxopt_zoo.torch_compat import transformers as hf
      >>> s = hf.get_inverse_sqrt_schedule(1.0, num_warmup_steps=4)
      >>> print([round(float(s(t)), 4) for t in (0, 2, 4, 16, 64)])
      [0.0, 0.5, 1.0, 0.5, 0.25]
    """
    fn = _start("get_inverse_sqrt_schedule", lr, last_epoch, num_warmup_steps=num_warmup_steps)
    if timescale is None:
        timescale = num_warmup_steps or 10_000
    _validate.check_int(fn, "timescale", timescale, lo=1)

    def factor(e):
        decay = 1.0 / jnp.sqrt(_div(jnp.maximum(as_float(e + (timescale - num_warmup_steps)), 1.0), timescale))
        return jnp.where(e < num_warmup_steps, _warmup(e, num_warmup_steps), decay)

    return _lambda_lr(lr, factor, last_epoch)


def get_cosine_with_min_lr_schedule_with_warmup(lr: Any, num_warmup_steps: int, num_training_steps: int,
                                                num_cycles: Any = 0.5, last_epoch: int = -1, min_lr: Any = None,
                                                min_lr_rate: Any = None) -> LambdaLR:
    """transformers' ``get_cosine_with_min_lr_schedule_with_warmup``: warmup, then a cosine down to ``min_lr``.

    Args:
      lr: the base learning rate.
      num_warmup_steps: :math:`W`, an integer >= 0.
      num_training_steps: :math:`N`, an integer >= 0.
      num_cycles: :math:`c`, the number of cosine periods over :math:`N - W` steps.
      last_epoch: the index of the last step when resuming (-1: a fresh schedule).
      min_lr: the lr the cosine ends at; give it or ``min_lr_rate``, not both.
      min_lr_rate: :math:`r`, ``min_lr`` as a fraction of ``lr``.

    Returns:
      A ``LambdaLR`` schedule.

    Raises:
      ValueError: for a negative ``lr`` or step count, unless exactly one of ``min_lr``
        and ``min_lr_rate`` is given (as transformers), or for a negative one of them
        (transformers takes it, and clamps the lr at 0).

    Example:
      >>> from jaxopt_zoo.torch_compat import transformers as hf
      >>> s = hf.get_cosine_with_min_lr_schedule_with_warmup(1.0, 2, 6, min_lr=0.2)
      >>> print([round(float(s(t)), 4) for t in range(7)])
      [0.0, 0.5, 1.0, 0.8828, 0.6, 0.3172, 0.2]
    """
    fn = _start("get_cosine_with_min_lr_schedule_with_warmup", lr, last_epoch, num_warmup_steps=num_warmup_steps,
                num_training_steps=num_training_steps)
    for arg, value in (("min_lr", min_lr), ("min_lr_rate", min_lr_rate)):
        if value is not None:  # transformers takes a negative one (the lr then ends clamped at 0)
            _validate.check_nonnegative(fn, arg, value)
    if min_lr is not None and min_lr_rate is not None:
        _validate.fail(fn, "min_lr_rate", min_lr_rate, f"must be None when min_lr is given (min_lr={min_lr!r})")
    if min_lr is None and min_lr_rate is None:
        _validate.fail(fn, "min_lr", min_lr, "or `min_lr_rate` must be given")
    rate = min_lr / lr if min_lr is not None else min_lr_rate

    def factor(e):
        p = _progress(e, num_warmup_steps, num_training_steps)
        decay = 0.5 * (1.0 + jnp.cos(jnp.pi * num_cycles * 2.0 * p))
        decay = jnp.maximum(0.0, decay * (1 - rate) + rate)
        return jnp.where(e < num_warmup_steps, _warmup(e, num_warmup_steps), decay)

    return _lambda_lr(lr, factor, last_epoch)


_WSD_TYPES = ("linear", "cosine", "1-sqrt")


def get_wsd_schedule(lr: Any, num_warmup_steps: int, num_decay_steps: int, num_training_steps: int | None = None,
                     num_stable_steps: int | None = None, warmup_type: str = "linear", decay_type: str = "cosine",
                     min_lr_ratio: Any = 0, num_cycles: Any = 0.5, last_epoch: int = -1) -> LambdaLR:
    r"""transformers' ``get_wsd_schedule``: warmup, stable, decay (MiniCPM's WSD).

    With :math:`r` = ``min_lr_ratio``, :math:`W, S, D` the phase lengths: the factor is
    :math:`r + (1 - r)\,w(e / \max(1, W))` while :math:`e < W`, 1 while :math:`e < W + S`,
    :math:`r + (1 - r)\,d((e - W - S) / \max(1, D))` while :math:`e < W + S + D`, then :math:`r`.
    :math:`w` is 'linear' :math:`p`, 'cosine' :math:`(1 - \cos \pi p)/2` or '1-sqrt'
    :math:`1 - \sqrt{1 - p}`; :math:`d` is 'linear' :math:`1 - p`, 'cosine'
    :math:`(1 + \cos 2\pi c p)/2` or '1-sqrt' :math:`1 - \sqrt p` (each factor at least 0).
    The native form is ``jaxopt_zoo.wsd_schedule``.

    Args:
      lr: the base learning rate.
      num_warmup_steps: :math:`W`, an integer >= 0.
      num_decay_steps: :math:`D`, an integer >= 0.
      num_training_steps: :math:`W + S + D`; used for :math:`S` when ``num_stable_steps`` is None.
      num_stable_steps: :math:`S`; wins over ``num_training_steps`` when both are given.
      warmup_type: 'linear', 'cosine' or '1-sqrt'.
      decay_type: 'linear', 'cosine' or '1-sqrt'.
      min_lr_ratio: :math:`r`, the start and end lr as a fraction of ``lr``.
      num_cycles: :math:`c` of the 'cosine' decay (0.5: a half cosine).
      last_epoch: the index of the last step when resuming (-1: a fresh schedule).

    Returns:
      A ``LambdaLR`` schedule.

    Raises:
      ValueError: for a negative ``lr``, step count or ``min_lr_ratio`` (transformers takes a
        negative ratio: a negative lr), neither ``num_training_steps`` nor
        ``num_stable_steps`` given, or an unknown type.

    Example:
      >>> from jaxopt_zoo.torch_compat import transformers as hf
      >>> s = hf.get_wsd_schedule(1.0, 2, 4, num_stable_steps=2, decay_type="linear")
      >>> print([round(float(s(t)), 4) for t in range(9)])
      [0.0, 0.5, 1.0, 1.0, 1.0, 0.75, 0.5, 0.25, 0.0]

    References:
      Hu et al., `MiniCPM: Unveiling the Potential of Small Language Models with Scalable
      Training Strategies <https://arxiv.org/abs/2404.06395>`_, 2024.
    """
    fn = _start("get_wsd_schedule", lr, last_epoch, num_warmup_steps=num_warmup_steps,
                num_decay_steps=num_decay_steps, num_training_steps=num_training_steps,
                num_stable_steps=num_stable_steps)
    if num_training_steps is None and num_stable_steps is None:
        _validate.fail(fn, "num_stable_steps", num_stable_steps, "or `num_training_steps` must be given")
    _validate.check_choice(fn, "warmup_type", warmup_type, _WSD_TYPES)
    _validate.check_nonnegative(fn, "min_lr_ratio", min_lr_ratio)  # negative: transformers' lr starts below 0
    _validate.check_choice(fn, "decay_type", decay_type, _WSD_TYPES)
    if num_stable_steps is None:
        num_stable_steps = num_training_steps - num_warmup_steps - num_decay_steps
    r = min_lr_ratio
    begin, end = num_warmup_steps + num_stable_steps, num_warmup_steps + num_stable_steps + num_decay_steps

    def factor(e):
        p = jnp.clip(_warmup(e, num_warmup_steps), 0.0, 1.0)
        if warmup_type == "linear":
            w = p
        elif warmup_type == "cosine":
            w = 0.5 * (1.0 - jnp.cos(jnp.pi * p))
        else:
            w = 1.0 - jnp.sqrt(1.0 - p)
        q = jnp.clip(_div(e - begin, jnp.maximum(1, num_decay_steps)), 0.0, 1.0)
        if decay_type == "linear":
            d = 1.0 - q
        elif decay_type == "cosine":
            d = 0.5 * (1.0 + jnp.cos(jnp.pi * num_cycles * 2.0 * q))
        else:
            d = 1.0 - jnp.sqrt(q)
        warm = jnp.maximum(0.0, w * (1.0 - r) + r)
        decay = jnp.maximum(0.0, d * (1.0 - r) + r)
        return jnp.where(e < num_warmup_steps, warm,
                         jnp.where(e < begin, 1.0, jnp.where(e < end, decay, as_float(r))))

    return _lambda_lr(lr, factor, last_epoch)
