r"""Optimize complex parameters as pairs of real ones (``split_real_and_imaginary``).

Each complex leaf :math:`z = x + iy` of the updates and params becomes a pair
``SplitRealAndImaginaryArrays(real=x, imaginary=y)`` before the inner transformation sees
it, and the pair :math:`(u_x, u_y)` it returns becomes :math:`u_x + i\,u_y`. The inner
transformation therefore runs exactly as on the two real parameters (its moments, norms and
trust ratios are those of :math:`x` and :math:`y` side by side). Real leaves pass unchanged.

JAX's gradient of a real loss with respect to a complex parameter is the conjugate of the
steepest-ascent direction (PyTorch's convention is the other one): conjugate it
(``jnp.conj``) before ``update`` to descend.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _packable
from .._base import GradientTransformation


class SplitRealAndImaginaryArrays(NamedTuple):
    """The real and imaginary parts of a complex array, as two real arrays."""

    real: Any
    imaginary: Any


class SplitRealAndImaginaryState(NamedTuple):
    """State of ``split_real_and_imaginary``: the inner transformation's state."""

    inner_state: Any


def _split(x: Any) -> Any:
    return SplitRealAndImaginaryArrays(jnp.real(x), jnp.imag(x)) if jnp.iscomplexobj(x) else x


def _merge(x: Any) -> Any:
    if isinstance(x, SplitRealAndImaginaryArrays):
        dtype = jnp.promote_types(jnp.result_type(x.real), jnp.result_type(x.imaginary))
        return jax.lax.complex(jnp.asarray(x.real, dtype), jnp.asarray(x.imaginary, dtype))
    return x


def _is_pair(x: Any) -> bool:
    return isinstance(x, SplitRealAndImaginaryArrays)


def split_real_and_imaginary(inner: GradientTransformation) -> GradientTransformation:
    r"""Run ``inner`` on complex leaves as on their real and imaginary parts (module docstring).

    Args:
      inner: the transformation to run on the real pairs.

    Returns:
      A ``GradientTransformation`` with state ``SplitRealAndImaginaryState``; extra keyword
      arguments of ``update`` (``value=`` ...) go to ``inner``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.split_real_and_imaginary(zoo.sign_sgd(0.1))
      >>> z = jnp.array([3.0 - 0.5j])
      >>> u, _ = tx.update(z, tx.init(z), z)
      >>> print(u)
      [-0.1+0.1j]

    References:
      The optax issue on complex-valued optimization,
      `google-deepmind/optax#196 <https://github.com/google-deepmind/optax/issues/196>`_.
    """

    def init_fn(params):
        return SplitRealAndImaginaryState(inner.init(jax.tree.map(_split, params)))

    def update_fn(updates, state, params=None, **extra_args):
        updates = jax.tree.map(_split, updates)
        params = jax.tree.map(_split, params)
        updates, inner_state = inner.update(updates, state.inner_state, params, **extra_args)
        return jax.tree.map(_merge, updates, is_leaf=_is_pair), SplitRealAndImaginaryState(inner_state)

    return _packable.per_leaf(GradientTransformation(init_fn, update_fn), "split_real_and_imaginary",
                              "it turns each complex leaf into a pair of leaves")
