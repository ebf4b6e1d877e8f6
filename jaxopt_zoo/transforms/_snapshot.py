"""Measurements kept in the state: ``snapshot`` (the last value) and ``measure_with_ema``
(an exponential moving average of it, for ``optax.monitor``-style use)."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

from .. import _validate
from .._base import GradientTransformation, chain
from ._momentum import ema
from ._stateless import stateless


class SnapshotState(NamedTuple):
    """State of ``snapshot``: ``{measure_name: measurement}``."""

    measurement: dict[str, Any]


def snapshot(measure_name: str, measure: Callable[[Any], Any]) -> GradientTransformation:
    """Store ``measure(updates)`` in the state under ``measure_name``; the updates pass
    through unchanged.

    Placed inside a chain it records what reaches it, for debugging. ``init`` stores
    ``measure(params)`` so the state's structure does not change after the first step.

    Args:
      measure_name: the key of the measurement in ``state.measurement``.
      measure: ``updates -> pytree of arrays``.

    Returns:
      A ``GradientTransformation`` with state ``SnapshotState``.

    Raises:
      TypeError: if ``measure_name`` is not a string or ``measure`` is not callable.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.chain(zoo.snapshot("norm", zoo.global_norm), zoo.clip_by_global_norm(1.0))
      >>> g = {"w": jnp.array([3.0, 4.0])}
      >>> u, state = tx.update(g, tx.init(g))
      >>> print(state[0].measurement["norm"], u["w"])
      5.0 [0.6 0.8]
    """
    if not isinstance(measure_name, str):
        _validate.fail("snapshot", "measure_name", measure_name, "must be a string", error=TypeError)
    if not callable(measure):
        _validate.fail("snapshot", "measure", measure, "must be a callable", error=TypeError)

    def init_fn(params):
        return SnapshotState({measure_name: measure(params)})

    def update_fn(updates, state, params=None, **extra_args):
        del state, params, extra_args
        return updates, SnapshotState({measure_name: measure(updates)})

    return GradientTransformation(init_fn, update_fn)


def measure_with_ema(
    measure: Callable[[Any], Any], decay: Any, debias: bool = True, accumulator_dtype: Any = None
) -> GradientTransformation:
    """An exponential moving average of ``measure(updates)``: its *output* is the average.

    ``chain(stateless(measure), ema(decay, debias, accumulator_dtype))`` with the average
    initialised on ``measure(params)``'s shape: the "updates" it returns are the averaged
    measurement, not the updates, so it is meant for a monitoring slot (optax's
    ``monitor({name: measure_with_ema(...)})``), not for the update path.

    Args:
      measure: ``updates -> pytree of arrays``.
      decay: the averaging coefficient, in [0, 1).
      debias: divide by ``1 - decay**k``.
      accumulator_dtype: dtype of the average (``None``: the measurement's).

    Returns:
      A ``GradientTransformation`` whose state is ``(EmptyState(), EmaState)``.

    Raises:
      ValueError: if a concrete ``decay`` is outside [0, 1).
      TypeError: if ``measure`` is not callable.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.measure_with_ema(zoo.global_norm, decay=0.5, debias=False)
      >>> g = {"w": jnp.array([3.0, 4.0])}
      >>> avg, state = tx.update(g, tx.init(g))
      >>> print(avg)
      2.5
    """
    if not callable(measure):
        _validate.fail("measure_with_ema", "measure", measure, "must be a callable", error=TypeError)
    _validate.check_decay("measure_with_ema", "decay", decay)
    average = ema(decay, debias, accumulator_dtype)
    average = average._replace(init=lambda params: ema(decay, debias, accumulator_dtype).init(measure(params)))
    return chain(stateless(lambda updates, _: measure(updates)), average)
