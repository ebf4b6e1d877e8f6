"""The zoo's catalogue: every optimizer and schedule with its reference and paper.

Used by ``jaxopt-zoo list``, the shootout's spec parser and the suites that run over the
whole zoo (convergence, reliability). One entry per public member; each area of the library
keeps its entries in its own section below.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple


class Entry(NamedTuple):
    name: str  # the public name: ``getattr(jaxopt_zoo, name)``
    reference: str  # the implementation it is tested equal to
    paper: str  # "Authors, Title, year, <link>"
    example: dict  # keyword arguments that make a sensible small-problem instance


OPTIMIZERS: dict[str, Entry] = {}
SCHEDULES: dict[str, Entry] = {}


def _add(table: dict, name: str, reference: str, paper: str, **example: Any) -> None:
    table[name] = Entry(name, reference, paper, example)


def factory(name: str) -> Callable:
    """The public factory called ``name``."""
    import jaxopt_zoo

    return getattr(jaxopt_zoo, name)


# --- classic optimizers -------------------------------------------------------------------
_ADAM = "Kingma & Ba, Adam: A Method for Stochastic Optimization, 2015, https://arxiv.org/abs/1412.6980"
_add(OPTIMIZERS, "adam", "optax.adam", _ADAM, learning_rate=1e-2)
_add(OPTIMIZERS, "adamw", "optax.adamw",
     "Loshchilov & Hutter, Decoupled Weight Decay Regularization, 2019, https://arxiv.org/abs/1711.05101",
     learning_rate=1e-2, weight_decay=1e-2)
_add(OPTIMIZERS, "amsgrad", "optax.amsgrad",
     "Reddi, Kale & Kumar, On the Convergence of Adam and Beyond, 2018, https://openreview.net/forum?id=ryQu7f-RZ",
     learning_rate=1e-2)
_add(OPTIMIZERS, "nadam", "optax.nadam",
     "Dozat, Incorporating Nesterov Momentum into Adam, 2016, https://openreview.net/pdf?id=OM0jvwB8jIp57ZJjtNEZ",
     learning_rate=1e-2)

# --- modern optimizers ----------------------------------------------------------------------

# --- schedules ------------------------------------------------------------------------------
