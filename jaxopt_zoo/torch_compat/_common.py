r"""What every torch_compat optimizer shares: moving hyperparameters, maximize, weight decay.

A torch_compat optimizer is ``make(hyper, core)``: ``hyper`` maps the hyperparameters that
may move (``lr`` always; ``momentum`` or ``beta1`` where torch's cyclic schedulers write them)
to a float, a schedule ``step -> value`` or, for ``lr``, a ``ReduceLROnPlateau``; ``core`` builds
the optimizer's chain of building blocks from their current values. Before update ``k``
(0-based) a schedule is evaluated at ``k`` — torch's value after ``k`` ``scheduler.step()``
calls — and a plateau lr takes its ``scheduler.step(value)`` first.

The state is an ``InjectHyperparamsState`` (as for ``zoo.inject_hyperparams``):

* ``count``: updates made;
* ``hyperparams``: the values the last update used (``{'lr': ..., 'momentum': ...}``; at init,
  those the first update will use), so ``zoo.current_hyperparams(state)['lr']`` is the lr now.
  A constant is read back from here at each update: like torch's
  ``param_groups[0]['lr'] = x``, ``state.hyperparams['lr']`` may be replaced between steps
  (a schedule or a ReduceLROnPlateau recomputes it at every update instead);
* ``inner_state``: a ``TorchCompatInnerState`` with the optimizer's buffers (``core``) and the
  plateau state (``plateau``, ``None`` unless ``lr`` is a ``ReduceLROnPlateau``), whose scale
  ``zoo.current_hyperparams`` reports as ``'plateau_scale'`` (next to ``'lr'``, the lr in effect).

Hyperparameters are stored in JAX's default float dtype (float64 under x64: torch's are
Python floats), or the params' float dtype if wider. The updates keep the gradients' dtype.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation
from ..transforms._inject import InjectHyperparamsState
from ..transforms._scaling import scale
from ..transforms._weight_decay import add_decayed_weights
from ._plateau import is_plateau

# torch-only switches: accepted so torch call sites run unchanged, and ignored (XLA fuses the
# update whatever they say; JAX differentiates through any update).
IGNORED_FLAGS = ("foreach", "fused", "capturable", "differentiable")


class TorchCompatInnerState(NamedTuple):
    """The part of a torch_compat optimizer's state below the hyperparameters."""

    core: Any  # the optimizer's buffers: torch's ``optimizer.state``
    plateau: Any  # ``ReduceLROnPlateauState`` when ``lr`` is a ReduceLROnPlateau, else None


def _dtype_for(tree: Any) -> Any:
    """The dtype of stored hyperparameters: JAX's default float, as torch's are Python floats.

    float64 under x64 (scalar coefficients such as bias corrections are then computed in
    double precision, as torch computes them, even for float32 params), else float32;
    and at least the params' own float dtype.
    """
    floats = [x.dtype for x in jax.tree.leaves(tree) if jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating)]
    out = jnp.dtype(jnp.result_type(float))  # Python's float is weakly typed: take the default
    for dtype in floats:
        out = jnp.promote_types(out, dtype)
    return out


def make(hyper: dict, core: Callable[[dict], GradientTransformation]) -> GradientTransformation:
    """A torch_compat optimizer: ``core(current hyperparameters)`` with the state described above."""
    plateau = hyper["lr"] if is_plateau(hyper["lr"]) else None

    def current(count, stored, plateau_state, dtype):
        out = {}
        for name, v in hyper.items():
            if name == "lr" and plateau is not None:
                out[name] = plateau.current_lr(plateau_state, dtype)
            elif callable(v):
                out[name] = jnp.asarray(v(count)).astype(dtype)
            else:
                out[name] = stored[name]
        return out

    def init_fn(params):
        dtype = _dtype_for(params)
        stored = {k: jnp.asarray(v).astype(dtype) for k, v in hyper.items() if not callable(v) and not is_plateau(v)}
        plateau_state = plateau.init() if plateau is not None else None
        count = _numerics.zero_count()
        h = current(count, stored, plateau_state, dtype)
        return InjectHyperparamsState(count, h, TorchCompatInnerState(core(h).init(params), plateau_state))

    def update_fn(updates, state, params=None, *, value=None, **extra_args):
        del extra_args
        dtype = _dtype_for(updates if params is None else params)
        plateau_state = state.inner_state.plateau
        if plateau is not None and value is not None:
            plateau_state = plateau.step(plateau_state, value, state.count)
        h = current(state.count, state.hyperparams, plateau_state, dtype)
        out, core_state = core(h).update(updates, state.inner_state.core, params)
        updates = _numerics.keep_dtype(out, updates)  # the gradients' dtype: float64 scalars must not promote it
        inner = TorchCompatInnerState(core_state, plateau_state)
        return updates, InjectHyperparamsState(_numerics.safe_increment(state.count), h, inner)

    # torch.optim updates each element from that element alone (per-step scalars aside), so
    # every torch_compat optimizer gives its numbers on packed buffers (tests/test_packed.py).
    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def is_zero(value: Any) -> bool:
    """torch's ``if value != 0`` switches, decided at construction: only a concrete 0 is zero.

    A traced value (``zoo.inject_hyperparams``, ``jit``) or a schedule counts as non-zero, so
    the branch that uses it is built; with the value 0 it gives the same numbers.
    """
    return not callable(value) and _validate.concrete_float(value) == 0.0


def grad_prelude(maximize: bool, weight_decay: Any = 0.0, decoupled: bool = False) -> list:
    """torch's first lines: ``g = -g`` if maximize, then ``g = g + weight_decay * p`` (coupled)."""
    blocks = [scale(-1.0)] if maximize else []
    if not is_zero(weight_decay) and not decoupled:
        blocks.append(add_decayed_weights(weight_decay))
    return blocks


def lr_epilogue(lr: Any, weight_decay: Any = 0.0, decoupled: bool = False) -> list:
    """torch's last lines: ``p <- p - lr * (u + weight_decay * p)`` (the decay term if decoupled)."""
    blocks = [add_decayed_weights(weight_decay)] if not is_zero(weight_decay) and decoupled else []
    return blocks + [scale(-lr)]


# ----------------------------------------------------------------------- argument checks


def check_lr(fn: str, lr: Any) -> None:
    """A float >= 0, a schedule or a ReduceLROnPlateau."""
    if not is_plateau(lr):
        _validate.check_learning_rate(fn, lr, "lr")


def check_schedulable(fn: str, arg: str, value: Any, lo: float = 0.0, hi: float = 1.0, hi_open: bool = True) -> None:
    """A float in [lo, hi) or a schedule (schedules are not checked)."""
    if value is None:
        _validate.fail(fn, arg, value, "must be a float or a schedule")
    _validate.check_range(fn, arg, value, lo, hi, hi_open=hi_open)


def check_betas(fn: str, betas: Any) -> None:
    """``(beta1, beta2)`` each in [0, 1); beta1 may be a schedule."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        _validate.fail(fn, "betas", betas, "must be a pair (beta1, beta2)")
    check_schedulable(fn, "betas[0]", betas[0])
    if callable(betas[1]):
        _validate.fail(fn, "betas[1]", betas[1], "must be a float in [0, 1) (only betas[0] may be a schedule)", TypeError)
    _validate.check_decay(fn, "betas[1]", betas[1])


def check_constant(fn: str, arg: str, value: Any, lo: float = 0.0) -> None:
    """A float >= lo that may not be a schedule (torch's schedulers never move it)."""
    if callable(value):
        _validate.fail(fn, arg, value, "must be a float (not a schedule)", TypeError)
    _validate.check_range(fn, arg, value, lo)
