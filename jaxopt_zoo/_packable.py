"""Which transformations give the same numbers on packed buffers (``zoo.packed``).

``packed(tx)`` runs ``tx`` on the leaves of each dtype concatenated into flat chunks. That is
exact only for a transformation whose numbers do not depend on how the params are cut into
leaves: it acts elementwise, or through scalars of the whole tree (a global norm, a global
mean, a step count, a loss value). One that looks at a leaf's shape, norm or place in the
tree (Adafactor's factored moments, LAMB's and LARS's trust ratios, per-leaf clipping, masks
and labels) would run on the chunks and silently give other numbers.

The rule is an allowlist: every factory of the zoo tags the transformation it returns with
one of

* ``elementwise(tx)``: safe;
* ``composite(tx, *members)``: safe when every member is (``chain``, ``lookahead``, ``sam``,
  ``apply_if_finite``, ``monitor``, ...);
* ``lazy(tx, reason)``: ``reason()`` decides when asked (``inject_hyperparams`` builds its
  inner transformation to look at it);
* ``per_leaf(tx, name, why)``: refused, with a message naming ``name``;
* ``named(tx, name)``: a refusal of ``tx`` names ``name`` first (``lamb, through
  scale_by_trust_ratio (...)``).

A transformation nobody tagged (an optax one, a hand-written one, an optax combinator around
zoo members) is refused: the zoo cannot know that it is elementwise, and a refusal is cheap
to work around (leave ``packed`` out) while wrong numbers are not. The tags live in a
registry keyed by the ``update`` function (a ``GradientTransformation`` is a tuple and takes
no attributes), so they never leak into a wrapper that copies a function's ``__dict__``.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable

# update function -> a zero-argument callable: None (safe) or why not (naming the culprit).
_TAGS: weakref.WeakKeyDictionary[Any, Callable[[], str | None]] = weakref.WeakKeyDictionary()


def _tag(tx: Any, why: Callable[[], str | None]) -> Any:
    try:
        _TAGS[tx.update] = why
    except TypeError:  # an update that cannot be weakly referenced stays untagged (refused)
        pass
    return tx


def elementwise(tx: Any) -> Any:
    """Tag ``tx`` as giving the same numbers on packed buffers; returns ``tx``."""
    return _tag(tx, lambda: None)


def per_leaf(tx: Any, name: str, why: str) -> Any:
    """Tag ``tx`` (called ``name``) as depending on the leaves (``why``); returns ``tx``."""
    reason = f"{name} ({why})"
    return _tag(tx, lambda: reason)


def composite(tx: Any, *members: Any) -> Any:
    """Tag ``tx`` as safe exactly when every member is; returns ``tx``."""
    return _tag(tx, lambda: next((r for r in map(reason, members) if r is not None), None))


def lazy(tx: Any, why: Callable[[], str | None]) -> Any:
    """Tag ``tx`` with ``why()``, evaluated when ``packed`` asks; returns ``tx``."""
    return _tag(tx, why)


def named(tx: Any, name: str) -> Any:
    """Let a refusal of ``tx`` (say the chain that makes ``lamb``) name ``name`` first; returns ``tx``."""
    try:
        inner = _TAGS.get(tx.update)
    except TypeError:
        inner = None
    if inner is None:
        return tx
    return _tag(tx, lambda: (lambda why: None if why is None else f"{name}, through {why}")(inner()))


def reason(tx: Any) -> str | None:
    """``None`` if ``tx`` gives the same numbers on packed buffers, else why not (naming it)."""
    own = getattr(tx, "_packing_reason", None)  # objects with init/update methods (MultiSteps)
    if callable(own):
        return own()
    update = getattr(tx, "update", None)
    try:
        why = _TAGS.get(update)
    except TypeError:
        why = None
    if why is None:
        name = f"{getattr(update, '__module__', '?')}.{getattr(update, '__qualname__', type(update).__name__)}"
        return (f"a transformation not known to act elementwise (its update is {name}; only jaxopt_zoo's own "
                "transformations are tagged: optax ones and optax combinators are refused)")
    return why()
