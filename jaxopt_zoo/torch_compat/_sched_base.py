r"""The common machinery of the ``torch_compat.lr_scheduler`` look-alikes.

A torch scheduler changes ``group["lr"]`` in place at each ``scheduler.step()``. Every
torch scheduler's step is an affine map of the current lr whose coefficients depend only on
the scheduler's own step count ``k`` (its ``last_epoch``), never on the lr itself:

.. math::

   lr \leftarrow A(k)\,lr + B(k)

— a multiplication (StepLR, ExponentialLR, LinearLR, ...: ``B = 0``), an affine step
(CosineAnnealingLR's recursion) or an overwrite (LambdaLR, CosineAnnealingWarmRestarts:
``A = 0``). A lone scheduler is evaluated in closed form, except MultiplicativeLR (a product
of an arbitrary ``lr_lambda``). ``ChainedScheduler`` composes the maps of its members at each
step. Where no closed form exists, a ``Fold`` evaluates the recursion: at its first call it
tabulates the lr every 1024 steps up to 2^20 steps (eagerly, once, when the hyperparameters
are concrete), and each call folds the at most 1024 steps after the nearest entry in blocks
of 256 (a ``lax.while_loop`` with a traced bound), so one evaluation per optimizer step
stays cheap however far the run goes.

Each scheduler is a callable object ``t -> lr``; ``steps_per_epoch`` maps optimizer steps to
scheduler steps: the value at optimizer step ``t`` is torch's lr after
``floor(t / steps_per_epoch)`` calls of ``scheduler.step()``.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from .. import _validate

_BLOCK = 256  # steps folded per loop iteration
_SUPER = 1024  # steps between two table entries of a Fold
_HORIZON = 2**20  # steps a Fold's table covers
_CHUNK = 2**16  # steps evaluated at once while building a table
_PREFIX = "torch_compat.lr_scheduler."


def fn_name(cls_name: str) -> str:
    """The name errors use: ``torch_compat.lr_scheduler.StepLR``."""
    return _PREFIX + cls_name


def check_lr(fn: str, value: Any, arg: str = "lr") -> None:
    """A base learning rate: a concrete or traced number >= 0, not a schedule."""
    if value is None or callable(value):
        _validate.fail(fn, arg, value, "must be a float >= 0 (the base learning rate, not a schedule)")
    _validate.check_nonnegative(fn, arg, value)


def check_callable(fn: str, arg: str, value: Any) -> None:
    if not callable(value):
        _validate.fail(fn, arg, value, "must be a callable of the integer step")


def int_step(count):
    """The scheduler step as an integer array of the default int dtype (int64 under x64).

    User callables (``lr_lambda``, ``scale_fn``) receive this, so ``epoch / 10`` divides in
    the default float precision, as torch's Python ints do.
    """
    return jnp.asarray(count, dtype=jnp.result_type(int))


def as_float(x):
    return jnp.asarray(x, dtype=jnp.result_type(float))


# What a Python-level callable raises on a traced step: ``if e < 5``, ``min(1.0, e / 5)``,
# ``range(e)``, ``table[e]``, ``math.cos(e)``, a dict look-up (tracers are unhashable).
_TRACE_ERRORS = (jax.errors.ConcretizationTypeError, jax.errors.TracerIntegerConversionError,
                 jax.errors.TracerArrayConversionError, TypeError)


def _host_fn(user_fn: Callable, dtype) -> Callable:
    """``user_fn`` on each element as a Python ``int`` (torch's ``last_epoch``), on the host."""

    def run(steps):
        steps = np.asarray(steps)
        out = [float(user_fn(int(k))) for k in steps.reshape(-1)]
        return np.asarray(out, dtype=dtype).reshape(steps.shape)

    return run


def call_user_fn(user_fn: Callable, steps):
    """``user_fn`` on an integer array of steps, elementwise, as floats.

    A jnp-traceable callable is traced (through vmap for a vector of steps). A callable with
    Python control flow on the step (``lambda e: min(1.0, (e + 1) / 5)``, torch's usual
    warmup lambda) cannot be traced: it is then called on the host, on each step as a Python
    ``int`` as torch calls it, through ``jax.pure_callback`` — the same numbers, under ``jit``
    too, at the cost of one host round trip per evaluation. A callable that fails on a Python
    ``int`` as well raises its own error here, not at the first step.
    """
    steps = int_step(steps)
    try:
        if steps.ndim == 0:
            return as_float(user_fn(steps))
        return jax.vmap(lambda k: as_float(user_fn(k)))(steps)
    except _TRACE_ERRORS as exc:
        try:  # a broken callable fails here with its own error, named after the one tracing gave
            float(user_fn(0))
        except Exception as plain:
            raise plain from exc
    dtype = jnp.result_type(float)
    shape = jax.ShapeDtypeStruct(steps.shape, dtype)
    return jax.pure_callback(_host_fn(user_fn, dtype), shape, steps, vmap_method="sequential")


def affine_fold(step_map: Callable, v0, t, start=1):
    r"""Apply the maps of steps ``k = start..t`` to ``v0``: ``v \leftarrow A(k) v + B(k)`` in order.

    ``step_map(ks)`` gives ``(A, B)`` for an int32 vector of steps. Steps are taken
    ``_BLOCK`` at a time; within a block the maps are composed pairwise in a balanced tree
    (``(A_2, B_2) \circ (A_1, B_1) = (A_2 A_1, A_2 B_1 + B_2)``), then applied to ``v``.
    """
    t = jnp.asarray(t, jnp.int32)
    offsets = jnp.arange(_BLOCK, dtype=jnp.int32)

    def body(carry):
        v, k0 = carry
        ks = k0 + offsets
        a, b = step_map(ks)
        live = ks <= t
        a = jnp.where(live, a, 1.0)
        b = jnp.where(live, b, 0.0)
        while a.shape[0] > 1:  # compose neighbours: the later map after the earlier one
            a, b = a[1::2] * a[0::2], a[1::2] * b[0::2] + b[1::2]
        return a[0] * v + b[0], k0 + _BLOCK

    init = (as_float(v0), jnp.asarray(start, jnp.int32))
    v, _ = jax.lax.while_loop(lambda c: c[1] <= t, body, init)
    return v


class Fold:
    r"""The recursion :math:`v_t = A(t)\,v_{t-1} + B(t)` from ``v0``, at any (traced) ``t``.

    The first call builds, eagerly and once, a table of :math:`v` at every ``_SUPER`` steps up
    to ``_HORIZON`` (``_HORIZON / _SUPER`` floats); a call then folds at most ``_SUPER`` steps
    from the nearest entry (past ``_HORIZON``: from the last one). Without concrete
    hyperparameters (the maps or ``v0`` traced) there is no table: every call folds from step 1.
    """

    def __init__(self, step_map: Callable, v0):
        self.step_map, self.v0 = step_map, v0
        self._table, self._tried = None, False

    def _build(self):
        # Eager even inside a trace; overflow to inf (as torch's Python floats do) is no error.
        with jax.ensure_compile_time_eval(), np.errstate(over="ignore", under="ignore", invalid="ignore"):
            v = as_float(self.v0)
            if isinstance(v, jax.core.Tracer):
                return None
            v, values = np.asarray(v), []
            step_map = jax.jit(self.step_map)  # one compile for every chunk
            chunk = min(_CHUNK, _HORIZON)
            for first in range(1, _HORIZON + 1, chunk):
                ks = np.arange(first, first + chunk, dtype=np.int32)
                a, b = step_map(ks)
                if isinstance(a, jax.core.Tracer) or isinstance(b, jax.core.Tracer):
                    return None
                a = np.broadcast_to(np.asarray(a), ks.shape).reshape(-1, _SUPER)
                b = np.broadcast_to(np.asarray(b), ks.shape).reshape(-1, _SUPER)
                while a.shape[1] > 1:
                    a, b = a[:, 1::2] * a[:, 0::2], a[:, 1::2] * b[:, 0::2] + b[:, 1::2]
                for a_block, b_block in zip(a[:, 0], b[:, 0]):
                    values.append(v)
                    v = a_block * v + b_block
            values.append(v)
            return np.asarray(values)

    def __call__(self, t):
        if not self._tried:
            self._table, self._tried = self._build(), True
        if self._table is None:
            return affine_fold(self.step_map, self.v0, t)
        t = jnp.asarray(t, jnp.int32)
        i = jnp.clip(t // _SUPER, 0, self._table.shape[0] - 1)
        return affine_fold(self.step_map, jnp.asarray(self._table)[i], t, start=i * _SUPER + 1)


class TorchLRScheduler:
    r"""Base of the ``torch_compat.lr_scheduler`` schedules: a callable ``t -> lr``.

    Subclasses define ``_value(e)``: torch's lr after ``e`` scheduler steps (``e`` an int
    array, possibly traced). Members usable inside ``ChainedScheduler`` / ``SequentialLR``
    also define how one torch step acts on the lr (see the module docstring):

    - ``_chain_kind``: ``'mul'`` (``B = 0`` always), ``'affine'`` or ``'overwrite'``;
      ``None`` for schedulers that cannot be members.
    - ``_init_map()``: ``(A, B)`` of the step torch takes when the scheduler is built.
    - ``_step_map(ks)``: ``(A, B)`` of the steps ``ks >= 1`` (vectorised).
    - ``_factor(j)`` (``'mul'`` only): :math:`\prod_{k=1}^{j} A(k)` in closed form.
    - ``_restart_value(prev)``: the lr after SequentialLR's ``_update_lr(0)`` at a milestone;
      ``prev()`` gives the lr before it.
    - ``_segment_value(v, j)``: the lr ``j`` steps after that restart (``v`` its value).
    """

    _chain_kind: str | None = None

    def __new__(cls, *args, **kwargs):
        self = super().__new__(cls)
        self._ctor_args = (args, kwargs)  # to build it again on another base lr (param groups)
        return self

    def __init__(self, name: str, lr: Any, steps_per_epoch: int, lr_arg: str = "lr", fn: str | None = None):
        self._fn = fn or fn_name(name)  # ``fn``: the name errors use, outside lr_scheduler (swa_utils.SWALR)
        self.__name__ = name
        check_lr(self._fn, lr, lr_arg)
        _validate.check_int(self._fn, "steps_per_epoch", steps_per_epoch, lo=1)
        self.lr = lr
        self.steps_per_epoch = steps_per_epoch
        self._every = steps_per_epoch
        self._compiled = None

    # --- the schedule ------------------------------------------------------------------
    def scheduler_step(self, count):
        """The number of scheduler steps taken after ``count`` optimizer steps."""
        count = jnp.asarray(count)
        return count if self._every == 1 else jnp.floor_divide(count, self._every)

    def __call__(self, count):
        if self._compiled is None:  # one compiled function per schedule: eager calls stay cheap
            self._compiled = jax.jit(lambda c: as_float(self._value(self.scheduler_step(c))))
        return self._compiled(count)

    def _value(self, e):
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<torch_compat.lr_scheduler.{self.__name__} schedule (lr={self.lr!r}, steps_per_epoch={self._every})>"

    # --- chaining (defaults for a multiplicative member) -----------------------------------
    def _init_map(self):
        return 1.0, 0.0

    def _restart_value(self, prev):
        a, b = self._init_map()
        return a * self.lr + b

    def _segment_value(self, v, j):
        return v * self._factor(j)

    def _factor(self, j):
        raise NotImplementedError


class OverwritingScheduler(TorchLRScheduler):
    """A member whose every step writes its closed form ``_value(e)`` (LambdaLR,
    CosineAnnealingWarmRestarts): inside a chain only the last overwriter's value matters."""

    _chain_kind = "overwrite"

    def _init_map(self):
        return 0.0, self._value(0)

    def _step_map(self, ks):
        return jnp.zeros(ks.shape), self._value(ks)

    def _restart_value(self, prev):
        return self._value(0)

    def _segment_value(self, v, j):
        return self._value(j)
