"""The pictures (matplotlib, Agg backend): shootout curves, landscape trajectories and
schedules (``zoo.plot_schedules``, public and importable without the command's extras)."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np


def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# Distinct colours for up to 12 lines; after that they repeat with dotted styles.
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
          "#bcbd22", "#7f7f7f", "#000000", "#aec7e8"]
STYLES = ["-", (0, (4, 2)), ":", "-."]


def style(i: int) -> dict:
    """Line ``i``'s colour and style: every other line dashed, so that curves lying on top of
    each other (adam and adamw with a small weight decay) both stay visible."""
    return dict(color=COLORS[i % len(COLORS)], linestyle=STYLES[(i % 2) + 2 * ((i // len(COLORS)) % 2)])


def shootout_figure(summary: Sequence[dict], runs: Sequence[dict], config: dict, title: str):
    """Train loss (log scale) and test metric against step: mean over seeds, band = min..max.

    Lines are in the table's order (best first); the legend gives each optimizer's final numbers.
    """
    plt = pyplot()
    metric = config["metric"]
    fig, (ax_loss, ax_met) = plt.subplots(1, 2, figsize=(13, 5.2), layout="constrained")
    lowest = []
    for i, s in enumerate(summary):
        mine = [r for r in runs if r["optimizer"] == s["optimizer"]]
        steps = np.asarray(mine[0]["curve"]["step"])
        loss = np.asarray([r["curve"]["train_loss"] for r in mine])
        met = np.asarray([r["curve"][f"test_{metric}"] for r in mine])
        if metric == "accuracy":
            met = 100 * met
        m = s[f"test_{metric}_mean"] * (100 if metric == "accuracy" else 1)
        label = f"{s['optimizer']}  ({m:.1f} %)" if metric == "accuracy" else f"{s['optimizer']}  (R2 {m:.3f})"
        st = style(i)
        ax_loss.plot(steps, loss.mean(0), label=label, linewidth=1.8, **st)
        ax_met.plot(steps, met.mean(0), linewidth=1.8, **st)
        if len(mine) > 1:
            ax_loss.fill_between(steps, loss.min(0), loss.max(0), color=st["color"], alpha=0.12, linewidth=0)
            ax_met.fill_between(steps, met.min(0), met.max(0), color=st["color"], alpha=0.12, linewidth=0)
        lowest.append(np.min(met.mean(0)[len(steps) // 5:]) if len(steps) > 2 else np.min(met))
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("training step")
    ax_loss.set_ylabel("train loss (whole training set, log scale)")
    ax_loss.set_title("train loss")
    ax_met.set_xlabel("training step")
    if metric == "accuracy":
        ax_met.set_ylabel("test accuracy (%)")
        ax_met.set_title("test accuracy")
        # Zoom on where the optimizers differ: from the worst curve after the first fifth of training.
        ax_met.set_ylim(max(0.0, min(lowest) - 2.0), 100.5)
    else:
        ax_met.set_ylabel("test R2 (1 = perfect)")
        ax_met.set_title("test R2")
        ax_met.set_ylim(max(-1.0, min(lowest) - 0.05), 1.01)
    for ax in (ax_loss, ax_met):
        ax.grid(True, which="major", alpha=0.35)
        ax.grid(True, which="minor", alpha=0.12)
    seeds = config["seeds"]
    fig.legend(loc="outside right center", fontsize="small", frameon=False,
               title=f"best first (mean test {metric})", title_fontsize="small")
    seeds_text = f"mean of {len(seeds)} seeds, band = min..max" if len(seeds) > 1 else "1 seed"
    fig.suptitle(f"{title}\n{config['model']}, {config['steps']} steps of {config['batch_size']}, schedule "
                 f"{config['schedule']}, {seeds_text}", fontsize="medium")
    return fig


def landscape_figure(fn: Any, paths: dict[str, np.ndarray], values: dict[str, np.ndarray]):
    """Contours of ``fn`` with each optimizer's path (left) and ``f - f*`` against step (right)."""
    plt = pyplot()
    from matplotlib import colors

    if fn.equal_aspect:  # a wide picture drawn to scale: the paths on top, the values below
        fig, (ax, ax_v) = plt.subplots(2, 1, figsize=(11, 8.6), layout="constrained", gridspec_kw=dict(height_ratios=[1.5, 1]))
    else:
        fig, (ax, ax_v) = plt.subplots(1, 2, figsize=(13, 5.4), layout="constrained", gridspec_kw=dict(width_ratios=[1.25, 1]))
    (x0, x1), (y0, y1) = fn.xlim, fn.ylim
    xs, ys = np.meshgrid(np.linspace(x0, x1, 400), np.linspace(y0, y1, 400))
    zs = np.asarray(fn.numpy(xs, ys))
    # Light filled contours (darker = higher), log-spaced where the values span decades.
    if fn.log_contours:
        shifted = zs - fn.minimum_value + 1e-3
        levels = np.geomspace(max(shifted.min(), 1e-3), shifted.max(), 25)
        ax.contourf(xs, ys, shifted, levels=levels, norm=colors.LogNorm(), cmap="Greys", alpha=0.2)
        ax.contour(xs, ys, shifted, levels=levels, colors="0.6", linewidths=0.5)
    else:
        ax.contourf(xs, ys, zs, levels=25, cmap="Greys", alpha=0.2)
        ax.contour(xs, ys, zs, levels=25, colors="0.6", linewidths=0.5)
    start = fn.start
    ax.plot(*start, marker="o", color="k", markersize=7, zorder=5, linestyle="none", label="start")
    for mx, my in fn.minima:
        ax.plot(mx, my, marker="*", color="gold", markeredgecolor="k", markersize=15, zorder=5, linestyle="none")
    ax.plot([], [], marker="*", color="gold", markeredgecolor="k", markersize=12, linestyle="none",
            label="minimum" if fn.minima else "")
    for i, (label, path) in enumerate(paths.items()):
        st = style(i)
        dots = dict(marker=".", markersize=4) if len(path) <= 150 else {}
        ax.plot(path[:, 0], path[:, 1], linewidth=1.5, label=label, zorder=4, alpha=0.9, **dots, **st)
        ax_v.plot(np.arange(len(values[label])), values[label], linewidth=1.6, **st)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    if fn.equal_aspect:
        ax.set_aspect("equal")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(f"{fn.title}:  {fn.formula}")
    ax.legend(loc="best", fontsize="small", framealpha=0.85)
    ax_v.set_xlabel("step")
    if fn.bounded_below:
        ax_v.set_yscale("log")
        ax_v.set_ylabel("f - f*  (log scale)")
    else:
        ax_v.set_yscale("symlog", linthresh=1e-2)
        ax_v.set_ylabel("f  (symmetric log scale; unbounded below)")
    ax_v.set_title("value along the path")
    ax_v.grid(True, which="major", alpha=0.35)
    ax_v.grid(True, which="minor", alpha=0.12)
    return fig


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
      >>> [line.get_label() for line in fig.axes[0].lines]
      ['warmup+cosine']
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
