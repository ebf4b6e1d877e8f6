"""Hyperparameters that move: schedules for any numeric argument, readable from the state."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Iterable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _numerics, _validate
from .._base import GradientTransformation


class InjectHyperparamsState(NamedTuple):
    """State of an ``inject_hyperparams`` transformation.

    ``hyperparams`` holds the values used by the most recent update (at init: the values
    for the first update); ``count`` is the number of updates made.
    """

    count: jax.Array
    hyperparams: dict
    inner_state: Any


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

    Args:
      inner_factory: a function returning a ``GradientTransformation`` (``zoo.adam``, ...).
      static_args: names of numeric arguments to keep as Python values (for arguments the
        factory branches on, e.g. an integer period).
      hyperparam_dtype: dtype of the stored float hyperparameters (``None``: the highest
        float dtype of the params, as in optax).

    Returns:
      A factory with the same arguments as ``inner_factory``.

    Raises:
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

    @functools.wraps(inner_factory)
    def wrapped_factory(*args, **kwargs) -> GradientTransformation:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{_validate.PREFIX}inject_hyperparams({getattr(inner_factory, '__name__', inner_factory)}): {e}") from None
        bound.apply_defaults()
        given = dict(bound.arguments)
        for p in signature.parameters.values():  # a **kwargs parameter: spread it out
            if p.kind is inspect.Parameter.VAR_KEYWORD:
                given.update(given.pop(p.name, {}))
        schedules = {k: v for k, v in given.items() if callable(v) and k not in static_args and not isinstance(v, GradientTransformation)}
        numeric = {k: v for k, v in given.items() if _is_numeric(v) and k not in static_args}
        fixed = {k: v for k, v in given.items() if k not in schedules and k not in numeric}
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
            hparams = current(count, numeric, dtype_for(params))
            inner = inner_factory(**fixed, **hparams)
            return InjectHyperparamsState(count, hparams, inner.init(params))

        def update_fn(updates, state, params=None, **extra_args):
            hparams = current(state.count, state.hyperparams, dtype_for(updates if params is None else params))
            inner = inner_factory(**fixed, **hparams)
            updates, inner_state = inner.update(updates, state.inner_state, params, **extra_args)
            return updates, InjectHyperparamsState(_numerics.safe_increment(state.count), hparams, inner_state)

        return GradientTransformation(init_fn, update_fn)

    return wrapped_factory


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

    kinds = (InjectHyperparamsState, ReduceLROnPlateauState)

    def level(tree) -> list:
        found = []
        for node in jax.tree.leaves(tree, is_leaf=lambda x: isinstance(x, kinds)):
            while isinstance(node, kinds):
                found.append(node)
                node = node.inner_state if isinstance(node, InjectHyperparamsState) else None
        return found

    found = level(state)
    for carrier in found:  # grows while iterated: each nested level is searched in turn
        if isinstance(carrier, InjectHyperparamsState) and not isinstance(carrier.inner_state, kinds):
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
