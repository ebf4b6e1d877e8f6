"""``microbatch``: evaluate a function on a batch one slice at a time and combine the results.

``microbatch(fun, argnums, microbatch_size)(*args)`` splits the batch arguments into
``batch // microbatch_size`` microbatches, runs ``fun`` on each in a ``lax.fori_loop`` (so
only one microbatch's intermediates are live), and combines the outputs by an accumulator:
``SUM``, ``MEAN``, ``RUNNING_MEAN`` or ``CONCAT`` (or a custom ``Accumulator``), chosen per
output leaf by a pytree prefix of the output. The batch axis is split column-major
(microbatch ``i`` holds rows ``i, i + n, i + 2n, ...``), which keeps a sharding of the batch
axis on the inner axis, as optax does.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp

from .. import _validate


@dataclasses.dataclass(frozen=True)
class Accumulator:
    """How microbatch outputs are combined: ``carry = init(shape of one output)``, then
    ``carry = update(carry, value, index)`` for each microbatch, then ``finalize(carry)``.
    ``aggregate`` reduces a stacked batch of values (used for a per-example axis)."""

    init: Callable[[Any], Any]
    update: Callable[[Any, Any, Any], Any]
    finalize: Callable[[Any], Any]
    aggregate: Callable[[Any], Any]


class AccumulationType(enum.Enum):
    """The built-in accumulators."""

    MEAN = enum.auto()
    SUM = enum.auto()
    RUNNING_MEAN = enum.auto()
    CONCAT = enum.auto()


def _floating(fn):
    def wrapper(x):
        if not jnp.issubdtype(x.dtype, jnp.floating):
            _validate.fail("microbatch", "accumulator", "MEAN/RUNNING_MEAN",
                           f"needs floating-point outputs (got dtype {x.dtype})")
        return fn(x)

    return wrapper


def _leaf_accumulator(kind: AccumulationType, n: int) -> Accumulator:
    if kind is AccumulationType.SUM:
        return Accumulator(jnp.zeros_like, lambda c, v, i: c + v, lambda c: c, lambda v: jnp.sum(v, axis=0))
    if kind is AccumulationType.MEAN:
        return Accumulator(_floating(jnp.zeros_like), lambda c, v, i: c + v, lambda c: c / n,
                           lambda v: jnp.mean(v, axis=0))

    if kind is AccumulationType.RUNNING_MEAN:
        def running(c, v, i):
            p = i / (i + 1)
            return c * p + v * (1 - p)

        return Accumulator(_floating(jnp.zeros_like), running, lambda c: c, lambda v: jnp.mean(v, axis=0))

    def concat_init(v):
        return jnp.broadcast_to(jnp.zeros_like(v), (n,) + v.shape)

    def concat_finalize(c):
        return c.reshape(-1, *c.shape[2:], order="F", **_out_sharding_for_merge(c))

    return Accumulator(concat_init, lambda c, v, i: c.at[i].set(v), concat_finalize, lambda v: v)


def _explicit_sharding(x):
    sharding = getattr(jax.typeof(x), "sharding", None)
    mesh = getattr(sharding, "mesh", None)
    return sharding if mesh is not None and getattr(mesh, "are_all_axes_explicit", False) else None


def _out_sharding_for_merge(c) -> dict:
    sharding = _explicit_sharding(c)
    if sharding is None:
        return {}
    spec = jax.sharding.PartitionSpec(*sharding.spec[1:]) if sharding.spec else jax.sharding.PartitionSpec()
    return {"out_sharding": jax.sharding.NamedSharding(sharding.mesh, spec)}


def _as_kind(acc: Any) -> AccumulationType | None:
    if isinstance(acc, AccumulationType):
        return acc
    name = getattr(acc, "name", None)  # optax.microbatching.AccumulationType works too
    if isinstance(acc, enum.Enum) and name in AccumulationType.__members__:
        return AccumulationType[name]
    return None


def _is_spec_leaf(x) -> bool:
    return isinstance(x, (Accumulator, enum.Enum)) or (
        hasattr(x, "init") and hasattr(x, "update") and hasattr(x, "finalize") and not isinstance(x, tuple))


def _canonical(tree: Any, n: int) -> Any:
    def one(acc):
        kind = _as_kind(acc)
        if kind is not None:
            return _lift(_leaf_accumulator(kind, n))
        if _is_spec_leaf(acc):
            return acc
        _validate.fail("microbatch", "accumulator", acc, "must be an AccumulationType or an Accumulator")

    return jax.tree.map(one, tree, is_leaf=_is_spec_leaf)


def _lift(acc: Accumulator) -> Accumulator:
    """A per-array accumulator made to act on a whole subtree, leaf by leaf."""
    return Accumulator(
        lambda t: jax.tree.map(acc.init, t),
        lambda c, t, i: jax.tree.map(lambda ci, ti: acc.update(ci, ti, i), c, t),
        lambda c: jax.tree.map(acc.finalize, c),
        lambda t: jax.tree.map(acc.aggregate, t),
    )


def _map_spec(spec, *trees_and_fn):
    """``fn(accumulator, *subtrees)`` over a pytree prefix of accumulators (a custom
    ``Accumulator`` gets its whole subtree, as in optax)."""
    *trees, fn = trees_and_fn
    return jax.tree.map(fn, spec, *trees, is_leaf=_is_spec_leaf)


def reshape_batch_axis(tree: Any, microbatch_size: int, axis: int = 0) -> Any:
    """Split axis ``axis`` of every leaf into ``(num_microbatches, microbatch_size)``
    column-major (a sharding of the batch axis stays on the ``microbatch_size`` axis)."""

    def leaf(x):
        shape = x.shape[:axis] + (-1, microbatch_size) + x.shape[axis + 1:]
        sharding = _explicit_sharding(x)
        if sharding is None:
            return x.reshape(shape, order="F")
        spec = sharding.spec
        new_spec = spec if len(spec) < axis else jax.sharding.PartitionSpec(
            *spec[:axis], None, spec[axis] if axis < len(spec) else None, *spec[axis + 1:])
        shards = x.shape[axis] // sharding.shard_shape(x.shape)[axis]
        if microbatch_size % shards:
            _validate.fail("microbatch", "microbatch_size", microbatch_size,
                           f"must be a multiple of the {shards} shards of the batch axis")
        return x.reshape(shape, order="F", out_sharding=jax.sharding.NamedSharding(sharding.mesh, new_spec))

    return jax.tree.map(leaf, tree)


def microbatch(
    fun: Callable[..., Any],
    argnums: int | Sequence[int],
    microbatch_size: int | None,
    accumulator: Any = AccumulationType.SUM,
    *,
    argnames: str | Sequence[str] = (),
    in_axes: int | Sequence[int] = 0,
    num_real_microbatches: int | jax.Array | None = None,
) -> Callable[..., Any]:
    """Evaluate ``fun`` one microbatch at a time and combine the outputs (optax's
    ``microbatch``; see the module docstring).

    The other positional and keyword arguments of the returned function (not listed in
    ``argnums``/``argnames``) reach ``fun`` unchanged at every microbatch.

    Args:
      fun: any function of the batch arguments (and others).
      argnums: the positions of the arguments that carry the batch axis.
      microbatch_size: rows per microbatch; must divide the batch size. ``None`` returns
        ``fun`` itself.
      accumulator: an ``AccumulationType``, an ``Accumulator``, or a pytree prefix of
        ``fun``'s output with one of those per subtree (default ``SUM``).
      argnames: keyword arguments that carry the batch axis.
      in_axes: the batch axis of each batch argument (``argnums`` then ``argnames``), or
        one int for all.
      num_real_microbatches: run only this many microbatches (may be traced), e.g. for a
        padded batch.

    Returns:
      A function with ``fun``'s arguments.

    Raises:
      ValueError: if a concrete ``microbatch_size`` is not an integer >= 1; at call, if
        the batch sizes differ or are not divisible by ``microbatch_size``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> fun = lambda x, w: (x * w, jnp.sum(x))
      >>> acc = (zoo.AccumulationType.CONCAT, zoo.AccumulationType.SUM)
      >>> out = zoo.microbatch(fun, argnums=0, microbatch_size=2, accumulator=acc)(jnp.arange(4.0), 2.0)
      >>> print(out[0], out[1])
      [0. 2. 4. 6.] 6.0
    """
    if microbatch_size is None:
        return fun
    _validate.check_int("microbatch", "microbatch_size", microbatch_size, lo=1)
    argnums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    argnames = (argnames,) if isinstance(argnames, str) else tuple(argnames)
    in_axes = (in_axes,) * (len(argnums) + len(argnames)) if isinstance(in_axes, int) else tuple(in_axes)

    def microbatched(*args, **kwargs):
        batch_args = [args[i] for i in argnums] + [kwargs[k] for k in argnames]
        sizes = [jnp.shape(x)[ax] for ax, sub in zip(in_axes, batch_args) for x in jax.tree.leaves(sub)]
        if len(set(sizes)) > 1:
            _validate.fail("microbatch", "args", sizes, "must have batch axes of one size; sizes")
        if not sizes:
            _validate.fail("microbatch", "argnums", argnums, "must name at least one array argument")
        if sizes[0] % microbatch_size:
            _validate.fail("microbatch", "microbatch_size", microbatch_size,
                           f"must divide the batch size {sizes[0]}")
        n = sizes[0] // microbatch_size
        args, kwargs = list(args), dict(kwargs)
        axes_of = dict(zip(list(argnums) + list(argnames), in_axes))
        for i in argnums:
            args[i] = reshape_batch_axis(args[i], microbatch_size, axes_of[i])
        for k in argnames:
            kwargs[k] = reshape_batch_axis(kwargs[k], microbatch_size, axes_of[k])
        spec = _canonical(accumulator, n)

        def f(index):
            a, kw = list(args), dict(kwargs)
            for i in argnums:
                a[i] = jax.tree.map(lambda x, ax=axes_of[i]: jnp.take(x, index, axis=ax), a[i])
            for k in argnames:
                kw[k] = jax.tree.map(lambda x, ax=axes_of[k]: jnp.take(x, index, axis=ax), kw[k])
            return fun(*a, **kw)

        def body(index, carry):
            return _map_spec(spec, carry, f(index), lambda acc, c, v: acc.update(c, v, index))

        init = _map_spec(spec, jax.eval_shape(f, 0), lambda acc, v: acc.init(v))
        bound = n if num_real_microbatches is None else num_real_microbatches
        carry = jax.lax.fori_loop(0, bound, body, init)
        return _map_spec(spec, carry, lambda acc, c: acc.finalize(c))

    return microbatched
