"""Watching the optimizer: measurements of the updates recorded in the state.

``monitor`` is optax's (named measurements, stateless callables or stateful
transformations); ``record_norms`` is the zoo's shortcut that records the global norm of
the gradients and of the updates an inner transformation makes of them.
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, identity, with_extra_args_support


class MonitorState(NamedTuple):
    """State of ``monitor`` (optax's fields)."""

    measurements: dict  # name -> the latest measurement (zeros of its shape before the first update)
    measure_states: tuple  # one state per measure, in the order of ``measures``


def _measure_tx(name: str, measure) -> GradientTransformation:
    """A measure as a transformation whose "updates" out are the measurement."""
    if callable(measure):
        fn = measure

        def init_fn(params):
            del params
            return ()

        def update_fn(updates, state, params=None, **extra_args):
            del params, extra_args
            return fn(updates), state

        return GradientTransformation(init_fn, update_fn)
    if callable(getattr(measure, "init", None)) and callable(getattr(measure, "update", None)):
        return with_extra_args_support(measure)
    _validate.fail("monitor", f"measures[{name!r}]", measure,
                   "must be a callable of the updates or a GradientTransformation", TypeError)


def monitor(measures: Mapping[str, Any] | GradientTransformation | None = None) -> GradientTransformation:
    """Record named measurements of the updates in the state, passing the updates unchanged.

    Called with a transformation (``monitor(tx)``) or with nothing (``monitor()``), it is
    ``record_norms(tx)``: the zoo's own meaning, which records the global norm of the
    gradients and of the updates (``state.grad_norm``, ``state.update_norm``). Called with a
    mapping of measures, it is optax's ``monitor``, described below.

    optax's ``monitor``: each measure is either a callable ``updates -> measurement`` or a
    transformation whose update maps the updates to a measurement (for instance one with a
    moving average). Place it anywhere in a chain; it measures what reaches it. Read a
    measurement with ``state.measurements[name]`` or ``optax.tree.get(state, name)``.

    Unlike optax's, ``init`` already holds every measurement (zeros of the measurement's
    shape and dtype), so the state keeps its structure across updates (``lax.scan``,
    donated steps and checkpoints see the same tree before and after the first update);
    only a measure that cannot run without extra arguments starts absent, as in optax.

    Args:
      measures: a mapping from measurement names to callables or transformations; or the
        transformation to watch (or ``None``), for ``record_norms``.

    Returns:
      A ``GradientTransformation`` with state ``MonitorState`` (updates pass unchanged), or
      ``record_norms``'s.

    Raises:
      TypeError: if a measure is neither a callable nor a transformation.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.chain(zoo.monitor({"grad_norm": zoo.global_norm}), zoo.sgd(0.1))
      >>> params = jnp.array([3.0, 4.0])
      >>> _, state = tx.update(params, tx.init(params), params)
      >>> print(float(state[0].measurements["grad_norm"]))
      5.0
      >>> tx = zoo.monitor(zoo.sgd(0.1))  # the zoo's meaning: record_norms(sgd)
      >>> _, state = tx.update(params, tx.init(params), params)
      >>> print(float(state.grad_norm), round(float(state.update_norm), 6))
      5.0 0.5

    References:
      ``optax.monitor`` (optax 0.2.7+), the meaning this follows.
    """
    if measures is None or (callable(getattr(measures, "init", None)) and callable(getattr(measures, "update", None))):
        return record_norms(measures)
    if not isinstance(measures, Mapping):
        _validate.fail("monitor", "measures", measures,
                       "must be a dict of name -> measure (optax's meaning) or a transformation to watch", TypeError)
    txs = {name: _measure_tx(name, m) for name, m in measures.items()}
    names = tuple(txs)

    def init_fn(params):
        states = tuple(txs[n].init(params) for n in names)
        zeros = {}
        for n, st in zip(names, states):
            # the measurement's shape, from one abstract update on the params; a measure that
            # cannot run without its extra arguments (e.g. a required `value=`) starts absent,
            # as every measurement does in optax.
            try:
                shape = jax.eval_shape(lambda p, s, n=n: txs[n].update(p, s, p)[0], params, st)
            except Exception:  # noqa: BLE001 - any failure of the dry run means "unknown yet"
                continue
            zeros[n] = jax.tree.map(lambda x: jnp.zeros(x.shape, x.dtype), shape)
        return MonitorState(zeros, states)

    def update_fn(updates, state, params=None, **extra_args):
        measurements, new_states = {}, []
        for n, s in zip(names, state.measure_states):
            measurements[n], s = txs[n].update(updates, s, params, **extra_args)
            new_states.append(s)
        return updates, MonitorState(measurements, tuple(new_states))

    return GradientTransformation(init_fn, update_fn)


class RecordNormsState(NamedTuple):
    """State of ``record_norms``: the norms of the most recent update."""

    count: jax.Array  # int32: updates seen
    grad_norm: jax.Array  # global norm of the incoming updates (the gradients)
    update_norm: jax.Array  # global norm of the outgoing updates
    inner_state: Any


def record_norms(inner: GradientTransformation | None = None) -> GradientTransformation:
    """Record the global norm of the gradients and of the resulting updates in the state.

    ``record_norms(tx)`` runs ``tx`` and records ``||g||`` (what came in) and ``||u||`` (what
    ``tx`` made of it) at every step; ``record_norms()`` alone, placed anywhere in a chain,
    records the norm of what reaches it (both fields then hold that norm). Read them from
    the state (``state.grad_norm``) inside or outside ``jit`` — for instance to watch the
    gradient norm during warmup.

    Args:
      inner: the transformation to watch (default: ``identity()``).

    Returns:
      A ``GradientTransformation`` with state ``RecordNormsState``.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> import jax.numpy as jnp
      >>> tx = zoo.record_norms(zoo.sgd(0.1))
      >>> params = jnp.array([3.0, 4.0])
      >>> _, state = tx.update(params, tx.init(params), params)
      >>> print(float(state.grad_norm), round(float(state.update_norm), 6))
      5.0 0.5
    """
    inner = inner if inner is not None else identity()

    def init_fn(params):
        zero = lambda: jnp.zeros([], jnp.result_type(float))  # noqa: E731 - a buffer per entry (donation)
        return RecordNormsState(_numerics.zero_count(), zero(), zero(), inner.init(params))

    def update_fn(updates, state, params=None, **extra_args):
        grad_norm = _numerics.global_norm(updates).astype(state.grad_norm.dtype)
        updates, inner_state = inner.update(updates, state.inner_state, params, **extra_args)
        update_norm = _numerics.global_norm(updates).astype(state.update_norm.dtype)
        return updates, RecordNormsState(_numerics.safe_increment(state.count), grad_norm, update_norm, inner_state)

    return _packable.composite(GradientTransformation(init_fn, update_fn), inner)
