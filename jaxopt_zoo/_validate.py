"""One home for argument checks and their error messages.

Every error the library raises about a bad argument starts the same recognisable way::

    jaxopt_zoo.adam: argument `b1` must be in [0, 1), got 1.5.

Checks run only on concrete values: a traced hyperparameter (inside ``inject_hyperparams``
or under ``jit``) or a schedule is passed through unchecked, so it never breaks tracing.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import jax
import numpy as np

PREFIX = "jaxopt_zoo."


def fail(fn: str, arg: str, value: Any, expected: str, error=ValueError):
    """Raise ``error`` naming the function, the argument, what was expected and the value."""
    raise error(f"{PREFIX}{fn}: argument `{arg}` {expected}, got {value!r}.")


def concrete_float(value: Any) -> float | None:
    """``value`` as a Python float when it is a concrete real scalar, else ``None``.

    Tracers, schedules (callables) and arrays with more than one element give ``None``:
    those are not checked.
    """
    if value is None or callable(value) or isinstance(value, jax.core.Tracer):
        return None
    if isinstance(value, bool):
        return float(value)
    try:
        arr = np.asarray(value)
    except Exception:  # noqa: BLE001 - anything numpy cannot read is not checked here.
        return None
    if arr.ndim != 0 or arr.dtype.kind not in "biuf":
        return None
    return float(arr)


def check_range(
    fn: str,
    arg: str,
    value: Any,
    lo: float = -math.inf,
    hi: float = math.inf,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> None:
    """Raise unless ``lo <= value <= hi`` (with open ends where asked); NaN always fails."""
    x = concrete_float(value)
    if x is None:
        return
    ok = not math.isnan(x)
    ok = ok and (x > lo if lo_open else x >= lo) and (x < hi if hi_open else x <= hi)
    if not ok:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        fail(fn, arg, value, f"must be in {left}{_fmt(lo)}, {_fmt(hi)}{right}")


def _fmt(x: float) -> str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:g}"


def check_nonnegative(fn: str, arg: str, value: Any) -> None:
    check_range(fn, arg, value, 0.0)


def check_positive(fn: str, arg: str, value: Any) -> None:
    check_range(fn, arg, value, 0.0, lo_open=True)


def check_decay(fn: str, arg: str, value: Any) -> None:
    """A decay rate such as Adam's beta: in [0, 1)."""
    check_range(fn, arg, value, 0.0, 1.0, hi_open=True)


def check_learning_rate(fn: str, value: Any, arg: str = "learning_rate") -> None:
    """A learning rate: a float >= 0 or a schedule (callable)."""
    if value is None:
        fail(fn, arg, value, "must be a float >= 0 or a schedule")
    check_nonnegative(fn, arg, value)


def check_choice(fn: str, arg: str, value: Any, choices: Iterable[Any]) -> None:
    choices = tuple(choices)
    if value not in choices:
        fail(fn, arg, value, f"must be one of {choices}")


def check_params(fn: str, params: Any, updates: Any = (), why: str = "") -> None:
    """Raise unless ``update`` was given ``params`` (an empty tree of updates needs none).

    ``why`` says what they are for, e.g. ``" (the fast weights)"``.
    """
    if params is None and jax.tree.leaves(updates):
        raise ValueError(f"{PREFIX}{fn}: update needs `params`{why}; call tx.update(updates, state, params).")


def check_int(fn: str, arg: str, value: Any, lo: int | None = None) -> None:
    """A concrete Python/numpy integer, optionally at least ``lo``."""
    if isinstance(value, jax.core.Tracer):
        return
    want = "must be an integer" + ("" if lo is None else f" >= {lo}")
    if isinstance(value, (jax.Array, np.ndarray)):
        # inject_hyperparams turns numeric arguments into arrays; a count that shapes the
        # computation (a period, a number of steps) has to stay a Python int.
        fail(fn, arg, value, want + " (a Python int, not an array: with inject_hyperparams, "
             f"list {arg!r} in static_args)")
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        fail(fn, arg, value, want)
    if lo is not None and value < lo:
        fail(fn, arg, value, f"must be an integer >= {lo}")
