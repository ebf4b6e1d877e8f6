r"""Gradient accumulation: one optimizer step every ``k`` mini-batches.

``MultiSteps(opt, every_k_schedule)`` collects the gradients of ``k`` consecutive calls
(``k = every_k_schedule(gradient_step)``, so the effective batch size may change over
training) and hands their mean (or sum) to ``opt`` on the ``k``-th call:

.. math::

   a_j = a_{j-1} + (g_j - a_{j-1}) / j \quad(\text{mean, Welford}), \qquad
   a_j = a_{j-1} + g_j \quad(\text{sum}),

   u = \begin{cases} \text{opt.update}(a_k) & j = k \\ 0 & j < k \end{cases}

The mini-steps in between return zero updates. A ``should_skip_update_fn(updates,
gradient_step, params) -> (skip, info)`` can reject a mini-step altogether (it is as if it
never happened; ``info`` lands in ``state.skip_state``): ``skip_not_finite`` rejects NaN/Inf
gradients, ``skip_large_updates`` rejects gradients whose squared norm is too large. These
are ``optax.MultiSteps``' names and meanings; the one difference is the default
accumulator dtype (see ``MultiSteps``).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, NamedTuple, Protocol

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, _accepted_kwargs
from .._tree import check_same_structure, is_none


class MultiStepsState(NamedTuple):
    """State of ``MultiSteps``."""

    mini_step: jax.Array  # int32: mini-steps accumulated in the current gradient step
    gradient_step: jax.Array  # int32: inner optimizer steps taken
    inner_opt_state: Any  # the wrapped optimizer's state
    acc_grads: Any  # accumulated gradients, like params (dtype ``accumulator_dtype``)
    skip_state: Any = ()  # what ``should_skip_update_fn`` reported last


class ShouldSkipUpdateFunction(Protocol):
    """The type of ``MultiSteps``' ``should_skip_update_fn`` (optax's name).

    ``(updates, gradient_step, params) -> (should_skip, info)``: ``should_skip`` a bool
    scalar, ``info`` any pytree of arrays (kept in ``MultiStepsState.skip_state``).
    """

    def __call__(self, updates: Any, gradient_step: Any, params: Any | None) -> tuple[Any, Any]: ...


def skip_not_finite(updates: Any, gradient_step: Any, params: Any) -> tuple[jax.Array, dict]:
    """Skip a mini-step whose updates hold a NaN or an Inf.

    Returns:
      ``(should_skip, {"should_skip": ..., "num_not_finite": ...})``.
    """
    del gradient_step, params
    counts = [jnp.sum(~jnp.isfinite(x)) for x in jax.tree.leaves(updates)]
    num_not_finite = jnp.sum(jnp.stack(counts)) if counts else jnp.zeros([], jnp.int32)
    should_skip = num_not_finite > 0
    return should_skip, {"should_skip": should_skip, "num_not_finite": num_not_finite}


def skip_large_updates(updates: Any, gradient_step: Any, params: Any, max_squared_norm: Any) -> tuple[jax.Array, dict]:
    """Skip a mini-step whose squared global norm is not below ``max_squared_norm`` (or NaN).

    Use with ``functools.partial(skip_large_updates, max_squared_norm=...)``.

    Returns:
      ``(should_skip, {"should_skip": ..., "norm_squared": ...})``.
    """
    del gradient_step, params
    squares = [jnp.sum(_numerics.abs_sq(x)) for x in jax.tree.leaves(updates)]
    norm_sq = jnp.sum(jnp.stack(squares)) if squares else jnp.zeros([])
    should_skip = jnp.logical_not(norm_sq < max_squared_norm)
    return should_skip, {"should_skip": should_skip, "norm_squared": norm_sq}


def _never_skip(updates, gradient_step, params):
    del updates, gradient_step, params
    return jnp.array(False, jnp.bool_), ()


def _zeros_like_shapes(tree: Any) -> Any:
    return jax.tree.map(lambda x: None if x is None else jnp.zeros(x.shape, x.dtype), tree, is_leaf=is_none)


class MultiSteps:
    r"""Accumulate gradients over ``k`` calls and step ``opt`` once (see module docstring).

    Rule: calls ``1..k-1`` of a gradient step accumulate and return zeros; call ``k`` passes
    the accumulated mean (``use_grad_mean``) or sum to ``opt`` and returns its updates.

    Args:
      opt: the wrapped optimizer (zoo or optax).
      every_k_schedule: ``k``, an integer >= 1, or a function ``gradient_step -> k``.
      use_grad_mean: average the accumulated gradients (default) instead of summing them.
      should_skip_update_fn: ``(updates, gradient_step, params) -> (bool scalar, info)``;
        a mini-step it rejects changes nothing but ``skip_state``.
      accumulator_dtype: dtype of the accumulated gradients. ``None`` (the default) keeps
        each parameter's dtype but at least float32 (bf16/fp16 accumulate in float32,
        float64 in float64). optax's default is float32 for every leaf; pass
        ``jnp.float32`` for exactly that.

    Attributes:
      inner_opt: the wrapped optimizer.

    Raises:
      ValueError: if a concrete ``every_k_schedule`` is not an integer >= 1, or
        ``should_skip_update_fn`` does not return a bool scalar.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> ms = zoo.MultiSteps(zoo.adam(1e-3), every_k_schedule=4)
      >>> tx = ms.gradient_transformation()
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0]); state = tx.init(params)
      >>> for k in range(4):  # the 4th call applies adam to the mean of 4 gradients
      ...     updates, state = tx.update(params, state, params)
      ...     print([round(float(u), 6) for u in updates])
      [0.0, 0.0]
      [0.0, 0.0]
      [0.0, 0.0]
      [-0.001, 0.001]

    References:
      optax, `MultiSteps <https://optax.readthedocs.io/en/latest/api/optimizer_wrappers.html>`_
      (same names and meanings).
    """

    def __init__(
        self,
        opt: GradientTransformation,
        every_k_schedule: int | Callable[[jax.Array], Any],
        use_grad_mean: bool = True,
        should_skip_update_fn: Callable | None = None,
        accumulator_dtype: Any = None,
    ):
        if not callable(every_k_schedule):
            _validate.check_int("MultiSteps", "every_k_schedule", every_k_schedule, lo=1)
            k = every_k_schedule
            every_k_schedule = lambda step: k  # noqa: E731
        self._opt = opt
        self._keep_kwargs = _accepted_kwargs(opt.update)
        self._every_k_schedule = every_k_schedule
        self._use_grad_mean = use_grad_mean
        self._should_skip_update_fn = should_skip_update_fn or _never_skip
        self._accumulator_dtype = _numerics.canonical_dtype(accumulator_dtype)

    @property
    def inner_opt(self) -> GradientTransformation:
        return self._opt

    def _acc_dtype(self, x):
        if self._accumulator_dtype is not None:
            return self._accumulator_dtype
        return jnp.promote_types(jnp.asarray(x).dtype, jnp.float32)

    def init(self, params: Any) -> MultiStepsState:
        """The initial state: zero counters and accumulators, ``opt``'s initial state."""
        gradient_step = _numerics.zero_count()
        _, skip_state = self._should_skip_update_fn(_numerics.zeros_like(params), gradient_step, params)
        acc_grads = jax.tree.map(lambda x: jnp.zeros(jnp.shape(x), self._acc_dtype(x)), params)
        return MultiStepsState(
            mini_step=_numerics.zero_count(),
            gradient_step=gradient_step,
            inner_opt_state=self._opt.init(params),
            acc_grads=acc_grads,
            skip_state=skip_state,
        )

    def update(self, updates: Any, state: MultiStepsState, params: Any = None, **extra_args: Any):
        """Accumulate ``updates``; every ``k``-th call step ``opt`` on the accumulation."""
        extra_args = self._keep_kwargs(extra_args)
        check_same_structure("MultiSteps", (updates, state.acc_grads), ("updates", "state.acc_grads"))
        k_steps = self._every_k_schedule(state.gradient_step)
        should_skip, skip_state = self._should_skip_update_fn(updates, state.gradient_step, params)
        should_skip = jnp.asarray(should_skip)
        if (should_skip.dtype, should_skip.shape) != (jnp.bool_, ()):
            raise ValueError(
                f"{_validate.PREFIX}MultiSteps: `should_skip_update_fn` must return a bool scalar "
                f"first, got dtype {should_skip.dtype} and shape {should_skip.shape}."
            )
        inner_update = functools.partial(self._opt.update, **extra_args)

        def cast_like(tree, like):
            return jax.tree.map(lambda a, u: a.astype(jnp.asarray(u).dtype), tree, like)

        def do_update(operands):
            u, s, p = operands
            n = s.mini_step
            if self._use_grad_mean:
                acc = jax.tree.map(lambda g, a: a + (g - a) / (n + 1).astype(a.dtype), u, s.acc_grads)
            else:
                acc = jax.tree.map(lambda g, a: a + g, u, s.acc_grads)
            acc = jax.tree.map(lambda a, old: a.astype(old.dtype), acc, s.acc_grads)
            emit = n == k_steps - 1

            def step(_):
                return inner_update(cast_like(acc, u), s.inner_opt_state, p)

            def wait(_):
                shapes = jax.eval_shape(step, None)
                return _zeros_like_shapes(shapes[0]), s.inner_opt_state

            final_updates, inner_state = jax.lax.cond(emit, step, wait, None)
            inner_state = jax.tree.map(lambda new, old: new.astype(old.dtype), inner_state, s.inner_opt_state)
            new_state = MultiStepsState(
                mini_step=(_numerics.safe_increment(n) % k_steps).astype(n.dtype),
                gradient_step=jnp.where(emit, _numerics.safe_increment(s.gradient_step), s.gradient_step),
                inner_opt_state=inner_state,
                acc_grads=jax.tree.map(lambda a: jnp.where(emit, jnp.zeros_like(a), a), acc),
                skip_state=skip_state,
            )
            return final_updates, new_state

        def skip_update(operands):
            u, s, p = operands
            shapes = jax.eval_shape(lambda: inner_update(cast_like(s.acc_grads, u), s.inner_opt_state, p))
            return _zeros_like_shapes(shapes[0]), s._replace(skip_state=skip_state)

        return jax.lax.cond(should_skip, skip_update, do_update, (updates, state, params))

    def has_updated(self, state: MultiStepsState | Any) -> jax.Array:
        """Whether the last call stepped the inner optimizer."""
        return jnp.logical_and(state.mini_step == 0, state.gradient_step > 0)

    def _packing_reason(self):
        """Why ``packed`` must refuse this wrapper, or ``None`` (see ``jaxopt_zoo._packable``)."""
        skip = self._should_skip_update_fn
        if getattr(skip, "func", skip) not in (_never_skip, skip_not_finite, skip_large_updates):
            return "MultiSteps with a should_skip_update_fn of its own (it may look at each leaf)"
        return _packable.reason(self._opt)

    def gradient_transformation(self) -> GradientTransformation:
        """This wrapper as a plain ``GradientTransformation`` (``init``, ``update``)."""
        return _packable.lazy(GradientTransformation(init=self.init, update=self.update), self._packing_reason)
