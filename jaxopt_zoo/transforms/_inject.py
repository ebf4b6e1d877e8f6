"""Hyperparameters that move: schedules for any numeric argument, readable from the state."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Iterable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, _accepted_kwargs


class InjectHyperparamsState(NamedTuple):
    """State of an ``inject_hyperparams`` transformation.

    ``hyperparams`` holds the values used by the most recent update (at init: the values
    for the first update); ``count`` is the number of updates made.
    """

    count: jax.Array
    hyperparams: dict
    inner_state: Any


class InjectStatefulHyperparamsState(NamedTuple):
    """State of an ``inject_hyperparams`` transformation given a stateful schedule
    (optax's fields): ``hyperparams_states`` holds each stateful schedule's state."""

    count: jax.Array
    hyperparams: dict
    hyperparams_states: dict
    inner_state: Any


class WrappedScheduleState(NamedTuple):
    """State of a ``WrappedSchedule``: the number of updates made."""

    count: jax.Array


class WrappedSchedule:
    """A stateful schedule made of a plain one (optax's ``WrappedSchedule``).

    A stateful schedule has ``init() -> state``, ``update(state, **extra_args) -> state``
    and ``__call__(state, **extra_args) -> value``; this one counts updates and returns
    ``schedule_fn(count)``, the same values ``inject_hyperparams`` gives the plain schedule.

    Args:
      schedule_fn: a schedule ``step -> value``.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> s = zoo.WrappedSchedule(zoo.linear_schedule(1.0, 0.0, 10))
      >>> state = s.update(s.init())
      >>> print(round(float(s(state)), 6))
      0.9
    """

    def __init__(self, schedule_fn: Callable[[jax.Array], Any]):
        if not callable(schedule_fn):
            _validate.fail("WrappedSchedule", "schedule_fn", schedule_fn, "must be a schedule (a callable)", TypeError)
        self.schedule_fn = schedule_fn

    def init(self) -> WrappedScheduleState:
        return WrappedScheduleState(_numerics.zero_count())

    def update(self, state: WrappedScheduleState, **extra_args) -> WrappedScheduleState:
        del extra_args
        return WrappedScheduleState(_numerics.safe_increment(state.count))

    def __call__(self, state: WrappedScheduleState, **extra_args) -> Any:
        del extra_args
        return self.schedule_fn(state.count)


def _is_stateful_schedule(value: Any) -> bool:
    """optax's ``StatefulSchedule`` protocol: callable with ``init`` and ``update``."""
    return callable(value) and callable(getattr(value, "init", None)) and callable(getattr(value, "update", None))


def _is_numeric(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)) or value is None:
        return False
    return isinstance(value, (int, float, np.number, np.ndarray, jax.Array))


def inject_hyperparams(
    inner_factory: Callable[..., GradientTransformation],
    static_args: str | Iterable[str] = (),
    hyperparam_dtype: Any = None,
) -> Callable[..., GradientTransformation]:
    """Make every numeric hyperparameter of ``inner_factory`` a state entry that may move.

    ``inject_hyperparams(zoo.adam)(learning_rate=schedule, b1=0.9)`` builds adam whose
    hyperparameters live in the state: a schedule is evaluated at the update count before
    each update; a constant is read from the state (so it can be changed between steps
    without recompiling, e.g. ``state.hyperparams["b1"] = ...``). The values used are
    readable from the state, also through ``current_hyperparams``.

    A hyperparameter may also be a *stateful* schedule (optax's protocol: ``init()``,
    ``update(state, **extra_args)``, ``__call__(state, **extra_args)``, e.g.
    ``WrappedSchedule`` or optax's own): its value is ``schedule(state, **extra_args)``
    before each update, after which its state is updated with the same extra arguments
    (``value=`` and the like). The state is then an ``InjectStatefulHyperparamsState``
    (optax's fields, with ``hyperparams_states``).

    A callable *passed* for an argument is a schedule (optax's rule; name it in
    ``static_args`` if it is not); a callable *default* (adopt's ``clip_value_fn``) is kept
    as the factory's function (optax evaluates it as a schedule too, and its update fails).

    Args:
      inner_factory: a function returning a ``GradientTransformation`` (``zoo.adam``, ...).
      static_args: names of numeric arguments to keep as Python values (for arguments the
        factory branches on, e.g. an integer period).
      hyperparam_dtype: dtype of the stored float hyperparameters (``None``: the highest
        float dtype of the params, as in optax).

    Returns:
      A factory with the same arguments as ``inner_factory``.

    Raises:
      ValueError: if ``static_args`` names an argument ``inner_factory`` does not have.
      TypeError: if a keyword is not an argument of ``inner_factory``.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.inject_hyperparams(zoo.adamw)(
      ...     learning_rate=zoo.warmup_cosine_decay_schedule(0.0, 1e-3, 100, 1_000), weight_decay=1e-2)
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0]); state = tx.init(params)
      >>> for _ in range(3):
      ...     updates, state = tx.update(params, state, params)
      >>> print(round(float(zoo.current_hyperparams(state)["learning_rate"]), 8))  # the warmup's lr at step 2
      2e-05
      >>> # zoo.current_hyperparams(state)["learning_rate"] is the lr of the last update.
    """
    static_args = {static_args} if isinstance(static_args, str) else set(static_args)
    signature = inspect.signature(inner_factory)
    unknown = static_args - set(signature.parameters)
    if unknown:
        _validate.fail("inject_hyperparams", "static_args", sorted(unknown),
                       f"must name arguments of {getattr(inner_factory, '__name__', inner_factory)} "
                       f"({', '.join(signature.parameters)})")

    @functools.wraps(inner_factory)
    def wrapped_factory(*args, **kwargs) -> GradientTransformation:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{_validate.PREFIX}inject_hyperparams({getattr(inner_factory, '__name__', inner_factory)}): {e}") from None
        passed = set(bound.arguments)
        bound.apply_defaults()
        given = dict(bound.arguments)
        for p in signature.parameters.values():  # a **kwargs parameter: spread it out
            if p.kind is inspect.Parameter.VAR_KEYWORD:
                passed |= set(given.get(p.name, {}))
                given.update(given.pop(p.name, {}))
        # A callable the caller passes is a schedule (optax's rule; ``static_args`` says
        # otherwise); a callable *default* (adopt's ``clip_value_fn``) is a function the
        # factory takes, kept as it is (optax makes it a schedule and then fails calling it).
        # A jax Mesh is callable too (a context decorator): soap/shampoo/kron/muon's ``spread=`` is static.
        schedules = {k: v for k, v in given.items() if callable(v) and k not in static_args and k in passed
                     and not isinstance(v, (GradientTransformation, jax.sharding.Mesh))}
        stateful = {k: schedules.pop(k) for k in list(schedules) if _is_stateful_schedule(schedules[k])}
        keeps = {k: _accepted_kwargs(v.__call__) for k, v in stateful.items()}
        keeps_update = {k: _accepted_kwargs(v.update) for k, v in stateful.items()}
        numeric = {k: v for k, v in given.items() if _is_numeric(v) and k not in static_args}
        fixed = {k: v for k, v in given.items() if k not in schedules and k not in numeric and k not in stateful}
        def dtype_for(tree):
            """The stored dtype: ``hyperparam_dtype``, else the highest float dtype of the params."""
            if hyperparam_dtype is not None:
                return hyperparam_dtype
            floats = [x.dtype for x in jax.tree.leaves(tree) if jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating)]
            return jnp.result_type(*floats) if floats else jnp.result_type(float)

        def as_array(v, dtype):
            # optax's rule: a strongly typed array keeps its dtype; other floats take `dtype`.
            if isinstance(v, jax.Array) and not getattr(v, "weak_type", False):
                return v
            arr = jnp.asarray(v)
            return arr.astype(dtype) if jnp.issubdtype(arr.dtype, jnp.floating) else arr

        def current(count, stored, dtype):
            values = {k: as_array(v, dtype) for k, v in stored.items()}
            values.update({k: as_array(s(count), dtype) for k, s in schedules.items()})
            return values

        def init_fn(params):
            count = _numerics.zero_count()
            dtype = dtype_for(params)
            hparams = current(count, numeric, dtype)
            sched_states = {k: s.init() for k, s in stateful.items()}
            hparams.update({k: as_array(s(sched_states[k]), dtype) for k, s in stateful.items()})
            inner = inner_factory(**fixed, **hparams)
            if stateful:
                return InjectStatefulHyperparamsState(count, hparams, sched_states, inner.init(params))
            return InjectHyperparamsState(count, hparams, inner.init(params))

        def update_fn(updates, state, params=None, **extra_args):
            dtype = dtype_for(updates if params is None else params)
            hparams = current(state.count, state.hyperparams, dtype)
            if stateful:
                hparams.update({k: as_array(s(state.hyperparams_states[k], **keeps[k](extra_args)), dtype)
                                for k, s in stateful.items()})
            inner = inner_factory(**fixed, **hparams)
            updates, inner_state = inner.update(updates, state.inner_state, params, **extra_args)
            count = _numerics.safe_increment(state.count)
            if stateful:
                sched_states = {k: s.update(state.hyperparams_states[k], **keeps_update[k](extra_args))
                                for k, s in stateful.items()}
                return updates, InjectStatefulHyperparamsState(count, hparams, sched_states, inner_state)
            return updates, InjectHyperparamsState(count, hparams, inner_state)

        def packing_reason():  # the inner transformation, built with the first step's values
            return _packable.reason(inner_factory(**fixed, **current(_numerics.zero_count(), numeric, jnp.result_type(float))))

        return _packable.lazy(GradientTransformation(init_fn, update_fn), packing_reason)

    return wrapped_factory


def inject_stateful_hyperparams(
    inner_factory: Callable[..., GradientTransformation],
    static_args: str | Iterable[str] = (),
    hyperparam_dtype: Any = None,
) -> Callable[..., GradientTransformation]:
    """optax's older name for ``inject_hyperparams`` (which takes stateful schedules).

    optax 0.2.8 deprecates this name with a warning; here it is simply the same function,
    kept so that optax code using it runs unchanged.

    Args:
      inner_factory, static_args, hyperparam_dtype: as for ``inject_hyperparams``.

    Returns:
      ``inject_hyperparams(inner_factory, static_args, hyperparam_dtype)``.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.inject_stateful_hyperparams(zoo.sgd)(learning_rate=zoo.WrappedSchedule(lambda t: 0.1))
    """
    return inject_hyperparams(inner_factory, static_args, hyperparam_dtype)


def _carriers(state: Any) -> list:
    """The states that carry hyperparameters, outermost first.

    Level 0 is every carrier reached through containers (chains, masks, wrappers) without
    entering another carrier, in tree order; an ``inject_hyperparams`` state whose inner
    state is itself a carrier is followed directly by it. Then, level by level, the carriers
    nested deeper inside a carrier's inner state (the plateau of a torch_compat optimizer, an
    ``inject_hyperparams`` inside a chain inside another one). Taking the levels in this order
    keeps the level-0 list, and so the names it is given, whatever is nested below it.
    """
    from ._plateau import ReduceLROnPlateauState

    kinds = (InjectHyperparamsState, InjectStatefulHyperparamsState, ReduceLROnPlateauState)
    injected = (InjectHyperparamsState, InjectStatefulHyperparamsState)

    def level(tree) -> list:
        found = []
        for node in jax.tree.leaves(tree, is_leaf=lambda x: isinstance(x, kinds)):
            while isinstance(node, kinds):
                found.append(node)
                node = node.inner_state if isinstance(node, injected) else None
        return found

    found = level(state)
    for carrier in found:  # grows while iterated: each nested level is searched in turn
        if isinstance(carrier, injected) and not isinstance(carrier.inner_state, kinds):
            found.extend(level(carrier.inner_state))
    return found


def current_hyperparams(state: Any) -> dict:
    """The hyperparameters of the last update, found anywhere in ``state``.

    Looks through chains, masks, wrappers and nested states for ``inject_hyperparams``
    states (their ``hyperparams``) and ``reduce_on_plateau`` states (their scale, under
    ``"plateau_scale"``), also inside another carrier's inner state. When several carry the
    same name, the names are numbered in the order they are found, outermost first:
    ``"learning_rate"``, ``"learning_rate_1"``, ... (a carrier nested inside another never
    renumbers one that is not).

    A torch_compat optimizer whose ``lr`` is a ``ReduceLROnPlateau`` reports ``"lr"``, the lr
    in effect (the initial lr times the plateau scale: torch's ``param_groups[0]['lr']``),
    and ``"plateau_scale"``, the scale alone (so the initial lr is their ratio). For
    ``zoo.reduce_on_plateau`` in a chain, the scale multiplies the updates after the lr:
    ``"learning_rate"`` stays the value given to the optimizer, and the lr in effect is
    ``learning_rate * plateau_scale``.

    Args:
      state: any optimizer state.

    Returns:
      A dict ``name -> value`` (arrays; empty if no state carries hyperparameters).

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.chain(zoo.clip_by_global_norm(1.0), zoo.inject_hyperparams(zoo.sgd)(learning_rate=0.1))
      >>> lr = zoo.current_hyperparams(tx.init({"w": jnp.zeros(2)}))["learning_rate"]
      >>> print(lr.dtype, round(float(lr), 6))  # float32 with x64 off
      float32 0.1
    """
    from ._plateau import ReduceLROnPlateauState

    out: dict = {}

    def put(name, value):
        key, i = name, 0
        while key in out:
            i += 1
            key = f"{name}_{i}"
        out[key] = value

    for carrier in _carriers(state):
        if isinstance(carrier, ReduceLROnPlateauState):
            put("plateau_scale", carrier.scale)
        else:
            for name, value in carrier.hyperparams.items():
                put(name, value)
    return out
