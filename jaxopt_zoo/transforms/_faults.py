r"""Skipping steps whose gradients are not finite.

``apply_if_finite(inner, k)`` looks at the incoming updates before ``inner`` sees them:

.. math::

   \text{finite}_t = \bigwedge_{\text{leaves}} \text{all}(\text{isfinite}(g_t)), \qquad
   c_t = \begin{cases} 0 & \text{finite}_t \\ c_{t-1} + 1 & \text{otherwise} \end{cases}

If :math:`\text{finite}_t` or :math:`c_t > k`, ``inner`` updates as usual; otherwise the step
returns zero updates and the inner state is left exactly as it was (a skipped step is a step
that never happened). ``total_notfinite`` counts every non-finite step. After more than ``k``
consecutive bad steps the wrapper gives up and lets ``inner`` take the (non-finite) step, so
a run that is truly broken is not hidden forever. These are ``optax.apply_if_finite``'s
names and meanings.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, _accepted_kwargs
from .._tree import is_none


class ApplyIfFiniteState(NamedTuple):
    """State of ``apply_if_finite``."""

    notfinite_count: jax.Array  # int32: consecutive non-finite steps so far
    last_finite: jax.Array  # bool: whether the last step's updates were finite
    total_notfinite: jax.Array  # int32: all non-finite steps so far
    inner_state: Any  # the wrapped transformation's state


def all_finite(tree: Any) -> jax.Array:
    """A bool scalar: every element of every (non-``None``) leaf of ``tree`` is finite.

    Integer and bool leaves are always finite; an empty tree is finite.
    """
    leaves = [x for x in jax.tree.leaves(tree, is_leaf=is_none) if x is not None]
    flags = [jnp.all(jnp.isfinite(x)) for x in leaves]
    if not flags:
        return jnp.array(True)
    return jnp.all(jnp.stack(flags))


def apply_if_finite(inner: GradientTransformation, max_consecutive_errors: int) -> GradientTransformation:
    r"""Wrap ``inner`` so that a step with NaN or Inf updates is skipped and counted.

    Rule (see module docstring): with ``c`` the count of consecutive non-finite steps,
    ``inner`` is applied when the updates are finite or ``c > max_consecutive_errors``;
    otherwise the updates are zeros and ``inner``'s state is not touched.

    Args:
      inner: the transformation to protect (zoo or optax).
      max_consecutive_errors: how many consecutive non-finite steps are skipped before the
        wrapper gives up and applies them, an integer >= 0.

    Returns:
      A ``GradientTransformation`` with state ``ApplyIfFiniteState(notfinite_count,
      last_finite, total_notfinite, inner_state)``.

    Raises:
      ValueError: if ``max_consecutive_errors`` is not an integer >= 0.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.apply_if_finite(zoo.adam(1e-3), max_consecutive_errors=5)
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.999, -1.999]

    References:
      optax, `apply_if_finite
      <https://optax.readthedocs.io/en/latest/api/optimizer_wrappers.html>`_, 2021 (same
      names and meanings).
    """
    _validate.check_int("apply_if_finite", "max_consecutive_errors", max_consecutive_errors, lo=0)
    keep_kwargs = _accepted_kwargs(inner.update)

    def init_fn(params):
        return ApplyIfFiniteState(
            notfinite_count=_numerics.zero_count(),
            last_finite=jnp.array(True, jnp.bool_),
            total_notfinite=_numerics.zero_count(),
            inner_state=inner.init(params),
        )

    def update_fn(updates, state, params=None, **extra_args):
        extra_args = keep_kwargs(extra_args)
        isfinite = all_finite(updates)
        notfinite_count = jnp.where(
            isfinite, _numerics.zero_count(), _numerics.safe_increment(state.notfinite_count)
        )

        def do_update(operands):
            u, s, p = operands
            return inner.update(u, s, p, **extra_args)

        operands = (updates, state.inner_state, params)
        # Zeros with the exact types ``inner`` returns, so both branches agree even when
        # ``inner`` changes dtypes.
        out_shape = jax.eval_shape(do_update, operands)[0]

        def reject_update(operands):
            _, s, _ = operands
            zeros = jax.tree.map(
                lambda x: None if x is None else jnp.zeros(x.shape, x.dtype), out_shape, is_leaf=is_none
            )
            return zeros, s

        new_updates, inner_state = jax.lax.cond(
            jnp.logical_or(isfinite, notfinite_count > max_consecutive_errors),
            do_update,
            reject_update,
            operands,
        )
        return new_updates, ApplyIfFiniteState(
            notfinite_count=notfinite_count,
            last_finite=isfinite,
            total_notfinite=jnp.where(
                isfinite, state.total_notfinite, _numerics.safe_increment(state.total_notfinite)
            ),
            inner_state=inner_state,
        )

    return _packable.composite(GradientTransformation(init_fn, update_fn), inner)
