r"""``micro_vmap``: ``jax.vmap`` that runs the batch in sequential microbatches and may reduce it.

``micro_vmap(f, microbatch_size=m)(x)`` equals ``jax.vmap(f)(x)`` (``CONCAT``), or its sum /
mean over the batch axis (``SUM`` / ``MEAN``), but evaluates at most ``m`` rows at once:
the batch of :math:`B` rows is cut into :math:`B/m` microbatches, each is vmapped and
reduced, and the partial results are combined in a ``lax.fori_loop``.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import jax

from .. import _validate
from ..transforms._microbatch import AccumulationType, _canonical, _map_spec, microbatch


def micro_vmap(
    fun: Callable[..., Any],
    in_axes: int | Sequence[int | None] = 0,
    out_axes: Any = 0,
    *,
    microbatch_size: int | None = None,
    vmap_fn: Callable[..., Any] = jax.vmap,
    accumulator: Any = AccumulationType.CONCAT,
    num_real_microbatches: Any = None,
) -> Callable[..., Any]:
    """``jax.vmap(fun, in_axes)`` evaluated ``microbatch_size`` rows at a time, its outputs combined by ``accumulator``.

    Keyword arguments of the returned function are batched along their axis 0.

    Args:
      fun: the function to map over a batch axis.
      in_axes: the batch axis of each positional argument (``None``: not batched), or one int.
      out_axes: must be 0.
      microbatch_size: rows per microbatch (``None``: the whole batch at once).
      vmap_fn: the vectorising map, with ``jax.vmap``'s signature.
      accumulator: ``CONCAT`` (default: the stacked outputs, as ``jax.vmap``), ``SUM``,
        ``MEAN``, ``RUNNING_MEAN``, an ``Accumulator``, or a pytree prefix of the outputs
        with one of those per subtree.
      num_real_microbatches: run only this many microbatches (may be traced).

    Returns:
      The mapped function.

    Raises:
      NotImplementedError: for ``out_axes`` other than 0.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> print(zoo.microbatching.micro_vmap(lambda x: x**2, microbatch_size=2)(jnp.arange(4.0)))
      [0. 1. 4. 9.]
    """
    if out_axes != 0:
        raise NotImplementedError(f"{_validate.PREFIX}micro_vmap: argument `out_axes` must be 0, got {out_axes!r}.")
    in_axes = (in_axes,) if isinstance(in_axes, int) else tuple(in_axes)

    def vmapped_and_reduced(*args, kwargs):
        out = vmap_fn(fun, in_axes, out_axes)(*args, **kwargs)
        spec = _canonical(accumulator, jax.tree.leaves(out)[0].shape[0])
        return _map_spec(spec, out, lambda acc, v: acc.aggregate(v))

    batched = microbatch(
        vmapped_and_reduced,
        argnums=tuple(i for i, ax in enumerate(in_axes) if ax is not None),
        microbatch_size=microbatch_size,
        accumulator=accumulator,
        argnames="kwargs",
        in_axes=tuple(ax for ax in in_axes if ax is not None) + (0,),
        num_real_microbatches=num_real_microbatches,
    )

    def mapped(*args, **kwargs):
        return batched(*args, kwargs=kwargs)

    return mapped
