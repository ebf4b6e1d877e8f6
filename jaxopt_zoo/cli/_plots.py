"""The command's pictures (matplotlib, Agg backend): shootout curves and landscape trajectories."""

from __future__ import annotations

from typing import Any, Sequence

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
