r"""Backtracking (Armijo) line search, and reusing a line search's value and gradient.

``scale_by_backtracking_linesearch`` scales the update direction :math:`u` (at the params
:math:`w`, loss :math:`f`, gradient :math:`g`, slope :math:`s = \langle u, \bar g\rangle`)
by the first step size of the sequence

.. math::

   \eta_0 = \min(\kappa_{\uparrow}\,\eta_{\text{prev}},\ \eta_{\max}), \qquad
   \eta_{j+1} = \kappa_{\downarrow}\,\eta_j

whose *decrease error* is small enough:

.. math::

   e(\eta) = \max\bigl(f(w + \eta u) - (1 + \text{rtol})\,f(w) - \eta\, c_1\, s,\ 0\bigr)
   \le \text{atol}

(the Armijo condition, Nocedal & Wright, Numerical Optimization, 2006, eq. 3.4 and
algorithm 3.1, with relative and absolute slack; NaN errors count as ``inf``). At most
``max_backtracking_steps + 1`` values are evaluated; if the last error is still infinite
the step is 0. The step found becomes :math:`\eta_{\text{prev}}` of the next update.

``value_and_grad_from_state(f)`` returns ``f``'s value and gradient at the params, taken
from the optimizer state when a line search left them there (its last accepted step is the
next update's starting point), computed otherwise: one loss evaluation per step is saved.

The arithmetic, the order of the checks and the state's fields are optax 0.2.8's
(``optax.scale_by_backtracking_linesearch``, ``optax.value_and_grad_from_state``), tested
equal step by step in ``tests/reference/test_lbfgs.py``. One departure, a fix: with
``store_grad=True``, float32 params and x64 on, optax raises a ``TypeError`` (it transposes
the linearised loss at the Python float 1.0, a float64 cotangent for a float32 value); the
zoo uses a cotangent of the value's own dtype (pinned in the same test file).
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation

# ----------------------------------------------------------------- shared by both searches


def value_dtype(params: Any) -> Any:
    """The real dtype of a loss value for ``params`` (that of the first leaf, made real)."""
    return jnp.real(jnp.empty((), _numerics.canonical_dtype(jax.tree.leaves(params)[0].dtype))).dtype


def add_scale(x: Any, scalar: Any, y: Any) -> Any:
    """``x + scalar * y`` leaf by leaf (``None`` leaves of ``x`` stay ``None``)."""
    scalar = jnp.asarray(scalar)
    return jax.tree.map(lambda a, b: None if a is None else a + scalar * b, x, y, is_leaf=lambda a: a is None)


def scale(scalar: Any, tree: Any) -> Any:
    return jax.tree.map(lambda x: scalar * x, tree)


def where(cond: Any, x: Any, y: Any) -> Any:
    return jax.tree.map(lambda a, b: jnp.where(cond, a, b), x, y)


def cast_like(tree: Any, like: Any) -> Any:
    """``tree`` with each leaf cast to the dtype of ``like``'s leaf (a loop keeps its types)."""
    return jax.tree.map(lambda t, o: t.astype(o.dtype) if hasattr(o, "dtype") else t, tree, like)


def slope(x: Any, y: Any) -> jax.Array:
    """``Re <x, y>`` over the trees (``x`` conjugated when complex)."""
    return jnp.real(_numerics.tree_vdot(x, y))


def split_fn_kwargs(fn: str, value_fn: Callable, extra_args: dict) -> dict:
    """The keyword arguments of ``update`` meant for ``value_fn`` (those it names).

    Raises:
      TypeError: when some keyword is named neither by ``update`` nor by ``value_fn``.
    """
    names = list(inspect.signature(value_fn).parameters)
    unused = sorted(k for k in extra_args if k not in names)
    if unused:
        raise TypeError(
            f"{_validate.PREFIX}{fn}: Unexpected keyword arguments passed to update, not consumed by "
            f"`value_fn`: {unused}; pass only arguments of `value_fn` besides value=, grad=, value_fn=."
        )
    return {k: v for k, v in extra_args.items() if k in names}


def check_extras(fn: str, value: Any, grad: Any, value_fn: Any) -> None:
    """Raise a clear error when an extra argument of a line search's ``update`` is missing."""
    missing = [k for k, v in (("value", value), ("grad", grad), ("value_fn", value_fn)) if v is None]
    if missing:
        raise TypeError(
            f"{_validate.PREFIX}{fn}: update needs {', '.join(k + '=' for k in missing)}: call "
            "tx.update(grads, state, params, value=loss, grad=grads, value_fn=loss_fn)."
        )


# ------------------------------------------------------------------------- backtracking


class BacktrackingLinesearchInfo(NamedTuple):
    """What the last backtracking search did.

    Attributes:
      num_linesearch_steps: values evaluated.
      decrease_error: the Armijo error of the step returned (``<= atol`` when it holds).
    """

    num_linesearch_steps: Any
    decrease_error: Any


class ScaleByBacktrackingLinesearchState(NamedTuple):
    """State of ``scale_by_backtracking_linesearch`` (optax's fields).

    Attributes:
      learning_rate: the step size of the last update.
      value: the loss at the params after the last update.
      grad: its gradient when ``store_grad`` (else ``None``).
      info: a ``BacktrackingLinesearchInfo``.
    """

    learning_rate: Any
    value: Any
    grad: Any
    info: BacktrackingLinesearchInfo


class _Search(NamedTuple):
    learning_rate: Any
    new_value: Any
    new_grad: Any
    decrease_error: Any
    iter_num: Any


def scale_by_backtracking_linesearch(
    max_backtracking_steps: int,
    slope_rtol: Any = 1e-4,
    decrease_factor: Any = 0.8,
    increase_factor: Any = 1.5,
    max_learning_rate: Any = 1.0,
    atol: Any = 0.0,
    rtol: Any = 0.0,
    store_grad: bool = False,
    verbose: bool = False,
) -> GradientTransformation:
    r"""Scale the updates by a step size found by backtracking (see the module docstring).

    Its update takes ``value=`` (the loss at ``params``), ``grad=`` (its gradient) and
    ``value_fn=`` (the loss function); further keywords go to ``value_fn``.

    Args:
      max_backtracking_steps: the most step-size decreases, an integer >= 0.
      slope_rtol: :math:`c_1` of the Armijo condition, in [0, 1].
      decrease_factor: :math:`\kappa_\downarrow`, in (0, 1].
      increase_factor: :math:`\kappa_\uparrow`, >= 0 (the first trial is the last step
        times this, capped at ``max_learning_rate``).
      max_learning_rate: :math:`\eta_{\max}`, >= 0.
      atol: absolute slack of the condition, >= 0.
      rtol: relative slack on the current value, >= 0.
      store_grad: keep the gradient at the accepted point in the state (for
        ``value_and_grad_from_state``).
      verbose: print a note when no step satisfied the condition.

    Returns:
      A ``GradientTransformation`` with state ``ScaleByBacktrackingLinesearchState``.

    Raises:
      ValueError: for a bad argument.
      TypeError: at update, when ``value``, ``grad`` or ``value_fn`` is missing or a keyword
        is not an argument of ``value_fn``.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> f = lambda x: jnp.sum(x ** 2)
      >>> tx = zoo.chain(zoo.sgd(1.0), zoo.scale_by_backtracking_linesearch(15))
      >>> params = jnp.array([1.0, -2.0])
      >>> state = tx.init(params)
      >>> value, grad = jax.value_and_grad(f)(params)
      >>> u, state = tx.update(grad, state, params, value=value, grad=grad, value_fn=f)
      >>> print(state[1].learning_rate, zoo.apply_updates(params, u))  # 1 fails, 0.8 holds
      0.8 [-0.6  1.2]

    References:
      Nocedal & Wright, `Numerical Optimization <https://doi.org/10.1007/978-0-387-40065-5>`_,
      2nd ed., 2006, section 3.1 and algorithm 3.1.
    """
    fn = "scale_by_backtracking_linesearch"
    _validate.check_int(fn, "max_backtracking_steps", max_backtracking_steps, lo=0)
    _validate.check_range(fn, "slope_rtol", slope_rtol, 0.0, 1.0)
    _validate.check_range(fn, "decrease_factor", decrease_factor, 0.0, 1.0, lo_open=True)
    _validate.check_nonnegative(fn, "increase_factor", increase_factor)
    _validate.check_nonnegative(fn, "max_learning_rate", max_learning_rate)
    _validate.check_nonnegative(fn, "atol", atol)
    _validate.check_nonnegative(fn, "rtol", rtol)

    def init_fn(params):
        dt = value_dtype(params)
        return ScaleByBacktrackingLinesearchState(
            learning_rate=jnp.array(1.0, dt),
            value=jnp.array(jnp.inf, dt),
            grad=_numerics.zeros_like(params) if store_grad else None,
            info=BacktrackingLinesearchInfo(jnp.asarray(0), jnp.array(jnp.inf, dt)),
        )

    def decrease_error(stepsize, slope0, value, new_value):
        err = new_value - (1.0 + rtol) * value - stepsize * slope_rtol * slope0
        return jnp.maximum(jnp.where(jnp.isnan(err), jnp.inf, err), 0.0)

    def update_fn(updates, state, params=None, *, value=None, grad=None, value_fn=None, **extra_args):
        check_extras(fn, value, grad, value_fn)
        _validate.check_params(fn, params, updates)
        f = functools.partial(value_fn, **split_fn_kwargs(fn, value_fn, extra_args))
        slope0 = slope(updates, jax.tree.map(jnp.conj, grad))

        def keep_going(s):
            return (~(s.decrease_error <= atol)) & (s.iter_num <= max_backtracking_steps)

        def trial(s):
            lr = jnp.where(s.iter_num > 0, decrease_factor * s.learning_rate, s.learning_rate)
            trial_params = add_scale(params, lr, updates)
            if store_grad:
                new_value, jvp = jax.linearize(f, trial_params)
                err = decrease_error(lr, slope0, value, new_value)
                new_grad = jax.lax.cond(
                    (err <= atol) | (s.iter_num == max_backtracking_steps),
                    lambda p: jax.linear_transpose(jvp, p)(jnp.ones_like(new_value))[0],
                    lambda p: s.new_grad,
                    trial_params,
                )
            else:
                new_value = f(trial_params)
                err = decrease_error(lr, slope0, value, new_value)
                new_grad = s.new_grad
            return cast_like(_Search(lr, new_value, new_grad, err, s.iter_num + 1), s)

        start = _Search(
            learning_rate=jnp.minimum(increase_factor * state.learning_rate, max_learning_rate),
            new_value=jnp.asarray(value),
            new_grad=_numerics.zeros_like(params),
            decrease_error=jnp.array(jnp.inf),
            iter_num=jnp.asarray(0),
        )
        found = jax.lax.while_loop(keep_going, trial, start)
        lr = jnp.where(jnp.isinf(found.decrease_error), 0.0, found.learning_rate)
        if verbose:
            _cond_print(found.decrease_error > atol,
                        "INFO: jaxopt_zoo.scale_by_backtracking_linesearch: no step size satisfied the "
                        "sufficient decrease condition (value {value}, slope {slope}, step {step}, "
                        "decrease error {err}).", value=value, slope=slope0, step=found.learning_rate,
                        err=found.decrease_error)
            _cond_print(jnp.isinf(found.decrease_error), "Using a step size of 0 to avoid inf or nan values.")
        new_state = ScaleByBacktrackingLinesearchState(
            learning_rate=lr,
            value=found.new_value,
            grad=found.new_grad if store_grad else None,
            info=BacktrackingLinesearchInfo(found.iter_num, found.decrease_error),
        )
        return scale(lr, updates), cast_like(new_state, state)

    return _packable.per_leaf(GradientTransformation(init_fn, update_fn), fn,
                              "the slope is an inner product over the whole tree; value_fn takes the params")


def _cond_print(condition, message, **kwargs) -> None:
    jax.lax.cond(condition, lambda: jax.debug.print(message, **kwargs, ordered=True), lambda: None)


# ----------------------------------------------------------- value and gradient from state


def _find(tree: Any, key: str) -> list:
    """Every field or dict entry called ``key`` in ``tree`` (NamedTuples, tuples, lists, dicts)."""
    found = []
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        for name in tree._fields:
            if name == key:
                found.append(getattr(tree, name))
            else:
                found += _find(getattr(tree, name), key)
    elif isinstance(tree, (tuple, list)):
        for x in tree:
            found += _find(x, key)
    elif isinstance(tree, dict):
        for k, x in tree.items():
            found += [x] if k == key else _find(x, key)
    return found


def _get(state: Any, key: str) -> Any:
    found = _find(state, key)
    if len(found) > 1:
        raise KeyError(f"{_validate.PREFIX}value_and_grad_from_state: the state has {len(found)} "
                       f"entries called {key!r}; expected one.")
    return found[0] if found else None


def value_and_grad_from_state(value_fn: Callable[..., Any]) -> Callable[..., tuple]:
    r"""``jax.value_and_grad(value_fn)`` that reuses the value and gradient a line search stored.

    The returned function is called as ``value_and_grad(params, *args, state=opt_state,
    **kwargs)``. It reads the ``value`` and ``grad`` entries of ``state`` (left by
    ``scale_by_zoom_linesearch``, or by ``scale_by_backtracking_linesearch(store_grad=True)``,
    at the params the last update moved to); while the value is ``inf`` or NaN (the first
    step) it evaluates ``jax.value_and_grad(value_fn)(params, *args, **kwargs)`` instead.

    Args:
      value_fn: the loss, ``value_fn(params, *args, **kwargs) -> scalar``.

    Returns:
      ``value_and_grad(params, *fn_args, state, **fn_kwargs) -> (value, grad)``.

    Raises:
      ValueError: at call time, when the state holds no value or no gradient.
      KeyError: at call time, when it holds more than one.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> f = lambda x: jnp.sum(x ** 2)
      >>> tx, params = zoo.lbfgs(), jnp.array([1.0, 2.0])
      >>> value, grad = zoo.value_and_grad_from_state(f)(params, state=tx.init(params))
      >>> print(value, grad)  # the state holds no value yet: computed
      5.0 [2. 4.]

    References:
      optax 0.2.8, ``optax.value_and_grad_from_state``.
    """

    def value_and_grad(params, *fn_args, state, **fn_kwargs):
        value, grad = _get(state, "value"), _get(state, "grad")
        if value is None or grad is None:
            raise ValueError(
                f"{_validate.PREFIX}value_and_grad_from_state: the state holds no value or no "
                "gradient; use a line search that stores them (scale_by_zoom_linesearch, or "
                "scale_by_backtracking_linesearch(store_grad=True))."
            )
        return jax.lax.cond(
            (~jnp.isinf(value)) & (~jnp.isnan(value)),
            lambda *_: (value, grad),
            lambda p, a, kw: jax.value_and_grad(value_fn)(p, *a, **kw),
            params,
            fn_args,
            fn_kwargs,
        )

    return value_and_grad
