r"""``micro_grad``: per-example gradients, transformed and reduced over the batch, in microbatches.

For a loss :math:`\ell(\theta, z)` and a batch :math:`z_1, \dots, z_B`,
``micro_grad(loss, transform_fn=T, accumulator=SUM)`` returns

.. math::
    \sum_{b=1}^{B} T\big(\nabla_\theta \ell(\theta, z_b)\big)

(or the mean), together with the per-example values :math:`\ell(\theta, z_b)`, metrics
:math:`M(\nabla_\theta \ell(\theta, z_b))` and auxiliary outputs, computing at most
``microbatch_size`` per-example gradients at once. ``T`` can clip each gradient (DP-SGD),
return its square (second moments), and so on.

References:
  McKenna et al., `Scaling laws for differentially private language models
  <https://arxiv.org/abs/2510.00236>`_, 2025 (the use case in optax's documentation).
"""

from __future__ import annotations

import collections
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp

from ..transforms._microbatch import AccumulationType
from ._micro_vmap import micro_vmap

IndividualOutputs = collections.namedtuple("Aux", ["values", "metrics", "aux"])
IndividualOutputs.__doc__ = "Per-example outputs of ``micro_grad``: loss values, gradient metrics, ``fun``'s aux."


def _identity(x: Any) -> Any:
    return x


def _nothing(x: Any) -> None:
    return None


def micro_grad(
    fun: Callable[..., Any],
    has_aux: bool = False,
    argnums: int | Sequence[int] = 0,
    *,
    batch_argnums: int | Sequence[int] = 1,
    keep_batch_dim: bool = True,
    microbatch_size: int | None = None,
    accumulator: Any = AccumulationType.SUM,
    transform_fn: Callable[[Any], Any] = _identity,
    metrics_fn: Callable[[Any], Any] = _nothing,
    num_real_microbatches: Any = None,
) -> Callable[..., tuple]:
    """Per-example gradients of ``fun``, transformed by ``transform_fn`` and combined by ``accumulator``.

    Args:
      fun: ``fun(params, batch, ...) -> loss`` (or ``(loss, aux)`` with ``has_aux``).
      has_aux: whether ``fun`` returns ``(loss, aux)``.
      argnums: the argument(s) to differentiate.
      batch_argnums: the argument(s) carrying the batch axis (axis 0).
      keep_batch_dim: call ``fun`` on one-row batches (shape ``(1, ...)``) rather than on
        single examples.
      microbatch_size: examples per microbatch (``None``: all at once).
      accumulator: how the transformed gradients are combined over the batch (``SUM``,
        ``MEAN``, ...; see ``microbatch``).
      transform_fn: applied to each per-example gradient before combining.
      metrics_fn: applied to each per-example gradient; returned per example.
      num_real_microbatches: run only this many microbatches (may be traced).

    Returns:
      A function of ``fun``'s arguments returning ``(combined, IndividualOutputs(values,
      metrics, aux))``, the last three per example.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> loss = lambda w, x, y: 0.5 * jnp.mean((x @ w - y) ** 2)
      >>> grad, aux = zoo.microbatching.micro_grad(loss, batch_argnums=(1, 2), microbatch_size=2)(
      ...     jnp.zeros(1), jnp.ones((4, 1)), jnp.array([0.0, 2.0, 4.0, 6.0]))
      >>> print(grad, aux.values)
      [-12.] [ 0.  2.  8. 18.]
    """
    batch_argnums = (batch_argnums,) if isinstance(batch_argnums, int) else tuple(batch_argnums)
    with_aux = fun if has_aux else (lambda *a, **k: (fun(*a, **k), None))
    value_and_grad = jax.value_and_grad(with_aux, argnums, has_aux=True)

    def one_example(*args, **kwargs):
        (value, aux), grad = value_and_grad(*args, **kwargs)
        return transform_fn(grad), IndividualOutputs(values=value, metrics=metrics_fn(grad), aux=aux)

    in_axes = [None] * (max(batch_argnums) + 1)
    for i in batch_argnums:
        in_axes[i] = 0
    per_example = micro_vmap(one_example, in_axes=in_axes, accumulator=(accumulator, AccumulationType.CONCAT),
                             microbatch_size=microbatch_size, num_real_microbatches=num_real_microbatches)
    if not keep_batch_dim:
        return per_example

    def with_row_axis(*args, **kwargs):
        args = list(args)
        for i in batch_argnums:
            args[i] = jax.tree.map(lambda x: jnp.expand_dims(x, 1), args[i])
        return per_example(*args, **kwargs)

    return with_row_axis
