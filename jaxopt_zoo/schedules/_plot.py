"""Seeing a schedule: the picture people use to check a warmup."""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np


def plot_schedules(schedules: Mapping[str, Callable], steps: int, *, log_scale: bool = False, ax: Any = None, title: str | None = None):
    """Plot schedules over ``steps`` steps and return the matplotlib figure.

    Args:
      schedules: a mapping ``label -> schedule``. A schedule with a ``.momentum``
        companion (one-cycle, cyclic) also gets its momentum drawn, dashed, on a second axis.
      steps: how many steps to draw (0 .. steps-1).
      log_scale: use a logarithmic value axis.
      ax: an existing matplotlib axis to draw on (default: a new figure).
      title: the plot title.

    Returns:
      The ``matplotlib.figure.Figure``.

    Raises:
      ImportError: if matplotlib is not installed (``pip install jaxopt_zoo[plot]``).

    Example:
      >>> import jaxopt_zoo as zoo
      >>> fig = zoo.plot_schedules({"warmup+cosine": zoo.warmup_cosine_decay_schedule(0.0, 1e-3, 100, 1000)}, 1000)
      >>> fig.savefig("schedules.png")  # doctest: +SKIP
    """
    import jax
    import jax.numpy as jnp

    try:
        import matplotlib

        if ax is None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - exercised only without matplotlib
        raise ImportError("jaxopt_zoo.plot_schedules needs matplotlib: pip install 'jaxopt_zoo[plot]'") from e

    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 5.5), layout="constrained")
    else:
        fig = ax.figure
    t = jnp.arange(steps, dtype=jnp.int32)
    momentum_ax = None
    for label, schedule in schedules.items():
        values = np.asarray(jax.vmap(schedule)(t)) * np.ones(steps)
        (line,) = ax.plot(np.arange(steps), values, label=label, linewidth=1.8)
        companion = getattr(schedule, "momentum", None)
        if companion is not None:
            momentum_ax = momentum_ax or ax.twinx()
            momentum = np.asarray(jax.vmap(companion)(t)) * np.ones(steps)
            momentum_ax.plot(np.arange(steps), momentum, linestyle="--", color=line.get_color(), linewidth=1.2,
                             label=f"{label} (momentum)")
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    if log_scale:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if momentum_ax is not None:
        momentum_ax.set_ylabel("momentum (dashed)")
        h2, l2 = momentum_ax.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    # Below the axes, so that no curve is hidden behind it.
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncols=2, fontsize="small", frameon=False)
    ax.set_title(title or "learning-rate schedules")
    return fig
