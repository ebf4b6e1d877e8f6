r"""Zoom line search for the strong Wolfe conditions (Nocedal & Wright, algorithms 3.5 and 3.6).

Along the direction :math:`u` from the params :math:`w`, with :math:`\phi(\eta) = f(w + \eta u)`,
:math:`\phi'(\eta) = \mathrm{Re}\langle \nabla f(w + \eta u), u\rangle`, a step size is sought
with both errors at most ``tol``:

.. math::

   e_{\text{dec}}(\eta) &= \max\bigl(\phi(\eta) - \phi(0) - c_1\,\eta\,\phi'(0),\ 0\bigr)
   \quad\text{(sufficient decrease)},\\
   e_{\text{curv}}(\eta) &= \max\bigl(|\phi'(\eta)| - c_2\,|\phi'(0)|,\ 0\bigr)
   \quad\text{(strong curvature)}.

With ``approx_dec_rtol`` :math:`=\epsilon` set, the decrease error is the smaller of the above
and the *approximate* Wolfe error of Hager & Zhang (2005),
:math:`\max(\phi'(\eta) - (2c_1 - 1)\phi'(0),\ \phi(\eta) - \phi(0) - \epsilon|\phi(0)|)`,
which holds near the minimum where rounding hides any decrease. NaN errors are ``inf``.

Phase 1 (algorithm 3.5) tries :math:`\eta_0` (1, or the last step with
``initial_guess_strategy='keep'``) and multiplies by ``increase_factor`` (capped at
``max_learning_rate``) until an interval :math:`[\text{low}, \text{high}]` is bracketed:
the new step fails the decrease condition or does not decrease the value
(high = new), or its slope is non-negative (low = new, high = previous). Phase 2
(algorithm 3.6, "zoom") shrinks the interval with the minimiser of the cubic through
low, high and the previous reference point when it lies inside the interval away from its
ends by a fifth of its length, else that of the quadratic through low (value and slope) and
high (a tenth), else the midpoint, and keeps low the best point with a sufficient decrease.
The search stops when both errors are below ``tol``, or fails after
``max_linesearch_steps`` evaluations or when the interval is shorter than
``stepsize_precision``: it then returns the best step with a sufficient decrease found
(or the last one tried when there is none).

The state keeps the value and gradient at the accepted step: they are the loss and
gradient at the next params (``value_and_grad_from_state``). Every comparison, its order
and the dtypes of the search are optax 0.2.8's (``optax.scale_by_zoom_linesearch``),
tested equal in ``tests/reference/test_lbfgs.py``.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation
from ._linesearch import add_scale, cast_like, check_extras, scale, slope, split_fn_kwargs, value_dtype, where

_STRATEGIES = ("one", "keep")
# The diagnostics printed with verbose=True (optax's wording, which optax's tests look for).
_NO_INTERVAL = ("No interval satisfying curvature condition. "
                "Consider increasing maximal possible stepsize of the linesearch.")
_TOO_SMALL = "Length of searched interval has been reduced below threshold."
_NO_CURVATURE = "Returning stepsize with sufficient decrease but curvature condition not satisfied."
_NO_STEP = "Linesearch failed, no stepsize satisfying sufficient decrease found."
_NOT_DESCENT = "The linesearch failed because the provided direction is not a descent direction. "


class ZoomLinesearchInfo(NamedTuple):
    """What the last zoom search did.

    Attributes:
      num_linesearch_steps: values and gradients evaluated.
      decrease_error: sufficient-decrease error of the last step tried.
      curvature_error: curvature error of the last step tried.
    """

    num_linesearch_steps: Any
    decrease_error: Any
    curvature_error: Any


class ScaleByZoomLinesearchState(NamedTuple):
    """State of ``scale_by_zoom_linesearch`` (optax's fields).

    Attributes:
      learning_rate: the step size of the last update.
      value: the loss at the params after the last update.
      grad: its gradient.
      info: a ``ZoomLinesearchInfo``.
    """

    learning_rate: Any
    value: Any
    grad: Any
    info: ZoomLinesearchInfo


class _Zoom(NamedTuple):
    """The search's loop state: the current trial, the interval and the best safe step."""

    count: Any
    params: Any
    updates: Any
    stepsize_guess: Any
    stepsize: Any
    value: Any
    grad: Any
    slope: Any
    value_init: Any
    slope_init: Any
    decrease_error: Any
    curvature_error: Any
    error: Any
    interval_found: Any
    done: Any
    failed: Any
    low: Any
    value_low: Any
    slope_low: Any
    high: Any
    value_high: Any
    slope_high: Any
    cubic_ref: Any
    value_cubic_ref: Any
    safe_stepsize: Any
    safe_value: Any
    safe_grad: Any


def _cubic_min(a, fa, fpa, b, fb, c, fc):
    """Minimiser of the cubic with value ``fa`` and slope ``fpa`` at ``a`` through ``(b, fb), (c, fc)``."""
    db, dc = b - a, c - a
    denom = (db * dc) ** 2 * (db - dc)
    m = jnp.array([[dc**2, -(db**2)], [-(dc**3), db**3]])
    rhs = jnp.array([fb - fa - fpa * db, fc - fa - fpa * dc])
    p, q = jnp.dot(m, rhs, precision=jax.lax.Precision.HIGHEST) / denom
    return a + (-q + jnp.sqrt(q * q - 3.0 * p * fpa)) / (3.0 * p)


def _quad_min(a, fa, fpa, b, fb):
    """Minimiser of the quadratic with value ``fa`` and slope ``fpa`` at ``a`` through ``(b, fb)``."""
    db = b - a
    curv = (fb - fa - fpa * db) / (db**2)
    return a - fpa / (2.0 * curv)


def scale_by_zoom_linesearch(
    max_linesearch_steps: int,
    max_learning_rate: Any = None,
    tol: Any = 0.0,
    increase_factor: Any = 2.0,
    slope_rtol: Any = 1e-4,
    curv_rtol: Any = 0.9,
    approx_dec_rtol: Any = 1e-6,
    stepsize_precision: Any = 1e-5,
    initial_guess_strategy: str = "keep",
    verbose: bool = False,
) -> GradientTransformation:
    r"""Scale the updates by a step size meeting the strong Wolfe conditions (module docstring).

    Its update takes ``value=`` (the loss at ``params``), ``grad=`` (its gradient) and
    ``value_fn=`` (the loss function); further keywords go to ``value_fn``.

    Args:
      max_linesearch_steps: the most value-and-gradient evaluations, an integer >= 1.
      max_learning_rate: cap on the step size (``None``: no cap), > 0.
      tol: tolerance on both errors, >= 0.
      increase_factor: growth of the trial step while bracketing, > 0 (algorithm 3.5 grows it: > 1).
      slope_rtol: :math:`c_1`, in [0, 1].
      curv_rtol: :math:`c_2`, in [0, 1].
      approx_dec_rtol: :math:`\epsilon` of the approximate Wolfe condition, >= 0
        (``None``: the exact condition only).
      stepsize_precision: the interval length below which the search gives up, >= 0.
      initial_guess_strategy: ``'one'`` (start at 1) or ``'keep'`` (start at the last step).
      verbose: print diagnostics when the search fails.

    Returns:
      A ``GradientTransformation`` with state ``ScaleByZoomLinesearchState``.

    Raises:
      ValueError: for a bad argument.
      TypeError: at update, when ``value``, ``grad`` or ``value_fn`` is missing or a keyword
        is not an argument of ``value_fn``.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> f = lambda x: jnp.sum((x - 1.0) ** 2)
      >>> tx = zoo.chain(zoo.sgd(1.0), zoo.scale_by_zoom_linesearch(max_linesearch_steps=15))
      >>> params = jnp.array([3.0, -1.0])
      >>> state = tx.init(params)
      >>> value, grad = jax.value_and_grad(f)(params)
      >>> u, state = tx.update(grad, state, params, value=value, grad=grad, value_fn=f)
      >>> print(state[1].learning_rate, zoo.apply_updates(params, u))  # the exact minimiser
      0.5 [1. 1.]

    References:
      Nocedal & Wright, `Numerical Optimization <https://doi.org/10.1007/978-0-387-40065-5>`_,
      2nd ed., 2006, algorithms 3.5 and 3.6.
      Hager & Zhang, `A new conjugate gradient method with guaranteed descent and an efficient
      line search <https://doi.org/10.1137/030601880>`_, 2005 (approximate Wolfe conditions).
    """
    fn = "scale_by_zoom_linesearch"
    _validate.check_int(fn, "max_linesearch_steps", max_linesearch_steps, lo=1)
    _validate.check_positive(fn, "max_learning_rate", max_learning_rate)
    _validate.check_nonnegative(fn, "tol", tol)
    _validate.check_positive(fn, "increase_factor", increase_factor)
    _validate.check_range(fn, "slope_rtol", slope_rtol, 0.0, 1.0)
    _validate.check_range(fn, "curv_rtol", curv_rtol, 0.0, 1.0)
    _validate.check_nonnegative(fn, "approx_dec_rtol", approx_dec_rtol)
    _validate.check_nonnegative(fn, "stepsize_precision", stepsize_precision)
    _validate.check_choice(fn, "initial_guess_strategy", initial_guess_strategy, _STRATEGIES)

    def on_line(vg, s, eta):
        """Value, gradient and slope at ``params + eta * updates``."""
        v, g = vg(add_scale(s.params, eta, s.updates))
        return v, g, slope(jax.tree.map(jnp.conj, g), s.updates)

    def decrease_error(eta, v, d, v0, d0):
        err = v - v0 - slope_rtol * eta * d0
        if approx_dec_rtol is not None:
            approx = jnp.maximum(d - (2 * slope_rtol - 1.0) * d0, v - v0 - approx_dec_rtol * jnp.abs(v0))
            err = jnp.minimum(approx, err)
        err = jnp.maximum(err, 0.0)
        return jnp.where(jnp.isnan(err), jnp.inf, err)

    def curvature_error(d, d0):
        err = jnp.maximum(jnp.abs(d) - curv_rtol * jnp.abs(d0), 0.0)
        return jnp.where(jnp.isnan(err), jnp.inf, err)

    def bracket(s, vg):
        """Algorithm 3.5: grow the step until an interval holding a Wolfe point is found."""
        eta = jnp.where(s.count == 0, s.stepsize_guess, increase_factor * s.stepsize)
        if max_learning_rate is not None:
            capped = eta >= max_learning_rate
            eta = jnp.minimum(eta, max_learning_rate)
        else:
            capped = jnp.asarray(False)
        v, g, d = on_line(vg, s, eta)
        dec = decrease_error(eta, v, d, s.value_init, s.slope_init)
        curv = curvature_error(d, s.slope_init)
        err = jnp.maximum(dec, curv)
        safe_eta, safe_v, safe_g = where(dec <= tol, [eta, v, g], [s.safe_stepsize, s.safe_value, s.safe_grad])
        high_is_new = (dec > 0.0) | ((v >= s.value) & (s.count > 0))
        low_is_new = (d >= 0.0) & ~high_is_new
        prev, new = [s.stepsize, s.value, s.slope], [eta, v, d]
        low, value_low, slope_low, high, value_high, slope_high = where(low_is_new, new + prev, prev + new)
        found = high_is_new | low_is_new | (err <= tol)
        done = (err <= tol) | (capped & ~found)
        if verbose:
            _cond_print(capped & ~found, "INFO: jaxopt_zoo.scale_by_zoom_linesearch: step {eta}, decrease error "
                        "{dec}, curvature error {curv}. " + _NO_INTERVAL + "\n" + _NO_CURVATURE,
                        eta=eta, dec=dec, curv=curv)
        new_state = s._replace(
            count=_numerics.safe_increment(s.count), stepsize=eta, value=v, grad=g, slope=d,
            decrease_error=dec, curvature_error=curv, error=err, interval_found=jnp.asarray(found),
            done=jnp.asarray(done), failed=jnp.asarray((s.count + 1 >= max_linesearch_steps) & ~done),
            low=low, value_low=value_low, slope_low=slope_low, high=high, value_high=value_high,
            slope_high=slope_high, cubic_ref=low, value_cubic_ref=value_low,
            safe_stepsize=safe_eta, safe_value=safe_v, safe_grad=safe_g,
        )
        return cast_like(new_state, s)

    def zoom(s, vg):
        """Algorithm 3.6: shrink the interval [low, high] by interpolation."""
        delta = jnp.abs(s.high - s.low)
        left, right = jnp.minimum(s.high, s.low), jnp.maximum(s.high, s.low)
        cubic = _cubic_min(s.low, s.value_low, s.slope_low, s.high, s.value_high, s.cubic_ref, s.value_cubic_ref)
        use_cubic = (cubic > left + 0.2 * delta) & (cubic < right - 0.2 * delta)
        quad = _quad_min(s.low, s.value_low, s.slope_low, s.high, s.value_high)
        use_quad = ~use_cubic & (quad > left + 0.1 * delta) & (quad < right - 0.1 * delta)
        use_mid = ~use_cubic & ~use_quad
        eta = jnp.where(use_cubic, cubic, s.cubic_ref)
        eta = jnp.where(use_quad, quad, eta)
        eta = jnp.where(use_mid, (s.low + s.high) / 2.0, eta)
        v, g, d = on_line(vg, s, eta)
        dec = decrease_error(eta, v, d, s.value_init, s.slope_init)
        curv = curvature_error(d, s.slope_init)
        err = jnp.maximum(dec, curv)
        better_safe = (dec <= tol) & (v < s.safe_value)
        safe_eta, safe_v, safe_g = where(better_safe, [eta, v, g], [s.safe_stepsize, s.safe_value, s.safe_grad])
        done = err <= tol
        high_to_mid = (dec > 0.0) | (v >= s.value_low)
        high_to_low = (d * (s.high - s.low) >= 0.0) & ~high_to_mid
        low_to_mid = ~high_to_mid
        mid, lo, hi = [eta, v, d], [s.low, s.value_low, s.slope_low], [s.high, s.value_high, s.slope_high]
        high = where(high_to_low, lo, where(high_to_mid, mid, hi))
        low = where(low_to_mid, mid, lo)
        ref = where(high_to_mid | high_to_low, [s.high, s.value_high], [s.low, s.value_low])
        gave_up = jnp.asarray(s.count + 1 >= max_linesearch_steps) | ((delta <= stepsize_precision) & (safe_eta > 0.0))
        new_state = s._replace(
            count=_numerics.safe_increment(s.count), stepsize=eta, value=v, grad=g, slope=d,
            decrease_error=dec, curvature_error=curv, error=err, done=done, failed=gave_up & ~done,
            low=low[0], value_low=low[1], slope_low=low[2], high=high[0], value_high=high[1],
            slope_high=high[2], cubic_ref=ref[0], value_cubic_ref=ref[1],
            safe_stepsize=safe_eta, safe_value=safe_v, safe_grad=safe_g,
        )
        return cast_like(new_state, s)

    def fall_back(s):
        """On failure: the best step with sufficient decrease, if any (or if the last is not finite)."""
        use_safe = (s.safe_stepsize > 0.0) | jnp.isinf(s.decrease_error)
        eta, v, g = where(use_safe, [s.safe_stepsize, s.safe_value, s.safe_grad], [s.stepsize, s.value, s.grad])
        if verbose:
            jax.debug.print("INFO: jaxopt_zoo.scale_by_zoom_linesearch: the search failed (value {v0}, "
                            "slope {d0}, step {eta}, decrease error {dec}, curvature error {curv}).",
                            v0=s.value_init, d0=s.slope_init, eta=s.stepsize, dec=s.decrease_error,
                            curv=s.curvature_error, ordered=True)
            _cond_print(jnp.abs(s.low - s.high) <= stepsize_precision, _TOO_SMALL)
            _cond_print(s.safe_stepsize > 0.0, _NO_CURVATURE + " Step size with sufficient decrease: {safe}.",
                        safe=s.safe_stepsize)
            no_step = s.safe_stepsize <= 0.0
            _cond_print(no_step, _NO_STEP)
            _cond_print(no_step & (s.slope_init >= 0.0),
                        _NOT_DESCENT + "The slope (={d0}) at step size 0 should be negative.", d0=s.slope_init)
            _cond_print(no_step & jnp.isinf(s.decrease_error),
                        "Cannot make a step without getting inf or nan values: no step is taken.")
        return cast_like(s._replace(stepsize=eta, value=v, grad=g), s)

    def step(s, vg):
        s2 = jax.lax.cond(s.interval_found, functools.partial(zoom, vg=vg), functools.partial(bracket, vg=vg), s)
        s2 = jax.lax.cond(s2.failed, fall_back, lambda x: x, s2)
        return cast_like(s2, s)

    def init_fn(params):
        dt = value_dtype(params)
        return ScaleByZoomLinesearchState(
            learning_rate=jnp.asarray(1.0, dtype=dt),
            value=jnp.asarray(jnp.inf, dtype=dt),
            grad=_numerics.zeros_like(params),
            info=ZoomLinesearchInfo(jnp.asarray(0), jnp.asarray(jnp.inf), jnp.asarray(jnp.inf)),
        )

    def update_fn(updates, state, params=None, *, value=None, grad=None, value_fn=None, **extra_args):
        check_extras(fn, value, grad, value_fn)
        _validate.check_params(fn, params, updates)
        fn_kwargs = split_fn_kwargs(fn, value_fn, extra_args)
        vg = functools.partial(jax.value_and_grad(value_fn), **fn_kwargs)
        dt = value_dtype(params)
        d0 = slope(updates, grad)
        zero, inf = jnp.asarray(0.0), jnp.asarray(jnp.inf)
        start = _Zoom(
            count=jnp.asarray(0), params=params, updates=updates,
            stepsize_guess=jnp.asarray(1.0) if initial_guess_strategy == "one" else state.learning_rate,
            stepsize=jnp.asarray(0.0, dtype=dt), value=jnp.array(value, dtype=dt), grad=grad, slope=d0,
            value_init=value, slope_init=d0, decrease_error=inf, curvature_error=inf, error=inf,
            interval_found=jnp.asarray(False), done=jnp.asarray(False), failed=jnp.asarray(False),
            low=zero, value_low=value, slope_low=d0, high=zero, value_high=value, slope_high=d0,
            cubic_ref=zero, value_cubic_ref=value, safe_stepsize=zero, safe_value=value, safe_grad=grad,
        )
        end = jax.lax.while_loop(lambda s: ~(s.done | s.failed), functools.partial(step, vg=vg), start)
        new_state = ScaleByZoomLinesearchState(
            learning_rate=end.stepsize,
            value=end.value,
            grad=end.grad,
            info=ZoomLinesearchInfo(end.count, end.decrease_error, end.curvature_error),
        )
        return scale(end.stepsize, updates), cast_like(new_state, state)

    return _packable.per_leaf(GradientTransformation(init_fn, update_fn), fn,
                              "the slopes are inner products over the whole tree; value_fn takes the params")


def _cond_print(condition, message, **kwargs) -> None:
    jax.lax.cond(condition, lambda: jax.debug.print(message, **kwargs, ordered=True), lambda: None)
