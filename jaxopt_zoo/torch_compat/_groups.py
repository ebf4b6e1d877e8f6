r"""torch's param groups for every torch_compat optimizer: ``param_groups=[{"params": ..., ...}]``.

torch takes ``SGD([{"params": body}, {"params": head, "lr": 1e-2}], lr=1e-3, momentum=0.9)``:
each group runs the optimizer with its own keywords, the top-level ones filling in what a
group leaves out. Here the optimizer's keywords stay the top-level ones and the groups say
which leaves they take::

    no_decay = lambda path, leaf: path[-1].key in ("bias", "scale")  # biases and norms
    tx = tc.AdamW(lr=1e-3, weight_decay=0.05, param_groups=[{"params": no_decay, "weight_decay": 0.0}])

* ``"params"`` is a callable ``(path, leaf) -> bool`` (``path`` as from
  ``jax.tree_util.tree_flatten_with_path``) or a pytree of bools shaped like the params.
  Under ``flax.nnx.Optimizer`` (whose ``init`` gets ``nnx.Variable`` leaves and whose
  ``update`` gets arrays) the Variables count as leaves: the path ends at the parameter's own
  key (``path[-1].key == "bias"``) and ``leaf`` is its array in both calls.
* Leaves in no group use the top-level keywords (torch would ask for a group for them); a
  leaf in two groups raises, as in torch.
* A group's ``lr`` given as a number while the top-level ``lr`` is a scheduler gets that
  scheduler on its own base lr, as torch's schedulers keep ``base_lrs`` per group:
  ``StepLR(0.1, ...)`` with a group lr of 0.01 is ``StepLR(0.01, ...)`` for that group, and a
  ``ReduceLROnPlateau`` reduces each group's lr (each clamped at ``min_lr``) on the same
  plateaus. CyclicLR and OneCycleLR overwrite every group's lr in torch (``max_lr`` may be a
  list there): give such a group its own scheduler as its ``lr``. A group may give any
  keyword a schedule of its own.

The state is a ``ParamGroupsState``: one optimizer state per group, in the order of
``param_groups``, then the state of the leaves in no group. Each holds its group's leaves as a
list, and its hyperparameters as any torch_compat state does:
``state.groups[i].hyperparams["lr"]`` is ``optimizer.param_groups[i]["lr"]``, readable with
``zoo.current_hyperparams(state.groups[i])`` and replaceable between steps like torch's
``param_group["lr"] = x`` (a constant lr only: a schedule recomputes it).

Example:
  >>> import jax.numpy as jnp, jaxopt_zoo as zoo
  >>> from jaxopt_zoo import torch_compat as tc
  >>> params = {"w": jnp.array([1.0, -2.0]), "bias": jnp.array([0.5])}
  >>> tx = tc.SGD(lr=0.1, weight_decay=0.5, param_groups=[
  ...     {"params": lambda path, leaf: path[-1].key == "bias", "lr": 1.0, "weight_decay": 0.0}])
  >>> state = tx.init(params)
  >>> updates, state = tx.update(params, state, params)  # gradient = params
  >>> new = zoo.apply_updates(params, updates)
  >>> print([round(float(x), 6) for x in new["w"]], [round(float(x), 6) for x in new["bias"]])
  [0.85, -1.7] [0.0]
  >>> print([round(float(zoo.current_hyperparams(s)["lr"]), 6) for s in state.groups])  # the group, the rest
  [1.0, 0.1]

References:
  PyTorch, `Per-parameter options <https://pytorch.org/docs/stable/optim.html#per-parameter-options>`_.
"""

from __future__ import annotations

import copy
import functools
import inspect
import sys
from typing import Any, Callable, NamedTuple

import jax

from .. import _validate
from .._base import GradientTransformation
from ._plateau import is_plateau
from ._sched_base import TorchLRScheduler


class ParamGroupsState(NamedTuple):
    """The state of a torch_compat optimizer with ``param_groups``."""

    groups: tuple  # one state per group in ``param_groups`` order, then the leaves in no group's


# ----------------------------------------------------------------------------- leaves


def _is_variable(x: Any) -> bool:
    nnx = sys.modules.get("flax.nnx")  # no Variable can exist unless flax.nnx is imported
    return nnx is not None and isinstance(x, nnx.Variable)


def _unwrap(x: Any) -> Any:
    return x.get_value() if _is_variable(x) else x


def _flatten(tree: Any) -> tuple[list, list, Any]:
    """Paths, leaves (Variables unwrapped) and treedef, nnx Variables counted as leaves."""
    pairs, treedef = jax.tree_util.tree_flatten_with_path(tree, is_leaf=_is_variable)
    return [p for p, _ in pairs], [_unwrap(x) for _, x in pairs], treedef


def _member(fn: str, i: int, selector: Any, paths: list, leaves: list) -> list[bool]:
    """Whether each leaf belongs to group ``i``."""
    if callable(selector):
        return [bool(selector(p, x)) for p, x in zip(paths, leaves)]
    mask_paths, mask, _ = _flatten(selector)
    by_path = dict(zip(map(jax.tree_util.keystr, mask_paths), mask))
    keys = [jax.tree_util.keystr(p) for p in paths]
    if sorted(by_path) != sorted(keys):
        _validate.fail(fn, f"param_groups[{i}]['params']", selector,
                       f"must be a callable (path, leaf) -> bool or a tree of bools with the params' leaves {keys}")
    return [bool(by_path[k]) for k in keys]


def _labels(fn: str, selectors: list, tree: Any) -> tuple[list, Any, list]:
    """Each leaf's group (``len(selectors)`` for no group), the treedef and the leaves."""
    paths, leaves, treedef = _flatten(tree)
    labels = [len(selectors)] * len(leaves)
    for i, selector in enumerate(selectors):
        for j, inside in enumerate(_member(fn, i, selector, paths, leaves)):
            if not inside:
                continue
            if labels[j] != len(selectors):
                _validate.fail(fn, "param_groups", f"{jax.tree_util.keystr(paths[j])} in groups {labels[j]} and {i}",
                               "must not put a parameter in two groups (torch raises too)")
            labels[j] = i
    return labels, treedef, leaves


def grouped(fn: str, selectors: list, txs: list) -> GradientTransformation:
    """``txs[i]`` on the leaves ``selectors[i]`` picks, ``txs[-1]`` on the others."""

    def split(labels, leaves):
        return [[x for x, lab in zip(leaves, labels) if lab == i] for i in range(len(txs))]

    def init_fn(params):
        labels, _, leaves = _labels(fn, selectors, params)
        return ParamGroupsState(tuple(tx.init(part) for tx, part in zip(txs, split(labels, leaves))))

    def update_fn(updates, state, params=None, **extra_args):
        labels, _, _ = _labels(fn, selectors, updates if params is None else params)
        _, grads, treedef = _flatten(updates)
        if len(grads) != len(labels):
            _validate.fail(fn, "updates", treedef, f"must have the params' {len(labels)} leaves")
        parts_p = [None] * len(txs) if params is None else split(labels, _flatten(params)[1])
        outs, states = [], []
        for tx, g, s, p in zip(txs, split(labels, grads), state.groups, parts_p):
            u, s = tx.update(g, s, p, **extra_args)
            outs.append(u)
            states.append(s)
        return _merge(labels, treedef, outs), ParamGroupsState(tuple(states))

    return GradientTransformation(init_fn, update_fn)


def _merge(labels: list, treedef: Any, parts: list) -> Any:
    """A tree from each group's list of leaves (``parts[i]``, in the params' order)."""
    its = [iter(part) for part in parts]
    return jax.tree_util.tree_unflatten(treedef, [next(its[lab]) for lab in labels])


def ungroup(fn: str, state: ParamGroupsState, parts: list, params: Any, param_groups: Any) -> Any:
    """Per-group lists of leaves (``parts``, one per entry of ``state.groups``) as a tree like
    ``params``, the groups' leaves chosen by ``param_groups`` as the optimizer chose them."""
    if params is None or not isinstance(param_groups, (list, tuple)):
        _validate.fail(fn, "param_groups", param_groups,
                       "must be given, with params=, to read a state with param groups: the list given to the "
                       "optimizer (its 'params' entries say which leaves each group holds)")
    if len(param_groups) + 1 != len(state.groups):
        _validate.fail(fn, "param_groups", param_groups,
                       f"must have the state's {len(state.groups) - 1} groups (the state holds one more, the leaves "
                       "in no group)")
    labels, treedef, _ = _labels(fn, [g["params"] for g in param_groups], params)
    return _merge(labels, treedef, parts)


# --------------------------------------------------------------------- group keywords


def _rebuilt(sched: TorchLRScheduler, lr: Any) -> TorchLRScheduler:
    """``sched`` with base lr ``lr``: built again from its own arguments (members too)."""
    args, kwargs = sched._ctor_args
    name = type(sched).__name__
    if name in ("CyclicLR", "OneCycleLR"):
        raise ValueError(f"{_validate.PREFIX}{name}: torch writes its own lr into every param group (base_lr / "
                         f"max_lr, a list per group in torch), so a group's lr={lr!r} would be overwritten; give "
                         f"that group its own {name}(...) as its 'lr'")
    args, kwargs = list(args), dict(kwargs)
    if name == "ChainedScheduler":
        members = kwargs.pop("schedulers") if "schedulers" in kwargs else args.pop(0)
        return type(sched)([_rebuilt(m, lr) for m in members], *args, **kwargs)
    if name == "SequentialLR":
        key = "schedulers" if "schedulers" in kwargs else None
        members = kwargs[key] if key else args[1]
        members = [_rebuilt(m, lr) for m in members]
        if key:
            kwargs[key] = members
        else:
            args[1] = members
    if "lr" in kwargs:
        kwargs["lr"] = lr
    else:
        args[0] = lr
    return type(sched)(*args, **kwargs)


def group_lr(fn: str, i: int, top: Any, lr: Any) -> Any:
    """The lr of a group that gives ``lr`` while the optimizer's own is ``top`` (torch's base_lrs)."""
    if callable(lr) or is_plateau(lr) or not (callable(top) or is_plateau(top)):
        return lr  # the group's own schedule, or constants on both sides
    if _validate.concrete_float(lr) is None:
        _validate.fail(fn, f"param_groups[{i}]['lr']", lr, "must be a concrete float under a scheduler `lr`")
    if is_plateau(top):
        out = copy.copy(top)
        out.lr = float(lr)
        return out
    if isinstance(top, TorchLRScheduler):
        return _rebuilt(top, lr)
    _validate.fail(fn, f"param_groups[{i}]['lr']", lr,
                   f"cannot rescale the schedule {top!r} (not a torch_compat.lr_scheduler): give the group its own "
                   "schedule as its 'lr'")


_ARGS_DOC = """      param_groups: torch's param groups (keyword only): a list of dicts
        ``{"params": selector, <any keyword above>: value}``, ``selector`` a callable
        ``(path, leaf) -> bool`` or a tree of bools like the params; leaves in no group use the
        keywords above, a leaf in two groups raises. A number ``lr`` under a scheduler ``lr``
        gets that scheduler on its own base lr, as in torch. See ``torch_compat._groups``.
"""


def with_param_groups(fn_name: str) -> Callable:
    """Decorate a torch_compat optimizer: add the keyword ``param_groups`` (module docstring)."""

    def deco(make: Callable) -> Callable:
        sig = inspect.signature(make)
        names = set(sig.parameters)

        @functools.wraps(make)
        def wrapper(*args, param_groups=None, **kwargs):
            if param_groups is None:
                return make(*args, **kwargs)
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            top = dict(bound.arguments)
            if not isinstance(param_groups, (list, tuple)):
                _validate.fail(fn_name, "param_groups", param_groups, "must be a list of dicts with a 'params' entry")
            selectors, txs = [], []
            for i, group in enumerate(param_groups):
                if not isinstance(group, dict) or "params" not in group:
                    _validate.fail(fn_name, f"param_groups[{i}]", group, "must be a dict with a 'params' entry")
                unknown = sorted(set(group) - names - {"params"})
                if unknown:
                    _validate.fail(fn_name, f"param_groups[{i}]", unknown, f"has keywords {fn_name} does not take")
                own = {k: v for k, v in group.items() if k != "params"}
                if "lr" in own:
                    own["lr"] = group_lr(fn_name, i, top["lr"], own["lr"])
                selectors.append(group["params"])
                txs.append(make(**{**top, **own}))
            txs.append(make(**top))
            return grouped(fn_name, selectors, txs)

        params = list(sig.parameters.values())
        params.append(inspect.Parameter("param_groups", inspect.Parameter.KEYWORD_ONLY, default=None))
        wrapper.__signature__ = sig.replace(parameters=params)
        doc = wrapper.__doc__ or ""
        if "\n    Returns:" in doc:
            head, tail = doc.split("\n    Returns:", 1)
            wrapper.__doc__ = head.rstrip("\n") + "\n" + _ARGS_DOC + "\n    Returns:" + tail
        return wrapper

    return deco
