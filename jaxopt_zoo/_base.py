"""The protocol: gradient transformations, chaining, and applying updates.

A gradient transformation is a pair of pure functions::

    state = tx.init(params)
    updates, state = tx.update(updates, state, params=None, **extra_args)

States are pytrees of arrays (usually NamedTuples), so a transformation runs under
``jax.jit``, ``pmap`` and sharded ``jit`` and its state can be checkpointed like params.
``update`` accepts and ignores keyword arguments it does not know; a transformation that
needs one (for instance the loss ``value=``) declares it keyword-only.

The protocol is the one optax uses, field for field, so a ``jaxopt_zoo`` transformation
works wherever an optax one does and the other way round.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, NamedTuple, Protocol

import jax
import jax.numpy as jnp

from . import _packable, _validate

# A pytree of arrays: parameters, gradients, updates.
Params = Any
Updates = Any
OptState = Any
# A schedule maps the step count (a traced int32 scalar) to a value.
ScalarOrSchedule = float | jax.Array | Callable[[jax.Array], jax.Array]
Schedule = Callable[[jax.Array], jax.Array]


# Where a transformation applies (``masked``, weight-decay ``mask=``): a pytree of bools
# (or of transformations' labels) like the params, a callable ``params -> such a tree``, or
# ``None`` for everywhere. optax's ``MaskOrFn``.
MaskOrFn = Any | Callable[[Params], Any] | None


class TransformInitFn(Protocol):
    """The type of ``init``: ``init(params) -> state`` (optax's ``TransformInitFn``)."""

    def __call__(self, params: Params) -> OptState: ...


class TransformUpdateFn(Protocol):
    """The type of an ``update`` without extra arguments: ``update(updates, state,
    params=None) -> (updates, state)`` (optax's ``TransformUpdateFn``)."""

    def __call__(self, updates: Updates, state: OptState, params: Params | None = None) -> tuple[Updates, OptState]: ...


class TransformUpdateExtraArgsFn(Protocol):
    """The type of a zoo ``update``: ``update(updates, state, params=None, **extra_args) ->
    (updates, state)``; unknown keywords are ignored, needed ones are keyword-only
    (optax's ``TransformUpdateExtraArgsFn``)."""

    def __call__(
        self, updates: Updates, state: OptState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, OptState]: ...


try:  # optax is optional: when it is importable the zoo's transformations are optax's.
    from optax import GradientTransformationExtraArgs as _OptaxExtraArgs
except ImportError:  # pragma: no cover - exercised by the no-optax CI job only
    _OptaxExtraArgs = None

_GT_DOC = """A pair of pure functions ``(init, update)``.

    Attributes:
      init: ``init(params) -> state``.
      update: ``update(updates, state, params=None, **extra_args) -> (updates, state)``.
        Unknown keyword arguments are accepted and ignored.

    When optax is importable this class is a subclass of
    ``optax.GradientTransformationExtraArgs`` (same two fields), so optax's combinators
    (``optax.chain``, ``named_chain``, ``partition``, ``MultiSteps``, ...) recognise a zoo
    transformation as one that takes extra keyword arguments and pass ``value=`` and the
    like through to it. Without optax it is a plain ``NamedTuple`` with the same fields.
    """

if _OptaxExtraArgs is not None:

    class GradientTransformation(_OptaxExtraArgs):  # type: ignore[misc,valid-type]
        __slots__ = ()
        __doc__ = _GT_DOC

else:

    class GradientTransformation(NamedTuple):  # type: ignore[no-redef]
        init: TransformInitFn
        update: TransformUpdateExtraArgsFn

    GradientTransformation.__doc__ = _GT_DOC


# Every zoo update accepts extra keyword arguments; the optax name is kept for code that
# spells it out (``optax.GradientTransformationExtraArgs`` has the same two fields).
GradientTransformationExtraArgs = GradientTransformation


def with_extra_args_support(tx) -> GradientTransformation:
    """Make a transformation accept (and ignore) extra keyword arguments of ``update``.

    optax's name and meaning. A zoo transformation already accepts them and is returned
    as it is; so is any transformation whose ``update`` takes ``**kwargs``. Any other
    ``(init, update)`` pair (e.g. an optax transformation without extra-args support) is
    wrapped so that its ``update`` receives ``updates, state, params`` and only the extra
    keywords it names.

    Args:
      tx: an ``(init, update)`` pair.

    Returns:
      A ``GradientTransformation`` whose update takes ``**extra_args``.

    Raises:
      TypeError: if ``tx`` is not an ``(init, update)`` pair.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.with_extra_args_support(zoo.sgd(0.1))
      >>> isinstance(tx, zoo.GradientTransformationExtraArgs)
      True
    """
    if not (callable(getattr(tx, "init", None)) and callable(getattr(tx, "update", None))):
        _validate.fail("with_extra_args_support", "tx", tx, "must be a GradientTransformation", TypeError)
    if isinstance(tx, GradientTransformation):
        return tx
    if _OptaxExtraArgs is not None and isinstance(tx, _OptaxExtraArgs):
        return GradientTransformation(tx.init, tx.update)
    inner_update, keep = tx.update, _accepted_kwargs(tx.update)

    def update_fn(updates, state, params=None, **extra_args):
        return inner_update(updates, state, params, **keep(extra_args))

    return GradientTransformation(tx.init, update_fn)


try:  # one class with optax's: a stateless zoo state and optax's are the same pytree
    from optax import EmptyState as EmptyState
except ImportError:  # pragma: no cover - exercised by the no-optax CI job only

    class EmptyState(NamedTuple):  # type: ignore[no-redef]
        """The state of a stateless transformation."""


def init_empty_state(params: Params) -> EmptyState:
    """The ``init`` of a stateless transformation: ignores ``params``, returns ``EmptyState()``.

    optax's ``init_empty_state``.

    Args:
      params: the parameters (unused).

    Returns:
      ``EmptyState()``.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> zoo.init_empty_state({"w": 1.0})
      EmptyState()
    """
    del params
    return EmptyState()


def identity() -> GradientTransformation:
    """Leave updates unchanged.

    Returns:
      A stateless ``GradientTransformation``.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.identity()
      >>> import jax.numpy as jnp
      >>> g = jnp.array([3.0, -4.0])
      >>> updates, state = tx.update(g, tx.init(g), g)
      >>> print([round(float(u), 6) for u in updates])
      [3.0, -4.0]
    """

    def init_fn(params):
        del params
        return EmptyState()

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        return updates, state

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def set_to_zero() -> GradientTransformation:
    """Replace every update by zeros (freezes the parameters it is applied to).

    Returns:
      A stateless ``GradientTransformation``; most useful inside ``multi_transform``.
    """

    def init_fn(params):
        del params
        return EmptyState()

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        return jax.tree.map(jnp.zeros_like, updates), state

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def _accepted_kwargs(update_fn) -> Callable[[dict], dict]:
    """A filter that keeps only the keyword arguments ``update_fn`` can take.

    Transformations from other libraries (an optax one without extra-args support) may not
    accept ``**kwargs``; ``chain`` passes them only the keywords they name.
    """
    try:
        parameters = inspect.signature(update_fn).parameters.values()
    except (TypeError, ValueError):  # builtins or C callables: pass everything.
        return lambda kwargs: kwargs
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return lambda kwargs: kwargs
    names = {
        p.name
        for p in parameters
        if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    } - {"updates", "state", "params"}
    return lambda kwargs: {k: v for k, v in kwargs.items() if k in names}


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Apply transformations one after the other.

    ``chain(a, b)(g) = b(a(g))``; the state is the tuple of the members' states.
    Members may be zoo or optax transformations; keyword arguments given to ``update``
    (for instance ``value=``) reach every member that can take them.

    Args:
      *transforms: the transformations, applied in order.

    Returns:
      A ``GradientTransformation`` whose state is a tuple with one entry per member.

    Raises:
      TypeError: if a member is not an ``(init, update)`` pair.

    Example:
      >>> import jaxopt_zoo as zoo
      >>> tx = zoo.chain(zoo.clip_by_global_norm(1.0), zoo.scale_by_adam(), zoo.scale(-1e-3))
      >>> import jax.numpy as jnp
      >>> params = jnp.array([1.0, -2.0])
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 6) for p in zoo.apply_updates(params, updates)])
      [0.999, -1.999]
    """
    for i, t in enumerate(transforms):
        if not (callable(getattr(t, "init", None)) and callable(getattr(t, "update", None))):
            _validate.fail("chain", f"transforms[{i}]", t, "must be a GradientTransformation")
    filters = tuple(_accepted_kwargs(t.update) for t in transforms)

    def init_fn(params):
        return tuple(t.init(params) for t in transforms)

    def update_fn(updates, state, params=None, **extra_args):
        if len(state) != len(transforms):
            raise ValueError(
                f"{_validate.PREFIX}chain: `state` has {len(state)} entries but the chain has "
                f"{len(transforms)} transformations; was it made by this chain's init?"
            )
        new_state = []
        for t, keep, s in zip(transforms, filters, state):
            updates, s = t.update(updates, s, params, **keep(extra_args))
            new_state.append(s)
        return updates, tuple(new_state)

    return _packable.composite(GradientTransformation(init_fn, update_fn), *transforms)


def _is_none(x) -> bool:
    return x is None


def apply_updates(params: Params, updates: Updates) -> Params:
    """Add updates to params, keeping each parameter's dtype.

    ``None`` leaves (in params or updates) are passed over: the parameter is kept as it is.
    Integer and bool parameters are not trainable: they are kept as they are, whatever the
    update (an optimizer may compute garbage for them, e.g. a rounded NaN).

    Args:
      params: the parameters.
      updates: updates with the structure of ``params`` (``None`` where there is none).

    Returns:
      ``params + updates`` leaf by leaf, each cast back to its parameter's dtype.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> zoo.apply_updates({"w": jnp.ones(2)}, {"w": -jnp.ones(2)})["w"]
      Array([0., 0.], dtype=float32)
    """

    def add(p, u):
        if p is None or u is None or not jnp.issubdtype(jnp.asarray(p).dtype, jnp.inexact):
            return p
        return jnp.asarray(p + u).astype(jnp.asarray(p).dtype)

    return jax.tree.map(add, params, updates, is_leaf=_is_none)
