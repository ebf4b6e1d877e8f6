"""The chain an optax-style alias builds around its ``scale_by_x``.

``adamw``, ``lion``, ``yogi`` and most other aliases are
``chain(scale_by_x(...), [add_decayed_weights(weight_decay, mask)], scale_by_learning_rate(learning_rate))``,
exactly as optax builds them, so that their states have optax's structure (``adamw``'s is
``(ScaleByAdamState, AddDecayedWeightsState, EmptyState)``). This is that chain's one home; each
alias still checks its own arguments first, under its own name.
"""

from __future__ import annotations

from typing import Any

from .._base import GradientTransformation, ScalarOrSchedule, chain
from ..transforms._scaling import scale_by_learning_rate
from ..transforms._weight_decay import add_decayed_weights

_NO_DECAY: Any = object()


def adaptive_alias(
    scale: GradientTransformation,
    learning_rate: ScalarOrSchedule,
    weight_decay: Any = _NO_DECAY,
    mask: Any = None,
) -> GradientTransformation:
    """``chain(scale, add_decayed_weights(weight_decay, mask), scale_by_learning_rate(learning_rate))``.

    Without ``weight_decay`` the chain has no decay link: ``chain(scale,
    scale_by_learning_rate(learning_rate))``. (A ``weight_decay`` of ``None`` is passed on to
    ``add_decayed_weights`` as it is, not taken for "no decay": the alias's state keeps its
    three links whatever the caller gives.)

    Args:
      scale: the alias's ``scale_by_x`` transformation.
      learning_rate: a float or a schedule, as in ``scale_by_learning_rate``.
      weight_decay: the decoupled decay rate, as in ``add_decayed_weights``; omit it for none.
      mask: where to decay, as in ``add_decayed_weights``.

    Returns:
      The chained ``GradientTransformation``.
    """
    if weight_decay is _NO_DECAY:
        return chain(scale, scale_by_learning_rate(learning_rate))
    return chain(scale, add_decayed_weights(weight_decay, mask), scale_by_learning_rate(learning_rate))
